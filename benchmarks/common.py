"""Shared helpers of the benchmarks: databases, timing, percentiles and the result table.

Every benchmark prints OUR figure next to a REFERENCE measured in the same run on the same
machine (the machine may be busy with other work: absolute numbers drift, the ratio less so).

Databases:

* SQLite files under ``var/bench/`` (git-ignored);
* PostgreSQL databases on ``postgresql://postgres@127.0.0.1:5432`` (override with
  ``XINYONG_BENCH_PG``): ``xinyong_bench`` for the full 1M/20M scale, ``xinyong_bench_<s>_<r>``
  for other sizes, so a quick run never clobbers the big one. A scale database is generated once
  and reused: :func:`xinyong.scale.generate_scale` returns at once when it is complete.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from xinyong.core.db import make_engine
from xinyong.core.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(os.environ.get("XINYONG_BENCH_DIR", ROOT / "var" / "bench"))
PG_SERVER = os.environ.get("XINYONG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
# Name prefix of every benchmark database (the smoke test uses its own).
PREFIX = os.environ.get("XINYONG_BENCH_PREFIX", "xinyong_bench")
FULL_SUBJECTS = 1_000_000
FULL_RECORDS = 20_000_000


@dataclass
class Figure:
    """One line of a benchmark's table."""

    benchmark: str
    db: str
    metric: str
    ours: float
    unit: str
    target: str  # human readable, e.g. "≥ 200,000" or "≤ 5"
    reference: float | None = None
    reference_label: str = ""
    passed: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def at_least(value: float, limit: float) -> bool:
    return value >= limit


def at_most(value: float, limit: float) -> bool:
    return value <= limit


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def print_table(title: str, figures: list[Figure]) -> None:
    headers = ["benchmark", "db", "metric", "ours", "unit", "target", "reference", "ref. is",
               "result"]
    rows = [
        [f.benchmark, f.db, f.metric, fmt(f.ours), f.unit, f.target, fmt(f.reference),
         f.reference_label, "PASS" if f.passed else ("FAIL" if f.passed is False else "—")]
        for f in figures
    ]
    widths = [max(_w(h), *(_w(r[i]) for r in rows)) if rows else _w(h)
              for i, h in enumerate(headers)]
    line = "  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True))
    print()
    print(f"== {title} ==")
    print(line)
    print("-" * _w(line))
    for r in rows:
        print("  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)))
    for f in figures:
        if f.note:
            print(f"  note ({f.benchmark}/{f.db}/{f.metric}): {f.note}")
    print(flush=True)


def _w(s: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in s)


def _pad(s: str, width: int) -> str:
    return s + " " * (width - _w(s))


def save_figures(name: str, figures: list[Figure]) -> Path:
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps([f.as_dict() for f in figures], ensure_ascii=False, indent=1))
    return path


class MachineWatch:
    """What the virtual machine did while a measurement ran: the share of CPU time the
    hypervisor gave to other guests (steal), the share spent waiting for the disk, and the
    page cache at the end. On this kind of machine steal went from 1 % to 57 % within minutes,
    and the host reclaimed the page cache from 14 to 8 GB while 16 GB stood free, so a figure
    means little without them; each benchmark prints them beside its figure.

        with MachineWatch() as watch:
            ...
        note = f"... ({watch})"
    """

    def __enter__(self) -> MachineWatch:
        self.start = _cpu_times()
        return self

    def __exit__(self, *_exc: object) -> None:
        end = _cpu_times()
        delta = [b - a for a, b in zip(self.start, end, strict=True)]
        total = sum(delta) or 1
        # /proc/stat cpu line: user nice system idle iowait irq softirq steal
        self.steal = 100 * delta[7] / total
        self.iowait = 100 * delta[4] / total
        self.cached_gb = _meminfo("Cached") / 2**20

    def __str__(self) -> str:
        return (f"machine during the run: CPU steal {self.steal:.0f} %, I/O wait "
                f"{self.iowait:.0f} %, page cache {self.cached_gb:.1f} GB")


def _cpu_times() -> list[int]:
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:9]
    except OSError:
        return [0] * 8
    return [int(x) for x in fields] + [0] * (8 - len(fields))


def _meminfo(key: str) -> int:
    """A /proc/meminfo value in kB (0 where there is none)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    ms = sorted(s * 1000 for s in samples_s)
    if not ms:
        return (float("nan"), float("nan"))
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return (statistics.median(ms), q[98])


def time_each(items: list[Any], fn: Callable[[Any], Any]) -> list[float]:
    out = []
    clock = time.perf_counter
    for item in items:
        t = clock()
        fn(item)
        out.append(clock() - t)
    return out


# --------------------------------------------------------------------------- databases


def base_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    return p


def dbs_of(arg: str) -> list[str]:
    return ["sqlite", "postgresql"] if arg == "both" else [arg]


def pg_url(name: str) -> str:
    return f"{PG_SERVER.rstrip('/')}/{name}"


def _pg_admin() -> Engine:
    return make_engine(pg_url("postgres"), isolation_level="AUTOCOMMIT")


def pg_exists(name: str) -> bool:
    eng = _pg_admin()
    try:
        with eng.connect() as conn:
            return bool(conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                     {"n": name}).first())
    finally:
        eng.dispose()


def pg_create(name: str, template: str | None = None, *, replace: bool = False) -> None:
    eng = _pg_admin()
    try:
        with eng.connect() as conn:
            if replace:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            tpl = f' TEMPLATE "{template}"' if template else ""
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{tpl}')
    finally:
        eng.dispose()


def pg_drop(name: str) -> None:
    eng = _pg_admin()
    try:
        with eng.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        eng.dispose()


def bench_dir() -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    return BENCH_DIR


def db_name(suffix: str) -> str:
    return f"{PREFIX}_{suffix}" if suffix else PREFIX


def scale_name(subjects: int, records: int) -> str:
    if (subjects, records) == (FULL_SUBJECTS, FULL_RECORDS):
        return db_name("")
    return db_name(f"{subjects}_{records}")


def scale_db(kind: str, subjects: int, records: int, *, verbose: bool = True) -> str:
    """URL of a migrated database holding exactly ``subjects``/``records`` of the scale data,
    generated (or completed) if needed. A database of another size under the same name is
    rebuilt."""
    from xinyong.scale import ScaleError, generate_scale

    name = scale_name(subjects, records)
    if kind == "sqlite":
        path = bench_dir() / f"{name}.db"
        url = f"sqlite:///{path}"
    else:
        url = pg_url(name)
        if not pg_exists(name):
            pg_create(name)
    eng = make_engine(url)
    try:
        upgrade(eng)
        try:
            generate_scale(eng, subjects=subjects, records=records, verbose=verbose)
        except ScaleError as exc:
            if verbose:
                print(f"[bench] {name}: {exc}; rebuilding", flush=True)
            eng.dispose()
            if kind == "sqlite":
                for p in bench_dir().glob(f"{name}.db*"):
                    p.unlink()
            else:
                pg_create(name, replace=True)
            eng = make_engine(url)
            upgrade(eng)
            generate_scale(eng, subjects=subjects, records=records, verbose=verbose)
    finally:
        eng.dispose()
    return url


def fresh_db(kind: str, name: str, prepare: Callable[[Engine], None] | None = None) -> str:
    """A new database ``name`` copied from a template ``<name>_tpl`` that is built once
    (migrated, then ``prepare`` run on it). Each call gives the same starting state, fast."""
    tpl = f"{name}_tpl_{template_key()}"
    if kind == "sqlite":
        tpl_path = bench_dir() / f"{tpl}.db"
        if not tpl_path.exists():
            tmp = bench_dir() / f"{tpl}.building.db"
            for p in bench_dir().glob(f"{tpl}.building.db*"):
                p.unlink()
            eng = make_engine(f"sqlite:///{tmp}")
            upgrade(eng)
            if prepare:
                prepare(eng)
            with eng.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            eng.dispose()
            tmp.rename(tpl_path)
        path = bench_dir() / f"{name}.db"
        for p in bench_dir().glob(f"{name}.db*"):
            p.unlink()
        shutil.copyfile(tpl_path, path)
        return f"sqlite:///{path}"
    if not pg_exists(tpl):
        pg_create(f"{tpl}_building", replace=True)
        eng = make_engine(pg_url(f"{tpl}_building"))
        upgrade(eng)
        if prepare:
            prepare(eng)
        eng.dispose()
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{tpl}_building" RENAME TO "{tpl}"')
        admin.dispose()
    pg_create(name, template=tpl, replace=True)
    return pg_url(name)


def template_key() -> str:
    """Changes when the schema (migration files) or the catalog changes, so that templates
    built by an older checkout are not reused (ingest refuses a catalog whose content changed
    under the same version)."""
    import hashlib

    from xinyong.catalog.loader import load_catalog
    from xinyong.core.migrate import MIGRATIONS

    h = hashlib.sha256(load_catalog().digest.encode())
    for f in sorted((MIGRATIONS / "versions").glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:10]


def drop_fresh(kind: str, name: str) -> None:
    if kind == "sqlite":
        for p in bench_dir().glob(f"{name}.db*"):
            p.unlink()
    else:
        pg_drop(name)

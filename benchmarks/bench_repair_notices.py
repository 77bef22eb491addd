"""What "两书同达" adds to an ingest: 100,000 NDRC penalties ingested with and without the
repair-notice hook, on SQLite (and PostgreSQL when a URL is given).

    .venv/bin/python -m benchmarks.bench_repair_notices [--rows 100000] [--pg postgresql+psycopg://…]

Not collected by pytest (no ``test_`` prefix): it takes about a minute per engine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlalchemy.engine import Engine

from xinyong.core import clock, hooks
from xinyong.core.db import make_engine, session_scope, set_engine
from xinyong.core.migrate import upgrade
from xinyong.departments.service import add_department
from xinyong.records.ingest import ingest_records
from xinyong.repair import models as repair_models
from xinyong.subjects.names import normalize_name
from xinyong.subjects.service import insert_subjects

SUBJECTS = 20_000


def _code(n: int) -> str:
    from stdnum.cn import uscc

    body = f"91440101MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def _world(engine: Engine) -> None:
    with session_scope() as session:
        add_department(session, "tax", "税务局")
    names = [f"广州基准{n}号有限公司" for n in range(SUBJECTS)]
    with engine.begin() as conn:
        insert_subjects(conn, pl.DataFrame({
            "uscc": [_code(n) for n in range(SUBJECTS)], "name": names,
            "name_norm": [normalize_name(x) for x in names],
            "uscc_status": ["verified"] * SUBJECTS, "kind": ["legal_person"] * SUBJECTS,
        }))


def _rows(rows: int, tag: str) -> list[dict[str, str]]:
    start = dt.date(2026, 4, 1)
    return [{
        "subject_name": f"广州基准{i % SUBJECTS}号有限公司", "uscc": _code(i % SUBJECTS),
        "doc_number": f"穗税罚〔2026〕{tag}{i}号", "violation_type": "未按期申报",
        "facts": "经查，当事人未按规定期限办理纳税申报。", "penalty_kinds": "罚款",
        "content": "罚款2000元", "fine_amount": "2000",
        "penalty_class": "serious" if i % 10 == 0 else "general", "procedure": "ordinary",
        "decided_on": (start + dt.timedelta(days=i % 200)).isoformat(),
        "authority": "国家税务总局广州市税务局",
    } for i in range(rows)]


def run(engine: Engine, rows: int, *, with_hook: bool) -> tuple[float, float, int]:
    """One ingest of ``rows`` penalties into a fresh database: (seconds for the whole ingest,
    seconds spent in the repair-notice hook, notices written)."""
    set_engine(engine)
    clock.set_today(dt.date(2026, 11, 22))
    _world(engine)
    spent = [0.0]
    original = repair_models._on_records_added

    def timed(conn: Any, predicate: str) -> None:
        t0 = time.perf_counter()
        original(conn, predicate)
        spent[0] += time.perf_counter() - t0

    hooks._records_added.remove(original)
    if with_hook:
        hooks.register_records_added(timed)
    try:
        t0 = time.perf_counter()
        ingest_records(engine, _rows(rows, "A"), record_type="administrative_penalty",
                       department="tax", actor="bench")
        total = time.perf_counter() - t0
    finally:
        if with_hook:
            hooks._records_added.remove(timed)
        hooks.register_records_added(original)
    with engine.connect() as conn:
        notices = int(conn.execute(text("SELECT COUNT(*) FROM repair_notice")).scalar_one())
    set_engine(None)
    return total, spent[0], notices


def _report(kind: str, rows: int, without: tuple[float, float, int],
            with_: tuple[float, float, int]) -> None:
    print(f"{kind}: {rows} penalties, fresh database each: ingest {without[0]:.1f} s without the"
          f" hook, {with_[0]:.1f} s with it; the hook itself {with_[1]:.2f} s"
          f" (+{with_[1] / without[0]:.0%}); {with_[2]} notices", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for hook in (False, True):
            engine = make_engine(f"sqlite:///{Path(tmp) / f'bench-{hook}.db'}")
            upgrade(engine)
            results.append(run(engine, args.rows, with_hook=hook))
            engine.dispose()
        _report("sqlite", args.rows, *results)
    if args.pg:
        admin = make_engine(args.pg, isolation_level="AUTOCOMMIT")
        name = "xinyong_repair_bench"
        results = []
        for hook in (False, True):
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            engine = make_engine(args.pg.rsplit("/", 1)[0] + "/" + name)
            try:
                upgrade(engine)
                results.append(run(engine, args.rows, with_hook=hook))
            finally:
                engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _report("postgresql", args.rows, *results)


if __name__ == "__main__":
    main()

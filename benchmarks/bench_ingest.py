"""Validated ingest of administrative penalties (issue #2).

A CSV of N penalty rows (双公示 Chinese headers, profile ``dual_publicity_penalty``; realistic
values, each matched to an existing subject by its credit code) goes through ``ingest_file``
into a database holding 100,000 subjects and no records.

Targets: ≥ 200,000 rows/s on each database, and within 5× of the raw bulk insert of the same
rows into the same table measured in the same run (reference: SQLite ``executemany`` in one
transaction; PostgreSQL ``COPY``), i.e. ours_seconds / reference_seconds ≤ 5.

    python -m benchmarks.bench_ingest [--db sqlite|postgresql|both] [--rows 1000000]
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import polars as pl
from sqlalchemy.engine import Engine

from benchmarks.common import (
    Figure,
    base_parser,
    bench_dir,
    db_name,
    dbs_of,
    drop_fresh,
    fresh_db,
    print_table,
    save_figures,
)
from benchmarks.penalty_csv import penalty_csv_once
from xinyong.core.db import make_engine
from xinyong.scale import RECORD_COLUMNS, generate_scale

TARGET_RATE = 200_000
TARGET_RATIO = 5.0
DEPARTMENT = "market"


def subjects_template(subjects: int):
    def prepare(engine: Engine) -> None:
        generate_scale(engine, subjects=subjects, records=0, verbose=False)

    return prepare


def ingest_db(kind: str, subjects: int, name: str = "ingest") -> str:
    """A fresh copy of a database with ``subjects`` subjects and the scale departments."""
    return fresh_db(kind, db_name(f"{name}_{subjects}"), subjects_template(subjects))


def csv_for(url: str, subjects: int, rows: int) -> Path:
    return penalty_csv_once(url, bench_dir() / f"penalties-{subjects}-{rows}.csv", rows)


def _raw_insert_seconds(kind: str, url: str, rows: list[tuple]) -> float:
    """Reference: the same rows into the same (empty) table by the engine's raw bulk path."""
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            raw = conn.connection.driver_connection
            cols = ", ".join(RECORD_COLUMNS)
            if kind == "sqlite":
                sql = f"INSERT INTO credit_record ({cols}) VALUES ({', '.join('?' * len(RECORD_COLUMNS))})"
                t = time.perf_counter()
                cur = raw.cursor()
                cur.execute("BEGIN")
                cur.executemany(sql, rows)
                cur.execute("COMMIT")
                return time.perf_counter() - t
            frame = pl.DataFrame(rows, schema=RECORD_COLUMNS, orient="row", infer_schema_length=None)
            buf = io.BytesIO()
            frame.write_csv(buf, include_header=False, null_value="")
            data = buf.getvalue()
            t = time.perf_counter()
            copy_sql = f"COPY credit_record ({cols}) FROM STDIN WITH (FORMAT csv)"
            with raw.cursor() as cur, cur.copy(copy_sql) as cp:
                for off in range(0, len(data), 1 << 20):
                    cp.write(data[off : off + (1 << 20)])
            raw.commit()
            return time.perf_counter() - t
    finally:
        eng.dispose()


def run_one(kind: str, rows: int, subjects: int) -> list[Figure]:
    from xinyong.core.db import set_engine
    from xinyong.records.ingest import ingest_file

    url = ingest_db(kind, subjects)
    path = csv_for(url, subjects, rows)
    eng = make_engine(url)
    set_engine(eng)
    try:
        t = time.perf_counter()
        result = ingest_file(eng, path, record_type="administrative_penalty",
                             department=DEPARTMENT, profile="dual_publicity_penalty",
                             actor="bench")
        ours = time.perf_counter() - t
        with eng.connect() as conn:
            cols = ", ".join("CAST(data AS TEXT)" if c == "data" else c for c in RECORD_COLUMNS)
            written = conn.exec_driver_sql(
                f"SELECT {cols} FROM credit_record ORDER BY subject_id, id"
            ).all()
    finally:
        set_engine(None)
        eng.dispose()
    if result.inserted != rows:
        print(f"[ingest] warning: {result.summary()}", flush=True)
    rows_out = [tuple(r) for r in written]
    ref_url = ingest_db(kind, subjects, name="ingest_ref")
    ref = _raw_insert_seconds(kind, ref_url, rows_out)
    drop_fresh(kind, db_name(f"ingest_ref_{subjects}"))
    rate = rows / ours
    ref_rate = len(rows_out) / ref if ref else float("nan")
    ratio = ours / ref if ref else float("nan")
    label = "executemany" if kind == "sqlite" else "COPY"
    extra = {"rows": rows, "inserted": result.inserted, "pending": result.pending,
             "rejected": result.rejected, "seconds": round(ours, 2),
             "reference_seconds": round(ref, 2)}
    return [
        Figure("ingest", kind, "rows/s", rate, "rows/s", f"≥ {TARGET_RATE:,}", ref_rate,
               f"raw {label}", rate >= TARGET_RATE, extra=extra),
        Figure("ingest", kind, "× raw insert", ratio, "×", f"≤ {TARGET_RATIO:g}", 1.0,
               f"raw {label}", ratio <= TARGET_RATIO,
               note=f"{rows:,} rows in {ours:.1f}s (inserted {result.inserted:,}, "
                    f"rejected {result.rejected}); raw {label} {ref:.1f}s"),
    ]


def run(dbs: list[str], rows: int = 1_000_000, subjects: int = 100_000) -> list[Figure]:
    figures: list[Figure] = []
    for kind in dbs:
        figures += run_one(kind, rows, subjects)
    return figures


def main(argv: list[str] | None = None) -> list[Figure]:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--subjects", type=int, default=100_000)
    args = p.parse_args(argv)
    figures = run(dbs_of(args.db), rows=args.rows, subjects=args.subjects)
    print_table(f"ingest: {args.rows:,} penalty rows, {args.subjects:,} subjects", figures)
    save_figures("bench_ingest", figures)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])

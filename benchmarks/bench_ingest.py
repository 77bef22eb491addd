"""Validated ingest of administrative penalties (issue #2).

A CSV of N penalty rows (双公示 Chinese headers, profile ``dual_publicity_penalty``; realistic
values, each matched to an existing subject by its credit code) goes through ``ingest_file``
into a database holding 100,000 subjects and no records.

Targets: ≥ 200,000 rows/s on each database, and within 5× of the raw bulk insert of the same
rows into the same tables measured in the same run (reference: SQLite ``executemany`` in one
transaction; PostgreSQL ``COPY``; a record is one row of ``credit_record`` and one of
``credit_record_detail``), i.e. ours_seconds / reference_seconds ≤ 5.

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
    MachineWatch,
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
from xinyong.scale import DETAIL_COLUMNS, RECORD_COLUMNS, generate_scale

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


TABLES = (("credit_record", RECORD_COLUMNS), ("credit_record_detail", DETAIL_COLUMNS))


def _raw_insert_seconds(kind: str, url: str, rows: dict[str, list[tuple]]) -> float:
    """Reference: the same rows into the same (empty) tables by the engine's raw bulk path, in
    one transaction."""
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            raw = conn.connection.driver_connection
            if kind == "sqlite":
                t = time.perf_counter()
                cur = raw.cursor()
                cur.execute("BEGIN")
                for table, columns in TABLES:
                    marks = ", ".join("?" * len(columns))
                    cur.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                        rows[table],
                    )
                cur.execute("COMMIT")
                return time.perf_counter() - t
            payloads = {}
            for table, columns in TABLES:
                frame = pl.DataFrame(rows[table], schema=columns, orient="row",
                                     infer_schema_length=None)
                buf = io.BytesIO()
                frame.write_csv(buf, include_header=False, null_value="")
                payloads[table] = buf.getvalue()
            t = time.perf_counter()
            with raw.cursor() as cur:
                for table, columns in TABLES:
                    data = payloads[table]
                    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
                    with cur.copy(sql) as cp:
                        for off in range(0, len(data), 1 << 20):
                            cp.write(data[off : off + (1 << 20)])
            raw.commit()
            return time.perf_counter() - t
    finally:
        eng.dispose()


def _written_rows(eng: Engine) -> dict[str, list[tuple]]:
    """What the ingest stored, table by table, as the driver returns it."""
    out = {}
    with eng.connect() as conn:
        for table, columns in TABLES:
            cols = ", ".join("CAST(data AS TEXT)" if c == "data" else c for c in columns)
            out[table] = [
                tuple(r)
                for r in conn.exec_driver_sql(
                    f"SELECT {cols} FROM {table} ORDER BY subject_id, id"
                ).all()
            ]
    return out


def run_one(kind: str, rows: int, subjects: int) -> list[Figure]:
    from xinyong.core.db import set_engine
    from xinyong.records.ingest import ingest_file

    url = ingest_db(kind, subjects)
    path = csv_for(url, subjects, rows)
    eng = make_engine(url)
    set_engine(eng)
    try:
        with MachineWatch() as watch:
            t = time.perf_counter()
            result = ingest_file(eng, path, record_type="administrative_penalty",
                                 department=DEPARTMENT, profile="dual_publicity_penalty",
                                 actor="bench")
            ours = time.perf_counter() - t
        written = _written_rows(eng)
    finally:
        set_engine(None)
        eng.dispose()
    if result.inserted != rows:
        print(f"[ingest] warning: {result.summary()}", flush=True)
    ref_url = ingest_db(kind, subjects, name="ingest_ref")
    ref = _raw_insert_seconds(kind, ref_url, written)
    drop_fresh(kind, db_name(f"ingest_ref_{subjects}"))
    rate = rows / ours
    ref_rate = len(written["credit_record"]) / ref if ref else float("nan")
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
                    f"rejected {result.rejected}); raw {label} {ref:.1f}s; {watch}"),
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

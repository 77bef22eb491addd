"""Published list pages (公示名单) at 1,000,000 subjects / 20,000,000 records.

p50/p99 of ``list_entries`` over a mix of what visitors ask of each list: the newest pages,
the oldest, name order (first pages and a deep one), a year, a district and a province, a
distinctive part of a name, a common word (科技), the start of a credit code; plus the index
page (``published_lists``) with its counts computed afresh. Reference, same run: the bare
index-only count of the longest list (the floor of any exact count of it).

    python -m benchmarks.bench_lists [--db …] [--subjects 1000000 --records 20000000]
        [--url URL]   # an existing scale database instead (both engines: run twice)
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from typing import Any

from sqlalchemy.orm import Session

from benchmarks.common import (
    FULL_RECORDS,
    FULL_SUBJECTS,
    Figure,
    base_parser,
    dbs_of,
    percentiles,
    print_table,
    save_figures,
    scale_db,
)
from xinyong.core import clock
from xinyong.core.db import make_engine
from xinyong.core.migrate import upgrade


def make_cases(engine: Any, seed: int = 3) -> list[tuple[str, str, dict[str, Any]]]:
    from xinyong.records.lists import LIST_TYPES

    rng = random.Random(seed)
    with engine.connect() as conn:
        lo, hi = conn.exec_driver_sql("SELECT MIN(id), MAX(id) FROM subject").one()
        ids = ", ".join(str(rng.randint(lo, hi)) for _ in range(200))
        rows = conn.exec_driver_sql(
            f"SELECT name, uscc, region_code FROM subject WHERE id IN ({ids})"
        ).all()
    year = clock.today().year
    cases: list[tuple[str, str, dict[str, Any]]] = []
    for code in LIST_TYPES:
        cases += [(code, "newest", {}), (code, "newest", {"offset": 20}),
                  (code, "oldest", {"sort": "date_asc"}),
                  (code, "name", {"sort": "name"}), (code, "name", {"sort": "name", "offset": 40}),
                  (code, "name_deep", {"sort": "name", "offset": 1000}),
                  (code, "deep", {"offset": 2000}),
                  (code, "year", {"year": year - 1}), (code, "common_word", {"q": "科技"})]
        for name, uscc, region in rng.sample(rows, 6):
            k = rng.choice([2, 3, 4])
            start = rng.randrange(0, max(1, len(name) - k))
            cases.append((code, "name_part", {"q": name[start : start + k]}))
            cases.append((code, "code_prefix", {"q": uscc[:10]}))
            if region:
                cases.append((code, "district", {"region": region}))
                cases.append((code, "province", {"region": region[:2]}))
    return cases


def run_one(kind: str, url: str) -> list[Figure]:
    from xinyong.records import lists

    eng = make_engine(url)
    upgrade(eng)  # the list index (migration 0009) on a database generated before it
    try:
        cases = make_cases(eng)
        times: dict[str, list[float]] = {}
        refused = 0
        clock_ = time.perf_counter
        with Session(eng) as s:
            for code, _, args in cases[:20]:  # warm-up
                with contextlib.suppress(lists.ListError):
                    lists.list_entries(s, code, **args)
            index: list[float] = []
            for _ in range(5):
                lists.forget_counts()
                t = clock_()
                lists.published_lists(s)
                index.append(clock_() - t)
            for code, what, args in cases:
                t = clock_()
                try:
                    lists.list_entries(s, code, **args)
                except lists.ListError:
                    refused += 1  # a common word or a page too deep: refused, still timed
                times.setdefault(what, []).append(clock_() - t)
            s.rollback()
        ref: list[float] = []
        with eng.connect() as conn:
            for _ in range(5):
                t = clock_()
                conn.exec_driver_sql(
                    "SELECT count(*) FROM credit_record"
                    " WHERE record_type = 'abnormal_operations_list'"
                ).scalar()
                ref.append(clock_() - t)
    finally:
        eng.dispose()
    everything = [x for v in times.values() for x in v]
    p50, p99 = percentiles(everything)
    r50, _ = percentiles(ref)
    i50, _ = percentiles(index)
    per_kind = {k: percentiles(v) for k, v in times.items()}
    note = (f"{len(everything)} requests ({refused} refused with a Chinese message); p50/p99 ms "
            "by kind: " + ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in sorted(per_kind.items())))
    return [
        Figure("lists", kind, "list page p50", p50, "ms", "—", r50, "bare count p50"),
        Figure("lists", kind, "list page p99", p99, "ms", "—", r50, "bare count p50", note=note,
               extra={"per_kind_ms": {k: list(v) for k, v in per_kind.items()}}),
        Figure("lists", kind, "index page, counts afresh p50", i50, "ms", "—", r50,
               "bare count p50"),
    ]


def run(dbs: list[str], subjects: int = FULL_SUBJECTS, records: int = FULL_RECORDS,
        url: str | None = None) -> list[Figure]:
    if url:
        kind = "sqlite" if url.startswith("sqlite") else "postgresql"
        return run_one(kind, url)
    return [f for kind in dbs for f in run_one(kind, scale_db(kind, subjects, records))]


def main(argv: list[str] | None = None) -> list[Figure]:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--subjects", type=int, default=FULL_SUBJECTS)
    p.add_argument("--records", type=int, default=FULL_RECORDS)
    p.add_argument("--url", default=None)
    args = p.parse_args(argv)
    figures = run(dbs_of(args.db), args.subjects, args.records, args.url)
    print_table("published lists", figures)
    save_figures("lists", figures)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])

"""Subject name search at 1,000,000 subjects (issue #2).

p50/p99 of ``search_subjects`` over a realistic query mix drawn from the subjects' own names:
full names, 2–4 character fragments, prefixes, names with one wrong character, full and
partial credit codes, and a few very common fragments (科技, 有限公司, 贸易 …). Target p99 ≤ 50 ms
on each database. Reference, same run: exact ``SELECT … FROM subject WHERE uscc = ?`` lookups
on the driver.

    python -m benchmarks.bench_search [--db …] [--subjects 1000000 --records 20000000]
        [--queries 3000]
"""

from __future__ import annotations

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
from xinyong.core.db import make_engine

TARGET_P99_MS = 50.0
COMMON = ["科技", "有限公司", "贸易", "科技有限公司", "深圳", "广州市", "建设", "餐饮", "华", "信息技术"]
MIX = [("full_name", 0.20), ("fragment", 0.30), ("prefix", 0.15), ("typo", 0.15),
       ("code", 0.10), ("code_prefix", 0.03), ("common", 0.07)]
TYPO_CHARS = "华信达鑫源盛安泰恒通宏嘉瑞丰德元利兴隆金海新天中国建东方明阳光"


def make_queries(engine: Any, n: int, seed: int = 5) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    with engine.connect() as conn:
        lo, hi = conn.exec_driver_sql("SELECT MIN(id), MAX(id) FROM subject").one()
        ids = ", ".join(str(rng.randint(lo, hi)) for _ in range(n))
        rows = conn.exec_driver_sql(f"SELECT name, uscc FROM subject WHERE id IN ({ids})").all()
    names = [(str(a), str(b)) for a, b in rows]
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    out: list[tuple[str, str]] = []
    for i in range(n):
        name, code = names[i % len(names)]
        kind = rng.choices(kinds, weights)[0]
        if kind == "full_name":
            q = name
        elif kind == "fragment":
            k = rng.choice([2, 3, 4])
            start = rng.randrange(0, max(1, len(name) - k))
            q = name[start : start + k]
        elif kind == "prefix":
            q = name[: rng.randint(4, max(4, min(8, len(name) - 1)))]
        elif kind == "typo":
            pos = rng.randrange(2, max(3, len(name) - 4))
            q = name[:pos] + rng.choice(TYPO_CHARS) + name[pos + 1 :]
        elif kind == "code":
            q = code
        elif kind == "code_prefix":
            q = code[:10]
        else:
            q = rng.choice(COMMON)
        out.append((kind, q))
    return out


def run_one(kind: str, url: str, n_queries: int) -> list[Figure]:
    from xinyong.subjects.search import search_subjects

    eng = make_engine(url)
    try:
        queries = make_queries(eng, n_queries)
        with eng.connect() as conn:
            codes = [r[0] for r in conn.exec_driver_sql(
                "SELECT uscc FROM subject WHERE uscc IS NOT NULL ORDER BY id LIMIT 1").all()]
        codes = [q for k, q in queries if k == "code"] or codes
        # Warm-up: every query once (statement caches, page cache), not measured.
        with Session(eng) as s:
            for _, q in queries[: min(300, len(queries))]:
                search_subjects(s, q)
        times: dict[str, list[float]] = {}
        hits = 0
        clock = time.perf_counter
        with Session(eng) as s:
            for k, q in queries:
                t = clock()
                res = search_subjects(s, q)
                times.setdefault(k, []).append(clock() - t)
                hits += bool(res.items)
            s.rollback()
        # reference: exact code lookups on the driver
        ref: list[float] = []
        with eng.connect() as conn:
            raw = conn.connection.driver_connection
            mark = "?" if kind == "sqlite" else "%s"
            cur = raw.cursor()
            sql = f"SELECT id, uscc, name, kind, status FROM subject WHERE uscc = {mark}"
            for c in codes * max(1, 2000 // max(1, len(codes))):
                t = clock()
                cur.execute(sql, (c,))
                cur.fetchall()
                ref.append(clock() - t)
            cur.close()
    finally:
        eng.dispose()
    everything = [x for v in times.values() for x in v]
    p50, p99 = percentiles(everything)
    r50, r99 = percentiles(ref)
    per_kind = {k: percentiles(v) for k, v in times.items()}
    worst = max(per_kind.items(), key=lambda kv: kv[1][1])
    note = (f"{len(everything):,} queries, {hits / len(everything):.0%} with hits; p50/p99 ms by kind: "
            + ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in sorted(per_kind.items()))
            + f"; slowest kind {worst[0]}")
    return [
        Figure("search", kind, "search p50", p50, "ms", "—", r50, "uscc = ? p50"),
        Figure("search", kind, "search p99", p99, "ms", f"≤ {TARGET_P99_MS:g}", r99, "uscc = ? p99",
               p99 <= TARGET_P99_MS, note=note,
               extra={"per_kind_ms": {k: list(v) for k, v in per_kind.items()}}),
    ]


def run(dbs: list[str], subjects: int = FULL_SUBJECTS, records: int = FULL_RECORDS,
        queries: int = 3000) -> list[Figure]:
    figures: list[Figure] = []
    for kind in dbs:
        figures += run_one(kind, scale_db(kind, subjects, records), queries)
    return figures


def main(argv: list[str] | None = None) -> list[Figure]:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--subjects", type=int, default=FULL_SUBJECTS)
    p.add_argument("--records", type=int, default=FULL_RECORDS)
    p.add_argument("--queries", type=int, default=3000)
    args = p.parse_args(argv)
    figures = run(dbs_of(args.db), args.subjects, args.records, args.queries)
    print_table(f"search: {args.subjects:,} subjects", figures)
    save_figures("bench_search", figures)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])

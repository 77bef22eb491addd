"""Every benchmark of issue #2 (``make bench``), with one summary table at the end.

    python -m benchmarks.run_all [--db sqlite|postgresql|both] [--quick] [--only ingest,search]

``--quick`` runs small sizes (minutes instead of the full 1M/20M scale, which is generated once
and then reused). A benchmark that crashes is reported as FAIL with its error; the others run.
"""

from __future__ import annotations

import sys
import time
import traceback

from benchmarks import bench_ingest, bench_profile, bench_search, bench_stream
from benchmarks.common import Figure, base_parser, dbs_of, print_table, save_figures

FULL = {"subjects": 1_000_000, "records": 20_000_000, "ingest_rows": 1_000_000,
        "ingest_subjects": 100_000, "stream_rows": 5_000_000, "samples": 5000, "queries": 3000,
        "http_seconds": 10.0}
QUICK = {"subjects": 20_000, "records": 400_000, "ingest_rows": 100_000,
         "ingest_subjects": 20_000, "stream_rows": 300_000, "samples": 1000, "queries": 1000,
         "http_seconds": 3.0}


def run(dbs: list[str], sizes: dict, only: set[str] | None = None,
        connections: int = 8) -> list[Figure]:
    figures: list[Figure] = []
    steps = {
        "ingest": lambda: bench_ingest.run(dbs, rows=sizes["ingest_rows"],
                                           subjects=sizes["ingest_subjects"]),
        "profile": lambda: bench_profile.run(dbs, sizes["subjects"], sizes["records"],
                                             sizes["samples"], sizes["http_seconds"], connections),
        "search": lambda: bench_search.run(dbs, sizes["subjects"], sizes["records"],
                                           sizes["queries"]),
        "stream": lambda: (bench_stream.run(sizes["stream_rows"], sizes["ingest_subjects"])
                           if "sqlite" in dbs else []),
    }
    for name, step in steps.items():
        if only and name not in only:
            continue
        t = time.perf_counter()
        try:
            got = step()
        except Exception as exc:
            traceback.print_exc()
            got = [Figure(name, ",".join(dbs), "error", float("nan"), "", "runs", None, "",
                          False, note=f"{type(exc).__name__}: {exc}"[:300])]
        print_table(f"{name} ({time.perf_counter() - t:.0f}s)", got)
        figures += got
    return figures


def main(argv: list[str] | None = None) -> list[Figure]:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes")
    p.add_argument("--only", default="", help="comma-separated: ingest,profile,search,stream")
    p.add_argument("--connections", type=int, default=8)
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    only = {s.strip() for s in args.only.split(",") if s.strip()} or None
    figures = run(dbs_of(args.db), sizes, only, args.connections)
    print_table("summary (issue #2 targets)", figures)
    save_figures("run_all", figures)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])

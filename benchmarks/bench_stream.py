"""Streaming ingest memory (issue #2): a 5,000,000-row penalty CSV, generated on disk chunk by
chunk, ingested with ``ingest_file`` into SQLite in a child process whose peak RSS is measured
(``VmHWM`` of the child's own ``/proc/self/status``, read as it finishes). Target ≤ 500 MB.
Reference, same run: the peak RSS of a bare child that imports the same modules and does
nothing else.

Not ``os.wait4``'s ``ru_maxrss``: Linux carries the high-water mark of the image a child had
before ``exec`` — a copy of this parent, which holds the subjects and the CSV generator — into
the child's figure, so a bare child seemed to peak at the parent's ~580 MB.

    python -m benchmarks.bench_stream [--rows 5000000] [--subjects 100000]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from benchmarks.common import ROOT, Figure, base_parser, bench_dir, print_table, save_figures

TARGET_MB = 500.0
MODULES = ["polars", "sqlalchemy", "xinyong.records.ingest", "xinyong.core.db"]


def _peak_rss_mb() -> float:
    """This process's peak resident set size since it started (its ``exec``), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found in /proc/self/status")


def _child_main(argv: list[str]) -> None:
    import importlib

    for m in MODULES:
        importlib.import_module(m)
    if argv[0] == "baseline":
        print(json.dumps({"ok": True, "peak_mb": _peak_rss_mb()}))
        return
    from pathlib import Path

    from xinyong.core.db import make_engine, set_engine
    from xinyong.records.ingest import ingest_file

    url, csv = argv[1], Path(argv[2])
    eng = make_engine(url)
    set_engine(eng)
    t = time.perf_counter()
    res = ingest_file(eng, csv, record_type="administrative_penalty", department="market",
                      profile="dual_publicity_penalty", actor="bench")
    seconds = time.perf_counter() - t
    print(json.dumps({**res.summary(), "seconds": seconds, "peak_mb": _peak_rss_mb()},
                     default=str))


def _run_child(args: list[str]) -> tuple[dict, float, float]:
    """(its JSON output, peak RSS in MB, wall seconds)."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.bench_stream", "--child", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    proc.wait()
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {err.decode()[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return result, float(result["peak_mb"]), wall


def run(rows: int = 5_000_000, subjects: int = 100_000) -> list[Figure]:
    from benchmarks.bench_ingest import ingest_db
    from benchmarks.penalty_csv import penalty_csv_once

    url = ingest_db("sqlite", subjects, name="stream")
    t = time.perf_counter()
    path = penalty_csv_once(url, bench_dir() / f"penalties-stream-{subjects}-{rows}.csv", rows)
    gen_s = time.perf_counter() - t
    size_mb = path.stat().st_size / 1e6
    _, base_mb, _ = _run_child(["baseline"])
    result, peak_mb, wall = _run_child(["ingest", url, str(path)])
    rate = rows / result["seconds"]
    note = (f"{rows:,} rows, CSV {size_mb:,.0f} MB (generated in {gen_s:.0f}s, streamed); "
            f"ingest {result['seconds']:.1f}s = {rate:,.0f} rows/s, inserted "
            f"{result['inserted']:,}, rejected {result['rejected']}; peak above baseline "
            f"{peak_mb - base_mb:,.0f} MB")
    return [Figure("stream", "sqlite", "peak RSS", peak_mb, "MB", f"≤ {TARGET_MB:g}", base_mb,
                   "bare import RSS", peak_mb <= TARGET_MB, note=note,
                   extra={"rows": rows, "csv_mb": size_mb, "ingest": result, "wall": wall})]


def main(argv: list[str] | None = None) -> list[Figure]:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        _child_main(argv[1:])
        return []
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--subjects", type=int, default=100_000)
    args = p.parse_args(argv)
    if args.db == "postgresql":
        p.error("bench_stream measures the embedded SQLite path only")
    figures = run(args.rows, args.subjects)
    print_table(f"stream: {args.rows:,} rows into SQLite", figures)
    save_figures("bench_stream", figures)
    return figures


if __name__ == "__main__":
    main()

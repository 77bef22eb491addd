"""Signed credit reports per second (issue #5: ≥ 10 per second on this machine).

Builds a small database of its own (``--subjects`` subjects with ``--records`` records, the
built-in evaluation models run) in a temporary place, then issues one signed report for each
of ``--n`` distinct subjects through the full path — profile query, evaluation results,
rendering (ReportLab, embedded CJK font), PAdES signing (pyHanko, ECDSA P-256), storing the
report, its file and the audit entry, one transaction each — first in one process, then with
the batch path's process pool.

References measured in the same run, so the figure can be judged: the bare ReportLab render of
the same reports' content (no database, no signature) and the bare pyHanko signature of a
one-page PDF. One report costs at least their sum.

    python -m benchmarks.bench_reports [--db sqlite|postgresql|both] [--subjects 200]
        [--records 4000] [--n 100] [--workers 2]
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.common import Figure, at_least, base_parser, dbs_of, pg_url, print_table
from xinyong.core import clock
from xinyong.core.db import make_engine, session_scope, set_engine
from xinyong.core.migrate import upgrade

TARGET = 10.0  # signed reports per second


def _build(url: str, subjects: int, records: int) -> None:
    from xinyong.evaluation import service as evaluation
    from xinyong.scale import generate_scale

    eng = make_engine(url)
    upgrade(eng)
    generate_scale(eng, subjects=subjects, records=records, verbose=False)
    with eng.begin() as conn:
        evaluation.sync_builtin_models(conn)
    evaluation.evaluate(eng, "gz_general")
    eng.dispose()


def _subject_ids(n: int) -> list[int]:
    from sqlalchemy import text

    with session_scope() as session:
        rows = session.execute(text(
            "SELECT subject_id FROM credit_record GROUP BY subject_id ORDER BY subject_id"
        )).scalars().all()
    return [int(r) for r in rows[:n]]


def _references(ids: list[int]) -> tuple[float, float]:
    """(ms per bare render of the same content, ms per bare signature of a 1-page PDF)."""
    from xinyong.records.profile import build_profile
    from xinyong.reports import pdf, service, signing
    from xinyong.subjects.models import Subject

    contents = []
    with session_scope() as session:
        for sid in ids:
            subj = session.get(Subject, sid)
            assert subj is not None
            profile = build_profile(session, subj, "public")
            results = service._results(session, sid, "public")
            serial = f"XY-2026-{sid:06d}-BENC"
            meta = service.ReportMeta(serial, "public", "基准测试", clock.today(), clock.today(),
                                      service.verify_url(serial))
            contents.append((serial, *service.report_blocks(profile, results, meta)))
    pdf.render("预热", [pdf.Paragraph("预热")])
    t0 = time.perf_counter()
    for serial, title, blocks in contents:
        pdf.render(title, blocks, serial=serial, footer="公共信用信息平台")
    render_ms = (time.perf_counter() - t0) * 1000 / len(contents)

    one_page = pdf.render("一页", [pdf.Paragraph("签名基准")])
    signing.sign_pdf(one_page, reason="预热")
    k = max(20, len(ids) // 2)
    t0 = time.perf_counter()
    for _ in range(k):
        signing.sign_pdf(one_page, reason="基准")
    sign_ms = (time.perf_counter() - t0) * 1000 / k
    return render_ms, sign_ms


def run_one(kind: str, subjects: int, records: int, n: int, workers: int,
            keys: Path) -> list[Figure]:
    from xinyong.accounts.principal import CLI
    from xinyong.reports import service
    from xinyong.reports.config import ReportSettings, use_settings

    tmp = Path(tempfile.mkdtemp(prefix="xy-bench-reports-"))
    pg_name = None
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'reports.db'}"
    else:
        from benchmarks.common import pg_create

        pg_name = f"xinyong_reports_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        pg_create(pg_name)
        url = pg_url(pg_name).replace("postgresql://", "postgresql+psycopg://", 1)
    use_settings(ReportSettings(signing_dir=keys))
    try:
        t0 = time.perf_counter()
        _build(url, subjects, records)
        print(f"[{kind}] built {subjects} subjects / {records} records in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        eng = make_engine(url)
        set_engine(eng)
        ids = _subject_ids(2 * n)
        assert len(ids) >= 2 * n, f"only {len(ids)} subjects with records; lower --n"
        single, pooled = ids[:n], ids[n:]
        render_ms, sign_ms = _references(single)

        # warm-up: font, key, statements
        with session_scope() as session:
            service.issue_report(session, subject=single[0], view="public", purpose="预热",
                                 principal=CLI)
        t0 = time.perf_counter()
        service.issue_batch(single, view="public", purpose="基准测试", principal=CLI, workers=1)
        one = n / (time.perf_counter() - t0)

        t0 = time.perf_counter()
        service.issue_batch(pooled, view="public", purpose="基准测试", principal=CLI,
                            workers=workers)
        pool = n / (time.perf_counter() - t0)  # includes starting the pool

        floor = 1000 / (render_ms + sign_ms)
        note = (f"bare render {render_ms:.1f} ms + bare signature {sign_ms:.1f} ms per report "
                f"→ at most {floor:.1f}/s in one process without the database")
        return [
            Figure("reports", kind, "signed reports/s, 1 process", one, "reports/s",
                   f"≥ {TARGET:.0f}", floor, "render+sign only", at_least(one, TARGET), note),
            Figure("reports", kind, f"signed reports/s, {workers} processes", pool, "reports/s",
                   f"≥ {TARGET:.0f}", floor * workers, f"render+sign ×{workers}",
                   at_least(pool, TARGET), "the batch path (issue_batch), pool start-up included"),
            Figure("reports", kind, "bare render (reference)", render_ms, "ms/report", "—"),
            Figure("reports", kind, "bare pyHanko signature, 1 page (reference)", sign_ms,
                   "ms/signature", "—"),
        ]
    finally:
        set_engine(None)
        use_settings(None)
        shutil.rmtree(tmp, ignore_errors=True)
        if pg_name:
            from benchmarks.common import pg_drop

            pg_drop(pg_name)


def run(dbs: list[str], subjects: int = 200, records: int = 4000, n: int = 60,
        workers: int = 2) -> list[Figure]:
    keys = Path(tempfile.mkdtemp(prefix="xy-bench-keys-"))
    figures: list[Figure] = []
    try:
        for kind in dbs:
            figures += run_one(kind, subjects, records, n, workers, keys)
    finally:
        shutil.rmtree(keys, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--subjects", type=int, default=200)
    p.add_argument("--records", type=int, default=4000)
    p.add_argument("--n", type=int, default=60, help="reports per measurement (distinct subjects)")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    figures = run(dbs_of(args.db), args.subjects, args.records, args.n, args.workers)
    print_table("signed credit reports", figures)
    from benchmarks.common import save_figures

    print(f"saved {save_figures('reports', figures)}")
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The benchmarks of issues #2 and #3 at a tiny size, on SQLite and PostgreSQL, so their code cannot
rot. Only that figures come out is checked — not the targets, which need the full size."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from benchmarks import (
    bench_evaluate,
    bench_ingest,
    bench_profile,
    bench_repair_notices,
    bench_reports,
    bench_search,
    bench_stream,
    common,
)
from benchmarks.common import Figure
from xinyong.core.db import make_engine
from xinyong.core.migrate import upgrade
from xinyong.scale import ScaleError, generate_scale

SUBJECTS = 2_000
RECORDS = 20_000


def _pg_problem() -> str | None:
    try:
        common.pg_exists("postgres")
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        problem = _pg_problem()
        if problem is not None:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
            pytest.skip(f"PostgreSQL not reachable: {problem}")
    return str(request.param)


@pytest.fixture(autouse=True, scope="module")
def _isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Own directory and database names; everything created is dropped at the end."""
    mp = pytest.MonkeyPatch()
    prefix = f"xybs_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    mp.setattr(common, "BENCH_DIR", tmp_path_factory.mktemp("bench"))
    mp.setattr(common, "PREFIX", prefix)
    yield
    mp.undo()
    if _pg_problem() is None:
        eng = make_engine(common.pg_url("postgres"), isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            names = conn.execute(
                text("SELECT datname FROM pg_database WHERE starts_with(datname, :p)"),
                {"p": prefix}).scalars().all()
        eng.dispose()
        for name in names:
            common.pg_drop(name)


def _check(figures: list[Figure], metrics: set[str]) -> None:
    got = {f.metric for f in figures}
    assert metrics <= got, got
    for f in figures:
        assert isinstance(f.ours, float | int) and not math.isnan(f.ours), f
        assert f.passed in (True, False, None)
    common.print_table("smoke", figures)


def test_scale_is_valid_and_resumable(kind: str) -> None:
    from stdnum.cn import uscc

    url = common.scale_db(kind, SUBJECTS, RECORDS, verbose=False)
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            q = conn.exec_driver_sql
            assert q("SELECT COUNT(*) FROM subject").scalar_one() == SUBJECTS
            assert q("SELECT COUNT(*) FROM credit_record").scalar_one() == RECORDS
            # one detail row per record, same key
            assert q(
                "SELECT COUNT(*) FROM credit_record r JOIN credit_record_detail d"
                " ON d.subject_id = r.subject_id AND d.id = r.id"
            ).scalar_one() == RECORDS
            assert q("SELECT COUNT(*) FROM credit_record_detail").scalar_one() == RECORDS
            # repaired/revoked records carry the date their status changed, after the decision
            assert q(
                "SELECT COUNT(*) FROM credit_record WHERE (status = 'active')"
                " = (status_since IS NOT NULL) OR status_since < decided_on"
            ).scalar_one() == 0
            codes = q("SELECT uscc FROM subject ORDER BY id LIMIT 200").scalars().all()
            assert all(uscc.is_valid(c) for c in codes)
            assert q("SELECT COUNT(DISTINCT record_type) FROM credit_record").scalar_one() >= 10
        # complete: a second call does nothing; a bigger database than asked is refused
        stats = generate_scale(eng, subjects=SUBJECTS, records=RECORDS, verbose=False)
        assert stats["records_in_db"] == RECORDS and stats["records_per_second"] == 0
        with pytest.raises(ScaleError):
            generate_scale(eng, subjects=SUBJECTS // 2, records=RECORDS, verbose=False)
    finally:
        eng.dispose()


def test_scale_refuses_a_database_with_other_data(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(eng)
    generate_scale(eng, subjects=50, records=0, verbose=False)
    with eng.begin() as conn:
        conn.exec_driver_sql("UPDATE subject SET source = 'registrations' WHERE id = 1")
    with pytest.raises(ScaleError):
        generate_scale(eng, subjects=100, records=500, verbose=False)
    eng.dispose()


def test_bench_profile(kind: str) -> None:
    figures = bench_profile.run([kind], SUBJECTS, RECORDS, samples=200, http_seconds=1,
                                connections=2)
    _check(figures, {"build_profile p99", "HTTP profile req/s"})


def test_bench_search(kind: str) -> None:
    figures = bench_search.run([kind], SUBJECTS, RECORDS, queries=200)
    _check(figures, {"search p99"})


def test_bench_ingest(kind: str) -> None:
    figures = bench_ingest.run([kind], rows=5_000, subjects=SUBJECTS)
    _check(figures, {"rows/s", "× raw insert"})


def test_bench_stream() -> None:
    figures = bench_stream.run(rows=5_000, subjects=SUBJECTS)
    _check(figures, {"peak RSS"})
    assert figures[0].reference and figures[0].reference > 0


def test_bench_evaluate(kind: str) -> None:
    figures = bench_evaluate.run([kind], SUBJECTS, RECORDS, samples=20)
    _check(figures, {"batch seconds", "× bare aggregate", "peak RSS", "incremental p99",
                     "× columnar (DuckDB/Parquet)"})


def test_bench_reports(kind: str) -> None:
    # one worker: the pool path is measured at full size only (spawning costs seconds)
    figures = bench_reports.run([kind], subjects=40, records=800, n=4, workers=1)
    by_metric = {f.metric: f for f in figures}
    assert by_metric["signed reports/s, 1 process"].ours > 0
    assert by_metric["bare render (reference)"].ours > 0


def test_bench_repair_notices(engine: Engine) -> None:
    seconds, hook_seconds, notices = bench_repair_notices.run(engine, 300, with_hook=True)
    assert notices == 300 and 0 < hook_seconds <= seconds

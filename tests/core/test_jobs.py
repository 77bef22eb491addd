"""The daily jobs on both databases: they run, they are idempotent, a failing one is reported
without stopping the others, and the CLI runs them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.evaluation import builders as b
from xinyong.core import clock, jobs


def _ended(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT COUNT(*) FROM record_event WHERE kind = 'publicity_ended'")).scalar_one())


def test_daily_jobs_write_each_event_once(engine: Engine) -> None:
    clock.set_today(dt.date(2025, 1, 10))
    b.departments()
    b.subject(engine, 1)
    b.penalty(engine, 1, "2025-01-05")  # a general penalty: public for one year
    clock.set_today(dt.date(2026, 11, 22))
    first = jobs.run_daily()
    assert [r.name for r in first] == [name for name, _, _ in jobs.DAILY_JOBS]
    assert all(r.ok for r in first), first
    assert _ended(engine) == 1
    assert all(r.ok for r in jobs.run_daily())
    assert _ended(engine) == 1  # a second run on the same day changes nothing


def test_a_failing_job_is_reported_and_the_others_run(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "DAILY_JOBS", [
        ("broken", "坏任务", "xinyong.core.jobs:no_such_function"),
        *jobs.DAILY_JOBS,
    ])
    out = jobs.run_daily(dt.date(2026, 11, 22))
    assert not out[0].ok and "no_such_function" in str(out[0].outcome)
    assert all(r.ok for r in out[1:])


def test_cli_runs_the_daily_jobs(engine: Engine) -> None:
    from xinyong.cli import app

    r = CliRunner().invoke(app, ["jobs", "daily", "--only", "publicity"])
    assert r.exit_code == 0, r.output
    assert "公示期届满" in r.output


def test_the_daily_batch_turns_a_code_back_when_publicity_ends(engine: Engine) -> None:
    """A penalty makes the 惠信码 red while it is public; the daily jobs turn it blue on the day
    after its publicity period with no record sent; a second run on the same day writes no new
    result and no new run."""
    from xinyong.evaluation import service

    b.departments()
    with engine.begin() as conn:
        service.sync_builtin_models(conn)
    with clock.frozen(dt.date(2026, 9, 10)):
        sid = b.subject(engine, 31)
        b.penalty(engine, 31, "2026-09-01")  # a lower SAMR fine: three months' publicity
    with engine.connect() as conn:
        until = conn.execute(text(
            "SELECT publicity_until FROM credit_record WHERE subject_id = :s"), {"s": sid}
        ).scalar_one()
    until = dt.date.fromisoformat(str(until))
    assert until == dt.date(2026, 12, 1)

    def colour() -> str:
        with engine.connect() as conn:
            return {r["model"]: r for r in service.subject_results(
                conn, sid, government=True)}["huixin_code"]["colour"]

    def counts() -> tuple[int, int]:
        with engine.connect() as conn:
            return (
                int(conn.execute(text("SELECT COUNT(*) FROM evaluation_history")).scalar_one()),
                int(conn.execute(text("SELECT COUNT(*) FROM evaluation_run")).scalar_one()),
            )

    assert colour() == "red"
    clock.set_today(until)  # the last day of its publicity: still red
    out = {r.name: r for r in jobs.run_daily()}
    assert out["evaluation"].ok, out["evaluation"].outcome
    assert colour() == "red"
    clock.set_today(until + dt.timedelta(days=1))
    out = {r.name: r for r in jobs.run_daily()}
    assert out["evaluation"].ok and out["evaluation"].outcome["huixin_code"] >= 1
    assert colour() == "blue"
    before = counts()
    again = {r.name: r for r in jobs.run_daily()}
    assert again["evaluation"].outcome == {}
    assert counts() == before

"""Deadlines in working days around the 2026 National Day week and across the year end, the
overdue flags of the queues with the injected clock, the sweep's reminders, and the CLI."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.objections import helpers as h
from xinyong.cli import app as cli
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.core.workdays import shipped_calendar
from xinyong.objections import service


def _case(w: h.World, oid: int) -> dict:
    with session_scope() as session:
        return service.get_objection(session, w.principal("admin"), oid)


def _file(w: h.World, record_id: int | None = None) -> int:
    with session_scope() as session:
        return service.file_objection(session, actor="user:obj-s1", subject_id=w.s1,
                                      record_id=record_id or w.record, reason="金额有误。")


def test_national_day_week(engine: Engine, world: h.World) -> None:
    w = world
    with clock.frozen(dt.date(2026, 9, 30)):
        oid = _file(w)
    # 10-01..10-07 are off: the 2 working days are 10-08 and 10-09
    assert _case(w, oid)["due_on"] == "2026-10-09"
    with clock.frozen(dt.date(2026, 10, 9)), session_scope() as session:
        service.accept(session, oid, actor="user:obj-admin")
    # Sat 10-10 is a make-up working day: 10-10 and 10-12
    assert _case(w, oid)["due_on"] == "2026-10-12"
    with clock.frozen(dt.date(2026, 10, 12)), session_scope() as session:
        service.assign(session, oid, actor="user:obj-admin")
    # ten working days from Mon 10-12: 13, 14, 15, 16, 19, 20, 21, 22, 23, 26
    case = _case(w, oid)
    assert case["due_on"] == "2026-10-26" and not case["due_provisional"]
    with clock.frozen(dt.date(2026, 10, 26)), session_scope() as session:
        service.answer(session, oid, department_id=w.market, actor="user:obj-market",
                       proposal="upheld", reason="经核实无误。")
    assert _case(w, oid)["due_on"] == "2026-10-28"
    due = [s["due_on"] for s in _case(w, oid)["steps"]]
    assert due == ["2026-10-09", "2026-10-12", "2026-10-26", "2026-10-28"]


def test_year_end_is_provisional(engine: Engine, world: h.World) -> None:
    w = world
    with clock.frozen(dt.date(2026, 12, 30)):
        oid = _file(w, w.other)
    case = _case(w, oid)
    # 12-31 (Thu) and then 2027-01-01: 2027's schedule is not published yet, so weekends only
    assert case["due_on"] == "2027-01-01" and case["due_provisional"] is True
    with clock.frozen(dt.date(2026, 12, 31)), session_scope() as session:
        service.accept(session, oid, actor="user:obj-admin")
        service.assign(session, oid, actor="user:obj-admin")
    case = _case(w, oid)
    assert case["due_on"] == "2027-01-14" and case["due_provisional"] is True


def test_overdue_flags_and_sweep(engine: Engine, world: h.World) -> None:
    w = world
    with clock.frozen(dt.date(2026, 9, 30)):
        oid = _file(w)
    admin, market = w.principal("admin"), w.principal("market")
    # the last day: not late yet
    with clock.frozen(dt.date(2026, 10, 9)), session_scope() as session:
        assert service.list_objections(session, admin, overdue=True)[1] == 0
        assert service.sweep(session) == {"overdue": 0, "reminded": 0}
    with clock.frozen(dt.date(2026, 10, 10)):
        with session_scope() as session:
            rows, total = service.list_objections(session, admin, overdue=True)
            assert total == 1 and rows[0]["overdue"] and rows[0]["stage_label"] == "受理"
            assert service.counts(session, admin) == {"open": 1, "overdue": 1}
            assert service.sweep(session) == {"overdue": 1, "reminded": 0}
        with session_scope() as session:
            assert service.sweep(session) == {"overdue": 0, "reminded": 0}  # once per stage
        with session_scope() as session:
            service.accept(session, oid, actor="user:obj-admin")  # late, but accepted now
            service.assign(session, oid, actor="user:obj-admin")
    assert h.messages(engine, "obj-admin") == [("objection_overdue", "异议处理已超期")]
    # assigned on Sat 10-10, a make-up working day: 12, 13, 14, 15, 16, 19, 20, 21, 22, 23
    assert _case(w, oid)["due_on"] == "2026-10-23"
    # 10-22 is the horizon: no reminder yet
    with clock.frozen(dt.date(2026, 10, 20)), session_scope() as session:
        assert service.sweep(session)["reminded"] == 0
    with clock.frozen(dt.date(2026, 10, 21)):
        with session_scope() as session:
            assert service.sweep(session)["reminded"] == 1
        with session_scope() as session:
            assert service.sweep(session)["reminded"] == 0  # the same reminder is never re-sent
            # the department sees the case in its queue, not yet late
            rows, _ = service.list_objections(session, market)
            assert [r["id"] for r in rows] == [oid] and not rows[0]["overdue"]
    with clock.frozen(dt.date(2026, 10, 24)), session_scope() as session:
        assert service.sweep(session)["overdue"] == 1
        rows, _ = service.list_objections(session, market, overdue=True)
        assert rows[0]["stage_label"] == "数据提供单位答复"
    assert [k for k, _ in h.messages(engine, "obj-market")] == [
        "objection_assigned", "objection_due_soon", "objection_overdue"]
    steps = [s["step"] for s in _case(w, oid)["steps"]]
    assert steps == ["filed", "overdue", "accepted", "assigned", "reminded", "overdue"]
    with engine.connect() as conn:
        stages = [r for (r,) in conn.execute(text(
            "SELECT overdue_stage FROM objection WHERE id = :i"), {"i": oid})]
    assert stages == ["assigned"]


def test_cli_lists_overdue_and_sweeps(engine: Engine, world: h.World) -> None:
    w = world
    with clock.frozen(dt.date(2026, 9, 30)):
        oid = _file(w)
    runner = CliRunner()
    with clock.frozen(dt.date(2026, 10, 12)):
        out = runner.invoke(cli, ["objections", "list", "--overdue"], env={"COLUMNS": "200"})
        assert out.exit_code == 0, out.output
        assert "广州测试1号有限公司" in out.output and "超期" in out.output and str(oid) in out.output
        out = runner.invoke(cli, ["objections", "sweep"])
        assert out.exit_code == 0, out.output
        assert "超期标记 1 件" in out.output
    out = runner.invoke(cli, ["objections", "sweep", "--today", "2026-10-12"])
    assert "超期标记 0 件" in out.output


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31)),
       st.sampled_from(["acceptance", "platform_check", "department_answer"]))
def test_every_deadline_is_the_nth_working_day(start: dt.date, step: str) -> None:
    cal = shipped_calendar()
    n = service.rules().at(start).deadlines[step]
    due = cal.add_working_days(start, n).due
    assert cal.is_working_day(due)
    assert cal.working_days_between(start, due) == n
    assert cal.working_days_between(start, due - dt.timedelta(days=1)) == n - 1

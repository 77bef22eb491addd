"""The colour a code shows is the subject's CURRENT huixin_code result, read at every scan."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.evaluation import builders as b
from tests.reports.codes.conftest import HONOURED, PLAIN
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.records.service import change_record_status
from xinyong.reports import codes


def _issue(subject_id: int) -> dict[str, Any]:
    with session_scope() as session:
        return codes.issue_code(session, subject_id, actor="test")


def _verify(token: str) -> dict[str, Any]:
    with session_scope() as session:
        return codes.verify(session, token)


def test_colour_follows_a_serious_penalty_and_its_repair(engine: Engine,
                                                         world: dict[str, Any]) -> None:
    sid = world["honoured"]
    issued = _issue(sid)
    assert issued["colour"]["code"] == "green"
    first = _verify(issued["token"])
    assert first["summary"]["positive"] == 1 and first["summary"]["negative"] == 0
    # A serious penalty arrives through ingest; incremental evaluation turns the code red.
    b.penalty(engine, HONOURED, "2026-11-10", cls="serious")
    after = _verify(issued["token"])
    assert after["colour"]["code"] == "red" and after["colour"]["name"] == "红码"
    assert after["colour_changed"] and after["colour_at_issue"] == "green"
    assert after["colour_at_issue_name"] == "绿码"
    assert after["summary"]["negative"] == 1 and not after["summary"]["serious_dishonesty"]
    # A code issued now is red from the start.
    assert _issue(sid)["colour"]["code"] == "red"
    # Repair ends the penalty's effect: the honour makes it green again.
    with engine.begin() as conn:
        rid = conn.execute(
            text("SELECT id FROM credit_record WHERE subject_id = :s"
                 " AND record_type = 'administrative_penalty'"), {"s": sid}).scalar_one()
        change_record_status(conn, record_id=rid, status="repaired",
                             effective_on=dt.date(2026, 11, 21), actor="test")
    latest = _issue(sid)
    assert latest["colour"]["code"] == "green"
    repaired = _verify(latest["token"])
    assert not repaired["colour_changed"] and repaired["summary"]["negative"] == 0


def test_blue_and_serious_dishonesty_list(engine: Engine, world: dict[str, Any]) -> None:
    issued = _issue(world["plain"])
    assert issued["colour"]["code"] == "blue" and issued["colour"]["name"] == "蓝码"
    b.serious_list(engine, PLAIN, "2026-11-01")
    r = _verify(issued["token"])
    assert r["colour"]["code"] == "red" and r["summary"]["serious_dishonesty"]
    assert [x["code"] for x in r["summary"]["lists"]] == ["serious_dishonesty_list"]


def test_no_result_is_said_not_faked(engine: Engine, world: dict[str, Any]) -> None:
    issued = _issue(world["unrated"])
    assert issued["colour"] is None and issued["no_result_text"] == "暂无评价结果"
    r = _verify(issued["token"])
    assert r["colour"] is None and r["no_result_text"] == "暂无评价结果"
    assert not r["colour_changed"]


def test_natural_person_gets_no_code(engine: Engine, world: dict[str, Any]) -> None:
    with pytest.raises(codes.CodeError) as exc:
        _issue(world["person"])
    assert exc.value.code == "CODE_NATURAL_PERSON" and exc.value.status == 403
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM credit_code")).scalar() == 0
        assert conn.execute(text(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'credit_code.issue'")).scalar() == 0


def test_a_revoked_subject_loses_its_code(engine: Engine, world: dict[str, Any]) -> None:
    issued = _issue(world["plain"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE subject SET status = 'revoked' WHERE id = :s"),
                     {"s": world["plain"]})
    with pytest.raises(codes.CodeError) as exc:
        _verify(issued["token"])
    assert exc.value.code == "CODE_SUBJECT_INACTIVE" and exc.value.status == 410
    assert "已吊销" in exc.value.message
    with pytest.raises(codes.CodeError) as exc:
        _issue(world["plain"])
    assert exc.value.code == "CODE_SUBJECT_INACTIVE"


def test_model_is_a_setting(engine: Engine, world: dict[str, Any],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    from xinyong.core.config import get_settings

    monkeypatch.setenv("XINYONG_CREDIT_CODE_MODEL", "samr_risk")  # government-only: not shown
    get_settings.cache_clear()
    with clock.frozen(b.AS_OF):
        assert _issue(world["honoured"])["colour"] is None

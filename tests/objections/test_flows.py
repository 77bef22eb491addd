"""The three outcomes end to end through the service: corrected, revoked, upheld."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.objections import helpers as h
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.objections import service
from xinyong.records.profile import build_profile
from xinyong.subjects.models import Subject


def _status_in_profile(engine: Engine, sid: int, rid: int, view: str) -> str | None:
    with session_scope() as session:
        profile = build_profile(session, session.get(Subject, sid), view)  # type: ignore[arg-type]
    for c in profile["categories"]:
        for r in c["records"]:
            if r["id"] == rid:
                return str(r["status_label"])
    return None


def _file(w: h.World, **kw: object) -> int:
    with session_scope() as session:
        return service.file_objection(
            session, actor="user:obj-s1", record_id=kw.pop("record_id", w.record),  # type: ignore[arg-type]
            subject_id=w.s1, reason=kw.pop("reason", "处罚决定书文号有误，罚款金额应为 20000 元。"),  # type: ignore[arg-type]
            **kw)  # type: ignore[arg-type]


def _to_department(w: h.World, oid: int) -> None:
    with session_scope() as session:
        service.accept(session, oid, actor="user:obj-admin", note="材料齐全")
    with session_scope() as session:
        service.check(session, oid, actor="user:obj-admin", finding="source_data",
                      note="平台记录与报送数据一致")
        service.assign(session, oid, actor="user:obj-admin", note="请核实")


def test_corrected_makes_a_new_version_and_re_evaluates(engine: Engine, world: h.World) -> None:
    w = world
    before = h.grade(engine, w.s1)
    oid = _file(w, claimed_values={"fine_amount": "20000", "penalty_class": "general"})
    # filed: not yet marked (the mark comes with acceptance)
    assert h.record_row(engine, w.record).status == "active"
    _to_department(w, oid)
    assert h.record_row(engine, w.record).status == "objection_pending"
    assert _status_in_profile(engine, w.s1, w.record, "public") == "异议处理中"
    with session_scope() as session:
        service.answer(session, oid, department_id=w.market, actor="user:obj-market",
                       proposal="corrected", reason="经核实，罚款金额录入有误，失信程度应为一般。",
                       values={"fine_amount": "20000", "penalty_class": "general"})
    with session_scope() as session:
        service.decide(session, oid, actor="user:obj-admin", outcome="corrected",
                       reason="采纳数据提供单位核实意见，予以更正。")
    old = h.record_row(engine, w.record)
    assert old.status == "corrected" and not old.is_current
    with session_scope() as session:
        case = service.get_objection(session, w.principal("s1"), oid)
    new = h.record_row(engine, case["new_record_id"])
    assert new.is_current and new.status == "active" and new.version == 2
    assert new.source_record_id == h.DOC
    with engine.connect() as conn:
        fine, cls = conn.execute(text(
            "SELECT amount_fen, penalty_class FROM credit_record WHERE id = :id"),
            {"id": new.id}).one()
    assert (fine, cls) == (2_000_000, "general")
    assert _status_in_profile(engine, w.s1, new.id, "subject") == "有效"
    # a general penalty with a lower fine is publicised for 3 months only (SAMR order 45):
    # decided on 2026-06-01, the corrected record's publicity has already ended
    assert _status_in_profile(engine, w.s1, new.id, "public") is None
    after = h.grade(engine, w.s1)
    assert after["score"] > before["score"], (before, after)
    assert case["status"] == "decided" and case["outcome"] == "corrected"
    assert [s["step"] for s in case["steps"]] == [
        "filed", "accepted", "checked", "assigned", "answered", "decided"]
    kinds = [k for k, _ in h.messages(engine, "obj-s1")]
    assert kinds == ["objection_filed", "objection_accepted", "objection_decided"]
    assert [k for k, _ in h.messages(engine, "obj-market")] == ["objection_assigned"]


def test_revoked_ends_the_record_and_re_evaluates(engine: Engine, world: h.World) -> None:
    w = world
    before = h.grade(engine, w.s1)
    oid = _file(w, reason="该处罚决定已被行政复议撤销，附复议决定书。")
    _to_department(w, oid)
    # objection_pending counts in the shipped models until decided: the grade is unchanged
    assert h.grade(engine, w.s1)["score"] == before["score"]
    with session_scope() as session:
        service.answer(session, oid, department_id=w.market, actor="user:obj-market",
                       proposal="revoked", reason="经核实，该处罚决定已被复议机关撤销。")
        service.decide(session, oid, actor="user:obj-admin", outcome="revoked",
                       reason="处罚决定已撤销，撤销该信用记录。")
    assert h.record_row(engine, w.record).status == "revoked"
    assert _status_in_profile(engine, w.s1, w.record, "public") is None  # revoked: not public
    assert _status_in_profile(engine, w.s1, w.record, "subject") == "已撤销"
    after = h.grade(engine, w.s1)
    assert after["score"] > before["score"]
    with engine.connect() as conn:
        kinds = [k for (k,) in conn.execute(text(
            "SELECT kind FROM record_event WHERE record_id = :r ORDER BY id"), {"r": w.record})]
    assert kinds == ["objection_pending", "revoked"]


def test_upheld_reinstates_the_record(engine: Engine, world: h.World) -> None:
    w = world
    before = h.grade(engine, w.s1)
    oid = _file(w)
    _to_department(w, oid)
    with session_scope() as session:
        service.answer(session, oid, department_id=w.market, actor="user:obj-market",
                       proposal="upheld", reason="经核实，处罚决定书内容与原件一致。")
        service.decide(session, oid, actor="user:obj-admin", outcome="upheld",
                       reason="异议不成立，维持原记录。")
    row = h.record_row(engine, w.record)
    assert row.status == "active" and row.is_current
    assert _status_in_profile(engine, w.s1, w.record, "public") == "有效"
    with engine.connect() as conn:
        kinds = [k for (k,) in conn.execute(text(
            "SELECT kind FROM record_event WHERE record_id = :r ORDER BY id"), {"r": w.record})]
        runs = conn.execute(text(
            "SELECT COUNT(*) FROM evaluation_run WHERE kind = 'incremental'")).scalar_one()
    assert kinds == ["objection_pending", "reinstated"]
    assert runs >= 2  # re-evaluated at the mark and at the reinstatement
    assert h.grade(engine, w.s1)["score"] == before["score"]
    assert h.messages(engine, "obj-s1")[-1] == ("objection_decided", "异议处理结果")


def test_platform_error_is_decided_at_once(engine: Engine, world: h.World) -> None:
    w = world
    oid = _file(w, record_id=w.other, reason="罚款金额与处罚决定书不符。",
                claimed_values={"fine_amount": "2000"})
    with session_scope() as session:
        service.accept(session, oid, actor="user:obj-admin")
        # without a finding of the platform's own error, the office may not decide alone
        with pytest.raises(service.ObjectionError) as exc:
            service.decide(session, oid, actor="user:obj-admin", outcome="corrected",
                           reason="更正", values={"fine_amount": "2000"})
        assert exc.value.code == "OBJECTION_OUT_OF_ORDER"
    with clock.frozen(dt.date(2026, 10, 8)), session_scope() as session:
        service.check(session, oid, actor="user:obj-admin", finding="platform_error",
                      note="平台转换金额单位出错。")
        case = service.get_objection(session, w.principal("admin"), oid)
        assert case["due_on"] == "2026-10-08"  # fixed at once: due the same day
        service.decide(session, oid, actor="user:obj-admin", outcome="corrected",
                       reason="属平台错误，立即更正。", values={"fine_amount": "2000"})
    with session_scope() as session:
        case = service.get_objection(session, w.principal("s1"), oid)
    assert case["outcome"] == "corrected" and case["new_record_id"]
    assert "assigned" not in [s["step"] for s in case["steps"]]


def test_paper_objection_counts_from_receipt(engine: Engine, world: h.World) -> None:
    w = world
    with session_scope() as session:
        oid = service.file_objection(
            session, actor="user:obj-admin", record_id=w.record, subject_id=None,
            channel="paper", received_on=dt.date(2026, 9, 29),
            reason="书面异议：处罚决定已撤销。")
        case = service.get_objection(session, w.principal("s1"), oid)
    assert case["channel"] == "paper" and case["received_on"] == "2026-09-29"
    # 2 working days from the receipt (Tue 09-29): 09-30, then 10-08 after the National Day
    # week — not from the day it was entered (09-30 would give 10-09)
    assert case["due_on"] == "2026-10-08"
    # the subject's account is told, as for its own filing
    assert h.messages(engine, "obj-s1") == [("objection_filed", "异议申请已提交")]


def test_refused_objection_leaves_the_record_alone(engine: Engine, world: h.World) -> None:
    w = world
    oid = _file(w)
    with session_scope() as session:
        service.refuse(session, oid, actor="user:obj-admin", code="no_grounds",
                       reason="未说明具体异议事项，也未提供证明材料。")
        case = service.get_objection(session, w.principal("s1"), oid)
    assert case["status"] == "not_accepted" and case["due_on"] is None
    assert h.record_row(engine, w.record).status == "active"
    assert h.messages(engine, "obj-s1")[-1][0] == "objection_not_accepted"
    # closed: the record may be disputed again
    assert _file(w, reason="补充说明：处罚决定书文号有误，附复议决定书。") > oid


def test_a_new_version_sent_while_pending_stays_marked(engine: Engine, world: h.World) -> None:
    w = world
    oid = _file(w)
    _to_department(w, oid)
    # the department re-sends the record itself (its own correction) while the case is open
    b_row = h.penalty(h.S1, h.DOC, facts="经查，当事人在其网站发布虚假宣传内容（补正）。")
    from tests.evaluation import builders as b

    b.push(engine, "administrative_penalty", "market", [b_row])
    new_id = h.record_id(h.DOC)
    assert new_id != w.record
    assert h.record_row(engine, new_id).status == "objection_pending"
    assert _status_in_profile(engine, w.s1, new_id, "public") == "异议处理中"
    with session_scope() as session:
        service.answer(session, oid, department_id=w.market, actor="user:obj-market",
                       proposal="upheld", reason="已补正事实描述，其余维持。")
        service.decide(session, oid, actor="user:obj-admin", outcome="upheld", reason="维持。")
    assert h.record_row(engine, new_id).status == "active"


def test_seed_demo(engine: Engine, world: h.World) -> None:
    with session_scope() as session:
        made = service.seed_demo(session)
    assert len(made) == 2
    with session_scope() as session:
        first, second = (service.get_objection(session, world.principal("admin"), i)
                         for i in made)
    assert first["status"] == "filed" and second["status"] == "assigned"

"""The API end to end with real logins, the 异议处理中 label in the public profile (API and
page), and every refusal: a Chinese message, a stable code, nothing changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.auth import csrf
from tests.evaluation import builders as b
from tests.objections import helpers as h
from xinyong.objections import service

HTML = {"accept": "text/html"}
Clients = Callable[[str], TestClient]


def _label(client: TestClient, code: str, rid: int) -> str | None:
    profile = client.get(f"/api/v1/subjects/{code}/profile").json()
    for c in profile["categories"]:
        for r in c["records"]:
            if r["id"] == rid:
                return str(r["status_label"])
    return None


def _state(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT COUNT(*) FROM objection), (SELECT COUNT(*) FROM objection_step),"
            " (SELECT COUNT(*) FROM objection_evidence), (SELECT COUNT(*) FROM record_event),"
            " (SELECT COUNT(*) FROM credit_record), (SELECT COUNT(*) FROM batch)")).one())


def test_upheld_through_the_api_with_label(world: h.World, client_for: Clients,
                                           data_dir: Path) -> None:
    s1, admin, market, public = (client_for(u) for u in ("obj-s1", "obj-admin", "obj-market", ""))
    r = s1.post("/api/v1/objections", json={
        "record_id": world.record, "reason": "处罚决定已被撤销，请核实。",
        "claimed_values": {"fine_amount": "20000"}, "contact": "王经理 020-12345678"})
    assert r.status_code == 201, r.text
    case = r.json()
    oid = case["id"]
    assert case["status"] == "filed" and case["due_on"] == "2026-10-09"
    token = csrf(s1.get("/me/objections", headers=HTML).text)
    r = s1.post(f"/api/v1/objections/{oid}/evidence", data={"csrf_token": token},
                files=[("files", ("复议决定书.pdf", h.PDF, "application/pdf")),
                       ("files", ("现场照片.png", h.PNG, "image/png"))])
    assert r.status_code == 201, r.text
    ev = r.json()["evidence"]
    assert [(e["filename"], e["kind"]) for e in ev] == [("复议决定书.pdf", "pdf"),
                                                       ("现场照片.png", "png")]
    stored = data_dir / "uploads" / "objections" / str(oid) / f"{ev[0]['sha256']}.pdf"
    assert stored.read_bytes() == h.PDF
    got = s1.get(f"/api/v1/objections/{oid}/evidence/{ev[0]['id']}")
    assert got.status_code == 200 and got.content == h.PDF
    assert got.headers["content-type"] == "application/pdf"

    assert _label(public, b.code(h.S1), world.record) == "有效"
    assert admin.post(f"/api/v1/objections/{oid}/accept", json={"note": "材料齐全"}).status_code == 200
    assert _label(public, b.code(h.S1), world.record) == "异议处理中"
    page = public.get(f"/subjects/{b.code(h.S1)}", headers=HTML).text
    assert "异议处理中" in page
    r = admin.post(f"/api/v1/objections/{oid}/check",
                   json={"finding": "source_data", "note": "与报送一致"})
    assert r.status_code == 200, r.text
    r = admin.post(f"/api/v1/objections/{oid}/assign", json={"note": "请核实"})
    assert r.json()["status"] == "assigned" and r.json()["due_on"] == "2026-10-20"
    listed = market.get("/api/v1/objections").json()
    assert [c["id"] for c in listed["items"]] == [oid]
    r = market.post(f"/api/v1/objections/{oid}/answer",
                    json={"proposal": "upheld", "reason": "经核实，处罚决定有效。"})
    assert r.status_code == 200, r.text
    r = admin.post(f"/api/v1/objections/{oid}/decide",
                   json={"outcome": "upheld", "reason": "异议不成立，维持原记录。"})
    assert r.status_code == 200, r.text
    assert r.json()["outcome_label"] == "维持原记录"
    assert _label(public, b.code(h.S1), world.record) == "有效"
    assert "异议处理中" not in public.get(f"/subjects/{b.code(h.S1)}", headers=HTML).text
    mine = s1.get("/api/v1/objections").json()
    assert mine["total"] == 1 and mine["items"][0]["status"] == "decided"


def test_corrected_through_the_api(world: h.World, client_for: Clients) -> None:
    s1, admin, market = (client_for(u) for u in ("obj-s1", "obj-admin", "obj-market"))
    oid = s1.post("/api/v1/objections", json={
        "record_id": world.record, "reason": "罚款金额有误。",
        "claimed_values": {"fine_amount": "20000"}}).json()["id"]
    for step, body in (("accept", {}), ("assign", {})):
        assert admin.post(f"/api/v1/objections/{oid}/{step}", json=body).status_code == 200
    r = market.post(f"/api/v1/objections/{oid}/answer", json={
        "proposal": "corrected", "reason": "金额录入错误。", "values": {"fine_amount": "20000"}})
    assert r.status_code == 200, r.text
    # the office decides on the department's values (none given again)
    r = admin.post(f"/api/v1/objections/{oid}/decide",
                   json={"outcome": "corrected", "reason": "予以更正。"})
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["decided_values"] == {"fine_amount": "20000"}
    assert case["record"]["version"] == 2 and case["record"]["status"] == "active"
    fine = next(f for f in case["record"]["fields"] if f["name"] == "fine_amount")
    assert fine["current"] == "20000.00"
    old = h.record_row(world.engine, world.record)
    assert old.status == "corrected" and not old.is_current


def _err(r: Any, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
    return str(body["message"])


def test_bad_input_changes_nothing(world: h.World, client_for: Clients,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    s1, s2, admin, market, tax = (client_for(u) for u in (
        "obj-s1", "obj-s2", "obj-admin", "obj-market", "obj-tax"))
    e = world.engine
    before = _state(e)
    # someone else's record: it does not exist for this subject
    msg = _err(s1.post("/api/v1/objections", json={"record_id": world.s2_record, "reason": "x"}),
               404, "OBJECTION_RECORD_NOT_FOUND")
    assert "不是本主体" in msg
    _err(s1.post("/api/v1/objections", json={"record_id": world.record, "reason": "  "}),
         422, "OBJECTION_REASON_REQUIRED")
    _err(s1.post("/api/v1/objections", json={"record_id": world.record, "reason": "有误",
                                             "claimed_values": {"shoe_size": "42"}}),
         422, "OBJECTION_FIELD_UNKNOWN")
    _err(s1.post("/api/v1/objections", json={"record_id": world.record, "reason": "有误",
                                             "claimed_values": {"uscc": b.code(9)}}),
         422, "OBJECTION_FIELD_FIXED")
    _err(s1.post("/api/v1/objections", json={"record_id": world.record, "reason": "有误",
                                             "claimed_values": {"decided_on": "去年"}}),
         422, "OBJECTION_VALUE_INVALID")
    # a bank or a department may not file
    _err(market.post("/api/v1/objections", json={"record_id": world.record, "reason": "x"}),
         403, "OBJECTION_FORBIDDEN")
    assert _state(e) == before

    oid = s1.post("/api/v1/objections",
                  json={"record_id": world.record, "reason": "处罚决定已撤销。"}).json()["id"]
    before = _state(e)
    _err(s1.post("/api/v1/objections", json={"record_id": world.record, "reason": "再次提出"}),
         409, "OBJECTION_DUPLICATE")
    # files: a type told by content, not by name; a size limit
    token = csrf(s1.get("/me/objections", headers=HTML).text)
    _err(s1.post(f"/api/v1/objections/{oid}/evidence", data={"csrf_token": token},
                 files=[("files", ("决定书.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))]),
         415, "OBJECTION_FILE_TYPE")
    small = dataclasses.replace(service.rules(), max_bytes=1024)
    monkeypatch.setattr(service, "rules", lambda: small)
    _err(s1.post(f"/api/v1/objections/{oid}/evidence", data={"csrf_token": token},
                 files=[("files", ("扫描件.pdf", h.PDF + b"0" * 2048, "application/pdf"))]),
         413, "OBJECTION_FILE_TOO_LARGE")
    monkeypatch.undo()
    # another subject's case does not exist for S2
    _err(s2.get(f"/api/v1/objections/{oid}"), 404, "OBJECTION_NOT_FOUND")
    # out of order: deciding a case not even accepted
    _err(admin.post(f"/api/v1/objections/{oid}/decide",
                    json={"outcome": "revoked", "reason": "撤销"}), 409, "OBJECTION_OUT_OF_ORDER")
    _err(admin.post(f"/api/v1/objections/{oid}/refuse", json={"code": "bogus", "reason": "x"}),
         422, "OBJECTION_REFUSAL_CODE_INVALID")
    # a subject may not decide, nor a department
    assert s1.post(f"/api/v1/objections/{oid}/decide",
                   json={"outcome": "revoked", "reason": "我说撤销"}).status_code == 403
    assert market.post(f"/api/v1/objections/{oid}/decide",
                       json={"outcome": "revoked", "reason": "x"}).status_code == 403
    assert _state(e) == before

    admin.post(f"/api/v1/objections/{oid}/accept", json={})
    admin.post(f"/api/v1/objections/{oid}/assign", json={})
    before = _state(e)
    # the tax office did not send this record: the case does not exist for it
    _err(tax.post(f"/api/v1/objections/{oid}/answer",
                  json={"proposal": "revoked", "reason": "撤销"}), 404, "OBJECTION_NOT_FOUND")
    _err(tax.get(f"/api/v1/objections/{oid}"), 404, "OBJECTION_NOT_FOUND")
    _err(market.post(f"/api/v1/objections/{oid}/answer",
                     json={"proposal": "corrected", "reason": "更正"}),
         422, "OBJECTION_VALUES_REQUIRED")
    _err(admin.post(f"/api/v1/objections/{oid}/decide",
                    json={"outcome": "upheld", "reason": "维持"}), 409, "OBJECTION_OUT_OF_ORDER")
    assert _state(e) == before
    market.post(f"/api/v1/objections/{oid}/answer",
                json={"proposal": "upheld", "reason": "经核实无误"})
    before = _state(e)
    _err(admin.post(f"/api/v1/objections/{oid}/decide",
                    json={"outcome": "corrected", "reason": "更正"}),
         422, "OBJECTION_VALUES_REQUIRED")
    # a correction that changes nothing is refused, and its batch is rolled back too
    _err(admin.post(f"/api/v1/objections/{oid}/decide",
                    json={"outcome": "corrected", "reason": "更正",
                          "values": {"fine_amount": "200000"}}),
         409, "OBJECTION_CORRECTION_NO_CHANGE")
    assert _state(e) == before
    assert admin.post(f"/api/v1/objections/{oid}/decide",
                      json={"outcome": "upheld", "reason": "维持"}).status_code == 200
    _err(admin.post(f"/api/v1/objections/{oid}/decide",
                    json={"outcome": "upheld", "reason": "维持"}), 409, "OBJECTION_OUT_OF_ORDER")


def test_expired_or_revoked_record_cannot_be_disputed(world: h.World,
                                                      client_for: Clients) -> None:
    from xinyong.core.db import session_scope
    from xinyong.records.service import change_record_status

    with session_scope() as session:
        change_record_status(session, record_id=world.other, status="revoked", actor="test",
                             reason="复议撤销")
    s1 = client_for("obj-s1")
    msg = _err(s1.post("/api/v1/objections", json={"record_id": world.other, "reason": "有误"}),
               409, "OBJECTION_RECORD_EXPIRED")
    assert "已撤销" in msg
    assert _err(client_for("").get("/api/v1/objections"), 401, "AUTH_REQUIRED")


def test_published_list_marks_an_entry_under_objection(world: h.World,
                                                       client_for: Clients) -> None:
    b.serious_list(world.engine, h.S1, "2026-02-01")
    with world.engine.connect() as conn:
        rid = conn.execute(text("SELECT id FROM credit_record WHERE record_type ="
                                " 'serious_dishonesty_list'")).scalar_one()
    s1, admin, public = client_for("obj-s1"), client_for("obj-admin"), client_for("")
    oid = s1.post("/api/v1/objections", json={"record_id": rid, "reason": "已履行义务并移出名单。"}
                  ).json()["id"]
    admin.post(f"/api/v1/objections/{oid}/accept", json={})
    entries = public.get("/api/v1/lists/serious_dishonesty_list").json()["items"]
    entry = next(e for e in entries if e["record_id"] == rid)
    assert entry["status_label"] == "异议处理中"
    page = public.get("/lists/serious_dishonesty_list", headers=HTML).text
    assert "异议处理中" in page

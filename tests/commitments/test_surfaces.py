"""Commitments through their surfaces: the API (department key, subject session, public),
the pages (forms with CSRF), and the CLI — the same answers as the service."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.auth import create_user, csrf, login
from tests.commitments.helpers import CLEAN, LISTED, OTHER, RED, build
from tests.evaluation import builders as b
from xinyong.core.db import session_scope
from xinyong.departments.service import issue_api_key

HTML = {"accept": "text/html"}
REQUEST = {"template": "deficiency_tolerated_document",
           "fields": {"matter": "建设工程施工许可", "document": "施工图设计文件审查合格书"}}


def _clients(engine: Engine) -> tuple[TestClient, TestClient, dict[str, str], dict[str, str]]:
    from xinyong.app import create_app

    build(engine, accounts=True)
    with session_scope() as session:
        key_market = issue_api_key(session, "market")
        key_tax = issue_api_key(session, "tax")
    app = create_app()
    subject = login(TestClient(app), "c-subject")
    public = TestClient(app)
    return subject, public, {"X-API-Key": key_market}, {"X-API-Key": key_tax}


def test_api_request_sign_decide(engine: Engine) -> None:
    subject, public, market, tax = _clients(engine)
    r = public.post("/api/v1/dept/commitments", json={**REQUEST, "code": b.code(CLEAN)},
                    headers=market)
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["status"], c["due_on"], c["department"]) == ("requested", "2026-10-08",
                                                           "市场监督管理局")
    cid = c["id"]
    assert "施工图设计文件审查合格书" in c["preview"]
    # the subject sees the request and signs it
    mine = subject.get("/api/v1/me/commitments").json()
    assert [i["id"] for i in mine["items"]] == [cid]
    r = subject.post(f"/api/v1/me/commitments/{cid}/sign",
                     json={"fields": {"contact": "李工", "phone": "13912345678"}, "affirm": True})
    assert r.status_code == 200, r.text
    signed = r.json()
    assert signed["status"] == "signed" and len(signed["sha256"]) == 64
    assert "13912345678" in signed["text"]
    # another department neither sees nor decides it; the subject cannot decide at all
    assert public.get(f"/api/v1/dept/commitments/{cid}", headers=tax).status_code == 404
    r = public.post(f"/api/v1/dept/commitments/{cid}/decision",
                    json={"outcome": "breached", "note": "违诺"}, headers=tax)
    assert (r.status_code, r.json()["code"]) == (404, "COMMITMENT_NOT_FOUND")
    r = subject.post(f"/api/v1/dept/commitments/{cid}/decision", json={"outcome": "fulfilled"})
    assert r.status_code == 403 and set(r.json()) == {"code", "message"}
    r = public.post(f"/api/v1/dept/commitments/{cid}/decision",
                    json={"outcome": "fulfilled", "note": "已补齐"}, headers=market)
    assert r.status_code == 200 and r.json()["status"] == "fulfilled"
    r = public.post(f"/api/v1/dept/commitments/{cid}/decision",
                    json={"outcome": "breached", "note": "违诺"}, headers=market)
    assert (r.status_code, r.json()["code"]) == (409, "COMMITMENT_ALREADY_DECIDED")
    # 容缺受理 is not a public kind
    assert public.get("/api/v1/commitments").json()["total"] == 0
    assert public.get(f"/api/v1/commitments/{cid}").status_code == 404
    listed = public.get("/api/v1/dept/commitments", headers=market).json()
    assert listed["total"] == 1 and listed["items"][0]["status"] == "fulfilled"
    assert public.get("/api/v1/dept/commitments", headers=tax).json()["total"] == 0


def test_api_bad_input(engine: Engine) -> None:
    subject, public, market, _ = _clients(engine)
    cases = [
        ({**REQUEST, "code": b.code(CLEAN), "due_on": "2026-07-01"}, 400,
         "COMMITMENT_DEADLINE_PAST"),
        ({**REQUEST, "code": b.code(RED)}, 409, "COMMITMENT_NOT_ELIGIBLE"),
        ({**REQUEST, "code": b.code(CLEAN), "template": "nope"}, 400,
         "COMMITMENT_TEMPLATE_UNKNOWN"),
        ({"template": REQUEST["template"], "fields": {"matter": "x"}, "code": b.code(CLEAN)}, 400,
         "COMMITMENT_FIELDS_MISSING"),
    ]
    for body, status, code in cases:
        r = public.post("/api/v1/dept/commitments", json=body, headers=market)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert not r.json()["message"].isascii()
    # a request for OTHER, which CLEAN's account may not sign
    cid = public.post("/api/v1/dept/commitments", json={**REQUEST, "code": b.code(OTHER)},
                      headers=market).json()["id"]
    r = subject.post(f"/api/v1/me/commitments/{cid}/sign",
                     json={"fields": {"contact": "李工", "phone": "13912345678"}, "affirm": True})
    assert (r.status_code, r.json()["code"]) == (404, "COMMITMENT_NOT_FOUND")
    r = subject.post("/api/v1/me/commitments", json={"template": "voluntary_public",
                                                     "fields": {}, "affirm": True})
    assert r.json()["code"] == "COMMITMENT_FIELDS_MISSING"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM commitment")).scalar_one() == 1


def test_api_public_commitments_and_eligibility(engine: Engine) -> None:
    subject, public, market, _ = _clients(engine)
    r = subject.post("/api/v1/me/commitments", json={
        "template": "notify_commit_approval", "department": "market", "affirm": True,
        "fields": {"matter": "食品经营许可（仅销售预包装食品）"}})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    listed = public.get("/api/v1/commitments", params={"q": b.code(CLEAN)}).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == cid
    assert "signed_by" not in listed["items"][0]
    detail = public.get(f"/api/v1/commitments/{cid}").json()
    assert detail["status_label"] == "已作出承诺" and "食品经营许可" in detail["text"]
    assert public.get("/api/v1/commitments", params={"q": "无此企业"}).json()["total"] == 0
    # eligibility: government only; single and batch agree
    assert public.get("/api/v1/commitments/eligibility",
                      params={"code": b.code(RED)}).status_code == 401
    assert subject.get("/api/v1/commitments/eligibility",
                       params={"code": b.code(RED)}).status_code == 403
    singles = {n: public.get("/api/v1/commitments/eligibility",
                             params={"code": b.code(n), "kind": "notify_commit"},
                             headers=market).json() for n in (CLEAN, RED, LISTED)}
    assert [singles[n]["eligible"] for n in (CLEAN, RED, LISTED)] == [True, False, False]
    assert any("严重失信" in x for x in singles[LISTED]["reasons"])
    batch = public.post("/api/v1/commitments/eligibility", headers=market, json={
        "kind": "notify_commit", "codes": [b.code(n) for n in (CLEAN, RED, LISTED)]}).json()
    assert batch["eligible"] == 1
    assert [i["reasons"] for i in batch["items"]] == [singles[n]["reasons"]
                                                     for n in (CLEAN, RED, LISTED)]
    r = public.get("/api/v1/commitments/eligibility", headers=market,
                   params={"code": b.code(CLEAN), "kind": "approval"})
    assert (r.status_code, r.json()["code"]) == (400, "COMMITMENT_KIND_UNKNOWN")
    assert public.get("/api/v1/commitments/templates").json()[0]["code"]


def test_pages_request_sign_decide(engine: Engine) -> None:
    from xinyong.app import create_app

    build(engine, accounts=True)
    create_user("c-admin", "admin")
    app = create_app()
    officer = login(TestClient(app), "c-market")
    subject = login(TestClient(app), "c-subject")
    page = officer.get("/dept/commitments/new?template=deficiency_tolerated_document",
                       headers=HTML)
    assert page.status_code == 200 and "容缺（后补）材料" in page.text
    r = officer.post("/dept/commitments/new", headers=HTML, follow_redirects=False, data={
        "csrf_token": csrf(page.text), "template": "deficiency_tolerated_document",
        "code": b.code(CLEAN), "f_matter": "建设工程施工许可", "f_document": "施工图设计文件审查合格书"})
    assert r.status_code == 303, r.text[:500]
    cid = int(r.headers["location"].split("/")[-1].split("?")[0])
    page = subject.get(f"/me/commitments/{cid}", headers=HTML)
    assert "签署承诺书" in page.text and "施工图设计文件审查合格书" in page.text
    # not affirmed: the form again with the reason, nothing signed
    r = subject.post(f"/me/commitments/{cid}/sign", headers=HTML, data={
        "csrf_token": csrf(page.text), "f_contact": "李工", "f_phone": "13912345678"})
    assert r.status_code == 400 and "COMMITMENT_NOT_AFFIRMED" in r.text
    r = subject.post(f"/me/commitments/{cid}/sign", headers=HTML, follow_redirects=False, data={
        "csrf_token": csrf(page.text), "f_contact": "李工", "f_phone": "13912345678",
        "affirm": "yes"})
    assert r.status_code == 303
    page = officer.get(f"/dept/commitments/{cid}", headers=HTML)
    assert "认定履约情况" in page.text and "13912345678" in page.text
    r = officer.post(f"/dept/commitments/{cid}/decision", headers=HTML, data={
        "csrf_token": csrf(page.text), "outcome": "breached", "note": ""})
    assert r.status_code == 400 and "违诺情形" in r.text
    r = officer.post(f"/dept/commitments/{cid}/decision", headers=HTML, data={
        "csrf_token": csrf(page.text), "outcome": "breached", "note": "逾期未补齐审查合格书"})
    assert r.status_code == 200 and "违诺" in r.text  # followed the redirect to the detail
    assert "已逾期" not in officer.get("/dept/commitments", headers=HTML).text
    admin = login(TestClient(app), "c-admin")
    page = admin.get("/admin/commitments", headers=HTML, params={"status": "breached"})
    assert page.status_code == 200 and "广州测试1号有限公司" in page.text
    assert admin.get(f"/admin/commitments/{cid}", headers=HTML).status_code == 200
    # the subject's own page; the public one does not list a 容缺受理 commitment
    assert "违诺" in subject.get("/me/commitments", headers=HTML).text
    assert "广州测试1号" not in TestClient(app).get("/commitments", headers=HTML).text
    # the eligibility check on the department's page
    page = officer.get("/dept/commitments", headers=HTML,
                       params={"check_code": b.code(RED), "check_kind": "notify_commit"})
    assert "红码" in page.text


def test_subject_makes_a_public_commitment_in_the_portal(engine: Engine) -> None:
    from xinyong.app import create_app

    build(engine, accounts=True)
    app = create_app()
    subject = login(TestClient(app), "c-subject")
    page = subject.get("/me/commitments/new?template=industry_self_discipline", headers=HTML)
    token = csrf(page.text)
    data = {"csrf_token": token, "template": "industry_self_discipline",
            "f_association": "广州市建筑业协会", "f_matter": "依法诚信参与工程招投标"}
    r = subject.post("/me/commitments/new", headers=HTML, data={**data, "action": "preview"})
    assert r.status_code == 200 and "广州市建筑业协会会员单位" in r.text
    r = subject.post("/me/commitments/new", headers=HTML, follow_redirects=False,
                     data={**data, "action": "sign", "affirm": "yes"})
    assert r.status_code == 303, r.text[:300]
    public = TestClient(app)
    page = public.get("/commitments", headers=HTML, params={"q": "广州测试1号"})
    assert "依法诚信参与工程招投标" in page.text
    cid = r.headers["location"].split("/")[-1].split("?")[0]
    page = public.get(f"/commitments/{cid}", headers=HTML)
    assert page.status_code == 200 and "行业自律信用承诺书" in page.text


def test_cli(engine: Engine, tmp_path: Path) -> None:
    from xinyong.cli import app

    w = build(engine)
    from xinyong.commitments import service

    with session_scope() as session:
        c = service.request_commitment(session, department_id=w.market, actor="t",
                                       code=b.code(CLEAN), **REQUEST)  # type: ignore[arg-type]
        service.sign_request(session, c.id, me=w.subject(CLEAN), affirm=True,
                             fields={"contact": "李工", "phone": "13912345678"})
    runner = CliRunner()
    path = tmp_path / "codes.txt"
    path.write_text("\n".join([b.code(CLEAN), b.code(RED), b.code(LISTED), "9144000000000000XX"])
                    + "\n", encoding="utf-8")
    r = runner.invoke(app, ["commitments", "eligibility", str(path),
                            "--output", "csv"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert lines[1].split(",")[2] == "适用" and lines[2].split(",")[2] == "不适用"
    assert lines[4].split(",")[2] == "未找到"
    r = runner.invoke(app, ["--today", "2026-09-21", "commitments", "sweep"])
    assert r.exit_code == 0 and "发送到期提醒 1 份" in r.output, r.output
    r = runner.invoke(app, ["--today", "2026-09-21", "commitments", "sweep"])
    assert "发送到期提醒 0 份" in r.output
    r = runner.invoke(app, ["--today", "2026-10-09", "commitments", "list", "--overdue"],
                      env={"COLUMNS": "240"})
    assert r.exit_code == 0 and "逾期" in r.output, r.output
    assert dt.date(2026, 10, 8).isoformat() in r.output

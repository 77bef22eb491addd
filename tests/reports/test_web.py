"""Reports through the API, the pages and the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.auth import create_user, csrf, issue_token, login
from tests.reports.conftest import RESTRICTED_CASE, World, issue, pdf_text
from xinyong.audit.models import AuditEntry
from xinyong.core.db import session_scope
from xinyong.reports.models import CreditReport

HTML = {"accept": "text/html"}


@pytest.fixture
def web(world: World) -> Iterator[dict[str, TestClient]]:
    from xinyong.app import create_app

    create_user("rep-s1", "subject", subject=world.s1_code)
    create_user("rep-s2", "subject", subject=world.s2_code)
    create_user("rep-admin", "admin")
    create_user("rep-bank", "bank")
    app = create_app()
    clients = {name: TestClient(app, raise_server_exceptions=False)
               for name in ("public", "s1", "s2", "admin", "bank")}
    for name in ("s1", "s2", "admin", "bank"):
        login(clients[name], f"rep-{name}")
    yield clients
    for c in clients.values():
        c.close()


def _reports() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(CreditReport)) or 0)


def test_api_issue_download_read_and_verify(world: World, web: dict[str, TestClient],
                                            tmp_path: Path) -> None:
    s1, s2, public = web["s1"], web["s2"], web["public"]
    r = s1.post("/api/v1/reports", json={"view": "subject", "purpose": "投标"})
    assert r.status_code == 201, r.text
    body = r.json()
    serial = body["serial"]
    assert body["view"] == "subject" and body["purpose"] == "投标"
    assert body["verify_url"] == f"https://credit.example.gov.cn/verify/{serial}"

    pdf = s1.get(body["pdf_url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert RESTRICTED_CASE in pdf_text(pdf.content, tmp_path)
    # the owner's read of its full report is audited like a profile read
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "reports.read_restricted")) == 1

    # another subject: no file, no details; the public: the summary only
    assert s2.get(body["pdf_url"]).json()["code"] == "REPORT_FORBIDDEN"
    assert public.get(body["pdf_url"]).status_code == 401
    info = public.get(f"/api/v1/reports/{serial}").json()
    assert info["serial"] == serial and "purpose" not in info
    assert info["changes"]["changed"] is False
    assert RESTRICTED_CASE not in public.get(f"/api/v1/reports/{serial}").text
    assert s1.get(f"/api/v1/reports/{serial}").json()["purpose"] == "投标"

    up = public.post("/api/v1/reports/verify",
                     files={"file": ("r.pdf", pdf.content, "application/pdf")})
    assert up.status_code == 200 and up.json()["ok"] is True
    bad = bytearray(pdf.content)
    bad[bad.find(b"stream\n", 200) + 40] ^= 1
    up = public.post("/api/v1/reports/verify", files={"file": ("r.pdf", bytes(bad))})
    assert up.json()["ok"] is False and up.json()["signature"]["intact"] is False
    up = public.post("/api/v1/reports/verify", files={"file": ("x.txt", b"hello")})
    assert up.status_code == 415 and up.json()["code"] == "REPORT_FILE_NOT_PDF"


def test_api_refusals_change_nothing(world: World, web: dict[str, TestClient]) -> None:
    before = _reports()
    cases = [
        (web["public"], {"subject": world.s1_code, "purpose": "x"}, 401, "AUTH_REQUIRED"),
        (web["bank"], {"subject": world.s1_code, "purpose": "贷款"}, 403, "REPORT_FORBIDDEN"),
        (web["s1"], {"subject": world.s2_code, "purpose": "投标"}, 403, "REPORT_FORBIDDEN"),
        (web["s1"], {"view": "public"}, 422, "REPORT_PURPOSE_REQUIRED"),
        (web["admin"], {"subject": "没有这家企业", "purpose": "审查"}, 404, "SUBJECT_NOT_FOUND"),
        (web["admin"], {"purpose": "审查"}, 422, "REPORT_SUBJECT_REQUIRED"),
    ]
    for client, payload, status, code in cases:
        r = client.post("/api/v1/reports", json=payload)
        assert r.status_code == status and r.json()["code"] == code, (payload, r.text)
        assert not r.json()["message"].isascii()
    assert web["public"].get("/api/v1/reports/XY-2026-000009-ZZZZ").json()["code"] == (
        "REPORT_NOT_FOUND")
    assert _reports() == before


def test_department_key_issues_a_subject_view_with_purpose(world: World) -> None:
    from xinyong.app import create_app
    from xinyong.departments.service import issue_api_key

    with session_scope() as session:
        key = issue_api_key(session, "market")
    with TestClient(create_app()) as c:
        r = c.post("/api/v1/reports", headers={"X-API-Key": key},
                   json={"subject": world.s1_code, "view": "subject", "purpose": "评优评先审查"})
        assert r.status_code == 201, r.text
        serial = r.json()["serial"]
        assert c.get(f"/api/v1/reports/{serial}/pdf", headers={"X-API-Key": key}).status_code == 200
    with session_scope() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "reports.issue"))
        assert entry is not None and entry.purpose == "评优评先审查"
        assert entry.actor == "api:market" and entry.subject_id == world.s1


def test_token_with_self_read_scope(world: World) -> None:
    from xinyong.app import create_app

    create_user("rep-tok", "subject", subject=world.s1_code)
    token = issue_token("rep-tok", ["self:read"])
    with TestClient(create_app()) as c:
        r = c.post("/api/v1/reports", headers={"Authorization": f"Bearer {token}"},
                   json={"purpose": "融资"})
        assert r.status_code == 201, r.text


def test_pages(world: World, web: dict[str, TestClient]) -> None:
    s1, admin, public = web["s1"], web["admin"], web["public"]
    page = s1.get("/me/reports", headers=HTML)
    assert page.status_code == 200 and "申请新报告" in page.text
    r = s1.post("/me/reports", data={"view": "public", "purpose": "政府采购",
                                     "csrf_token": csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    listing = s1.get(r.headers["location"], headers=HTML).text
    serial = re.search(r"XY-2026-\d{6}-[0-9A-Z]{4}", listing).group(0)  # type: ignore[union-attr]
    assert "报告已出具" in listing and "政府采购" in listing
    # missing purpose: the form again with the reason, nothing issued
    before = _reports()
    r = s1.post("/me/reports", data={"view": "public", "purpose": "",
                                     "csrf_token": csrf(page.text)})
    assert r.status_code == 422 and "请填写报告用途" in r.text and _reports() == before
    assert s1.post("/me/reports", data={"purpose": "x"}).status_code == 403  # no CSRF token

    v = public.get(f"/verify/{serial}", headers=HTML)
    assert v.status_code == 200 and "广州测试1号有限公司" in v.text and "未发生变化" in v.text
    assert "政府采购" not in v.text  # the purpose is the subject's business
    assert public.get("/verify?serial=" + serial.lower(), follow_redirects=False).headers[
        "location"] == f"/verify/{serial}"
    missing = public.get("/verify/XY-2026-000999-AAAA", headers=HTML)
    assert missing.status_code == 404 and "未找到编号" in missing.text

    form = public.get("/verify", headers=HTML)
    pdf = s1.get(f"/api/v1/reports/{serial}/pdf").content
    up = public.post("/verify", data={"csrf_token": csrf(form.text)},
                     files={"file": ("report.pdf", pdf, "application/pdf")}, headers=HTML)
    assert up.status_code == 200 and "核验通过" in up.text
    up = public.post("/verify", data={"csrf_token": csrf(form.text)},
                     files={"file": ("a.png", b"\x89PNG....", "image/png")}, headers=HTML)
    assert up.status_code == 415 and "不是 PDF 格式" in up.text

    anon = public.get("/me/reports", headers=HTML, follow_redirects=False)
    assert anon.status_code == 401 or anon.headers["location"].startswith("/login")
    assert admin.get("/me/reports", headers=HTML).status_code == 403
    ap = admin.get("/admin/reports", headers=HTML)
    assert ap.status_code == 200 and serial in ap.text
    r = admin.post("/admin/reports", data={"subject": world.s2_code, "view": "subject",
                                           "purpose": "资金申报审查",
                                           "csrf_token": csrf(ap.text)},
                   follow_redirects=False)
    assert r.status_code == 303
    found = admin.get("/admin/reports?q=广州报告对照", headers=HTML).text
    assert "资金申报审查" in found and serial not in found
    assert s1.get("/admin/reports", headers=HTML).status_code == 403


def test_cli(world: World, tmp_path: Path) -> None:
    from xinyong.cli import app

    runner = CliRunner()
    out = tmp_path / "r.pdf"
    r = runner.invoke(app, ["reports", "issue", world.s1_code, "--purpose", "招投标",
                            "--view", "subject", "--out", str(out)])
    assert r.exit_code == 0, r.output
    serial = re.search(r"XY-2026-\d{6}-[0-9A-Z]{4}", r.output).group(0)  # type: ignore[union-attr]
    assert out.read_bytes().startswith(b"%PDF-")
    r = runner.invoke(app, ["reports", "verify", str(out)])
    assert r.exit_code == 0 and "核验通过" in r.output, r.output
    bad = bytearray(out.read_bytes())
    bad[bad.find(b"stream\n", 200) + 40] ^= 1
    (tmp_path / "bad.pdf").write_bytes(bytes(bad))
    r = runner.invoke(app, ["reports", "verify", str(tmp_path / "bad.pdf")])
    assert r.exit_code == 2 and "核验未通过" in r.output
    r = runner.invoke(app, ["reports", "verify", serial])
    assert r.exit_code == 0 and "未发生变化" in r.output and "司法裁判及执行信息" in r.output
    r = runner.invoke(app, ["reports", "issue", "不存在的公司", "--purpose", "x"])
    assert r.exit_code == 1 and "SUBJECT_NOT_FOUND" in r.output
    r = runner.invoke(app, ["reports", "keygen"])
    assert r.exit_code == 0 and "证书 SHA-256" in r.output
    issue(world.s2_code)  # the key still signs after keygen (the existing key is kept)

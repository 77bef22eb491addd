"""The audit log through the command line, the administrator page, the CSV export and the API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.audit.helpers import fill, tampering
from tests.evaluation import builders as b
from xinyong.audit import api as audit_api
from xinyong.audit import pages as audit_pages
from xinyong.audit import service
from xinyong.audit.cli import audit_app
from xinyong.core.config import get_settings

TOKEN = "test-operator-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
HTML = {"accept": "text/html", **ADMIN}
runner = CliRunner()


def _app() -> FastAPI:
    from xinyong.app import create_app

    app = create_app()
    # Until app.py includes the audit routers, mount them here (a no-op once it does).
    paths = {getattr(r, "path", None) for r in app.routes}
    for router in (audit_pages.router, audit_api.router):
        if not {getattr(r, "path", None) for r in router.routes} <= paths:
            app.include_router(router)
    return app


@pytest.fixture
def world(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    monkeypatch.setenv("XINYONG_ADMIN_TOKEN", TOKEN)
    get_settings.cache_clear()
    sid = b.subject(engine, 51)
    fill(engine, subject_id=sid)
    with TestClient(_app()) as client:
        yield {"client": client, "engine": engine, "code": b.code(51), "sid": sid}
    get_settings.cache_clear()


# ------------------------------------------------------------------------------------ CLI


def test_cli_verify(world: dict) -> None:
    r = runner.invoke(audit_app, ["verify"])
    assert r.exit_code == 0, r.output
    assert "审计日志完整：共 6 条" in r.output
    anchor = r.output.split("链头：", 1)[1].split("（", 1)[0]
    assert runner.invoke(audit_app, ["verify", "--anchor", anchor]).exit_code == 0
    with tampering(world["engine"]) as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 2")
    r = runner.invoke(audit_app, ["verify"])
    assert r.exit_code == 1
    assert "AUDIT_GAP" in r.output and "第 2 条" in r.output
    r = runner.invoke(audit_app, ["verify", "--json"])
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert (data["ok"], data["first_bad_seq"], data["code"]) == (False, 2, "AUDIT_GAP")
    r = runner.invoke(audit_app, ["verify", "--anchor", "nonsense"])
    assert r.exit_code == 2 and "AUDIT_BAD_ANCHOR" in r.output


def test_cli_search_and_export(world: dict, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = runner.invoke(
        audit_app, ["search", "--subject", world["code"], "--action", "record", "--json"]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["total"] == 3 and [e["seq"] for e in data["entries"]] == [4, 3, 2]
    r = runner.invoke(audit_app, ["search", "--user", "lisi"])
    assert r.exit_code == 0 and "审计日志：共 1 条" in r.output
    r = runner.invoke(audit_app, ["search", "--since", "2026/11/21"])
    assert r.exit_code == 2 and "AUDIT_BAD_DATE" in r.output
    out = tmp_path / "audit.csv"
    r = runner.invoke(audit_app, ["export", "--out", str(out)])
    assert r.exit_code == 0, r.output
    lines = out.read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 7  # header, six entries and the export's own entry
    assert ",audit.export," in lines[-1]
    assert runner.invoke(audit_app, ["verify"]).exit_code == 0


# ------------------------------------------------------------------------------------ pages


def test_page_requires_an_administrator(world: dict) -> None:
    c: TestClient = world["client"]
    assert c.get("/api/v1/admin/audit").status_code == 401
    assert c.get("/api/v1/admin/audit/verify").status_code == 401
    r = c.get("/admin/audit", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code in (303, 401)
    assert c.get("/admin/audit/export.csv").status_code == 401


def test_page_searches_and_pages(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    c: TestClient = world["client"]
    page = c.get("/admin/audit", headers=HTML)
    assert page.status_code == 200
    assert "审计日志" in page.text and "行政审批前信用核查" in page.text
    assert "校验未通过" not in page.text and "校验通过" not in page.text  # not on every load
    page = c.get(f"/admin/audit?subject={world['code']}&action=record&sort=asc", headers=HTML)
    assert page.text.index("行政审批前信用核查") < page.text.index("招投标资格审查")
    assert "model:gz_general" not in page.text
    assert f"subject={world['code']}" in page.text  # the export link keeps the filters
    page = c.get("/admin/audit?user=zhangsan&since=2026-11-21", headers=HTML)
    assert "没有符合条件的记录" in page.text
    page = c.get("/admin/audit?since=yesterday", headers=HTML)
    assert page.status_code == 422 and "AUDIT_BAD_DATE" in page.text
    page = c.get("/admin/audit?subject=91440101MA0009999X", headers=HTML)
    assert page.status_code == 404 and "没有统一社会信用代码为" in page.text
    monkeypatch.setattr(audit_pages, "PAGE_SIZE", 4)
    second = c.get("/admin/audit?page=2", headers=HTML).text
    assert "行政审批前信用核查" in second and "account:zhangsan" not in second


def test_page_checks_the_chain_on_request(world: dict) -> None:
    c: TestClient = world["client"]
    page = c.get("/admin/audit?verify=1", headers=HTML).text
    assert "哈希链校验通过：共 6 条" in page
    with tampering(world["engine"]) as conn:
        conn.exec_driver_sql("UPDATE audit_log SET purpose = '随便看看' WHERE seq = 4")
    page = c.get("/admin/audit?verify=1", headers=HTML).text
    assert "AUDIT_HASH_MISMATCH" in page and "第 4 条" in page


def test_export_csv(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    c: TestClient = world["client"]
    monkeypatch.setattr(service, "EXPORT_CHUNK", 2)  # several chunks, read while streaming
    r = c.get("/admin/audit/export.csv?sort=desc", headers=ADMIN)
    seqs = [line.split(",")[0] for line in r.content.decode("utf-8-sig").splitlines()[1:]]
    assert seqs == ["7", "6", "5", "4", "3", "2", "1"]  # 7: this export's own entry
    r = c.get(f"/admin/audit/export.csv?subject={world['code']}", headers=ADMIN)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("序号,时间,操作者") and len(lines) == 4
    with world["engine"].connect() as conn:
        rows, _ = service.search(conn, action="audit.export")
    assert rows[0]["actor"] == "operator" and rows[0]["detail"] == {"subject": world["code"]}
    r = c.get("/admin/audit/export.csv?subject=NOSUCH", headers=ADMIN)
    assert r.status_code == 404 and r.json()["code"] == "AUDIT_SUBJECT_NOT_FOUND"


def test_api(world: dict) -> None:
    c: TestClient = world["client"]
    r = c.get("/api/v1/admin/audit", params={"action": "record", "size": 2}, headers=ADMIN)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3 and [e["seq"] for e in body["entries"]] == [4, 3]
    assert body["entries"][0]["subject_uscc"] == world["code"]
    r = c.get("/api/v1/admin/audit", params={"since": "2026-11-22", "sort": "asc"}, headers=ADMIN)
    assert [e["seq"] for e in r.json()["entries"]] == [5, 6]
    r = c.get("/api/v1/admin/audit", params={"since": "bad"}, headers=ADMIN)
    assert r.status_code == 422
    r = c.get("/api/v1/admin/audit/verify", headers=ADMIN)
    assert r.json()["ok"] is True and r.json()["checked"] == 6
    with tampering(world["engine"]) as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 6")
    r = c.get("/api/v1/admin/audit/verify", headers=ADMIN).json()
    assert (r["ok"], r["first_bad_seq"], r["code"]) == (False, 6, "AUDIT_HEAD_MISMATCH")

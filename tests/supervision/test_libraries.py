"""Supervision libraries through the service, the API, the pages and the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.auth import create_user, login
from tests.evaluation import builders as b
from xinyong.cli import app as cli
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import session_scope
from xinyong.departments.service import add_department, issue_api_key
from xinyong.evaluation import service as evaluation
from xinyong.supervision import service

TOKEN = "test-operator-token"
HTML = {"accept": "text/html"}


@pytest.fixture
def world(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    monkeypatch.setenv("XINYONG_ADMIN_TOKEN", TOKEN)
    get_settings.cache_clear()
    clock.set_today(b.AS_OF)
    b.departments()
    with session_scope() as session:
        key = issue_api_key(session, "market")
        add_department(session, "housing", "住房和城乡建设局")
        other = issue_api_key(session, "housing")
    with engine.begin() as conn:
        evaluation.sync_builtin_models(conn)
    ids = {
        "food": b.subject(engine, 31, industry_section="C", industry_division="14"),
        "food_listed": b.subject(engine, 32, industry_section="C", industry_division="14"),
        "office": b.subject(engine, 33),
    }
    with engine.begin() as conn:
        conn.execute(text("UPDATE subject SET region_code = '440106' WHERE id = :i"), {"i": ids["food"]})
    for name in ("gz_general", "samr_risk"):
        evaluation.evaluate(engine, name, as_of=b.AS_OF)
    from xinyong.app import create_app

    with TestClient(create_app()) as client:
        yield {"client": client, "key": key, "other": other, "ids": ids, "engine": engine}
    get_settings.cache_clear()


def test_condition_library_follows_grades(world: dict) -> None:
    engine = world["engine"]
    with engine.begin() as conn:
        lib = service.create_library(conn, department="market", name="食品制造重点库",
                                     condition={"industry_sections": ["C"], "model": "gz_general",
                                                "grades": ["C", "D"]})
    assert lib["size"] == 0 and lib["kind"] == "condition"
    with clock.frozen(b.AS_OF):
        b.serious_list(engine, 32, "2026-11-01")  # veto → D at once (incremental)
    with engine.connect() as conn:
        page = service.members(conn, lib["id"])
    assert page["total"] == 1 and page["model"] == "gz_general"
    member = page["members"][0]
    assert member["uscc"] == b.code(32) and member["grade"] == "D"
    assert member["change"] == {"as_of": "2026-11-22", "from": "A", "to": "D"}
    assert "严重失信企业" in [t["name"] for t in member["tags"]]


def test_condition_is_validated(world: dict) -> None:
    with world["engine"].begin() as conn:
        with pytest.raises(service.SupervisionError) as e:
            service.create_library(conn, department="market", name="x",
                                   condition={"grades": ["D"]})
        assert e.value.code == "SUPERVISION_MODEL_REQUIRED"
        with pytest.raises(service.SupervisionError) as e:
            service.create_library(conn, department="market", name="x",
                                   condition={"model": "gz_general", "grades": ["E"]})
        assert "没有等级 E" in e.value.message
        with pytest.raises(service.SupervisionError) as e:
            service.create_library(conn, department="market", name="x",
                                   condition={"industry": ["C"]})
        assert e.value.code == "SUPERVISION_BAD_CONDITION" and "未知条件项" in e.value.message


def test_code_list_rejects_bad_rows_and_creates_nothing(world: dict) -> None:
    c: TestClient = world["client"]
    h = {"X-API-Key": world["key"]}
    r = c.post("/api/v1/supervision/libraries", headers=h, json={
        "name": "专项检查名单", "codes": [b.code(31), "91440101MA0000000X", b.code(31)]})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "SUPERVISION_BAD_CODES"
    assert [(p["row"], p["error"]) for p in body["problems"]] == [(2, "SUBJECT_NOT_FOUND"), (3, "DUPLICATE")]
    assert c.get("/api/v1/supervision/libraries", headers=h).json() == []
    r = c.post("/api/v1/supervision/libraries", headers=h, json={
        "name": "专项检查名单", "codes": [b.code(31), b.code(33)]})
    assert r.status_code == 201 and r.json()["size"] == 2
    lib_id = r.json()["id"]
    page = c.get(f"/api/v1/supervision/libraries/{lib_id}?model=samr_risk", headers=h).json()
    assert [m["grade"] for m in page["members"]] == ["A", "A"]
    # Another department cannot read it; the public neither.
    r = c.get(f"/api/v1/supervision/libraries/{lib_id}", headers={"X-API-Key": world["other"]})
    assert r.status_code == 403
    assert c.get(f"/api/v1/supervision/libraries/{lib_id}").status_code == 401
    assert c.get("/api/v1/supervision/libraries", headers={"X-API-Key": world["other"]}).json() == []


def test_admin_pages(world: dict) -> None:
    c: TestClient = world["client"]
    create_user("office", "admin")
    login(c, "office")
    page = c.get("/admin/supervision", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)
    r = c.post("/admin/supervision", headers=HTML, data={
        "csrf_token": token, "department": "market", "name": "坏清单", "kind": "list",
        "codes": f"{b.code(31)}\nNOTACODE"})
    assert r.status_code == 422 and "第 2 行 NOTACODE" in r.text
    r = c.post("/admin/supervision", headers=HTML, follow_redirects=False, data={
        "csrf_token": token, "department": "market", "name": "广州食品企业", "kind": "condition",
        "industries": "c", "regions": "4401"})
    assert r.status_code == 303
    detail = c.get(r.headers["location"], headers=HTML).text
    assert b.code(31) in detail and b.code(32) not in detail


def test_cli(world: dict, tmp_path: Path) -> None:
    runner = CliRunner()
    codes = tmp_path / "codes.txt"
    codes.write_text(f"{b.code(33)}\n", encoding="utf-8")
    r = runner.invoke(cli, ["supervision", "create", "--department", "market", "--name", "名单",
                            "--codes", str(codes)])
    assert r.exit_code == 0, r.output
    lib_id = re.search(r"#(\d+)", r.output).group(1)
    r = runner.invoke(cli, ["supervision", "show", lib_id, "--model", "gz_general"])
    assert r.exit_code == 0 and "1 个主体" in r.output and "无事不扰企业" in r.output
    r = runner.invoke(cli, ["supervision", "create", "--department", "market", "--name", "x",
                            "--model", "gz_general", "--grade", "Z"])
    assert r.exit_code == 2 and "没有等级 Z" in r.output

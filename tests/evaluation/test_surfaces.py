"""Evaluation through its public surfaces: the JSON API, the pages and the command line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.auth import create_user, login
from tests.evaluation import builders as b
from xinyong.cli import app as cli
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import session_scope
from xinyong.departments.service import issue_api_key
from xinyong.evaluation import service

TOKEN = "test-operator-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
HTML = {"accept": "text/html"}
GENERAL = (Path(service.__file__).parent / "data" / "models" / "gz_general-2023.1.yaml").read_text(
    encoding="utf-8"
)


@pytest.fixture
def world(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    monkeypatch.setenv("XINYONG_ADMIN_TOKEN", TOKEN)
    get_settings.cache_clear()
    clock.set_today(b.AS_OF)
    b.departments()
    with session_scope() as session:
        key = issue_api_key(session, "market")
    with engine.begin() as conn:
        service.sync_builtin_models(conn)
    clean = b.subject(engine, 21)
    listed = b.subject(engine, 22)
    b.serious_list(engine, 22, "2026-02-01")
    for name in ("gz_general", "samr_risk", "huixin_code"):
        service.evaluate(engine, name, as_of=b.AS_OF)
    from xinyong.app import create_app

    with TestClient(create_app()) as client:
        yield {"client": client, "key": key, "clean": clean, "listed": listed}
    get_settings.cache_clear()


def test_api_results_respect_visibility(world: dict) -> None:
    c: TestClient = world["client"]
    public = c.get(f"/api/v1/subjects/{b.code(22)}/evaluations").json()
    assert {r["model"] for r in public} == {"gz_general", "huixin_code"}
    general = next(r for r in public if r["model"] == "gz_general")
    assert general["grade"] == "D" and general["vetoes"][0]["name"] == "列入严重失信主体名单"
    gov = c.get(f"/api/v1/subjects/{b.code(22)}/evaluations", headers={"X-API-Key": world["key"]})
    assert {r["model"] for r in gov.json()} == {"gz_general", "huixin_code", "samr_risk"}
    r = c.get(f"/api/v1/subjects/{b.code(22)}/evaluations/samr_risk/explain")
    assert r.status_code == 403 and r.json()["code"] == "EVALUATION_GOVERNMENT_ONLY"
    r = c.get("/api/v1/evaluation/models/samr_risk")
    assert r.status_code == 403
    models = c.get("/api/v1/evaluation/models").json()
    assert "samr_risk" not in {m["name"] for m in models}


def test_api_explain_and_history(world: dict) -> None:
    c: TestClient = world["client"]
    e = c.get(f"/api/v1/subjects/{b.code(21)}/evaluations/gz_general/explain").json()
    assert e["grade"] == "A" and e["score"] == pytest.approx(91.65)
    assert [n["name"] for n in e["indicators"]] == [
        "遵纪守法",
        "履约践诺",
        "资质荣誉",
        "社会责任",
        "监管风险",
    ]
    h = c.get(f"/api/v1/subjects/{b.code(21)}/evaluations/gz_general/history").json()
    assert h[0]["grade"] == "A" and h[0]["prev_grade"] is None
    detail = c.get("/api/v1/evaluation/models/gz_general").json()
    assert len([n for n in detail["indicators"] if n["level"] == 2]) == 15


def test_department_uploads_an_industry_model_and_admin_activates(world: dict) -> None:
    c: TestClient = world["client"]
    dept = {"X-API-Key": world["key"]}
    bad = GENERAL.replace("name: gz_general", "name: market_general").replace(
        "weight: 35", "weight: 36"
    )
    r = c.post("/api/v1/evaluation/models", json={"source": bad}, headers=dept)
    assert r.status_code == 422 and r.json()["code"] == "MODEL_WEIGHTS_SUM"
    assert "indicators" in r.json()["message"]
    r = c.post("/api/v1/evaluation/models", json={"source": bad}, headers={})
    assert r.status_code == 401
    good = GENERAL.replace("name: gz_general", "name: market_general").replace(
        "{code: A, name: 优, min_score: 90}", "{code: A, name: 优, min_score: 95}"
    )
    r = c.post("/api/v1/evaluation/models", json={"source": good}, headers=dept)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft" and r.json()["source"] == "department:market"
    dry = c.post(
        "/api/v1/evaluation/models/market_general/versions/2023.1/dry-run", json={}, headers=dept
    ).json()
    assert dry["distribution"] == {"A": 0, "B": 1, "C": 0, "D": 1}
    assert dry["would_change"] == 0  # no result under this name yet
    r = c.post("/api/v1/evaluation/models/market_general/versions/2023.1/activate", headers=dept)
    assert r.status_code == 403  # a department may register and try, only the office activates
    r = c.post("/api/v1/evaluation/models/market_general/versions/2023.1/activate", headers=ADMIN)
    assert r.json()["status"] == "active"
    # An activated version is immutable: the same name and version with other content is refused.
    r = c.post("/api/v1/evaluation/models", json={"source": good + "\n# 改动\n"}, headers=dept)
    assert r.status_code == 422 and r.json()["code"] == "MODEL_VERSION_IMMUTABLE"
    run = c.post("/api/v1/evaluation/models/market_general/evaluate", json={}, headers=ADMIN).json()
    assert run["subjects"] == 2 and run["distribution"]["B"] == 1


def test_profile_page_and_explanation_page(world: dict) -> None:
    c: TestClient = world["client"]
    page = c.get(f"/subjects/{b.code(22)}", headers=HTML).text
    assert "信用评价" in page and "企业公共信用综合评价（通用）" in page
    assert "一票否决：列入严重失信主体名单" in page
    assert "企业信用风险分类" not in page  # government-only model, public view
    assert "红码" in page
    page = c.get(f"/subjects/{b.code(21)}/evaluations/gz_general", headers=HTML).text
    assert "遵纪守法" in page and "91.65" in page and "无事不扰企业" in page
    r = c.get(f"/subjects/{b.code(21)}/evaluations/samr_risk", headers=HTML)
    assert r.status_code == 403 and "仅限政府部门查看" in r.text


def test_admin_model_pages(world: dict) -> None:
    c: TestClient = world["client"]
    assert c.get("/admin/models", headers=HTML, follow_redirects=False).status_code == 303
    create_user("office", "admin")
    login(c, "office")
    page = c.get("/admin/models", headers=HTML).text
    assert "gz_general" in page and "已启用" in page
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)
    r = c.post("/admin/models", data={"csrf_token": token, "source": "name: [坏"}, headers=HTML)
    assert r.status_code == 422 and "MODEL_BAD_YAML" in r.text
    r = c.post("/admin/models", data={"source": GENERAL}, headers=HTML)
    assert r.status_code == 403  # no CSRF token
    draft = GENERAL.replace('version: "2023.1"', 'version: "2026.1"')
    r = c.post("/admin/models", data={"csrf_token": token, "source": draft}, headers=HTML)
    assert r.status_code == 200 and "已登记 gz_general@2026.1" in r.text
    page = c.get("/admin/models/gz_general/2026.1", headers=HTML).text
    assert "草稿" in page and "遵纪守法" in page
    r = c.post(
        "/admin/models/gz_general/2026.1/dry-run",
        data={"csrf_token": token, "sample": "100"},
        headers=HTML,
    )
    assert "试运行结果" in r.text and "个等级将变化" in r.text
    r = c.post("/admin/models/gz_general/2026.1/activate", data={"csrf_token": token}, headers=HTML)
    assert "已启用" in r.text
    r = c.post("/admin/models/gz_general/2026.1/evaluate", data={"csrf_token": token}, headers=HTML)
    assert "批量评价完成" in r.text
    listing = c.get("/admin/models", headers=HTML).text
    assert "已停用" in listing  # 2023.1 retired when 2026.1 was activated


def test_cli_evaluate_explain_and_models(world: dict, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["--today", "2026-11-22", "evaluate", "--model", "gz_general"])
    assert r.exit_code == 0, r.output
    assert "gz_general@2023.1" in r.output and "分布" in r.output
    r = runner.invoke(cli, ["explain", b.code(22), "--model", "gz_general"])
    assert r.exit_code == 0, r.output
    assert "一票否决" in r.output and "遵纪守法" in r.output
    r = runner.invoke(cli, ["explain", b.code(21), "--model", "gz_general", "--json"])
    assert r.exit_code == 0 and '"grade": "A"' in r.output
    r = runner.invoke(cli, ["models", "list"])
    assert r.exit_code == 0 and "gz_general" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        GENERAL.replace("types: [administrative_penalty]", "types: [parking]", 1), encoding="utf-8"
    )
    r = runner.invoke(cli, ["models", "validate", str(bad)])
    assert r.exit_code == 2 and "MODEL_UNKNOWN_RECORD_TYPE" in r.output
    r = runner.invoke(cli, ["models", "dry-run", "gz_general", "2023.1", "--sample", "0"])
    assert r.exit_code == 0 and "等级将变化 0 个" in r.output


def test_dashboard_api_xlsx_and_page(world: dict) -> None:
    c: TestClient = world["client"]
    dept = {"X-API-Key": world["key"]}
    assert c.get("/api/v1/evaluation/dashboard?model=gz_general").status_code == 401
    d = c.get("/api/v1/evaluation/dashboard?model=gz_general&since=2026-01-01", headers=dept).json()
    assert d["total"] == {"A": 1, "B": 0, "C": 0, "D": 1}
    assert d["by_industry"][0]["label"].startswith("L") and d["by_industry"][0]["total"] == 2
    assert d["trend"][-1]["counts"]["D"] == 1
    x = c.get("/api/v1/evaluation/dashboard.xlsx?model=samr_risk", headers=dept)
    assert x.status_code == 200 and x.content[:2] == b"PK"
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(x.content))
    assert book.sheetnames == ["按行业", "按地区", "变化趋势", "等级变动"]
    create_user("office", "admin")
    login(c, "office")
    page = c.get("/admin/dashboard?model=huixin_code", headers=HTML)
    assert page.status_code == 200 and "绿码" in page.text and "按行业门类" in page.text
    assert "/vendor/echarts/echarts.min.js" in page.text

"""Credit codes through the API, the pages, the QR images and the command line."""

from __future__ import annotations

import io
import re
from typing import Any

import segno
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.auth import issue_token, login
from tests.evaluation import builders as b
from tests.reports.codes.conftest import HONOURED, HTML, OPERATOR, PERSON
from xinyong.cli import app as cli
from xinyong.reports import codes


def _modules(png: bytes) -> list[list[bool]]:
    """The module matrix drawn in a PNG of ours (scale 8, quiet zone 4)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    n = img.width // 8 - 8
    return [[img.getpixel(((4 + x) * 8 + 4, (4 + y) * 8 + 4)) < 128 for x in range(n)]
            for y in range(n)]


def _expected(url: str) -> list[list[bool]]:
    q = segno.make(url, error="m", micro=False)
    return [[bool(v) for v in row] for row in q.matrix]


def test_subject_api_issue_refresh_and_images(client: TestClient, world: dict[str, Any],
                                              engine: Engine) -> None:
    login(client, "codes-subject")
    first = client.get("/api/v1/me/credit-code").json()
    assert first["colour"]["code"] == "green"
    assert first["url"] == "http://testserver/code/" + first["token"]
    # Shown again: the same code; refreshed: a new one, the old one refused.
    assert client.get("/api/v1/me/credit-code").json()["token"] == first["token"]
    r = client.post("/api/v1/me/credit-code")
    assert r.status_code == 201
    second = r.json()
    assert second["token"] != first["token"] and second["expires_at"]
    old = client.get(f"/api/v1/credit-codes/{first['token']}")
    assert old.status_code == 410 and old.json()["code"] == "CODE_SUPERSEDED"
    # The PNG download encodes exactly the scan URL of the current code.
    png = client.get("/api/v1/me/credit-code.png")
    assert png.headers["content-type"] == "image/png"
    assert "attachment" in png.headers["content-disposition"]
    assert _modules(png.content) == _expected(second["url"])
    page_png = client.get("/me/code.png")
    assert _modules(page_png.content) == _expected(second["url"])
    svg = client.get("/api/v1/me/credit-code.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text
    with engine.connect() as conn:
        n = conn.execute(text(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'credit_code.issue'"
            " AND subject_id = :s"), {"s": world["honoured"]}).scalar()
    assert n == 2


def test_verify_api_public_and_provider(client: TestClient, world: dict[str, Any],
                                        engine: Engine) -> None:
    with __import__("xinyong.core.db", fromlist=["x"]).session_scope() as session:
        issued = codes.issue_code(session, world["honoured"], actor="test")
    token = issued["token"]
    r = client.get(f"/api/v1/credit-codes/{token}")
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is True and body["subject"]["name"] == "广州守信示范有限公司"
    assert body["subject"]["uscc"] == b.code(HONOURED) and body["colour"]["name"] == "绿码"
    assert body["profile_url"] == f"/subjects/{b.code(HONOURED)}"
    # POST with the whole scanned address, as a provider's scanner gives it.
    provider = issue_token("codes-provider", ["public:read"])
    r = client.post("/api/v1/credit-codes/verify", json={"token": issued["url"]},
                    headers={"Authorization": f"Bearer {provider}"})
    assert r.status_code == 200 and r.json()["serial"] == issued["serial"]
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT role, channel, account_id IS NOT NULL FROM credit_code_scan ORDER BY id")).all()
    assert [tuple(x) for x in rows] == [("public", "api", False), ("provider", "api", True)]
    # Refusals: stable codes and Chinese messages.
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    r = client.get(f"/api/v1/credit-codes/{forged}")
    assert r.status_code == 400 and r.json()["code"] == "CODE_FORGED"
    assert "签名" in r.json()["message"]
    r = client.post("/api/v1/credit-codes/verify", json={"token": token[:30]})
    assert r.status_code == 400 and r.json()["code"] == "CODE_INVALID"
    r = client.post("/api/v1/credit-codes/verify", json={})
    assert r.status_code == 422
    assert client.get(f"/api/v1/credit-codes/{token}/qr.png").status_code == 200
    assert client.get(f"/api/v1/credit-codes/{forged}/qr.png").status_code == 400


def test_government_issues_print_codes(client: TestClient, world: dict[str, Any]) -> None:
    r = client.post("/api/v1/credit-codes", json={"code": b.code(HONOURED)}, headers=OPERATOR)
    assert r.status_code == 201
    assert r.json()["purpose"] == "print" and r.json()["colour"]["code"] == "green"
    r = client.post("/api/v1/credit-codes", json={"code": b.code(PERSON)}, headers=OPERATOR)
    assert r.status_code == 403 and r.json()["code"] == "CODE_NATURAL_PERSON"
    r = client.post("/api/v1/credit-codes", json={"code": "91440101MA0000000X"},
                    headers=OPERATOR)
    assert r.status_code == 404 and r.json()["code"] == "SUBJECT_NOT_FOUND"
    r = client.post("/api/v1/credit-codes", json={"code": b.code(HONOURED), "purpose": "forever"},
                    headers=OPERATOR)
    assert r.status_code == 400 and r.json()["code"] == "CODE_PURPOSE_INVALID"
    # Not for the public, a provider or a subject.
    assert client.post("/api/v1/credit-codes", json={"code": b.code(HONOURED)}).status_code == 401
    login(client, "codes-provider")
    assert client.post("/api/v1/credit-codes",
                       json={"code": b.code(HONOURED)}).status_code == 403


def test_pages_in_chinese(client: TestClient, world: dict[str, Any]) -> None:
    login(client, "codes-subject")
    page = client.get("/me/code", headers=HTML)
    assert page.status_code == 200
    assert "我的信用码" in page.text and "绿码" in page.text and "<svg" in page.text
    assert "刷新信用码" in page.text and "下载二维码图片" in page.text
    url = re.search(r'href="(http://testserver/code/[^"]+)"', page.text).group(1)
    # Refresh through the form (CSRF checked).
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
    assert client.post("/me/code/refresh", data={"csrf_token": "bad"},
                       headers=HTML).status_code == 403
    r = client.post("/me/code/refresh", data={"csrf_token": csrf}, headers=HTML,
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me/code?refreshed=1"
    fresh = client.get("/me/code?refreshed=1", headers=HTML)
    assert "已生成新的信用码" in fresh.text and url not in fresh.text
    # The old code, opened anonymously: refused with the reason.
    anon = TestClient(client.app)
    old = anon.get(url.replace("http://testserver", ""), headers=HTML)
    assert old.status_code == 410 and "已被主体刷新作废" in old.text and "CODE_SUPERSEDED" in old.text
    new_url = re.search(r'href="http://testserver(/code/[^"]+)"', fresh.text).group(1)
    scan = anon.get(new_url, headers=HTML)
    assert scan.status_code == 200
    for words in ("信用码有效", "广州守信示范有限公司", b.code(HONOURED), "绿码", "有效期至",
                  "严重失信主体名单", "未列入", "查看该主体的公开信用档案"):
        assert words in scan.text
    assert 'aria-label="信用码颜色：绿码"' in scan.text
    # The paste form.
    form = anon.get("/code", headers=HTML)
    assert form.status_code == 200 and "信用码网址或令牌" in form.text
    r = anon.get("/code", params={"q": "http://x.example" + new_url}, headers=HTML,
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == new_url
    bad = anon.get("/code", params={"q": "这不是信用码"}, headers=HTML)
    assert bad.status_code == 400 and "无法识别" in bad.text
    forged = anon.get(new_url[:-3] + "abc", headers=HTML)
    assert forged.status_code == 400 and "CODE_FORGED" in forged.text


def test_natural_person_page_explains(client: TestClient, world: dict[str, Any]) -> None:
    login(client, "codes-person")
    page = client.get("/me/code", headers=HTML)
    assert page.status_code == 403 and "自然人不签发信用码" in page.text
    api = client.get("/api/v1/me/credit-code")
    assert api.status_code == 403 and api.json()["code"] == "CODE_NATURAL_PERSON"


def test_cli_issue_and_verify(world: dict[str, Any], tmp_path: Any) -> None:
    runner = CliRunner()
    out = tmp_path / "qr.png"
    r = runner.invoke(cli, ["codes", "issue", b.code(HONOURED), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "绿码" in r.output and out.exists()
    url = re.search(r"核验网址：(\S+)", r.output).group(1)
    token = url.rsplit("/", 1)[1]
    assert _modules(out.read_bytes()) == _expected(url)
    r = runner.invoke(cli, ["codes", "verify", url])
    assert r.exit_code == 0, r.output
    assert "信用码有效" in r.output and "绿码" in r.output
    r = runner.invoke(cli, ["codes", "verify", token[:-1] + ("A" if token[-1] != "A" else "B")])
    assert r.exit_code == 2 and "CODE_FORGED" in r.output
    r = runner.invoke(cli, ["codes", "issue", b.code(PERSON)])
    assert r.exit_code == 2 and "CODE_NATURAL_PERSON" in r.output


def test_seed_demo_issues_codes_for_enterprises_only(world: dict[str, Any]) -> None:
    from xinyong.core.db import session_scope

    with session_scope() as session:
        issued = codes.seed_demo(session, limit=10)
        again = codes.seed_demo(session, limit=10)
    names = {i["subject"]["name"] for i in issued}
    assert names == {"广州守信示范有限公司", "广州普通贸易有限公司", "广州新设科技有限公司"}
    # Run twice: the still-valid codes are shown again, not replaced.
    assert [i["token"] for i in again] == [i["token"] for i in issued]

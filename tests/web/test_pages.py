"""The Chinese web pages, on SQLite and PostgreSQL: search, profile, catalog, and the operator's
pages (login, batches, upload with a bad row, pending queue, CSRF)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.auth import create_user, csrf, login
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import session_scope
from xinyong.core.security import SESSION_COOKIE
from xinyong.departments.service import add_department
from xinyong.subjects.names import normalize_name
from xinyong.subjects.service import insert_subjects

TOKEN = "test-operator-token"
HTML = {"accept": "text/html,application/xhtml+xml"}

ALPHA = ("914403001922038216", "深圳市阿尔法科技有限公司")
BETA = ("91440300708461136T", "深圳市贝塔贸易有限公司")
TWIN_A = ("91330100799655058B", "杭州同名商行有限公司")


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    monkeypatch.setenv("XINYONG_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("XINYONG_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def penalty(name: str, uscc: str | None, doc: str, **extra: str) -> dict[str, str]:
    row = {
        "subject_name": name, "doc_number": doc, "penalty_kinds": "罚款", "fine_amount": "5000",
        "decided_on": "2026-03-01", "authority": "深圳市生态环境局", "violation_type": "环境违法",
        "facts": "超标排放污水", "basis": "《水污染防治法》第八十三条",
        "content": "罚款人民币伍仟元",
    }
    if uscc:
        row["uscc"] = uscc
    row.update(extra)
    return row


@pytest.fixture
def data(engine: Engine) -> Engine:
    clock.set_today(dt.date(2026, 4, 1))
    with session_scope() as session:
        add_department(session, "sz-env", "深圳市生态环境局")
    with engine.begin() as conn:
        insert_subjects(conn, pl.DataFrame({
            "uscc": [ALPHA[0], BETA[0], TWIN_A[0], None],
            "uscc_status": ["verified", "verified", "verified", "none"],
            "kind": ["legal_person"] * 4,
            "name": [ALPHA[1], BETA[1], TWIN_A[1], TWIN_A[1]],
            "name_norm": [normalize_name(n) for n in (ALPHA[1], BETA[1], TWIN_A[1], TWIN_A[1])],
        }))
    from xinyong.records.ingest import ingest_records

    ingest_records(engine, [penalty(ALPHA[1], ALPHA[0], "深环罚〔2026〕1号")],
                   record_type="administrative_penalty", department="sz-env")
    return engine


@pytest.fixture
def client(data: Engine) -> Iterator[TestClient]:
    from xinyong.app import create_app

    with TestClient(create_app(), headers=HTML) as c:
        yield c


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    create_user("office", "admin")
    return login(client, "office")


# ---------------------------------------------------------------------------- public


def test_search_finds_subject(client: TestClient) -> None:
    r = client.get("/", params={"q": "阿尔法"})
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert ALPHA[1] in r.text
    assert f"/subjects/{ALPHA[0]}" in r.text
    assert "名称包含" in r.text
    assert "共 1 个结果" in r.text
    assert BETA[1] not in r.text


def test_search_by_code_and_no_result(client: TestClient) -> None:
    r = client.get("/", params={"q": BETA[0]})
    assert BETA[1] in r.text and "代码" in r.text
    r = client.get("/", params={"q": "不存在的名称甲乙丙"})
    assert r.status_code == 200
    assert "未找到" in r.text


def test_search_home_without_query(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert "xinyong" in r.text and "公共信用信息平台" in r.text
    assert 'name="q"' in r.text


def test_search_escapes_query(client: TestClient) -> None:
    r = client.get("/", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;" in r.text


def test_profile_shows_records_and_empty_categories(client: TestClient) -> None:
    r = client.get(f"/subjects/{ALPHA[0]}")
    assert r.status_code == 200
    assert ALPHA[1] in r.text
    assert "深环罚〔2026〕1号" in r.text
    assert "行政处罚" in r.text
    assert "5,000.00 元" in r.text
    assert "深圳市生态环境局" in r.text
    assert "暂无记录" in r.text
    assert "公开视图" in r.text


def test_government_view_only_for_government(client: TestClient) -> None:
    r = client.get(f"/subjects/{ALPHA[0]}", params={"view": "government"})
    assert r.status_code == 200
    assert "仅向政府部门开放" in r.text and "目录版本" not in r.text
    create_user("office", "admin")
    login(client, "office")
    r = client.get(f"/subjects/{ALPHA[0]}", params={"view": "government"})
    assert "政务视图" in r.text and "仅向政府部门开放" not in r.text
    assert "目录版本" in r.text


def test_profile_not_found(client: TestClient) -> None:
    r = client.get("/subjects/91440300000000000X")
    assert r.status_code == 404
    assert "未找到信用主体" in r.text
    assert "text/html" in r.headers["content-type"]


def test_catalog_pages(client: TestClient) -> None:
    r = client.get("/catalog")
    assert r.status_code == 200
    assert "行政处罚" in r.text and "/catalog/administrative_penalty" in r.text
    r = client.get("/catalog/administrative_penalty")
    assert r.status_code == 200
    assert "行政处罚决定书文号" in r.text and "doc_number" in r.text
    assert "行政处罚法" in r.text
    r = client.get("/catalog/no_such_type")
    assert r.status_code == 404 and "没有信息类别" in r.text


# ---------------------------------------------------------------------------- admin


@pytest.mark.parametrize("path", ["/admin/batches", "/admin/upload", "/admin/pending",
                                  "/admin/batches/1", "/admin/pending/1"])
def test_admin_pages_redirect_to_login(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_login(client: TestClient) -> None:
    create_user("office", "admin")
    r = client.get("/login", params={"next": "/admin/pending"})
    assert r.status_code == 200 and 'name="password"' in r.text
    token = csrf(r.text)
    r = client.post("/login", data={"username": "office", "password": "wrong-Passw0rd",
                                    "next": "/admin/pending", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 401
    assert "用户名或密码不正确" in r.text
    assert SESSION_COOKIE not in r.cookies
    r = client.post("/login", data={"username": "office", "password": "Xinyong2026",
                                    "next": "/admin/pending", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/pending"
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.get("/admin/batches").status_code == 200


def test_login_next_must_be_local(client: TestClient) -> None:
    create_user("office", "admin")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client.cookies.clear()
        token = csrf(client.get("/login").text)
        r = client.post("/login", data={"username": "office", "password": "Xinyong2026",
                                        "next": target, "csrf_token": token},
                        follow_redirects=False)
        assert r.headers["location"] == "/admin"


def test_batches_list_and_filter(admin: TestClient) -> None:
    r = admin.get("/admin/batches")
    assert r.status_code == 200
    assert "已入库" in r.text and "深圳市生态环境局" in r.text
    r = admin.get("/admin/batches", params={"status": "failed"})
    assert "没有符合筛选条件的批次" in r.text


def test_upload_with_bad_row_shows_errors(admin: TestClient) -> None:
    page = admin.get("/admin/upload")
    assert page.status_code == 200
    assert "administrative_penalty" in page.text and "sz-env" in page.text
    header = list(penalty(BETA[1], BETA[0], "x").keys())
    good = penalty(BETA[1], BETA[0], "深环罚〔2026〕2号")
    bad = penalty(BETA[1], BETA[0], "深环罚〔2026〕3号", decided_on="2026-13-45")
    lines = [",".join(header)] + [",".join(row[h] for h in header) for row in (good, bad)]
    body = ("\n".join(lines) + "\n").encode("utf-8")
    r = admin.post(
        "/admin/upload",
        files={"file": ("penalties.csv", body, "text/csv")},
        data={"record_type": "administrative_penalty", "department": "sz-env", "profile": "",
              "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.match(r"^/admin/batches/\d+", location)
    detail = admin.get(location)
    assert detail.status_code == 200
    assert "已入库" in detail.text
    assert "2026-13-45" in detail.text
    assert "处罚决定日期" in detail.text
    assert "errors.csv" in detail.text and "errors.xlsx" in detail.text
    batch_id = re.match(r"^/admin/batches/(\d+)", location).group(1)  # type: ignore[union-attr]
    report = admin.get(f"/admin/batches/{batch_id}/errors.csv")
    assert report.status_code == 200 and "2026-13-45" in report.content.decode("utf-8-sig")
    xlsx = admin.get(f"/admin/batches/{batch_id}/errors.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # The good row is on the profile now.
    assert "深环罚〔2026〕2号" in admin.get(f"/subjects/{BETA[0]}").text


def test_upload_problems_show_on_form(admin: TestClient) -> None:
    token = csrf(admin.get("/admin/upload").text)
    r = admin.post("/admin/upload", data={"record_type": "administrative_penalty",
                                          "department": "sz-env", "csrf_token": token})
    assert r.status_code == 400 and "请选择要上传的文件" in r.text
    r = admin.post(
        "/admin/upload", files={"file": ("empty.csv", b"", "text/csv")},
        data={"record_type": "administrative_penalty", "department": "sz-env", "csrf_token": token},
    )
    assert r.status_code == 400 and "上传的文件为空" in r.text


def test_batch_not_found(admin: TestClient) -> None:
    r = admin.get("/admin/batches/999999")
    assert r.status_code == 404 and "不存在" in r.text


def test_csrf_missing_or_wrong_is_403(admin: TestClient) -> None:
    r = admin.post("/admin/upload", files={"file": ("a.csv", b"x\n1\n", "text/csv")},
                   data={"record_type": "administrative_penalty", "department": "sz-env"})
    assert r.status_code == 403
    assert "安全校验未通过" in r.text
    r = admin.post("/admin/pending/1/resolve", data={"subject_id": "1", "csrf_token": "0" * 64})
    assert r.status_code == 403
    r = admin.post("/logout", data={})
    assert r.status_code == 403


def test_pending_resolve(admin: TestClient, data: Engine) -> None:
    from xinyong.records.ingest import ingest_records

    # One unknown name (unmatched) and one name two subjects share (ambiguous).
    result = ingest_records(data, [
        penalty("深圳市无名小店", None, "深环罚〔2026〕7号"),
        penalty(TWIN_A[1], None, "深环罚〔2026〕8号"),
    ], record_type="administrative_penalty", department="sz-env")
    assert result.pending == 2
    page = admin.get("/admin/pending")
    assert page.status_code == 200
    assert "深圳市无名小店" in page.text and "未找到" in page.text and "同名多个" in page.text
    ids = re.findall(r'href="/admin/pending/(\d+)"', page.text)
    assert len(ids) == 2
    filtered = admin.get("/admin/pending", params={"q": "同名"})
    assert "深圳市无名小店" not in filtered.text and TWIN_A[1] in filtered.text
    ambiguous = filtered.text and re.findall(r'href="/admin/pending/(\d+)"', filtered.text)[0]

    detail = admin.get(f"/admin/pending/{ambiguous}")
    assert detail.status_code == 200
    assert "同名主体" in detail.text and TWIN_A[0] in detail.text
    token = csrf(detail.text)
    subject_ids = re.findall(r'name="subject_id" value="(\d+)"', detail.text)
    assert subject_ids
    r = admin.post(f"/admin/pending/{ambiguous}/resolve",
                   data={"subject_id": subject_ids[0], "csrf_token": token},
                   follow_redirects=False)
    assert r.status_code == 303 and "resolved=1" in r.headers["location"]
    after = admin.get(r.headers["location"])
    assert "已为 1 条记录指定信用主体" in after.text
    assert TWIN_A[1] not in after.text.split("<tbody>")[-1]

    # Resolving it again is refused with a Chinese sentence, on the page.
    again = admin.post(f"/admin/pending/{ambiguous}/resolve",
                       data={"subject_id": subject_ids[0], "csrf_token": token})
    assert again.status_code == 409 and "已处理" in again.text

    # The unknown name: search for a subject and attach it.
    unknown = next(i for i in ids if i != ambiguous)
    search = admin.get(f"/admin/pending/{unknown}", params={"q": "贝塔"})
    assert BETA[1] in search.text
    beta_id = re.findall(r'name="subject_id" value="(\d+)"', search.text)[0]
    r = admin.post(f"/admin/pending/{unknown}/resolve",
                   data={"subject_id": beta_id, "same_name": "true", "csrf_token": token},
                   follow_redirects=False)
    assert r.status_code == 303
    assert "深环罚〔2026〕7号" in admin.get(f"/subjects/{BETA[0]}").text


def test_pending_resolve_needs_a_subject(admin: TestClient) -> None:
    page = admin.get("/admin/pending")
    r = admin.post("/admin/pending/424242/resolve", data={"subject_id": "1",
                                                         "csrf_token": csrf(page.text)})
    assert r.status_code == 404 and "不存在" in r.text


def test_logout(admin: TestClient) -> None:
    token = csrf(admin.get("/admin/batches").text)
    r = admin.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    admin.cookies.clear()
    assert admin.get("/admin/batches", follow_redirects=False).status_code == 303


def test_static_css(client: TestClient) -> None:
    r = client.get("/static/site.css")
    assert r.status_code == 200 and "--brand" in r.text

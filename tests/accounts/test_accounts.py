"""Accounts on SQLite and PostgreSQL: registration and approval, login with lock-out, sessions
that expire, scoped/expiring/revocable tokens, department keys, the message centre, and the
views each role gets of a subject."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.auth import PASSWORD, create_user, csrf, issue_token, login
from xinyong.accounts import service
from xinyong.accounts.models import Account, ApiToken
from xinyong.accounts.principal import CLI
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import session_scope
from xinyong.core.errors import DomainError
from xinyong.departments.service import add_department, issue_api_key
from xinyong.subjects.names import normalize_name
from xinyong.subjects.service import insert_subjects

HTML = {"accept": "text/html"}
ALPHA = ("914403001922038216", "深圳市阿尔法科技有限公司")
BETA = ("91440300708461136T", "深圳市贝塔贸易有限公司")
NOON = dt.datetime(2026, 4, 1, 12, 0, tzinfo=clock.CST)


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    monkeypatch.setenv("XINYONG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XINYONG_SEARCH_RATE", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def world(engine: Engine) -> Engine:
    clock.set_now(NOON)
    with session_scope() as session:
        add_department(session, "market", "市场监督管理局")
        add_department(session, "tax", "税务局")
    with engine.begin() as conn:
        insert_subjects(conn, pl.DataFrame({
            "uscc": [ALPHA[0], BETA[0]], "uscc_status": ["verified"] * 2,
            "kind": ["legal_person"] * 2, "name": [ALPHA[1], BETA[1]],
            "name_norm": [normalize_name(ALPHA[1]), normalize_name(BETA[1])],
        }))
    from xinyong.records.ingest import ingest_records

    base = {"penalty_kinds": "罚款", "fine_amount": "5000", "decided_on": "2026-03-01",
            "authority": "深圳市市场监督管理局", "violation_type": "虚假宣传",
            "facts": "发布虚假广告", "basis": "《广告法》第五十五条", "content": "罚款"}
    ingest_records(engine, [{**base, "subject_name": ALPHA[1], "uscc": ALPHA[0],
                             "doc_number": "深市监罚〔2026〕1号"}],
                   record_type="administrative_penalty", department="market")
    return engine


@pytest.fixture
def client(world: Engine) -> Iterator[TestClient]:
    from xinyong.app import create_app

    with TestClient(create_app()) as c:
        yield c


def _account(username: str) -> Account:
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.username == username))
        assert account is not None
        session.expunge(account)
        return account


# ------------------------------------------------------------------------------ registration


def test_registration_waits_for_approval_and_the_decision_is_a_message(
    client: TestClient,
) -> None:
    page = client.get("/register", headers=HTML)
    r = client.post("/register", headers=HTML, data={
        "role": "subject", "username": "alpha-co", "password": "Alpha2026x",
        "password2": "Alpha2026x", "display_name": ALPHA[1], "uscc": ALPHA[0],
        "phone": "13812345678", "csrf_token": csrf(page.text)})
    assert r.status_code == 200 and "等待信用办审核" in r.text
    account = _account("alpha-co")
    assert account.status == "pending" and account.phone_masked == "138****5678"
    # a pending account cannot log in, and says why
    page = client.get("/login", headers=HTML)
    r = client.post("/login", headers=HTML, data={"username": "alpha-co", "password": "Alpha2026x",
                                                  "csrf_token": csrf(page.text)})
    assert r.status_code == 403 and "正在审核中" in r.text
    with session_scope() as session:
        service.decide(session, account.id, True, CLI)
    client.cookies.clear()
    login(client, "alpha-co", "Alpha2026x")
    r = client.get("/me/messages", headers=HTML)
    assert "账号审核通过" in r.text
    r = client.get("/me", headers=HTML, follow_redirects=False)
    assert r.headers["location"] == f"/subjects/{ALPHA[0]}"


def test_registration_errors_name_the_field(client: TestClient) -> None:
    page = client.get("/register", headers=HTML)
    token = csrf(page.text)
    cases = [
        ({"uscc": "91440300000000000X"}, "未找到统一社会信用代码"),
        ({"password": "short", "password2": "short"}, "密码不符合要求"),
        ({"password2": "Other2026x"}, "两次输入的密码不一致"),
        ({"username": "x"}, "用户名须为"),
    ]
    for change, message in cases:
        data = {"role": "subject", "username": "beta-co", "password": "Beta2026xx",
                "password2": "Beta2026xx", "display_name": BETA[1], "uscc": BETA[0],
                "csrf_token": token, **change}
        r = client.post("/register", headers=HTML, data=data)
        assert r.status_code in (400, 404) and message in r.text, message
    with session_scope() as session:
        assert session.scalar(select(Account.id).where(Account.username == "beta-co")) is None


def test_rejection_needs_a_reason(world: Engine) -> None:
    with session_scope() as session:
        account = service.register(session, role="bank", username="some-bank",
                                   password="Bank2026xx", display_name="某某银行")
        with pytest.raises(DomainError) as exc:
            service.decide(session, account.id, False, CLI, "")
        assert exc.value.code == "ACCOUNT_REASON_REQUIRED"
        service.decide(session, account.id, False, CLI, "机构资质材料不全")
    assert _account("some-bank").status == "rejected"


# ------------------------------------------------------------------------------ login


def test_five_failures_lock_the_account_for_fifteen_minutes(world: Engine) -> None:
    create_user("officer", "department_officer", department="market")
    for attempt in range(1, service.MAX_FAILED_LOGINS + 1):
        with session_scope() as session, pytest.raises(DomainError) as exc:
            service.login(session, "officer", "Wrong2026xx")
        # the attempt that locks says so at once
        assert exc.value.code == ("AUTH_LOCKED" if attempt == service.MAX_FAILED_LOGINS
                                  else "AUTH_FAILED")
    with session_scope() as session, pytest.raises(DomainError) as exc:
        service.login(session, "officer", PASSWORD)  # the right password, but locked
    assert exc.value.code == "AUTH_LOCKED" and "12:15" in exc.value.message
    clock.set_now(NOON + dt.timedelta(minutes=service.LOCK_MINUTES, seconds=1))
    with session_scope() as session:
        assert service.login(session, "officer", PASSWORD).account.username == "officer"


def test_unknown_user_and_wrong_password_look_the_same(world: Engine) -> None:
    create_user("officer", "department_officer", department="market")
    messages = []
    for user in ("officer", "nobody"):
        with session_scope() as session, pytest.raises(DomainError) as exc:
            service.login(session, user, "Wrong2026xx")
        messages.append((exc.value.code, exc.value.message, exc.value.status))
    assert messages[0] == messages[1]


def test_session_idle_expiry_and_logout(client: TestClient) -> None:
    create_user("office", "admin")
    login(client, "office")
    assert client.get("/api/v1/me").json()["role"] == "admin"
    clock.set_now(NOON + dt.timedelta(minutes=service.SESSION_IDLE_MINUTES - 1))
    assert client.get("/api/v1/me").json()["role"] == "admin"  # used: the expiry slides
    clock.set_now(NOON + dt.timedelta(minutes=2 * service.SESSION_IDLE_MINUTES + 1))
    assert client.get("/api/v1/me").json()["role"] == "public"  # idle too long
    clock.set_now(NOON)
    login(client, "office")
    token = csrf(client.get("/admin/accounts", headers=HTML).text)
    client.post("/logout", data={"csrf_token": token}, headers=HTML)
    assert client.get("/api/v1/me").json()["role"] == "public"


def test_password_change_ends_every_session(client: TestClient) -> None:
    create_user("officer", "department_officer", department="market")
    login(client, "officer")
    other = TestClient(client.app)
    login(other, "officer")
    page = client.get("/account/password", headers=HTML)
    r = client.post("/account/password", headers=HTML, follow_redirects=False, data={
        "current": PASSWORD, "new": "Newer2026xy", "new2": "Newer2026xy",
        "csrf_token": csrf(page.text)})
    assert r.status_code == 303
    assert other.get("/api/v1/me").json()["role"] == "public"
    login(TestClient(client.app), "officer", "Newer2026xy")


def test_login_form_needs_its_csrf_token(client: TestClient) -> None:
    create_user("office", "admin")
    r = client.post("/login", headers=HTML, data={"username": "office", "password": PASSWORD})
    assert r.status_code == 403 and "安全校验未通过" in r.text


# ------------------------------------------------------------------------------ tokens


def test_tokens_are_scoped_expiring_revocable_and_stored_hashed(client: TestClient) -> None:
    create_user("sys", "department_system", department="market")
    clear = issue_token("sys", ["profiles:read"], days=30)
    with session_scope() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert clear not in stored and service.digest(clear) in stored
    h = {"Authorization": f"Bearer {clear}"}
    gov = client.get(f"/api/v1/subjects/{ALPHA[0]}/profile?view=government", headers=h)
    assert gov.status_code == 200 and gov.json()["view"] == "government"
    # the scope does not include pushing records
    r = client.post("/api/v1/records/administrative_penalty", json={"records": []}, headers=h)
    assert r.status_code == 403
    # a token cannot carry more than its role allows
    with session_scope() as session, pytest.raises(DomainError) as exc:
        service.issue_token(session, _account("sys").id, name="x", scopes=["admin"], by=CLI)
    assert exc.value.code == "TOKEN_SCOPE_BEYOND_ROLE"
    clock.set_now(NOON + dt.timedelta(days=31))
    r = client.get("/api/v1/me", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "AUTH_TOKEN_INVALID"
    clock.set_now(NOON)
    with session_scope() as session:
        token_id = session.scalar(select(ApiToken.id).where(
            ApiToken.token_hash == service.digest(clear)))
        service.revoke_token(session, token_id, CLI)
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_a_new_department_key_replaces_the_old_one(client: TestClient) -> None:
    with session_scope() as session:
        old = issue_api_key(session, "market")
    assert client.get("/api/v1/me", headers={"X-API-Key": old}).json()["department"] == "market"
    with session_scope() as session:
        new = issue_api_key(session, "market")
    r = client.get("/api/v1/me", headers={"X-API-Key": old})
    assert r.status_code == 401 and r.json()["code"] == "AUTH_KEY_INVALID"
    assert client.get("/api/v1/me", headers={"X-API-Key": new}).json()["role"] == (
        "department_system")


def test_admin_issues_a_token_once_through_the_page(client: TestClient) -> None:
    create_user("office", "admin")
    bank_id = create_user("bank1", "bank")
    login(client, "office")
    page = client.get(f"/admin/accounts/{bank_id}", headers=HTML)
    r = client.post(f"/admin/accounts/{bank_id}/tokens/new", headers=HTML, data={
        "name": "信贷系统", "scope": "public:read", "days": "90", "csrf_token": csrf(page.text)})
    assert r.status_code == 200 and "只显示这一次" in r.text
    shown = r.text.split('id="new-token">')[1].split("<")[0]
    assert shown.startswith("xy_")
    assert shown not in client.get(f"/admin/accounts/{bank_id}", headers=HTML).text
    assert TestClient(client.app).get(
        "/api/v1/me", headers={"Authorization": f"Bearer {shown}"}).json()["role"] == "bank"


def test_disabling_ends_sessions_and_revokes_tokens(client: TestClient) -> None:
    officer = create_user("officer", "department_officer", department="market")
    login(client, "officer")
    clear = issue_token("officer", ["profiles:read"])
    with session_scope() as session:
        service.set_status(session, officer, "disabled", CLI)
    assert client.get("/api/v1/me").json()["role"] == "public"
    assert TestClient(client.app).get(
        "/api/v1/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 401


# ------------------------------------------------------------------------------ views


def test_each_role_gets_its_view_of_a_subject(client: TestClient) -> None:
    create_user("alpha", "subject", subject=ALPHA[0])
    create_user("beta", "subject", subject=BETA[0])
    create_user("officer", "department_officer", department="market")
    create_user("bank1", "bank")
    expected = {"alpha": "subject", "beta": "public", "officer": "government",
                "bank1": "public"}
    for user, view in expected.items():
        c = TestClient(client.app)
        login(c, user)
        assert c.get(f"/api/v1/subjects/{ALPHA[0]}/profile").json()["view"] == view, user
    c = TestClient(client.app)
    login(c, "beta")
    r = c.get(f"/api/v1/subjects/{ALPHA[0]}/profile?view=subject")
    assert r.status_code == 403 and r.json()["code"] == "VIEW_FORBIDDEN"


def test_restricted_reads_are_audited_with_their_purpose(client: TestClient) -> None:
    from xinyong.audit.service import search

    create_user("officer", "department_officer", department="market")
    login(client, "officer")
    client.get(f"/api/v1/subjects/{ALPHA[0]}/profile?purpose=行政许可审查")
    client.get(f"/api/v1/subjects/{ALPHA[0]}/profile", headers={"cookie": ""})
    with session_scope() as session:
        rows, total = search(session.connection(), action="profile.read_restricted")
    assert total == 1
    assert rows[0]["actor"] == "user:officer" and rows[0]["purpose"] == "行政许可审查"


def test_department_portal_sees_only_its_own_batches(client: TestClient) -> None:
    create_user("tax-officer", "department_officer", department="tax")
    create_user("market-officer", "department_officer", department="market")
    market = TestClient(client.app)
    login(market, "market-officer")
    r = market.get("/dept/batches", headers=HTML)
    assert r.status_code == 200 and "#1" in r.text
    assert market.get("/dept/batches/1", headers=HTML).status_code == 200
    tax = TestClient(client.app)
    login(tax, "tax-officer")
    assert "#1" not in tax.get("/dept/batches", headers=HTML).text
    r = tax.get("/dept/batches/1", headers=HTML)
    assert r.status_code == 404 and "不存在" in r.text
    assert tax.get("/admin/batches", headers=HTML).status_code == 403


def test_a_grade_change_reaches_the_subjects_message_centre(client: TestClient) -> None:
    from xinyong.core.db import get_engine
    from xinyong.evaluation import service as evaluation
    from xinyong.records.ingest import ingest_records

    engine = get_engine()
    with engine.begin() as conn:
        evaluation.sync_builtin_models(conn)
    evaluation.evaluate(engine, "gz_general")
    evaluation.evaluate(engine, "samr_risk")
    create_user("alpha", "subject", subject=ALPHA[0])
    ingest_records(engine, [{
        "subject_name": ALPHA[1], "uscc": ALPHA[0], "list_name": "严重违法失信名单",
        "reason": "提交虚假材料取得登记", "listed_on": "2026-03-20",
        "authority": "深圳市市场监督管理局"}], record_type="serious_dishonesty_list",
        department="market")
    login(client, "alpha")
    rows = client.get("/api/v1/me/messages").json()["items"]
    changes = [m for m in rows if m["kind"] == "grade_change"]
    assert changes, rows
    assert all("gz_general" in m["link"] or "huixin" in m["link"] or "food" in m["link"]
               for m in changes)
    # the government-only SAMR class never reaches the subject
    assert not any("samr_risk" in m["link"] for m in changes)
    assert "评价等级由" in changes[0]["body"]

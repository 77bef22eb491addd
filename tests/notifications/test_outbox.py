"""The notification outbox on SQLite and PostgreSQL: recipients, templates, in-app delivery at
once, e-mail through a real local SMTP server (aiosmtpd), the SMS/5G webhook through a local HTTP
server, retries with back-off, giving up, nothing sent twice, and the admin page, API and CLI."""

from __future__ import annotations

import datetime as dt
import email
import json
import threading
from collections.abc import Iterator
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.auth import create_user, csrf, login
from tests.evaluation import builders as b
from xinyong.accounts.models import Account, Message
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import session_scope
from xinyong.core.errors import DomainError
from xinyong.notifications import service
from xinyong.notifications.models import Notification

NOON = dt.datetime(2026, 9, 30, 12, 0, tzinfo=clock.CST)
HTML = {"accept": "text/html"}


class Mailbox:
    """A real SMTP server on a free local port that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 mailbox temporarily unavailable"
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    import socket

    with socket.socket() as probe:  # aiosmtpd's controller cannot start on port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class Gateway:
    """A local HTTP server standing in for the SMS / 5G message gateway."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.status = 200
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if gateway.status == 200:
                    gateway.received.append((json.loads(body), dict(self.headers)))
                self.send_response(gateway.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    try:
        yield g
    finally:
        g.close()


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    monkeypatch.setenv("XINYONG_DATA_DIR", str(tmp_path / "data"))
    for name in ("SMTP_HOST", "SMS_WEBHOOK_URL", "SMS_WEBHOOK_SECRET"):
        monkeypatch.delenv(f"XINYONG_{name}", raising=False)
    get_settings.cache_clear()
    service.settings.cache_clear()
    yield
    get_settings.cache_clear()
    service.settings.cache_clear()


def _configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(f"XINYONG_{k.upper()}", v)
    service.settings.cache_clear()


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    clock.set_now(NOON)
    b.departments()
    sid = b.subject(engine, 1)
    ids = {
        "subject": sid,
        "owner": create_user("owner", "subject", subject=b.code(1)),
        "officer": create_user("officer", "department_officer", department="market"),
        "other_officer": create_user("tax-officer", "department_officer", department="tax"),
        "bank": create_user("bank", "bank"),
        "admin": create_user("admin", "admin"),
    }
    with engine.begin() as conn:
        conn.execute(update(Account).where(Account.id == ids["owner"]).values(
            email="owner@example.cn"))
        conn.execute(update(Account).where(Account.id == ids["officer"]).values(
            email="officer@example.cn"))
    with session_scope() as session:
        dept = session.execute(text("SELECT id FROM department WHERE code = 'market'")).scalar()
    ids["market"] = int(dept)
    return ids


def _notify(key: str = "repair:1:accepted", **kw: Any) -> int:
    with session_scope() as session:
        return service.notify(session, template=kw.pop("template", "notification_test"),
                              context=kw.pop("context", {"name": "广州测试1号有限公司",
                                                         "day": "2026年9月30日"}),
                              key=key, **kw)


def _rows() -> list[Notification]:
    with session_scope() as session:
        rows = list(session.scalars(select(Notification).order_by(Notification.id)))
        session.expunge_all()
        return rows


def test_templates_are_chinese_and_strict() -> None:
    title, body = service.render("notification_test", {"name": "甲公司", "day": "2026年9月30日"})
    assert title == "测试通知：甲公司"
    assert "2026年9月30日" in body
    with pytest.raises(Exception, match="day"):
        service.render("notification_test", {"name": "甲公司"})  # a missing value is an error
    with pytest.raises(ValueError, match="unknown"):
        service.render("no_such_template", {})


def test_in_app_at_once_to_subject_and_department(world: dict[str, int]) -> None:
    n = _notify(subject_id=world["subject"], department_id=world["market"])
    assert n == 2  # the subject's account and the market officer; not tax, not the bank
    with session_scope() as session:
        got = {m.account_id: m for m in session.scalars(select(Message))}
        assert set(got) == {world["owner"], world["officer"]}
        assert got[world["owner"]].title == "测试通知：广州测试1号有限公司"
    assert {r.channel for r in _rows()} == {"in_app"}  # no mail or SMS configured


def test_nothing_is_sent_twice(world: dict[str, int], mailbox: tuple[Mailbox, int],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    box, port = mailbox
    _configure(monkeypatch, smtp_host="127.0.0.1", smtp_port=str(port))
    assert _notify(subject_id=world["subject"]) == 2  # in-app + e-mail
    assert _notify(subject_id=world["subject"]) == 0  # the same event again: nothing
    assert service.dispatch().sent == 1
    assert service.dispatch().sent == 0
    assert len(box.messages) == 1
    with session_scope() as session:
        assert session.scalar(select(Message.id).where(Message.account_id == world["owner"]))
        assert len(list(session.scalars(select(Message)))) == 1


def test_email_through_a_real_smtp_server(world: dict[str, int], mailbox: tuple[Mailbox, int],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    box, port = mailbox
    _configure(monkeypatch, smtp_host="127.0.0.1", smtp_port=str(port),
               smtp_from="credit@gz.example.cn")
    _notify(subject_id=world["subject"], department_id=world["market"], link="/me/repair/1")
    r = service.dispatch()
    assert (r.sent, r.retried, r.failed) == (2, 0, 0)
    by_to = {m["To"]: m for m in box.messages}
    assert set(by_to) == {"owner@example.cn", "officer@example.cn"}
    msg = by_to["owner@example.cn"]
    assert msg["Subject"] == "测试通知：广州测试1号有限公司"
    assert "credit@gz.example.cn" in msg["From"]
    assert "notification-" in msg["Message-ID"]
    content = msg.get_content()
    assert "2026年9月30日" in content and "/me/repair/1" in content
    assert {r.status for r in _rows() if r.channel == "email"} == {"sent"}


def test_failed_mail_is_retried_with_backoff_then_given_up(
        world: dict[str, int], mailbox: tuple[Mailbox, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    box, port = mailbox
    _configure(monkeypatch, smtp_host="127.0.0.1", smtp_port=str(port))
    _notify(subject_id=world["subject"])
    box.refuse = True
    r = service.dispatch()
    assert (r.sent, r.retried) == (0, 1) and "451" in r.errors[0]
    row = next(x for x in _rows() if x.channel == "email")
    assert row.status == "pending" and row.attempts == 1 and "451" in (row.last_error or "")
    assert clock_offset(row.next_attempt_at) == 60
    assert service.dispatch().sent == 0  # not due yet: nothing happens
    # a minute later it is tried again, then after 5 min, 30 min, 2 h, 12 h: then given up
    moment = NOON
    for wait in service.BACKOFF:
        moment += dt.timedelta(seconds=wait)
        clock.set_now(moment)
        service.dispatch()
    row = next(x for x in _rows() if x.channel == "email")
    assert row.status == "failed" and row.attempts == len(service.BACKOFF) + 1
    assert not box.messages
    # an operator sends it again once the mailbox works
    box.refuse = False
    with session_scope() as session:
        service.retry(session, row.id, actor="user:admin")
    assert service.dispatch().sent == 1 and len(box.messages) == 1
    with session_scope() as session, pytest.raises(DomainError) as exc:
        service.retry(session, row.id, actor="user:admin")
    assert exc.value.code == "NOTIFICATION_ALREADY_SENT"


def clock_offset(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.CST)  # SQLite keeps the wall time in CST
    return round((moment - clock.now()).total_seconds())


def test_unreachable_smtp_server_is_reported(world: dict[str, int],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(monkeypatch, smtp_host="127.0.0.1", smtp_port="1", smtp_timeout="2")
    _notify(subject_id=world["subject"])
    r = service.dispatch()
    assert r.retried == 1 and r.errors


def test_webhook_gateway_signed(world: dict[str, int], gateway: Gateway,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import hmac

    _configure(monkeypatch, sms_webhook_url=gateway.url, sms_webhook_secret="s3cret")
    _notify(subject_id=world["subject"])
    gateway.status = 503
    assert service.dispatch().retried == 1
    gateway.status = 200
    clock.set_now(NOON + dt.timedelta(minutes=2))
    assert service.dispatch().sent == 1
    (payload, headers), = gateway.received
    assert payload["account_id"] == world["owner"]
    assert payload["title"] == "测试通知：广州测试1号有限公司"
    raw = json.dumps(payload, ensure_ascii=False).encode()
    assert headers["X-Xinyong-Signature"] == hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()


def test_disabled_accounts_get_nothing(world: dict[str, int], engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(Account).where(Account.id == world["owner"]).values(
            status="disabled"))
    assert _notify(subject_id=world["subject"], account_ids=[world["bank"]]) == 1
    assert [r.account_id for r in _rows()] == [world["bank"]]


def test_admin_page_api_and_cli(world: dict[str, int], mailbox: tuple[Mailbox, int],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    from xinyong.app import create_app
    from xinyong.cli import app as cli

    box, port = mailbox
    _configure(monkeypatch, smtp_host="127.0.0.1", smtp_port=str(port))
    _notify(subject_id=world["subject"])
    box.refuse = True
    service.dispatch()
    with TestClient(create_app()) as c:
        login(c, "admin")
        page = c.get("/admin/notifications", headers=HTML)
        assert page.status_code == 200 and "待发送" in page.text and "451" in page.text
        api = c.get("/api/v1/admin/notifications?channel=email").json()
        assert api["total"] == 1 and api["items"][0]["status"] == "pending"
        bad = c.get("/api/v1/admin/notifications?status=lost")
        assert bad.status_code == 400 and bad.json()["code"] == "NOTIFICATION_STATUS_INVALID"
        box.refuse = False
        token = csrf(page.text)
        r = c.post(f"/admin/notifications/{api['items'][0]['id']}/retry",
                   data={"csrf_token": token}, headers=HTML, follow_redirects=False)
        assert r.status_code == 303
        r = c.post("/admin/notifications/dispatch", data={"csrf_token": token}, headers=HTML)
        assert "成功 1 条" in r.text
    assert len(box.messages) == 1
    out = CliRunner().invoke(cli, ["notifications", "list", "--channel", "email"])
    assert out.exit_code == 0 and "已发送" in out.output
    out = CliRunner().invoke(cli, ["notifications", "dispatch"])
    assert out.exit_code == 0 and "成功 0 条" in out.output
    with TestClient(create_app()) as c:
        login(c, "bank")
        assert c.get("/api/v1/admin/notifications").status_code == 403

"""Notifications: enqueue in the caller's transaction, deliver from an outbox with retries.

``notify`` is what every domain calls. It resolves the recipients (a subject's accounts, a
department's officers, named accounts), renders the Chinese template once, and writes one outbox
row per recipient and channel in the caller's transaction, so that a notice exists if and only if
what it announces was committed. The in-app message is delivered at once (it is a row in the same
database); e-mail and the SMS/5G-message webhook are delivered by ``dispatch``, which runs outside
any request (``xinyong serve`` starts a dispatcher thread; ``xinyong notifications dispatch`` for
cron) and retries a failed channel with a growing back-off until it gives up and reports it on
``/admin/notifications``.

Nothing is sent twice: the outbox key ``(key, channel, account)`` is unique, so announcing the
same event again enqueues nothing; a row is claimed before it is sent, so two dispatchers never
send the same row. A dispatcher killed between sending and recording leaves its claim to expire
and the row is sent again (at-least-once); e-mails carry a Message-ID derived from the row so a
mail system can drop such a duplicate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import smtplib
import ssl
import threading
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from xinyong.core import clock
from xinyong.core.db import get_engine, is_postgres
from xinyong.core.errors import DomainError
from xinyong.notifications.models import CHANNELS, STATUSES, Notification

TEMPLATE_DIR = Path(__file__).parent / "templates"
# Seconds to wait before each retry; after the last one the row is given up ("failed").
BACKOFF = (60, 300, 1800, 7200, 43200)
# A claim older than this is taken to be a dispatcher that died mid-send.
CLAIM_SECONDS = 600
CHANNEL_LABELS = {"in_app": "站内消息", "email": "电子邮件", "webhook": "短信/5G消息网关"}
STATUS_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}


class NotificationSettings(BaseSettings):
    """Channels are configured by environment variables; an unconfigured channel is skipped."""

    model_config = SettingsConfigDict(env_prefix="XINYONG_", env_file=".env", extra="ignore")

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "xinyong@localhost"
    smtp_from_name: str = "公共信用信息平台"
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = 10.0
    # The SMS / 5G message gateway's HTTP endpoint; the body is signed with HMAC-SHA256 of the
    # secret (header X-Xinyong-Signature) so the gateway can tell the platform's calls apart.
    sms_webhook_url: str = ""
    sms_webhook_secret: str = ""
    webhook_timeout: float = 10.0
    # Seconds between dispatcher passes in ``xinyong serve``; 0 turns the thread off.
    notify_interval: float = 30.0


@lru_cache(maxsize=1)
def settings() -> NotificationSettings:
    return NotificationSettings()


# ------------------------------------------------------------------------------ templates

_env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=1)
def templates() -> dict[str, dict[str, str]]:
    """Every template, from ``templates/<domain>.yaml``; a name defined twice is an error."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(TEMPLATE_DIR.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, spec in raw.items():
            if name in out:
                raise ValueError(f"notification template {name!r} defined twice ({path.name})")
            if not isinstance(spec, dict) or "title" not in spec or "body" not in spec:
                raise ValueError(f"notification template {name!r} needs a title and a body")
            out[name] = {"title": str(spec["title"]), "body": str(spec["body"])}
    return out


def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    spec = templates().get(template)
    if spec is None:
        raise ValueError(f"unknown notification template {template!r}")
    title = _env.from_string(spec["title"]).render(**context).strip()
    body = _env.from_string(spec["body"]).render(**context).strip()
    return title, body


# ------------------------------------------------------------------------------ enqueue


@dataclass(frozen=True)
class Recipient:
    account_id: int
    email: str | None


def _recipients(conn: Connection, subject_id: int | None, department_id: int | None,
                account_ids: Iterable[int]) -> list[Recipient]:
    named = sorted({int(a) for a in account_ids})
    clauses = []
    params: dict[str, Any] = {}
    if subject_id is not None:
        clauses.append("(role = 'subject' AND subject_id = :subject)")
        params["subject"] = int(subject_id)
    if department_id is not None:
        clauses.append("(role = 'department_officer' AND department_id = :dept)")
        params["dept"] = int(department_id)
    if named:
        clauses.append(f"id IN ({', '.join(str(a) for a in named)})")
    if not clauses:
        return []
    rows = conn.execute(text(
        "SELECT id, email FROM account WHERE status = 'active' AND ("
        + " OR ".join(clauses) + ") ORDER BY id"), params).all()
    return [Recipient(int(r.id), r.email or None) for r in rows]


def _insert_ignore(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert one outbox row unless its (key, channel, account) exists; True if inserted."""
    dialect = postgresql if is_postgres(conn) else sqlite
    stmt = dialect.insert(Notification.__table__).values(**values).on_conflict_do_nothing(
        index_elements=["key", "channel", "account_id"]).returning(Notification.__table__.c.id)
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT that SQLAlchemy gave RETURNING.
    return conn.execute(stmt).first() is not None


def notify(
    conn: Connection | Session,
    *,
    template: str,
    context: dict[str, Any],
    key: str,
    subject_id: int | None = None,
    department_id: int | None = None,
    account_ids: Iterable[int] = (),
    link: str | None = None,
) -> int:
    """Announce one event to its recipients; returns the number of outbox rows written.

    Recipients: every active account of ``subject_id`` (subject accounts), every active officer
    of ``department_id``, and ``account_ids``. In-app messages are delivered at once, in the
    caller's transaction; e-mail (accounts with an address, when SMTP is configured) and the
    webhook (when configured) wait for the dispatcher. ``key`` names the event: the same key
    reaches the same recipient on a channel once."""
    from xinyong.accounts.service import send_message

    if isinstance(conn, Session):
        conn = conn.connection()
    title, body = render(template, context)
    cfg = settings()
    now = clock.now()
    written = 0
    for r in _recipients(conn, subject_id, department_id, account_ids):
        base = {
            "key": key[:200], "account_id": r.account_id, "template": template,
            "title": title[:200], "body": body, "link": link, "subject_id": subject_id,
            "department_id": department_id, "attempts": 0, "next_attempt_at": now,
            "created_at": now,
        }
        if _insert_ignore(conn, {**base, "channel": "in_app", "status": "sent", "attempts": 1,
                                 "sent_at": now}):
            send_message(conn, r.account_id, kind=template, title=title[:200], body=body,
                         link=link)
            written += 1
        if cfg.smtp_host and r.email:
            written += _insert_ignore(conn, {**base, "channel": "email", "address": r.email,
                                             "status": "pending"})
        if cfg.sms_webhook_url:
            written += _insert_ignore(conn, {**base, "channel": "webhook", "status": "pending"})
    return written


# ------------------------------------------------------------------------------ channels


class ChannelError(Exception):
    """A channel refused or failed to take a message; the text goes into ``last_error``."""


def send_email(row: Any, cfg: NotificationSettings) -> None:
    msg = EmailMessage()
    msg["Subject"] = row.title
    msg["From"] = formataddr((cfg.smtp_from_name, cfg.smtp_from))
    msg["To"] = row.address
    # A stable id per outbox row: a duplicate after a crash can be recognised and dropped.
    domain = cfg.smtp_from.rpartition("@")[2] or "xinyong"
    msg["Message-ID"] = make_msgid(idstring=f"notification-{row.id}", domain=domain)
    msg["X-Xinyong-Notification"] = str(row.id)
    body = row.body + (f"\n\n详情：{row.link}" if row.link else "")
    msg.set_content(body, charset="utf-8")
    try:
        if cfg.smtp_ssl:
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout,
                context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout)
        with server:
            if cfg.smtp_starttls and not cfg.smtp_ssl:
                server.starttls(context=ssl.create_default_context())
            if cfg.smtp_user:
                server.login(cfg.smtp_user, cfg.smtp_password)
            server.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}") from exc


def send_webhook(row: Any, cfg: NotificationSettings) -> None:
    payload = json.dumps({
        "id": row.id, "key": row.key, "account_id": row.account_id, "template": row.template,
        "title": row.title, "body": row.body, "link": row.link,
    }, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8",
               "X-Xinyong-Notification": str(row.id)}
    if cfg.sms_webhook_secret:
        headers["X-Xinyong-Signature"] = hmac.new(
            cfg.sms_webhook_secret.encode(), payload, hashlib.sha256).hexdigest()
    req = urllib.request.Request(cfg.sms_webhook_url, data=payload, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=cfg.webhook_timeout) as resp:
            if not 200 <= resp.status < 300:
                raise ChannelError(f"HTTP {resp.status}")
    except ChannelError:
        raise
    except OSError as exc:  # URLError and HTTPError are OSErrors
        raise ChannelError(f"{type(exc).__name__}: {exc}") from exc


SENDERS = {"email": send_email, "webhook": send_webhook}


# ------------------------------------------------------------------------------ dispatch


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "retried": self.retried, "failed": self.failed,
                "errors": self.errors}


def _claim(engine: Engine, limit: int) -> list[Any]:
    n = Notification.__table__.c
    now = clock.now()
    with engine.begin() as conn:
        stmt = (
            select(n.id).where(n.channel.in_(tuple(SENDERS)),
                               n.status.in_(("pending", "sending")), n.next_attempt_at <= now)
            .order_by(n.next_attempt_at, n.id).limit(limit)
        )
        if is_postgres(conn):
            stmt = stmt.with_for_update(skip_locked=True)
        ids = [r.id for r in conn.execute(stmt)]
        if not ids:
            return []
        conn.execute(update(Notification.__table__).where(n.id.in_(ids)).values(
            status="sending", attempts=n.attempts + 1,
            next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS)))
        return list(conn.execute(select(Notification.__table__).where(n.id.in_(ids))
                                 .order_by(n.id)))


def dispatch(engine: Engine | None = None, *, limit: int = 200) -> DispatchResult:
    """Send what is due on the e-mail and webhook channels; retry or give up what fails."""
    engine = engine or get_engine()
    cfg = settings()
    result = DispatchResult()
    rows = _claim(engine, limit)
    n = Notification.__table__.c
    for row in rows:
        sender = SENDERS[row.channel]
        error: str | None = None
        try:
            if row.channel == "email" and not cfg.smtp_host:
                raise ChannelError("未配置 SMTP 服务器（XINYONG_SMTP_HOST）")
            if row.channel == "webhook" and not cfg.sms_webhook_url:
                raise ChannelError("未配置短信网关地址（XINYONG_SMS_WEBHOOK_URL）")
            sender(row, cfg)
        except ChannelError as exc:
            error = str(exc)[:2000]
        now = clock.now()
        with engine.begin() as conn:
            if error is None:
                conn.execute(update(Notification.__table__).where(n.id == row.id).values(
                    status="sent", sent_at=now, last_error=None))
                result.sent += 1
            elif row.attempts > len(BACKOFF):
                conn.execute(update(Notification.__table__).where(n.id == row.id).values(
                    status="failed", last_error=error))
                result.failed += 1
                result.errors.append(f"#{row.id} {row.channel}: {error}")
            else:
                wait = BACKOFF[row.attempts - 1]
                conn.execute(update(Notification.__table__).where(n.id == row.id).values(
                    status="pending", last_error=error,
                    next_attempt_at=now + dt.timedelta(seconds=wait)))
                result.retried += 1
                result.errors.append(f"#{row.id} {row.channel}: {error}")
    return result


def retry(session: Session, notification_id: int, *, actor: str) -> Notification:
    """An operator sends a given-up (or waiting) message again, now."""
    from xinyong.audit.service import append

    row = session.get(Notification, notification_id)
    if row is None:
        raise DomainError("NOTIFICATION_NOT_FOUND", f"通知 {notification_id} 不存在", status=404)
    if row.channel not in SENDERS:
        raise DomainError("NOTIFICATION_NOT_RETRYABLE", "站内消息已即时送达，无需重发",
                          status=409)
    if row.status == "sent":
        raise DomainError("NOTIFICATION_ALREADY_SENT",
                          f"通知 {notification_id} 已发送，不会重复发送", status=409)
    row.status = "pending"
    row.next_attempt_at = clock.now()
    row.attempts = 0
    session.flush()
    append(session.connection(), actor=actor, action="notification.retry",
           subject_id=row.subject_id, target=f"notification:{notification_id}",
           detail={"channel": row.channel})
    return row


# ------------------------------------------------------------------------------ queries


def outbox(session: Session, *, status: str | None = None, channel: str | None = None,
           limit: int = 50, offset: int = 0) -> tuple[list[Notification], int]:
    if status and status not in STATUSES:
        raise DomainError("NOTIFICATION_STATUS_INVALID",
                          f"状态「{status}」无效，可用：{'、'.join(STATUSES)}")
    if channel and channel not in CHANNELS:
        raise DomainError("NOTIFICATION_CHANNEL_INVALID",
                          f"渠道「{channel}」无效，可用：{'、'.join(CHANNELS)}")
    stmt = select(Notification)
    if status:
        stmt = stmt.where(Notification.status == status)
    if channel:
        stmt = stmt.where(Notification.channel == channel)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Notification.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def counts(session: Session) -> dict[str, dict[str, int]]:
    """{channel: {status: n}} for the outbox summary."""
    out: dict[str, dict[str, int]] = {c: dict.fromkeys(STATUSES, 0) for c in CHANNELS}
    for ch, st, k in session.execute(select(Notification.channel, Notification.status,
                                            func.count()).group_by(Notification.channel,
                                                                   Notification.status)):
        out.setdefault(ch, {})[st] = int(k)
    return out


def as_dict(row: Notification) -> dict[str, Any]:
    return {
        "id": row.id, "key": row.key, "channel": row.channel,
        "channel_label": CHANNEL_LABELS.get(row.channel, row.channel),
        "account_id": row.account_id, "template": row.template, "title": row.title,
        "body": row.body, "link": row.link, "status": row.status,
        "status_label": STATUS_LABELS.get(row.status, row.status), "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
    }


# ------------------------------------------------------------------------------ background


def start_dispatcher(interval: float | None = None) -> threading.Thread | None:
    """A daemon thread that dispatches every ``interval`` seconds (``xinyong serve``)."""
    every = settings().notify_interval if interval is None else interval
    if every <= 0:
        return None
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                dispatch()
            except Exception as exc:  # the next pass tries again
                print(f"通知发送出错：{exc}")

    thread = threading.Thread(target=loop, name="xinyong-notifications", daemon=True)
    thread.start()
    return thread

"""The notification outbox: one row per (event, recipient, channel).

The unique key ``(key, channel, account_id)`` is what makes "nothing is sent twice" hold: a
service may announce the same event again (a retried request, a sweep that runs twice a day)
and the second insert is a no-op.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base

CHANNELS = ("in_app", "email", "webhook")
# pending → sending (claimed by a dispatcher) → sent | pending again (retry) | failed (gave up)
STATUSES = ("pending", "sending", "sent", "failed")


class Notification(Base):
    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    account_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # the e-mail address the message goes to (e-mail channel), copied at enqueue time
    address: Mapped[str | None] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    link: Mapped[str | None] = mapped_column(String(400))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("key", "channel", "account_id", name="ux_notification_key"),
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_account", "account_id", "id"),
    )

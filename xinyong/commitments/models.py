"""Tables of credit commitments: one row per commitment, and its history of events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base

# requested (a department asks, the subject has not signed yet) → signed → fulfilled | breached;
# a request may be cancelled by its department before it is signed.
STATUSES = ("requested", "signed", "fulfilled", "breached", "cancelled")


class Commitment(Base):
    """A commitment as the subject signed it: the exact text shown and affirmed, its SHA-256,
    who signed it and when. The text never changes after signing; later facts (reminders,
    fulfilment, breach) are events."""

    __tablename__ = "commitment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)  # 承诺书编号
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    template: Mapped[str] = mapped_column(String(64), nullable=False)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    matter: Mapped[str] = mapped_column(String(300), nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    is_public: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    # the deadline counted over a year whose official holidays are not published yet
    due_provisional: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text)
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    signed_by: Mapped[str | None] = mapped_column(String(100))
    signer_account_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_note: Mapped[str | None] = mapped_column(Text)
    # the credit records written through ingest: the commitment (public kinds) and its outcome
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    performance_record_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    __table_args__ = (
        Index("ix_commitment_status_due", "status", "due_on"),
        Index("ix_commitment_department", "department_id", "status"),
        Index("ix_commitment_public", "is_public", "status", "id"),
    )


class CommitmentEvent(Base):
    """What happened to a commitment: requested, signed, reminder_<n>, overdue, fulfilled,
    breached, cancelled — who, when, why. A sweep that runs twice writes a reminder once (it
    looks for the event first)."""

    __tablename__ = "commitment_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    commitment_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    __table_args__ = (Index("ix_commitment_event_commitment", "commitment_id", "kind"),)

"""Objections (异议): a subject disputes one of its records; the credit office accepts it, checks
it, hands it to the department that sent the record, and decides.

``objection`` is the case with its current stage and that stage's deadline (``due_on``), so the
queues and the overdue sweep read one narrow table; ``objection_step`` is the append-only history
of the case (who did what, when and why, and the deadline each step set); ``objection_evidence``
the files the subject handed in (content-addressed by SHA-256 on disk).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base

# filed → accepted (checking) → assigned → answered → decided; or filed → not_accepted.
OPEN_STATUSES = ("filed", "checking", "assigned", "answered")
CLOSED_STATUSES = ("not_accepted", "decided")
OUTCOMES = ("corrected", "revoked", "upheld")


class Objection(Base):
    __tablename__ = "objection"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # the version disputed at filing; a later version of the same record (same department,
    # type and source id) carries the objection on (``current_record``)
    record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    record_type: Mapped[str] = mapped_column(String(64), nullable=False)
    source_record_id: Mapped[str] = mapped_column(String(128), nullable=False)
    record_title: Mapped[str | None] = mapped_column(String(300))
    department_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # Set to the record while the case is open and NULL once closed: the unique index then
    # allows one open objection per record (NULLs never collide, on both engines).
    open_record_key: Mapped[str | None] = mapped_column(String(220))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    outcome: Mapped[str | None] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(8), nullable=False)  # online / paper
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    # {field: value} the subject says is right (optional)
    claimed_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    contact: Mapped[str | None] = mapped_column(String(100))
    filed_by: Mapped[str] = mapped_column(String(100), nullable=False)
    filed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # the day the objection reached the platform (a paper one: the day it was received)
    received_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    # the current stage's deadline (NULL once closed) and whether a year without an official
    # holiday schedule entered its count
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # the stage the overdue sweep last flagged (so each stage is flagged once)
    overdue_stage: Mapped[str | None] = mapped_column(String(16))
    # the day the case went to the department (NULL before): from then on the department sees it
    assigned_on: Mapped[dt.date | None] = mapped_column(Date)
    # the platform check found an error of the platform itself: the office decides at once
    platform_error: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # the department's answer: its proposed outcome, reasons and corrected values
    proposal: Mapped[str | None] = mapped_column(String(12))
    proposal_reason: Mapped[str | None] = mapped_column(Text)
    proposal_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new_record_id: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    __table_args__ = (
        UniqueConstraint("open_record_key", name="ux_objection_open_record"),
        Index("ix_objection_status_due", "status", "due_on"),
        Index("ix_objection_subject", "subject_id", "id"),
        Index("ix_objection_department", "department_id", "status"),
        Index("ix_objection_record", "record_id"),
    )


class ObjectionStep(Base):
    """One step of a case: filed, accepted, not_accepted, checked, assigned, answered, decided,
    overdue (flagged by the sweep), reminded."""

    __tablename__ = "objection_step"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    objection_id: Mapped[int] = mapped_column(Integer, nullable=False)
    step: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    # the deadline this step set for the next one (None when it set none)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    __table_args__ = (Index("ix_objection_step_objection", "objection_id", "id"),)


class ObjectionEvidence(Base):
    __tablename__ = "objection_evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    objection_id: Mapped[int] = mapped_column(Integer, nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # pdf / jpg / png
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # relative to the data folder
    path: Mapped[str] = mapped_column(String(300), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(100), nullable=False)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    __table_args__ = (Index("ix_objection_evidence_objection", "objection_id"),)

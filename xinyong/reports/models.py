"""Issued credit reports (信用报告, GLOSSARY ``credit_report``).

A report is issued once and never changed: the row keeps what the signed PDF said (a snapshot
of the records and results it listed), the SHA-256 of the exact signed file, and a fingerprint
of the subject's record state at issue, so that verification by serial can tell whether the
subject's record has changed since. The PDF itself is kept in a table of its own so that lists
and searches read narrow rows; it is written in the same transaction as the report, so a
report never exists without its file (nor a file without its report).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base


class CreditReport(Base):
    __tablename__ = "credit_report"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    serial: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False)
    view: Mapped[str] = mapped_column(String(12), nullable=False)  # public / subject
    purpose: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(100), nullable=False)  # principal.actor
    requester_role: Mapped[str] = mapped_column(String(24), nullable=False)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    issued_on: Mapped[dt.date] = mapped_column(Date, nullable=False)  # the data's as-of day
    valid_until: Mapped[dt.date] = mapped_column(Date, nullable=False)
    pdf_sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    pdf_size: Mapped[int] = mapped_column(Integer, nullable=False)
    cert_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    __table_args__ = (Index("ix_credit_report_subject", "subject_id", "issued_at"),)


class CreditReportFile(Base):
    __tablename__ = "credit_report_file"
    report_id: Mapped[int] = mapped_column(
        ForeignKey("credit_report.id"), primary_key=True, autoincrement=False
    )
    pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

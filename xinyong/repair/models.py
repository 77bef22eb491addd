"""Credit repair (信用修复): applications, their materials and steps, and the repair notices
served with negative records (信用修复告知书, "两书同达")."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core import hooks
from xinyong.core.db import Base

# submitted (待受理) → accepted (已受理，待部门核实) → reviewed (部门已核实，待决定)
# → approved (已修复) | rejected (不予修复/不予受理) | lapsed (容缺逾期未补齐，申请失效)
APPLICATION_STATUSES = ("submitted", "accepted", "reviewed", "approved", "rejected", "lapsed")
OPEN_STATUSES = ("submitted", "accepted", "reviewed")


class RepairApplication(Base):
    __tablename__ = "repair_application"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    record_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    record_type: Mapped[str] = mapped_column(String(64), nullable=False)
    # the department that sent the record: it reviews the application
    department_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    rule_id: Mapped[str] = mapped_column(String(40), nullable=False)
    query_code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    statement: Mapped[str | None] = mapped_column(Text)  # the applicant's account of performance
    applicant_account_id: Mapped[int | None] = mapped_column(Integer)
    applicant: Mapped[str] = mapped_column(String(100), nullable=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    submitted_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    # 承诺容缺: required materials missing at submission, due by complete_by
    materials_missing: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    complete_by: Mapped[dt.date | None] = mapped_column(Date)
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    accept_due: Mapped[dt.date] = mapped_column(Date, nullable=False)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    review_due: Mapped[dt.date | None] = mapped_column(Date)
    reviewed_on: Mapped[dt.date | None] = mapped_column(Date)
    review_agrees: Mapped[bool | None] = mapped_column(Boolean)
    decision_due: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    # any deadline counted over a year whose official holidays are not loaded yet
    provisional: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reasons: Mapped[str | None] = mapped_column(Text)  # of a rejection (required) or approval
    decision_serial: Mapped[str | None] = mapped_column(String(32), unique=True)
    # 信用修复承诺书: the exact text shown, who affirmed it, when, and a hash over the three
    commitment_text: Mapped[str] = mapped_column(Text, nullable=False)
    commitment_signer: Mapped[str] = mapped_column(String(100), nullable=False)
    commitment_signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                              nullable=False)
    commitment_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (Index("ix_repair_application_status", "status", "submitted_on"),)


class RepairMaterial(Base):
    __tablename__ = "repair_material"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    material: Mapped[str] = mapped_column(String(40), nullable=False)  # rules.yaml code
    filename: Mapped[str] = mapped_column(String(200), nullable=False)  # as uploaded
    file_type: Mapped[str] = mapped_column(String(8), nullable=False)  # by magic bytes
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    path: Mapped[str] = mapped_column(String(300), nullable=False)  # under data_dir
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(100), nullable=False)


class RepairStep(Base):
    """Who did what to an application, when and why (append-only)."""

    __tablename__ = "repair_step"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    # submit / complete / accept / review / decide / lapse
    step: Mapped[str] = mapped_column(String(16), nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str | None] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    on_day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    due: Mapped[dt.date | None] = mapped_column(Date)  # the step's deadline, if it had one
    overdue: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class RepairNotice(Base):
    """信用修复告知书 served with a negative record ("两书同达"): what the subject can do and
    from when. One per record version; written set-based by the records-added hook."""

    __tablename__ = "repair_notice"
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    record_id: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    record_type: Mapped[str] = mapped_column(String(64), nullable=False)
    rule_id: Mapped[str] = mapped_column(String(40), nullable=False)
    repairable_from: Mapped[dt.date] = mapped_column(Date, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # when the subject was told that the record became repairable (the daily sweep)
    due_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        PrimaryKeyConstraint("subject_id", "record_id"),
        # the sweep reads the notices not yet announced, by date
        Index("ix_repair_notice_due", "repairable_from",
              sqlite_where=text("due_notified_at IS NULL"),
              postgresql_where=text("due_notified_at IS NULL")),
        {"sqlite_with_rowid": False},
    )


def _on_records_added(conn: Connection, predicate: str) -> None:
    from xinyong.repair.service import issue_notices

    issue_notices(conn, predicate)


# Registered where the tables are declared: every process that has the schema (the app, the
# CLI, ingest jobs, tests) serves the notice with the record.
hooks.register_records_added(_on_records_added)

"""Credit records (信用记录), their events, ingest batches and the pending-match queue.

Records are facts. A record row's fact columns are written once and never changed; what changes
is how a record is shown and counted, and that is decided by events (``record_event``). The
columns marked *projection* below are the current state folded from those events, kept on the
row so that profiles and batch evaluation read one clustered table.

A record is stored in two tables with the same key ``(subject_id, id)``, both clustered by
subject: ``credit_record`` holds the narrow columns that rules, counts and batch evaluation read
(a set-based scan of 20M rows must stay close to a bare GROUP BY over a narrow table), and
``credit_record_detail`` holds the wide payload (the catalog fields as JSON, the reason of the
penalty class) that only a profile shows. Every writer writes both in the same transaction.
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
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base

# Record states (projection). ``active`` records count and show per their disclosure/publicity.
RECORD_STATUSES = ("active", "corrected", "revoked", "repaired", "objection_pending")
PENALTY_CLASSES = ("minor", "general", "serious")


class Batch(Base):
    """One ingest run (归集批次), with its provenance and its counts."""

    __tablename__ = "batch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), nullable=False)
    record_type: Mapped[str] = mapped_column(String(64), nullable=False)
    profile: Mapped[str | None] = mapped_column(String(64))
    source_name: Mapped[str | None] = mapped_column(String(300))  # file name or "api"
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_format: Mapped[str | None] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(16))
    catalog_version: Mapped[str] = mapped_column(String(32), nullable=False)
    strict: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # running → committed | rejected (strict mode, bad rows) | failed (crashed, rolled back)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    rows_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_corrected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_pending: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    actor: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BatchError(Base):
    """A rejected row: which row, which field, why (Chinese) and a stable code for machines."""

    __tablename__ = "batch_error"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), nullable=False, index=True)
    row_number: Mapped[int] = mapped_column(Integer, nullable=False)
    field: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(48), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    value: Mapped[str | None] = mapped_column(Text)


LIST_PREDICATE = (
    "record_type = 'serious_dishonesty_list' OR record_type = 'dishonest_judgment_debtor'"
    " OR record_type = 'consumption_restriction' OR record_type = 'abnormal_operations_list'"
)


class CreditRecord(Base):
    """One fact about one subject from one source department.

    Clustered by subject (SQLite ``WITHOUT ROWID`` with the key starting with ``subject_id``):
    a profile reads one contiguous range, and batch aggregates scan subject by subject.
    """

    __tablename__ = "credit_record"
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    id: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    record_type: Mapped[str] = mapped_column(String(64), nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    department_id: Mapped[int] = mapped_column(Integer, nullable=False)
    source_record_id: Mapped[str] = mapped_column(String(128), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    content_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    batch_id: Mapped[int | None] = mapped_column(Integer)
    catalog_version: Mapped[str] = mapped_column(String(32), nullable=False)
    polarity: Mapped[str] = mapped_column(String(8), nullable=False)
    disclosure: Mapped[str] = mapped_column(String(12), nullable=False)
    title: Mapped[str | None] = mapped_column(String(300))  # e.g. the decision number
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)  # money in 分, exact
    # The enum code of the type's outcome field (tax grade, inspection result, …), so that
    # evaluation filters on it in its one aggregate pass without reading the payload.
    outcome: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # --- projection (folded from record_event) ---
    penalty_class: Mapped[str | None] = mapped_column(String(8))
    class_source: Mapped[str | None] = mapped_column(String(12))  # department / rule / operator
    publicity_until: Mapped[dt.date | None] = mapped_column(Date)
    publicity_rule: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")
    # Effective date of the event that last changed ``status`` (NULL while the status is still
    # the initial ``active``): an evaluation as of an earlier date still sees the old status.
    status_since: Mapped[dt.date | None] = mapped_column(Date)
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    __table_args__ = (
        PrimaryKeyConstraint("subject_id", "id"),
        Index(
            "ux_credit_record_source",
            "department_id",
            "record_type",
            "source_record_id",
            "version",
            unique=True,
        ),
        # The published lists' partial index (migration 0009; must match its predicate). An OR
        # of equalities, not IN: SQLite then uses it when a query names one list type as a
        # literal (records/lists.py does), and inserts of other records pay nothing.
        Index(
            "ix_credit_record_list",
            "record_type", "decided_on", "id", "subject_id", "status", "disclosure",
            "is_current", "publicity_until", "publicity_rule",
            sqlite_where=text(LIST_PREDICATE),
            postgresql_where=text(LIST_PREDICATE),
        ),
        {"sqlite_with_rowid": False},
    )


class CreditRecordDetail(Base):
    """The wide part of a credit record, one row per ``credit_record`` row, same key.

    Kept apart so that scans over ``credit_record`` read narrow rows; a profile reads both
    tables by the same primary-key range of its subject.
    """

    __tablename__ = "credit_record_detail"
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # the record type's catalog fields as the department sent them (validated, typed)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # why the penalty class is what it is (Chinese), penalties only (projection)
    class_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        PrimaryKeyConstraint("subject_id", "id"),
        {"sqlite_with_rowid": False},
    )


class RecordEvent(Base):
    """Append-only history of every record: ingested, corrected, revoked, repaired, …"""

    __tablename__ = "record_event"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    record_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    effective_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    batch_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PendingMatch(Base):
    """A row whose subject could not be matched (unknown or ambiguous name). Nothing is dropped:
    the row waits here, complete, until an operator names its subject."""

    __tablename__ = "pending_match"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    batch_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(Integer, nullable=False)
    record_type: Mapped[str] = mapped_column(String(64), nullable=False)
    row_number: Mapped[int] = mapped_column(Integer, nullable=False)
    subject_name: Mapped[str | None] = mapped_column(String(300))
    name_norm: Mapped[str | None] = mapped_column(String(300), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18))
    reason: Mapped[str] = mapped_column(String(16), nullable=False)  # unmatched / ambiguous
    candidates: Mapped[list[int] | None] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    resolved_subject_id: Mapped[int | None] = mapped_column(Integer)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


Index("ix_pending_match_status", PendingMatch.status, PendingMatch.created_at)

"""The audit log (审计日志): an append-only, hash-chained list of who did or read what.

``audit_log`` holds the entries; ``audit_head`` is one row naming the chain's tip, so that
removing the last entries is detected as well. Both are written only by ``audit.service``;
database triggers (migration 0008) refuse UPDATE and DELETE of entries and any step back of
the head, so changing the log takes a deliberate act of a database administrator, which
``xinyong audit verify`` then detects.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base

# On SQLite, INTEGER PRIMARY KEY makes seq the rowid: the table is stored in chain order, so
# streaming it for verification is a plain range scan.
SEQ = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    # ISO-8601 text with the +08:00 offset: stored as text so SQLite and PostgreSQL give back
    # the exact bytes that were hashed (a timestamp type would be re-rendered by each driver).
    at: Mapped[str] = mapped_column(String(32), nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    # No foreign key: an entry must outlive anything it mentions.
    subject_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str | None] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)  # canonical JSON text, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (
        # Every search lists newest first within its filter: (filter, seq) serves both.
        Index("ix_audit_log_actor_seq", "actor", "seq"),
        Index("ix_audit_log_subject_seq", "subject_id", "seq"),
        Index("ix_audit_log_action_seq", "action", "seq"),
        Index("ix_audit_log_at", "at"),
    )


class AuditHead(Base):
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

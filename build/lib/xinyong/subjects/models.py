"""Subjects (信用主体) and the tables that make them findable."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base

SUBJECT_KINDS = ("legal_person", "unincorporated", "individual_business", "natural_person")
SUBJECT_STATUSES = ("active", "deregistered", "revoked", "moved_out")
# uscc_status: verified (check character right), unverified (kept, waits in the review queue),
# none (natural persons and subjects known only by name).
USCC_STATUSES = ("verified", "unverified", "none")


class Subject(Base):
    __tablename__ = "subject"
    # Ids come from core.models.allocate_ids so bulk loads can number rows up front.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    uscc_status: Mapped[str] = mapped_column(String(12), nullable=False, default="none")
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    # Normalised name (NFKC, brackets unified, spaces removed) used for matching records.
    name_norm: Mapped[str] = mapped_column(String(300), nullable=False, index=True)
    enterprise_type: Mapped[str | None] = mapped_column(String(100))
    industry_section: Mapped[str | None] = mapped_column(String(1))  # GB/T 4754 门类 A–T
    industry_division: Mapped[str | None] = mapped_column(String(2))  # GB/T 4754 大类 01–97
    industry_source: Mapped[str | None] = mapped_column(String(16))  # given / keyword
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)  # GB/T 2260
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(64))
    registered_capital_fen: Mapped[int | None] = mapped_column(BigInteger)  # 分, exact
    capital_currency: Mapped[str | None] = mapped_column(String(8))
    capital_raw: Mapped[str | None] = mapped_column(String(100))
    established_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    address: Mapped[str | None] = mapped_column(Text)
    business_scope: Mapped[str | None] = mapped_column(Text)
    size_class: Mapped[str | None] = mapped_column(String(16))
    # Natural persons: a keyed hash of the ID number for matching, a masked form for display.
    # The clear number is never stored.
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class SubjectName(Base):
    """Current and former names (曾用名); records under an old name still find their subject."""

    __tablename__ = "subject_name"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    name_norm: Mapped[str] = mapped_column(String(300), nullable=False, index=True)
    is_current: Mapped[bool] = mapped_column(nullable=False, default=False)
    until: Mapped[dt.date | None] = mapped_column(Date)


class SubjectNameGram(Base):
    """Character bigrams of every name: the inverted index behind Chinese substring search.

    Chinese has no spaces, so word tokenisers miss "腾讯" inside "深圳市腾讯计算机系统有限公司";
    a bigram index finds any substring of two or more characters and runs identically on SQLite
    and PostgreSQL (pg_trgm depends on the server's locale for CJK).
    """

    __tablename__ = "subject_name_gram"
    gram: Mapped[str] = mapped_column(String(8), nullable=False)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    __table_args__ = (
        PrimaryKeyConstraint("gram", "subject_id"),
        {"sqlite_with_rowid": False},
    )


class GramStat(Base):
    """How many subjects contain each bigram: the search starts from the rarest one."""

    __tablename__ = "gram_stat"
    gram: Mapped[str] = mapped_column(String(8), primary_key=True)
    df: Mapped[int] = mapped_column(Integer, nullable=False)


class SubjectReview(Base):
    """Review queue: codes that fail the check character, suspicious organisation codes."""

    __tablename__ = "subject_review"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(48), nullable=False)  # stable error code
    message: Mapped[str] = mapped_column(Text, nullable=False)  # Chinese
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(Text)


Index("ix_subject_status_kind", Subject.status, Subject.kind)

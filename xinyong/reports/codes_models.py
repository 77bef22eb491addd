"""Credit codes (信用码): each code issued, and each scan of one.

A code's token carries its serial (``credit_code.id``); the row says whether the code has
been replaced by a newer one since, which the token alone cannot say.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base


class CreditCode(Base):
    __tablename__ = "credit_code"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    purpose: Mapped[str] = mapped_column(String(12), nullable=False)  # dynamic / print
    key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    model_name: Mapped[str] = mapped_column(String(64), nullable=False)
    colour: Mapped[str | None] = mapped_column(String(16))  # at issue; None: no result
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    issued_by: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # active / superseded
    superseded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_credit_code_subject", "subject_id", "purpose", "status"),)


class CreditCodeScan(Base):
    """One successful verification: by whom (an account, or nobody for the public) and how."""

    __tablename__ = "credit_code_scan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    scanned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    account_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)  # page / api / cli

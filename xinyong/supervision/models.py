"""Supervision libraries (监管企业库): a department's list of subjects it watches."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base


class SupervisionLibrary(Base):
    """A list defined by a condition (re-evaluated whenever it is read, so it follows the
    grades) or by uploaded credit codes (fixed members)."""

    __tablename__ = "supervision_library"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("department.id"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)  # condition / list
    condition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(100))


class SupervisionMember(Base):
    __tablename__ = "supervision_member"
    library_id: Mapped[int] = mapped_column(Integer, nullable=False)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    __table_args__ = (
        PrimaryKeyConstraint("library_id", "subject_id"),
        {"sqlite_with_rowid": False},
    )

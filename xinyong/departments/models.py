"""Source departments (数据来源单位): who sends records. Their API keys are tokens of the
department's system account (``accounts``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base


class Department(Base):
    __tablename__ = "department"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    uscc: Mapped[str | None] = mapped_column(String(18))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)

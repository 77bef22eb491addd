"""Tables owned by core: id allocation and the working-day calendar."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, String, Text, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base


class IdBlock(Base):
    """Hands out ranges of ids, so a bulk load of a million rows can number them up front.

    One atomic ``UPDATE … RETURNING`` works the same on SQLite and PostgreSQL, and keeps ids of
    tables that are clustered by subject (where the engine cannot autoincrement) unique.
    """

    __tablename__ = "id_block"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger, nullable=False)


class CalendarDay(Base):
    """One day of an official holiday schedule loaded by an administrator."""

    __tablename__ = "calendar_day"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_working_day: Mapped[bool] = mapped_column(Boolean, nullable=False)
    name: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)


def allocate_ids(conn: Connection, name: str, count: int) -> int:
    """Reserve ``count`` consecutive ids for ``name``; returns the first."""
    if count <= 0:
        raise ValueError("count must be positive")
    row = conn.execute(
        text(
            "UPDATE id_block SET next_value = next_value + :n WHERE name = :name RETURNING next_value"
        ),
        {"n": count, "name": name},
    ).first()
    if row is None:
        conn.execute(
            text("INSERT INTO id_block (name, next_value) VALUES (:name, :v)"),
            {"name": name, "v": count + 1},
        )
        return 1
    return int(row[0]) - count

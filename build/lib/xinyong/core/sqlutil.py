"""Small helpers for SQL that must read the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Connection


def json_param(conn: Connection, placeholder: str) -> str:
    """A text value going into a JSON column (PostgreSQL needs the cast, SQLite must not get one:
    ``CAST(x AS JSON)`` in SQLite applies numeric affinity)."""
    return f"CAST({placeholder} AS JSON)" if conn.dialect.name == "postgresql" else placeholder


def ts(conn: Connection, moment: dt.datetime) -> object:
    """A timestamp as each driver stores it for SQLAlchemy's ``DateTime(timezone=True)``:
    aware on PostgreSQL, the wall-clock text SQLAlchemy itself writes on SQLite."""
    if conn.dialect.name == "postgresql":
        return moment
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def day(conn: Connection, value: dt.date | None) -> object:
    if value is None or conn.dialect.name == "postgresql":
        return value
    return value.isoformat()


def temp_table(conn: Connection, name: str, columns: str) -> None:
    """A temporary table dropped at the end of the transaction (both engines)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns})")


def drop_temp(conn: Connection, name: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")

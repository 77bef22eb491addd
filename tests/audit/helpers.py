"""Shared set-up for the audit tests: a small log, and a way to tamper with it as a database
administrator could (by switching the append-only triggers off first).

Importing ``xinyong.audit.models`` here also puts the audit tables in ``Base.metadata``, which
the PostgreSQL harness empties between tests (until ``core/all_models.py`` imports them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from xinyong.audit import service
from xinyong.audit.models import AuditEntry
from xinyong.core import clock

DAY1 = dt.datetime(2026, 11, 20, 9, 30, tzinfo=clock.CST)
DAY2 = dt.datetime(2026, 11, 21, 15, 0, tzinfo=clock.CST)
DAY3 = dt.datetime(2026, 11, 22, 23, 59, 59, tzinfo=clock.CST)

SQLITE_TRIGGERS = (
    "audit_log_no_update",
    "audit_log_no_delete",
    "audit_head_no_delete",
    "audit_head_forward",
)


def fill(engine: Engine, subject_id: int | None = None) -> list[int]:
    """Six entries over three days, each in its own transaction as the platform writes them."""
    plan = [
        (
            DAY1,
            dict(
                actor="api:market",
                role="department",
                action="ingest.batch",
                target="batch:1",
                detail={"rows": 120, "inserted": 118},
            ),
        ),
        (
            DAY1,
            dict(
                actor="user:zhangsan",
                role="government",
                action="record.read_restricted",
                subject_id=subject_id,
                purpose="行政审批前信用核查",
                target="record:7",
            ),
        ),
        (
            DAY2,
            dict(
                actor="operator",
                role="admin",
                action="record.correct_class",
                subject_id=subject_id,
                target="record:7",
                detail={"from": "一般", "to": "严重", "reason": "复核"},
            ),
        ),
        (
            DAY2,
            dict(
                actor="user:lisi",
                action="record.read_restricted",
                subject_id=subject_id,
                purpose="招投标资格审查",
            ),
        ),
        (
            DAY3,
            dict(
                actor="operator",
                role="admin",
                action="model.activate",
                target="model:gz_general@2026.1",
            ),
        ),
        (DAY3, dict(actor="system", action="account.approve", target="account:zhangsan")),
    ]
    seqs = []
    for moment, entry in plan:
        with clock.frozen(moment), engine.begin() as conn:
            seqs.append(service.append(conn, **entry))  # type: ignore[arg-type]
    return seqs


def entry(conn: Connection, seq: int) -> dict:
    row = conn.execute(text(f"SELECT * FROM audit_log WHERE seq = {seq}")).mappings().one()
    return dict(row)


def unguard(conn: Connection) -> None:
    """What a DBA does before editing the log by hand: switch the triggers off."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        conn.exec_driver_sql("ALTER TABLE audit_head DISABLE TRIGGER USER")
    else:
        for name in SQLITE_TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def reguard(engine: Engine) -> None:
    """PostgreSQL keeps one database for the whole session: switch the triggers back on."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER USER")
            conn.exec_driver_sql("ALTER TABLE audit_head ENABLE TRIGGER USER")


@contextmanager
def tampering(engine: Engine) -> Iterator[Connection]:
    try:
        with engine.begin() as conn:
            unguard(conn)
            yield conn
    finally:
        reguard(engine)


def forge(conn: Connection, seq: int, prev_hash: str, **fields: object) -> str:
    """Insert an entry with a correctly computed hash, as someone who read the algorithm
    (it is public) would."""
    values = {
        "seq": seq,
        "at": "2026-11-21T12:00:00.000000+08:00",
        "actor": "user:mallory",
        "role": None,
        "action": "record.correct",
        "subject_id": None,
        "purpose": None,
        "target": None,
        "detail": None,
    }
    values.update(fields)
    digest = service.entry_hash(prev_hash, values)
    conn.execute(AuditEntry.__table__.insert().values(**values, prev_hash=prev_hash, hash=digest))
    return digest

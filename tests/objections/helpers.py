"""A small world for objection tests: departments, two subjects with penalties sent by the
market regulator, the evaluation models, and one account per role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from tests.auth import create_user
from tests.evaluation import builders as b
from xinyong.accounts.principal import Principal
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.departments.models import Department
from xinyong.evaluation import service as evaluation
from xinyong.records.models import CreditRecord

S1, S2 = 1, 2
DOC = "穗市监罚〔2026〕异议1号"
OTHER_DOC = "穗市监罚〔2026〕异议2号"
S2_DOC = "穗市监罚〔2026〕异议3号"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@dataclass
class World:
    engine: Engine
    s1: int
    s2: int
    market: int
    tax: int
    record: int  # S1's serious penalty (DOC)
    other: int  # S1's second penalty (OTHER_DOC)
    s2_record: int

    def principal(self, role: str) -> Principal:
        if role == "admin":
            return Principal(role="admin", username="office", via="session")
        if role == "market":
            return Principal(role="department_officer", username="market-officer",
                             department_id=self.market, department_code="market",
                             via="session")
        if role == "tax":
            return Principal(role="department_officer", username="tax-officer",
                             department_id=self.tax, department_code="tax", via="session")
        if role == "s1":
            return Principal(role="subject", username="s1", subject_id=self.s1, via="session")
        return Principal(role="subject", username="s2", subject_id=self.s2, via="session")


def penalty(n: int, doc: str, decided_on: str = "2026-06-01", **over: str) -> dict[str, Any]:
    row = {
        "subject_name": f"广州测试{n}号有限公司",
        "uscc": b.code(n),
        "doc_number": doc,
        "violation_type": "虚假宣传",
        "facts": "经查，当事人在其网站发布虚假宣传内容。",
        "penalty_kinds": "罚款",
        "content": "罚款200000元",
        "fine_amount": "200000",
        "penalty_class": "serious",
        "procedure": "ordinary",
        "decided_on": decided_on,
        "authority": "广州市市场监督管理局",
    }
    row.update(over)
    return row


def record_id(doc: str) -> int:
    with session_scope() as session:
        rid = session.scalar(select(CreditRecord.id).where(
            CreditRecord.source_record_id == doc, CreditRecord.is_current.is_(True)))
        assert rid is not None
        return int(rid)


def build(engine: Engine, today: dt.date = dt.date(2026, 9, 30), *, accounts: bool = True,
          models: bool = True) -> World:
    clock.set_today(today)
    b.departments()
    s1 = b.subject(engine, S1)
    s2 = b.subject(engine, S2)
    b.push(engine, "administrative_penalty", "market",
           [penalty(S1, DOC), penalty(S1, OTHER_DOC, "2026-05-01", penalty_class="general"),
            penalty(S2, S2_DOC)])
    if models:
        with engine.begin() as conn:
            evaluation.sync_builtin_models(conn)
        evaluation.evaluate(engine, "gz_general", as_of=today)
    with session_scope() as session:
        ids = dict(session.execute(select(Department.code, Department.id)).all())
    if accounts:
        create_user("obj-admin", "admin")
        create_user("obj-s1", "subject", subject=b.code(S1))
        create_user("obj-s2", "subject", subject=b.code(S2))
        create_user("obj-market", "department_officer", department="market")
        create_user("obj-tax", "department_officer", department="tax")
    return World(engine, s1, s2, ids["market"], ids["tax"], record_id(DOC), record_id(OTHER_DOC),
                 record_id(S2_DOC))


def record_row(engine: Engine, rid: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT id, status, is_current, version, source_record_id FROM credit_record"
            " WHERE id = :id"), {"id": rid}).one()


def grade(engine: Engine, sid: int, model: str = "gz_general") -> dict[str, Any]:
    with engine.connect() as conn:
        return {r["model"]: r for r in evaluation.subject_results(conn, sid, government=True)
                }[model]


def messages(engine: Engine, username: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(r.kind, r.title) for r in conn.execute(text(
            "SELECT m.kind, m.title FROM account_message m JOIN account a ON a.id = m.account_id"
            " WHERE a.username = :u ORDER BY m.id"), {"u": username})]

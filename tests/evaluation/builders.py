"""Builders for evaluation tests: subjects with attributes, and records pushed through ingest.

Records enter the way departments send them (``ingest_records``), so evaluation is tested
against the projection ingest really writes (penalty class, publicity, outcome).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from sqlalchemy.engine import Engine
from stdnum.cn import uscc as stdnum_uscc

from xinyong.core.db import session_scope
from xinyong.departments.service import add_department
from xinyong.records.ingest import ingest_records
from xinyong.subjects.names import normalize_name
from xinyong.subjects.service import insert_subjects

AS_OF = dt.date(2026, 11, 22)


def code(n: int) -> str:
    """A valid USCC (check character computed) for test subject number ``n``."""
    body = f"91440101MA{n:07d}"
    return body + stdnum_uscc.calc_check_digit(body)


def departments() -> None:
    with session_scope() as session:
        for c, name in (
            ("market", "市场监督管理局"),
            ("court", "中级人民法院"),
            ("tax", "税务局"),
            ("credit_office", "发展和改革局"),
        ):
            add_department(session, c, name)


def subject(
    engine: Engine,
    n: int,
    *,
    name: str | None = None,
    established_on: dt.date | None = dt.date(2010, 3, 1),
    capital_yuan: int | None = 10_000_000,
    industry_section: str | None = "L",
    industry_division: str | None = "72",
    kind: str = "legal_person",
    status: str = "active",
) -> int:
    name = name or f"广州测试{n}号有限公司"
    frame = pl.DataFrame(
        {
            "uscc": [code(n)],
            "name": [name],
            "name_norm": [normalize_name(name)],
            "uscc_status": ["verified"],
            "kind": [kind],
            "status": [status],
            "established_on": [established_on],
            "registered_capital_fen": [capital_yuan * 100 if capital_yuan is not None else None],
            "industry_section": [industry_section],
            "industry_division": [industry_division],
        },
        schema_overrides={"established_on": pl.Date, "registered_capital_fen": pl.Int64},
    )
    with engine.begin() as conn:
        out = insert_subjects(conn, frame)
    return int(out["subject_id"][0])


def _who(n: int) -> dict[str, str]:
    return {"subject_name": f"广州测试{n}号有限公司", "uscc": code(n)}


def push(engine: Engine, record_type: str, department: str, rows: list[dict[str, Any]]) -> None:
    result = ingest_records(
        engine, rows, record_type=record_type, department=department, strict=True, actor="test"
    )
    assert result.rejected == 0 and result.pending == 0, result.summary()


def penalty_row(n: int, doc: str, decided_on: str, **over: str) -> dict[str, str]:
    """A market-regulation penalty row of subject ``n`` for an ingest push; ``over`` replaces
    fields. The fine is above the SAMR "lower fine" threshold: three years of publicity."""
    row = {
        **_who(n),
        "doc_number": doc,
        "violation_type": "虚假宣传",
        "facts": "经查，当事人发布虚假宣传内容。",
        "penalty_kinds": "罚款",
        "content": "罚款200000元",
        "fine_amount": "200000",
        "penalty_class": "general",
        "procedure": "ordinary",
        "decided_on": decided_on,
        "authority": "广州市市场监督管理局",
    }
    row.update(over)
    return row


def penalty(
    engine: Engine, n: int, decided_on: str, cls: str = "general", seq: int = 1, fine: str = "5000"
) -> None:
    push(
        engine,
        "administrative_penalty",
        "market",
        [
            {
                **_who(n),
                "doc_number": f"穗市监罚〔{decided_on[:4]}〕{n}-{seq}号",
                "violation_type": "虚假宣传",
                "facts": "经查，当事人发布虚假宣传内容。",
                "penalty_kinds": "罚款",
                "content": f"罚款{fine}元",
                "fine_amount": fine,
                "penalty_class": cls,
                "procedure": "ordinary",
                "decided_on": decided_on,
                "authority": "广州市市场监督管理局",
            }
        ],
    )


def serious_list(engine: Engine, n: int, listed_on: str) -> None:
    push(
        engine,
        "serious_dishonesty_list",
        "market",
        [
            {
                **_who(n),
                "list_name": "市场监督管理严重违法失信名单",
                "reason": "提供虚假材料骗取登记",
                "listed_on": listed_on,
                "authority": "广州市市场监督管理局",
                "listing_doc_number": f"穗市监严〔2026〕{n}号",
            }
        ],
    )


def honor(engine: Engine, n: int, awarded_on: str) -> None:
    push(
        engine,
        "honor",
        "credit_office",
        [
            {
                **_who(n),
                "honor_name": "广州市守合同重信用企业",
                "doc_number": f"穗荣〔{awarded_on[:4]}〕{n}号",
                "awarded_on": awarded_on,
            }
        ],
    )


def tax_rating(engine: Engine, n: int, year: int, grade: str) -> None:
    push(
        engine,
        "tax_credit_rating",
        "tax",
        [
            {
                **_who(n),
                "taxpayer_number": code(n),
                "year": str(year),
                "grade": grade,
                "rated_on": f"{year + 1}-04-20",
            }
        ],
    )


def inspection(engine: Engine, n: int, inspected_on: str, result: str, seq: int = 1) -> None:
    push(
        engine,
        "inspection",
        "market",
        [
            {
                **_who(n),
                "inspection_id": f"CC{n}-{seq}",
                "result": result,
                "inspected_on": inspected_on,
            }
        ],
    )

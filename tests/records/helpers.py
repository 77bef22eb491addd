"""Shared builders for records tests: departments, subjects, rows as departments send them."""

from __future__ import annotations

import polars as pl
from sqlalchemy.engine import Engine

from xinyong.core.db import session_scope
from xinyong.departments.service import add_department, issue_api_key
from xinyong.subjects.names import normalize_name
from xinyong.subjects.service import insert_subjects

# Real codes (check characters verified, see domain-rules.md §1).
HUAWEI = ("914403001922038216", "华为技术有限公司")
TENCENT = ("9144030071526726XG", "腾讯科技（深圳）有限公司")
BYD = ("91440300192317458F", "比亚迪股份有限公司")


def department(code: str = "market", name: str = "深圳市市场监督管理局") -> str:
    with session_scope() as session:
        add_department(session, code, name)
        return issue_api_key(session, code)


def subjects(engine: Engine, rows: list[tuple[str | None, str]]) -> dict[str, int]:
    frame = pl.DataFrame(
        {
            "uscc": [u for u, _ in rows],
            "name": [n for _, n in rows],
        },
        schema={"uscc": pl.String, "name": pl.String},
    ).with_columns(
        pl.col("name").map_elements(normalize_name, pl.String).alias("name_norm"),
        pl.when(pl.col("uscc").is_not_null())
        .then(pl.lit("verified"))
        .otherwise(pl.lit("none"))
        .alias("uscc_status"),
        pl.lit("legal_person").alias("kind"),
    )
    with engine.begin() as conn:
        out = insert_subjects(conn, frame)
    return dict(zip(out["name"].to_list(), out["subject_id"].to_list(), strict=True))


def penalty(**over: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "subject_name": HUAWEI[1],
        "uscc": HUAWEI[0],
        "doc_number": "深市监罚〔2026〕1号",
        "violation_type": "虚假宣传",
        "facts": "经查，当事人在其网站发布虚假宣传内容。",
        "basis": "《中华人民共和国反不正当竞争法》第二十条",
        "penalty_kinds": "罚款",
        "content": "罚款5000元",
        "fine_amount": "5000",
        "decided_on": "2026-05-10",
        "authority": "深圳市生态环境局",
    }
    row.update(over)
    return row

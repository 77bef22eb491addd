"""Search over the database: code, exact name, prefix, substring, former names, fuzzy."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy.engine import Engine

from tests.records.helpers import BYD, HUAWEI, TENCENT, subjects
from xinyong.core.db import session_scope
from xinyong.subjects.names import normalize_name
from xinyong.subjects.search import search_subjects
from xinyong.subjects.service import upsert_subjects


@pytest.fixture
def people(engine: Engine) -> dict[str, int]:
    return subjects(engine, [
        HUAWEI, TENCENT, BYD,
        ("91440300708461136T", "深圳市腾讯计算机系统有限公司"),
        (None, "腾讯"),
        (None, "佛山市顺德区美的电器销售有限公司"),
    ])


def _search(q: str, **kw: int) -> list[dict]:
    with session_scope() as s:
        return search_subjects(s, q, **kw).items


def test_code_exact_and_prefix(people: dict[str, int]) -> None:
    assert [i["name"] for i in _search(HUAWEI[0])] == [HUAWEI[1]]
    assert _search(HUAWEI[0])[0]["match"] == "code"
    assert HUAWEI[1] in [i["name"] for i in _search("91440300192")]


def test_ranking_exact_prefix_substring(people: dict[str, int]) -> None:
    names = [i["name"] for i in _search("腾讯")]
    assert names[0] == "腾讯"  # exact
    assert names[1] == "腾讯科技（深圳）有限公司"  # prefix
    assert names[2] == "深圳市腾讯计算机系统有限公司"  # substring
    # full-width and half-width brackets, spaces: same name
    assert _search("腾讯科技(深圳) 有限公司")[0]["match"] == "exact"


def test_substring_and_pagination(people: dict[str, int]) -> None:
    assert [i["name"] for i in _search("美的电器")] == ["佛山市顺德区美的电器销售有限公司"]
    first = _search("有限公司", limit=2)
    second = _search("有限公司", limit=2, offset=2)
    assert len(first) == 2 and len(second) == 2
    assert not {i["id"] for i in first} & {i["id"] for i in second}


def test_former_names_and_fuzzy(engine: Engine, people: dict[str, int]) -> None:
    renamed = pl.DataFrame({
        "uscc": [BYD[0]], "name": ["比亚迪汽车集团有限公司"], "kind": ["legal_person"],
        "uscc_status": ["verified"],
    }).with_columns(pl.col("name").map_elements(normalize_name, pl.String).alias("name_norm"))
    with engine.begin() as conn:
        upsert_subjects(conn, renamed)
    hit = _search("比亚迪股份")[0]
    assert hit["name"] == "比亚迪汽车集团有限公司" and hit["matched_former_name"]
    # a typo: one wrong character still finds the company
    fuzzy = _search("佛山市顺德区美的电气销售有限公司")
    assert fuzzy and fuzzy[0]["name"] == "佛山市顺德区美的电器销售有限公司"
    assert fuzzy[0]["match"] == "fuzzy"
    assert _search("完全无关的名字甲乙丙") == []

"""Eligibility rules, table-driven and over generated dates: which rule applies to a record,
from when it may be repaired, and when it never may. The records are built the way ingest
stores them (the catalog's publicity computed first), then read back by the repair rules."""

from __future__ import annotations

import calendar
import datetime as dt
import json
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.catalog.loader import load_catalog
from xinyong.catalog.publicity import compute_publicity
from xinyong.repair.eligibility import load_rules, parse_rules, repair_dates

RULES = load_rules()
TAX = "国家税务总局广州市天河区税务局"
SAMR = "广州市市场监督管理局"


def months_after(day: dt.date, months: int) -> dt.date:
    """Reference calendar-month arithmetic (day clamped to the month's end)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def stored(record_type: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Records as ingest stores them: the payload as JSON, the class and publicity columns
    computed by the catalog, then the repair rules over them."""
    rtype = load_catalog().type(record_type)
    date_field = rtype.date_field or "decided_on"
    frame = pl.DataFrame(rows, infer_schema_length=None)
    frame = frame.with_columns(pl.col(c).str.to_date() for c in (date_field, "publicity_until")
                               if c in frame.columns)
    pub = compute_publicity(frame, rtype)
    data = [json.dumps(r, ensure_ascii=False) for r in rows]
    return pl.DataFrame({
        "subject_id": [1] * len(rows),
        "record_id": list(range(1, len(rows) + 1)),
        "record_type": [record_type] * len(rows),
        "decided_on": pub.get_column(date_field),
        "penalty_class": pub.get_column("penalty_class"),
        "publicity_until": pub.get_column("publicity_until"),
        "publicity_rule": pub.get_column("publicity_rule"),
        "data": data,
    })


def penalty(decided: str, cls: str | None = "general", authority: str = TAX,
            **over: Any) -> dict[str, Any]:
    row = {"decided_on": decided, "penalty_kinds": "罚款", "procedure": "ordinary",
           "fine_amount": 20_000_000, "authority": authority, "violation_type": "未按期申报",
           "facts": "经查，当事人未按规定期限办理纳税申报。", "content": "罚款200000元"}
    if cls:
        row["penalty_class"] = cls
    row.update(over)
    return row


def one(record_type: str, row: dict[str, Any]) -> dict[str, Any]:
    return repair_dates(stored(record_type, [row]), RULES).row(0, named=True)


# (case, record type, row, rule, repairable_from or None, block)
CASES = [
    ("NDRC 一般 (36号令): 3 months", "administrative_penalty", penalty("2026-06-01"),
     "ndrc-2026-penalty", "2026-09-01", None),
    ("NDRC 严重 (36号令): 1 year", "administrative_penalty", penalty("2026-06-01", "serious"),
     "ndrc-2026-penalty", "2027-06-01", None),
    ("NDRC 一般, month end clamps", "administrative_penalty", penalty("2026-11-30"),
     "ndrc-2026-penalty", "2027-02-28", None),
    ("the day before the switch: 58号令", "administrative_penalty",
     penalty("2026-03-31", "serious"), "ndrc-2023-penalty", "2027-03-31", None),
    ("the switch day: 36号令", "administrative_penalty", penalty("2026-04-01", "serious"),
     "ndrc-2026-penalty", "2027-04-01", None),
    ("legacy 527号 严重: 6 months", "administrative_penalty", penalty("2020-03-10", "serious"),
     "ndrc-2019-penalty", "2020-09-10", None),
    ("527号 一般: 3 months", "administrative_penalty", penalty("2020-03-10"),
     "ndrc-2019-penalty", "2020-06-10", None),
    ("58号令 starts 2023-05-01: 严重 1 year", "administrative_penalty",
     penalty("2023-05-01", "serious"), "ndrc-2023-penalty", "2024-05-01", None),
    ("527号 特定严重失信 (食品): never", "administrative_penalty",
     penalty("2020-03-10", "serious", violation_type="生产销售不符合食品安全标准的食品"),
     "ndrc-2019-penalty", None, "REPAIR_NOT_REPAIRABLE_CATEGORY"),
    ("527号 一般 in 消防: repairable (only 严重 is blocked)", "administrative_penalty",
     penalty("2020-03-10", violation_type="消防设施未保持完好有效"),
     "ndrc-2019-penalty", "2020-06-10", None),
    ("36号令 轻微: not published, nothing to repair", "administrative_penalty",
     penalty("2026-06-01", "minor"), "ndrc-2026-penalty", None, "REPAIR_NOT_PUBLISHED"),
    ("36号令 轻微 published by the department: repairable at once", "administrative_penalty",
     penalty("2026-06-01", "minor", publicity_until="2026-08-31"),
     "ndrc-2026-penalty", "2026-06-01", None),
    ("SAMR standard: 6 months", "administrative_penalty",
     penalty("2026-06-01", None, SAMR, violation_type="虚假宣传"),
     "samr-2021-penalty", "2026-12-01", None),
    ("SAMR food: 1 year", "administrative_penalty",
     penalty("2026-06-01", None, SAMR, violation_type="经营超过保质期的食品"),
     "samr-2021-penalty", "2027-06-01", None),
    ("SAMR special equipment: 1 year", "administrative_penalty",
     penalty("2025-01-31", None, SAMR, violation_type="特种设备未经定期检验"),
     "samr-2021-penalty", "2026-01-31", None),
    ("SAMR warning and a low fine: no repair", "administrative_penalty",
     penalty("2026-06-01", None, SAMR, penalty_kinds="警告、罚款", fine_amount=500_000),
     "samr-2021-penalty", None, "REPAIR_NOT_REPAIRABLE"),
    ("serious list (3号): 1 year", "serious_dishonesty_list",
     {"listed_on": "2025-06-01", "list_name": "严重违法失信名单", "reason": "虚假材料"},
     "sdl-2021", "2026-06-01", None),
    ("serious list (36号令): 1 year", "serious_dishonesty_list",
     {"listed_on": "2026-05-15", "list_name": "严重失信主体名单", "reason": "虚假材料"},
     "sdl-2026", "2027-05-15", None),
    ("abnormal operations list: once the cause is cured", "abnormal_operations_list",
     {"listed_on": "2026-07-01", "reason": "未按规定报送年度报告"}, "abnormal-2021",
     "2026-07-01", None),
    ("dishonest judgment debtor: the courts, never the platform", "dishonest_judgment_debtor",
     {"listed_on": "2026-03-01", "case_number": "（2026）粤0106执1号"}, "court-lists", None,
     "REPAIR_NOT_REPAIRABLE"),
    ("utility arrears (其他失信信息): 3 months", "utility_arrears",
     {"since": "2026-02-10", "utility_kind": "water", "amount": 120000}, "negative-info",
     "2026-05-10", None),
]


@pytest.mark.parametrize(("case", "record_type", "row", "rule", "start", "block"), CASES,
                         ids=[c[0] for c in CASES])
def test_rules_table(case: str, record_type: str, row: dict[str, Any], rule: str,
                     start: str | None, block: str | None) -> None:
    out = one(record_type, row)
    assert out["rule_id"] == rule
    got_block = out["block"].split(":")[0] if out["block"] else None
    assert got_block == block, out
    if block is None:
        assert out["repairable_from"] == dt.date.fromisoformat(start or "")


DAYS = st.dates(min_value=dt.date(2019, 7, 1), max_value=dt.date(2027, 12, 31))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(DAYS, st.sampled_from(["general", "serious"])), min_size=1,
                max_size=40))
def test_ndrc_minimum_by_decision_date(rows: list[tuple[dt.date, str]]) -> None:
    """NDRC: 一般 3 months throughout; 严重 6 months under 527号, 1 year from 58号令
    (2023-05-01) and under 36号令 (2026-04-01); the rule follows the decision date."""
    frame = stored("administrative_penalty", [penalty(d.isoformat(), c) for d, c in rows])
    out = repair_dates(frame, RULES)
    for (day, cls), got in zip(rows, out.iter_rows(named=True), strict=True):
        regime = ("ndrc-2026" if day >= dt.date(2026, 4, 1) else
                  "ndrc-2023" if day >= dt.date(2023, 5, 1) else "ndrc-2019")
        months = 3 if cls == "general" else (6 if regime == "ndrc-2019" else 12)
        assert got["rule_id"] == f"{regime}-penalty"
        assert got["block"] is None
        assert got["repairable_from"] == months_after(day, months)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.dates(min_value=dt.date(2021, 9, 1),
                                   max_value=dt.date(2027, 12, 31)), st.booleans()),
                min_size=1, max_size=40))
def test_samr_minimum(rows: list[tuple[dt.date, bool]]) -> None:
    """SAMR (3号): 6 months, 1 year in food, drugs and special equipment."""
    frame = stored("administrative_penalty", [
        penalty(d.isoformat(), None, SAMR,
                violation_type="经营不合格药品" if sensitive else "虚假宣传") for d, sensitive in rows
    ])
    out = repair_dates(frame, RULES)
    for (day, sensitive), got in zip(rows, out.iter_rows(named=True), strict=True):
        assert got["rule_id"] == "samr-2021-penalty" and got["block"] is None
        assert got["repairable_from"] == months_after(day, 12 if sensitive else 6)


@settings(max_examples=30, deadline=None)
@given(DAYS)
def test_serious_list_at_least_one_year(day: dt.date) -> None:
    out = one("serious_dishonesty_list", {"listed_on": day.isoformat(),
                                          "list_name": "严重失信主体名单", "reason": "x"})
    assert out["repairable_from"] == months_after(day, 12)
    assert out["rule_id"] == ("sdl-2026" if day >= dt.date(2026, 4, 1) else "sdl-2021")


def test_rules_are_data_with_citations() -> None:
    for rule in RULES.rules:
        assert rule.reference and ("号" in rule.reference or "http" in rule.reference), rule.id
    assert RULES.deadlines["acceptance"].working_days == 3
    assert RULES.deadlines["decision"].working_days == 10
    assert RULES.deadlines["completion"].working_days == 5
    assert not RULES.limits.enabled and load_rules("limited").limits.enabled
    assert "{name}" not in RULES.commitment_text.format(name="甲", uscc="1", record="r",
                                                        today="t")


def test_configurable_categories_change_the_outcome() -> None:
    """The 527号 domains are data: removing 消防 from them makes a 严重 fire-safety penalty
    repairable."""
    import yaml

    from xinyong.repair.eligibility import DATA_DIR

    raw = yaml.safe_load((DATA_DIR / "rules.yaml").read_text(encoding="utf-8"))
    row = penalty("2020-03-10", "serious", violation_type="消防设施未保持完好有效")
    assert one("administrative_penalty", row)["block"] is not None
    for rule in raw["rules"]:
        for block in rule.get("not_repairable") or ():
            block["keywords"] = [k for k in block["keywords"] if k != "消防"]
    relaxed = parse_rules(raw)
    out = repair_dates(stored("administrative_penalty", [row]), relaxed).row(0, named=True)
    assert out["block"] is None and out["repairable_from"] == dt.date(2020, 9, 10)

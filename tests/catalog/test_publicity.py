"""Publicity periods at dates on both sides of every boundary, and properties over many cases."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.catalog.loader import load_catalog
from xinyong.catalog.publicity import add_months, compute_publicity, list_local_rules
from xinyong.catalog.types import CatalogError

D = dt.date
CAT = load_catalog()
PENALTY = CAT.type("administrative_penalty")
TAX_BUREAU = "国家税务总局某市税务局"
SAMR = "某市市场监督管理局"


def run(rows: list[dict[str, Any]], rt=PENALTY, **kw: Any) -> list[dict[str, Any]]:
    schema = {
        "decided_on": pl.Date, "penalty_kinds": pl.String, "procedure": pl.String,
        "fine_amount": pl.Int64, "penalty_class": pl.String, "publicity_until": pl.Date,
        "valid_until": pl.Date, "restriction_until": pl.Date, "authority": pl.String,
        "subject_kind": pl.String, "violation_type": pl.String,
    }  # fmt: skip
    full = [{k: r.get(k) for k in schema} for r in rows]
    return compute_publicity(pl.DataFrame(full, schema=schema), rt, **kw).to_dicts()


def one(**row: Any) -> dict[str, Any]:
    opts = {k: row.pop(k) for k in ("local_rules", "province") if k in row}
    row.setdefault("authority", TAX_BUREAU)
    return run([row], **opts)[0]


def ref_add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    y, m = divmod(total, 12)
    return D(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


# --- month arithmetic --------------------------------------------------------------------------


def test_month_end_clamps() -> None:
    df = pl.DataFrame({"d": [D(2025, 8, 31), D(2024, 2, 29), D(2023, 1, 31)]})
    out = df.select(add_months(pl.col("d"), 6).alias("a"), add_months(pl.col("d"), 12).alias("b"))
    assert out["a"].to_list() == [D(2026, 2, 28), D(2024, 8, 29), D(2023, 7, 31)]
    assert out["b"].to_list() == [D(2026, 8, 31), D(2025, 2, 28), D(2024, 1, 31)]


@given(st.dates(D(1990, 1, 1), D(2090, 12, 31)), st.integers(0, 60))
def test_add_months_matches_reference(day: dt.date, months: int) -> None:
    df = pl.DataFrame({"d": [day], "m": [months]})
    got = df.select(add_months(pl.col("d"), pl.col("m"))).item()
    assert got == ref_add_months(day, months)
    assert df.select(add_months(pl.col("d"), months)).item() == got


# --- NDRC rule sets ----------------------------------------------------------------------------


def test_switch_2026_minor_not_published() -> None:
    before = one(decided_on=D(2026, 3, 31), penalty_kinds="警告", procedure="简易程序")
    after = one(decided_on=D(2026, 4, 1), penalty_kinds="警告", procedure="简易程序")
    assert before["penalty_class"] == after["penalty_class"] == "minor"
    # 58号令 had no 轻微 class: shown as 一般 (max 1 year, min 3 months).
    assert before["publicity_rule"] == "ndrc-2023:minor"
    assert before["publicity_until"] == D(2027, 3, 31)
    assert before["min_publicity_until"] == D(2026, 6, 30)
    # 36号令: not published — the period ends the day it starts.
    assert after["publicity_rule"] == "ndrc-2026:minor:not_published"
    assert after["publicity_until"] == D(2026, 4, 1)


def test_general_exactly_one_year_and_three_months() -> None:
    r = one(
        decided_on=D(2026, 4, 1), penalty_kinds="罚款", procedure="普通程序", fine_amount=500_000
    )
    assert (r["penalty_class"], r["publicity_rule"]) == ("general", "ndrc-2026:general")
    assert r["publicity_until"] == D(2027, 4, 1)
    assert r["min_publicity_until"] == D(2026, 7, 1)


def test_serious_three_years_from_leap_day() -> None:
    r = one(decided_on=D(2024, 2, 29), penalty_kinds="吊销许可证", procedure="普通程序")
    assert r["penalty_class"] == "serious"
    assert r["publicity_until"] == D(2027, 2, 28)
    assert r["min_publicity_until"] == D(2025, 2, 28)  # 58号令: serious min 1 year


@pytest.mark.parametrize(
    ("day", "rule", "min_until"),
    [
        (D(2019, 6, 30), "ndrc-2017:serious", D(2019, 6, 30)),  # no minimum yet
        (D(2019, 7, 1), "ndrc-2019:serious", D(2020, 1, 1)),  # 527号: 6 months
        (D(2023, 4, 30), "ndrc-2019:serious", D(2023, 10, 30)),
        (D(2023, 5, 1), "ndrc-2023:serious", D(2024, 5, 1)),  # 58号令: 1 year
        (D(2010, 1, 1), "ndrc-2017:serious", D(2010, 1, 1)),  # older than every set
    ],
)
def test_serious_minimum_by_rule_set(day: dt.date, rule: str, min_until: dt.date) -> None:
    r = one(decided_on=day, penalty_kinds="责令关闭", procedure="普通程序")
    assert r["publicity_rule"] == rule
    assert r["min_publicity_until"] == min_until
    assert r["publicity_until"] == ref_add_months(day, 36)


def test_several_kinds_take_the_longest() -> None:
    r = one(
        decided_on=D(2026, 5, 1), penalty_kinds="警告；罚款、吊销营业执照", procedure="普通程序"
    )
    assert r["penalty_class"] == "serious"
    assert r["class_reason"] == "处罚类别含吊销，按规则判定为严重"
    assert r["publicity_until"] == D(2029, 5, 1)


def test_department_class_overrides_rule() -> None:
    r = one(decided_on=D(2026, 5, 1), penalty_kinds="吊销许可证", penalty_class="一般")
    assert (r["penalty_class"], r["class_source"]) == ("general", "department")
    assert r["publicity_until"] == D(2027, 5, 1)
    r = one(
        decided_on=D(2026, 5, 1),
        penalty_kinds="警告",
        procedure="简易程序",
        penalty_class="serious",
    )
    assert (r["penalty_class"], r["class_source"]) == ("serious", "department")
    # An unknown spelling is ignored, the rule decides.
    r = one(decided_on=D(2026, 5, 1), penalty_kinds="罚款", penalty_class="很严重")
    assert (r["penalty_class"], r["class_source"]) == ("general", "rule")


def test_department_date_earlier_kept_later_capped() -> None:
    base = {"decided_on": D(2026, 5, 1), "penalty_kinds": "罚款", "procedure": "普通程序"}
    earlier = one(**base, publicity_until=D(2026, 11, 1))
    assert earlier["publicity_until"] == D(2026, 11, 1)
    assert earlier["publicity_rule"] == "ndrc-2026:general+department"
    assert earlier["min_publicity_until"] == D(2026, 8, 1)
    later = one(**base, publicity_until=D(2030, 1, 1))
    assert later["publicity_until"] == D(2027, 5, 1)
    assert later["publicity_rule"] == "ndrc-2026:general"
    before_decision = one(**base, publicity_until=D(2026, 1, 1))
    assert before_decision["publicity_until"] == D(2026, 5, 1)


def test_minor_published_by_department_at_most_three_months() -> None:
    base = {"decided_on": D(2026, 5, 1), "penalty_kinds": "警告", "procedure": "简易程序"}
    assert one(**base, publicity_until=D(2026, 6, 1))["publicity_until"] == D(2026, 6, 1)
    assert one(**base, publicity_until=D(2027, 6, 1))["publicity_until"] == D(2026, 8, 1)


def test_large_fine_is_serious_threshold_boundary() -> None:
    at = one(decided_on=D(2026, 5, 1), penalty_kinds="罚款", fine_amount=100_000_000)
    below = one(decided_on=D(2026, 5, 1), penalty_kinds="罚款", fine_amount=99_999_999)
    assert at["penalty_class"] == "serious"
    assert below["penalty_class"] == "general"


# --- SAMR --------------------------------------------------------------------------------------


def samr(**row: Any) -> dict[str, Any]:
    row.setdefault("authority", SAMR)
    row.setdefault("procedure", "普通程序")
    row.setdefault("decided_on", D(2022, 3, 15))
    return one(**row)


def test_samr_notice_vs_large_fine() -> None:
    notice = samr(penalty_kinds="通报批评")
    assert notice["publicity_rule"] == "samr-2021:short"
    assert notice["publicity_until"] == D(2022, 6, 15)
    large = samr(penalty_kinds="罚款", fine_amount=50_000_000)
    assert large["publicity_rule"] == "samr-2021:standard"
    assert large["publicity_until"] == D(2025, 3, 15)
    assert large["min_publicity_until"] == D(2022, 9, 15)  # 3号: 6 months


@pytest.mark.parametrize(
    ("kind", "fine_yuan", "rule"),
    [
        ("natural_person", 9_999, "short"),
        ("natural_person", 10_000, "standard"),
        ("legal_person", 99_999, "short"),
        ("legal_person", 100_000, "standard"),
        (None, 99_999, "short"),
        ("individual_business", 10_000, "standard"),
    ],
)
def test_samr_low_fine_threshold(kind: str | None, fine_yuan: int, rule: str) -> None:
    r = samr(penalty_kinds="警告;罚款", fine_amount=fine_yuan * 100, subject_kind=kind)
    assert r["publicity_rule"] == f"samr-2021:{rule}"


def test_samr_unknown_fine_amount_is_not_low() -> None:
    assert samr(penalty_kinds="罚款")["publicity_rule"] == "samr-2021:standard"


def test_samr_not_published() -> None:
    simple = samr(penalty_kinds="警告", procedure="简易程序")
    assert simple["publicity_until"] == D(2022, 3, 15)
    assert simple["publicity_rule"] == "samr-2021:not_published"
    warning_only = samr(penalty_kinds="警告")
    assert warning_only["publicity_until"] == D(2022, 3, 15)


def test_samr_long_restriction_uses_its_own_length() -> None:
    r = samr(
        penalty_kinds="罚款;限制从业", fine_amount=10_000_000, restriction_until=D(2027, 3, 15)
    )
    assert r["publicity_rule"] == "samr-2021:restriction"
    assert r["publicity_until"] == D(2027, 3, 15)
    short = samr(penalty_kinds="限制从业", restriction_until=D(2024, 3, 15))
    assert short["publicity_until"] == D(2025, 3, 15)


def test_samr_sensitive_domain_minimum() -> None:
    r = samr(
        penalty_kinds="罚款", fine_amount=50_000_000, violation_type="销售不符合食品安全标准的食品"
    )
    assert r["min_publicity_until"] == D(2023, 3, 15)


def test_routing_by_flag_and_name() -> None:
    by_name = samr(penalty_kinds="通报批评", authority="某区市场监管局")
    assert by_name["publicity_rule"].startswith("samr")
    rows = run(
        [
            {"decided_on": D(2022, 3, 15), "penalty_kinds": "通报批评", "authority": "某委员会"},
            {"decided_on": D(2022, 3, 15), "penalty_kinds": "通报批评", "authority": SAMR},
        ]
    )
    assert rows[0]["publicity_rule"].startswith("ndrc")
    assert rows[1]["publicity_rule"].startswith("samr")
    flagged = compute_publicity(
        pl.DataFrame(
            {
                "decided_on": [D(2022, 3, 15)],
                "penalty_kinds": ["通报批评"],
                "authority": ["某局"],
                "market_regulation": [True],
            }
        ),
        PENALTY,
    )
    assert flagged["publicity_rule"].item() == "samr-2021:short"


def test_unknown_province() -> None:
    with pytest.raises(CatalogError) as exc:
        samr(penalty_kinds="罚款", province="atlantis")
    assert exc.value.code == "PUBLICITY_UNKNOWN_PROVINCE"
    assert samr(penalty_kinds="罚款", fine_amount=100, province="hubei")["publicity_rule"].endswith(
        "short"
    )


# --- local overrides ---------------------------------------------------------------------------


def test_shenzhen_special_domains() -> None:
    assert "shenzhen" in list_local_rules()
    base = {"decided_on": D(2026, 5, 1), "penalty_kinds": "罚款", "procedure": "普通程序"}
    plain = one(**base, local_rules="shenzhen")
    fire = one(**base, violation_type="消防设施未保持完好有效", local_rules="shenzhen")
    national = one(**base, violation_type="消防设施未保持完好有效")
    assert plain["min_publicity_until"] == D(2026, 8, 1)
    assert plain["publicity_rule"] == "ndrc-2026:general"
    assert fire["min_publicity_until"] == D(2027, 5, 1)
    assert fire["publicity_rule"] == "ndrc-2026:general+shenzhen"
    assert national["min_publicity_until"] == D(2026, 8, 1)


def test_unknown_local_rule() -> None:
    with pytest.raises(CatalogError) as exc:
        one(decided_on=D(2026, 5, 1), penalty_kinds="罚款", local_rules="gotham")
    assert exc.value.code == "PUBLICITY_UNKNOWN_LOCAL"


# --- other families ----------------------------------------------------------------------------


def test_always_list_and_negative_info() -> None:
    lic = compute_publicity(
        pl.DataFrame({"decided_on": [D(2025, 1, 1)]}), CAT.type("administrative_license")
    )
    assert lic["publicity_until"].item() is None and lic["publicity_rule"].item() == "always"
    assert lic["penalty_class"].item() is None
    ab = CAT.type("abnormal_operations_list")
    df = pl.DataFrame(
        {"listed_on": [D(2024, 1, 1), D(2024, 1, 1)], "removed_on": [None, D(2024, 6, 1)]},
        schema={"listed_on": pl.Date, "removed_on": pl.Date},
    )
    out = compute_publicity(df, ab)
    assert out["publicity_until"].to_list() == [None, D(2024, 6, 1)]
    assert out["publicity_rule"].to_list() == ["list:open", "list:until_end"]
    arrears = CAT.type("utility_arrears")
    out = compute_publicity(pl.DataFrame({"since": [D(2026, 3, 31), D(2026, 4, 1)]}), arrears)
    assert out["publicity_rule"].to_list() == ["negative-2019", "negative-2026"]
    assert out["publicity_until"].to_list() == [D(2027, 3, 31), D(2027, 4, 1)]


def test_inputs_are_kept_and_extra_columns_pass_through() -> None:
    df = pl.DataFrame({"decided_on": [D(2026, 5, 1)], "penalty_kinds": ["罚款"], "row": [7]})
    out = compute_publicity(df, PENALTY)
    assert out["row"].item() == 7
    assert not [c for c in out.columns if c.startswith("__")]


# --- properties --------------------------------------------------------------------------------

KINDS = [
    "警告",
    "通报批评",
    "罚款",
    "没收违法所得",
    "吊销许可证",
    "责令停产停业",
    "限制从业",
    "其他",
]


@st.composite
def penalty_rows(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(st.dates(D(2015, 1, 1), D(2030, 12, 31)))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=0, max_size=3))
    sep = draw(st.sampled_from([";", "；", "、", "，", ",", " "]))
    return {
        "decided_on": day,
        "penalty_kinds": sep.join(kinds) if kinds else draw(st.sampled_from([None, ""])),
        "procedure": draw(st.sampled_from([None, "简易程序", "普通程序", "simple", "ordinary"])),
        "fine_amount": draw(st.one_of(st.none(), st.integers(0, 500_000_000))),
        "penalty_class": draw(st.sampled_from([None, "轻微", "一般", "严重", "serious", "x"])),
        "publicity_until": draw(st.one_of(st.none(), st.dates(D(2014, 1, 1), D(2036, 1, 1)))),
        "restriction_until": draw(st.one_of(st.none(), st.dates(D(2015, 1, 1), D(2040, 1, 1)))),
        "authority": draw(st.sampled_from([TAX_BUREAU, SAMR, None])),
        "subject_kind": draw(st.sampled_from([None, "natural_person", "legal_person"])),
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(penalty_rows(), min_size=1, max_size=40), st.sampled_from([None, "shenzhen"]))
def test_properties(rows: list[dict[str, Any]], local: str | None) -> None:
    for row, out in zip(rows, run(rows, local_rules=local), strict=True):
        day = row["decided_on"]
        until, minimum = out["publicity_until"], out["min_publicity_until"]
        assert out["penalty_class"] in ("minor", "general", "serious")
        assert until is not None and until >= day
        assert minimum is not None and day <= minimum <= until
        longest = ref_add_months(day, 36)
        rule = out["publicity_rule"]
        if rule.startswith("samr") and "restriction" in rule:
            # a restriction longer than 3 years: its own length, or the department's earlier date
            if "+department" in rule:
                assert until <= row["restriction_until"]
            else:
                assert until == row["restriction_until"]
        else:
            assert until <= longest
        if out["publicity_rule"].startswith("ndrc"):
            cap = 36 if out["penalty_class"] == "serious" else 12
            assert until <= ref_add_months(day, cap)
        if row["publicity_until"] is not None and row["publicity_until"] >= day:
            assert until <= row["publicity_until"] or "+department" not in out["publicity_rule"]

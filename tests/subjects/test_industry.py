"""Industry from business scope: data files, scalar/batch agreement, real-file coverage."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.subjects.industry import (
    derive_industry,
    derive_industry_series,
    division_label,
    industry_sections,
    load_rules,
    main_business,
    section_label,
)

REAL = Path("/work/shared/realdata/enterprises-2019.csv.gz")

# Real rows of the 2019 file, expected section read by hand from the name and the scope.
HAND_CHECKED: dict[str, str] = {
    "91211481MA0YFWB07K": "C",  # 汽车零部件及配件加工、制造、销售
    "91540195MA6TD6UB2L": "B",  # 矿山勘测、开采 (rules say M: 勘测 comes first — known miss)
    "91230382MA1BEG6P18": "F",  # 粮食、农副产品…经销
    "91411502MA46FHG425": "L",  # 企业营销策划, 广告设计
    "91640205MA7724J84N": "H",  # 餐饮服务
    "91429004MA498XJX7C": "E",  # 建筑劳务分包
    "91110111MA01JERB14": "M",  # 技术开发
    "91350322MA32J46906": "C",  # 木质家具制造
    "91441900MA531WNK19": "L",  # 供应链管理
    "91370500MA3P5DFM38": "M",  # 建设项目管理 (工程管理服务 74)
    "91150102MA13N3UG7H": "L",  # 代理记账
    "91152531MA0Q4RB064": "D",  # 燃气管道建设与运营
    "91460100MA5T7R1Q34": "E",  # 房屋建筑工程
    "93653226MA788H0X7Y": "A",  # 饲养:家畜、家禽
    "91530100MA6NT3EH31": "G",  # 普通货物道路运输
    "91654002MA78AA0F1A": "F",  # 商贸: 矿产品、石材、建筑材料…
    "92350784MA32HHBC1A": "C",  # 竹木加工销售
    "91210283MA0YG9093N": "P",  # 语文、数学、英语补习
    "91500106MA608F2J0H": "F",  # 批发、零售:钻石首饰…
    "91320722MA1Y24NWXN": "F",  # 建材…销售
    "91310230MA1JTADY2W": "L",  # 人力资源管理
    "91220102MA172TQL25": "E",  # 园林绿化工程施工
    "91320321MA1Y4FGUXF": "L",  # 广告设计、制作、发布、代理
    "91530111MA6NKXWA3W": "F",  # 其他综合零售
    "91460000MA5T8FWJ6T": "M",  # 机动车检测: 检验检测服务
    "91632801MA7599W600": "F",  # 商贸: 蔬菜、粮油、水果…
    "91350583MA32HKQD34": "O",  # 家政服务
    "91441900MA530F149M": "F",  # 销售:汽车
    "91320102MA1XWFNM0X": "F",  # 纺织服装、服饰…销售
    "91440300MA5FFLHL9W": "L",  # 投资兴办实业
}


@pytest.fixture(scope="module")
def real() -> pl.DataFrame:
    return pl.read_csv(REAL, columns=["统一社会信用代码", "经营范围"], infer_schema=False)


def test_sections_file() -> None:
    sections = industry_sections()
    assert sorted(sections) == list("ABCDEFGHIJKLMNOPQRST")
    divisions = sorted(d for s in sections.values() for d in s["divisions"])
    assert divisions == [f"{i:02d}" for i in range(1, 98)]
    assert section_label("H") == "住宿和餐饮业"
    assert division_label("62") == "餐饮业"


def test_rules_load() -> None:
    rules = load_rules()
    assert rules.target["餐饮"] == ("H", "62")
    assert rules.target["房地产开发"] == ("K", "70")
    assert rules.target["软件开发"] == ("I", "65")
    assert rules.target["农作物种植"] == ("A", "01")


@pytest.mark.parametrize(
    ("scope", "section", "division"),
    [
        ("餐饮服务。", "H", "62"),
        ("餐饮管理（不含餐饮服务）", "L", "72"),
        ("房地产开发经营；物业管理", "K", "70"),
        ("软件开发、技术推广、技术服务", "I", "65"),
        ("技术开发、技术服务、技术咨询", "M", "75"),
        ("建筑工程施工", "E", "47"),
        ("食品销售；日用百货", "F", "52"),
        ("普通货物道路运输", "G", "54"),
        ("农作物种植、销售", "A", "01"),
        ("五金、塑料制品制造、销售", "C", None),
        ("建筑材料、装饰材料销售", "F", None),
        ("日用百货、服装", "F", None),
        ("（依法须经批准的项目）；餐饮", "H", "62"),
    ],
)
def test_examples(scope: str, section: str, division: str | None) -> None:
    result = derive_industry(scope)
    assert result is not None and result[:2] == (section, division)


def test_main_business_is_first_group() -> None:
    assert main_business("园林绿化工程；建筑装修（不含危险品）。其他") == "园林绿化工程"
    assert derive_industry("") is None and derive_industry(None) is None


_SCOPE_WORDS = st.sampled_from(
    [
        "销售",
        "餐饮",
        "餐饮管理",
        "技术开发",
        "软件开发",
        "建筑材料",
        "工程",
        "（不含餐饮）",
        "；",
        "。",
        "、",
        "批发",
        "种植",
        "制造",
        "【经批准】",
        "N/A",
        "服装",
        "(",
        ")",
        "甲",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_SCOPE_WORDS, max_size=8).map("".join), min_size=1, max_size=20))
def test_series_agrees_with_scalar(scopes: list[str]) -> None:
    frame = derive_industry_series(pl.Series(scopes, dtype=pl.String))
    expected = [derive_industry(s) or (None, None, None) for s in scopes]
    assert frame.rows() == expected


def test_real_coverage(real: pl.DataFrame) -> None:
    frame = derive_industry_series(real["经营范围"])
    share = frame["section"].is_not_null().mean()
    print(f"industry coverage: {share:.2%} of {real.height} rows get a section")
    assert share is not None and share >= 0.90


def test_hand_checked_real_rows(real: pl.DataFrame) -> None:
    rows = real.filter(pl.col("统一社会信用代码").is_in(list(HAND_CHECKED)))
    assert rows.height == len(HAND_CHECKED)
    derived = derive_industry_series(rows["经营范围"])["section"].to_list()
    misses = [
        (code, HAND_CHECKED[code], got)
        for code, got in zip(rows["统一社会信用代码"], derived, strict=True)
        if got != HAND_CHECKED[code]
    ]
    print(f"hand-checked: {len(HAND_CHECKED) - len(misses)}/{len(HAND_CHECKED)}, misses {misses}")
    assert len(misses) <= 2

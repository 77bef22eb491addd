"""GB/T 2260 lookup from (所在省份, 地区) of the real file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from xinyong.subjects.regions import load_regions, region_code_for, region_codes, region_name

REAL = Path("/work/shared/realdata/enterprises-2019.csv.gz")


def test_table_shape() -> None:
    regions = load_regions()
    assert regions["code"].is_unique().all()
    assert regions.filter(pl.col("level") == "province").height == 31
    # 333 prefecture-level units in 2019, plus 莱芜 (merged 2019-01) and 5 直辖县 groupings.
    assert regions.filter(pl.col("level") == "prefecture").height >= 333
    for municipality in ("11", "12", "31", "50"):
        districts = regions.filter(
            (pl.col("level") == "county") & pl.col("code").str.starts_with(municipality)
        )
        assert districts.height >= 12


@pytest.mark.parametrize(
    ("province", "area", "code"),
    [
        ("广东", "广州", "440100"),
        ("广东", "深圳", "440300"),
        ("上海", "松江", "310117"),
        ("北京", "海淀", "110108"),
        ("浙江", "杭州", "330100"),
        ("广东", "惠州", "441300"),
        ("广东", "佛山", "440600"),
        ("广东省", "广州市", "440100"),
        ("吉林", "延边州", "222400"),
        ("新疆", "伊犁哈萨克", "654000"),
        ("湖北", "仙桃", "429004"),
        ("天津", "滨海", "120116"),
        ("重庆", "梁平", "500155"),
        ("重庆", "北部新区", "500000"),  # not a GB/T 2260 unit: province fallback
        ("四川", "N/A", "510000"),
        ("N/A", "河西", None),
    ],
)
def test_spot_checks(province: str, area: str, code: str | None) -> None:
    assert region_code_for(province, area) == code


def test_names() -> None:
    assert region_name("310117") == "松江区"
    assert region_name("999999") is None


def test_real_file_mapping() -> None:
    real = pl.read_csv(REAL, columns=["所在省份", "地区"], infer_schema=False)
    codes = region_codes(real["所在省份"], real["地区"])
    below = (codes.is_not_null() & ~codes.str.ends_with("0000")).mean()
    print(f"regions: {below:.2%} of {real.height} rows map below province level")
    assert below is not None and below >= 0.98
    # Every row whose 所在省份 is a province maps at least to it; the 3 shifted source rows
    # (所在省份 holds a company type or N/A) are handled in registrations.py.
    known = real["所在省份"].is_in(load_regions()["short_name"].to_list())
    assert codes.filter(known).null_count() == 0
    assert int((~known).sum()) == 3

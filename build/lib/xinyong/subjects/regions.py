"""Administrative division codes (GB/T 2260) from the province and area names in source files.

Registration files name places loosely: 所在省份 is a short province name (广东, 内蒙古) and 地区
is a short prefecture name (广州, 延边州, 红河) or, for the four municipalities, a district
(上海 / 松江). The table in data/regions.csv (provenance in its header) lists every name form we
accept; the lookup is a join, and an unknown area falls back to the province code.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl

_NULL_MARKERS = ["", "N/A", "NA", "-", "无", "null"]


@cache
def load_regions() -> pl.DataFrame:
    """The region table: code, name, short_name, level (province/prefecture/county), parent."""
    path = resources.files("xinyong.subjects") / "data" / "regions.csv"
    with resources.as_file(path) as file:
        return pl.read_csv(
            file, comment_prefix="#", schema_overrides={"code": pl.String, "parent": pl.String}
        ).with_columns(pl.col("aliases").fill_null(""))


def _clean(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text.is_in(_NULL_MARKERS)).then(pl.lit(None, dtype=pl.String)).otherwise(text)


@cache
def _province_keys() -> pl.DataFrame:
    provinces = load_regions().filter(pl.col("level") == "province")
    keys = pl.concat(
        [
            provinces.select("code", key=pl.col("name")),
            provinces.select("code", key=pl.col("short_name")),
        ]
    )
    return keys.unique("key").select(pl.col("key").alias("province"), province_code="code")


@cache
def _area_keys() -> pl.DataFrame:
    """(province_code, key) → code for every name form of a unit below province level.

    Keys: the full name, the short name, the name without 自治州 (source files write
    伊犁哈萨克 and 克孜勒苏柯尔克孜) and the listed aliases. A key that two units of one
    province share would be ambiguous, so the prefecture (listed first) wins.
    """
    units = (
        load_regions()
        .filter(pl.col("level") != "province")
        .with_columns(
            province_code=pl.col("code").str.slice(0, 2) + "0000",
            rank=pl.col("level").replace_strict(
                {"prefecture": 0, "county": 1}, return_dtype=pl.Int8
            ),
        )
    )
    keys = pl.concat(
        [
            units.select("province_code", "rank", "code", key=pl.col("name")),
            units.select("province_code", "rank", "code", key=pl.col("short_name")),
            units.select(
                "province_code", "rank", "code", key=pl.col("name").str.strip_suffix("自治州")
            ),
            units.select(
                "province_code", "rank", "code", key=pl.col("aliases").str.split("|")
            ).explode("key"),
        ]
    ).filter(pl.col("key") != "")
    return (
        keys.sort("rank", "code")
        .unique(["province_code", "key"], keep="first", maintain_order=True)
        .select("province_code", pl.col("key").alias("area"), area_code="code")
    )


def region_codes(province: pl.Series, area: pl.Series) -> pl.Series:
    """Vectorised `region_code_for`: the area's code, else the province's, else null."""
    frame = pl.DataFrame({"province": province, "area": area}).select(
        province=_clean(pl.col("province")), area=_clean(pl.col("area"))
    )
    joined = frame.join(_province_keys(), on="province", how="left", maintain_order="left").join(
        _area_keys(), on=["province_code", "area"], how="left", maintain_order="left"
    )
    return joined.select(region_code=pl.coalesce("area_code", "province_code")).to_series()


def region_code_for(province: str | None, area: str | None) -> str | None:
    """GB/T 2260 code for a (province, area) pair such as ("上海", "松江") → "310117"."""
    return region_codes(
        pl.Series([province], dtype=pl.String), pl.Series([area], dtype=pl.String)
    ).item()


@cache
def _names() -> dict[str, str]:
    return dict(load_regions().select("code", "name").iter_rows())


def region_name(code: str | None) -> str | None:
    """Official name of a code in the table ("440100" → 广州市), None when unknown."""
    return _names().get(code) if code else None


def region_names(codes: pl.Series) -> pl.Series:
    """Vectorised `region_name`."""
    return codes.replace_strict(_names(), default=None, return_dtype=pl.String)


def province_code_of(codes: pl.Series) -> pl.Series:
    """The province code (xx0000) of each code."""
    return codes.str.slice(0, 2) + "0000"

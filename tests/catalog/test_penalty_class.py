"""Penalty class rules: department first, then ordered rules with Chinese reasons."""

from __future__ import annotations

import polars as pl
import pytest

from xinyong.catalog.penalty_class import classify, kinds_only


@pytest.mark.parametrize(
    ("kinds", "procedure", "fine", "given", "cls", "source", "reason"),
    [
        ("警告", "简易程序", None, None, "minor", "rule", "适用简易程序作出，按规则判定为轻微"),
        (
            "警告；通报批评",
            "普通程序",
            None,
            None,
            "minor",
            "rule",
            "处罚类别仅为警告或通报批评，按规则判定为轻微",
        ),
        (
            "警告;罚款",
            "普通程序",
            100_000,
            None,
            "general",
            "rule",
            "未命中严重或轻微情形，按规则判定为一般",
        ),
        (
            "罚款、责令停产停业",
            None,
            None,
            None,
            "serious",
            "rule",
            "处罚类别含责令停产停业，按规则判定为严重",
        ),
        (
            "罚款",
            None,
            100_000_000,
            None,
            "serious",
            "rule",
            "罚款金额达到100万元，按规则判定为严重",
        ),
        ("罚款", None, None, "严重", "serious", "department", "数据来源单位认定为严重"),
        ("吊销许可证", None, None, "Minor", "minor", "department", "数据来源单位认定为轻微"),
        (None, None, None, None, "general", "rule", "未命中严重或轻微情形，按规则判定为一般"),
    ],
)
def test_classify(kinds, procedure, fine, given, cls, source, reason) -> None:
    df = pl.DataFrame(
        {
            "penalty_kinds": [kinds],
            "procedure": [procedure],
            "fine_amount": [fine],
            "penalty_class": [given],
        },
        schema={
            "penalty_kinds": pl.String,
            "procedure": pl.String,
            "fine_amount": pl.Int64,
            "penalty_class": pl.String,
        },
    )
    row = classify(df).row(0, named=True)
    assert (row["penalty_class"], row["class_source"], row["class_reason"]) == (cls, source, reason)


def test_kinds_only_is_conservative() -> None:
    s = pl.Series(["警告", "警告；通报批评", "警告并处罚款", "", None, " ; "])
    out = pl.DataFrame({"k": s}).select(kinds_only(pl.col("k"), ["警告", "通报批评"])).to_series()
    assert out.to_list() == [True, True, False, False, False, False]

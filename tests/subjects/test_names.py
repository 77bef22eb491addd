"""Name normalisation (scalar and Polars agree byte for byte) and bigrams."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.subjects.names import bigrams, bigrams_frame, normalize_name, normalize_name_expr

# CJK, full-width forms, brackets of every kind, Latin letters and many kinds of space.
_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),
    st.sampled_from(list("（）【】[]〔〕()ABCabcxyz019 \t\n\u3000\u00a0\u2002\u200b\ufeff·-&")),
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
)


def _expr_apply(values: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"name": pl.Series(values, dtype=pl.String)})
    return frame.select(normalize_name_expr(pl.col("name"))).to_series().to_list()


def test_examples() -> None:
    assert normalize_name(" 腾讯科技（深圳）有限公司 ") == "腾讯科技(深圳)有限公司"
    assert normalize_name("腾讯科技 (深圳) 有限公司") == "腾讯科技(深圳)有限公司"
    assert normalize_name("ａｂｃ【北京】〔x〕[y]\u3000公司") == "ABC(北京)(X)(Y)公司"
    assert normalize_name("上海也兴网络科技合伙企业（有限合伙）") == (
        "上海也兴网络科技合伙企业(有限合伙)"
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET, max_size=40), min_size=1, max_size=20))
def test_expr_is_byte_identical(values: list[str]) -> None:
    assert _expr_apply(values) == [normalize_name(v) for v in values]


def test_expr_keeps_nulls() -> None:
    assert _expr_apply([None, "a b"]) == [None, "AB"]


def test_bigrams() -> None:
    assert bigrams("深圳腾讯深圳") == ["深圳", "圳腾", "腾讯", "讯深"]
    assert bigrams("腾") == ["腾"]
    assert bigrams("") == []
    assert bigrams("AB") == ["AB"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET, max_size=12), min_size=1, max_size=20))
def test_bigrams_frame_matches_scalar(values: list[str]) -> None:
    norm = [normalize_name(v) for v in values]
    frame = bigrams_frame(pl.Series(norm, dtype=pl.String))
    expected = [(i, g) for i, name in enumerate(norm) for g in bigrams(name)]
    assert frame.rows() == expected


def test_bigrams_frame_nulls_and_schema() -> None:
    frame = bigrams_frame(pl.Series(["甲乙丙", None, "", "丁"], dtype=pl.String))
    assert frame.schema == pl.Schema({"row": pl.UInt32, "gram": pl.String})
    assert frame.rows() == [(0, "甲乙"), (0, "乙丙"), (3, "丁")]

"""Mapping profiles: real and standard headers resolve to canonical fields."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from xinyong.catalog.loader import load_catalog
from xinyong.records.profiles import (
    ProfileError,
    default_profile,
    list_profiles,
    load_profile,
    load_profile_file,
    normalize_header,
    render_source_record_id,
    source_record_id_expr,
)

REALDATA = Path(
    os.environ.get(
        "XINYONG_REALDATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "realdata"
    )
)
PBOC = REALDATA / "pboc-payment-penalties.csv"


def test_shipped_profiles_load() -> None:
    names = list_profiles()
    assert {"dual_publicity_penalty", "dual_publicity_license", "pboc_payment_penalties"} <= set(
        names
    )
    for name in names:
        assert load_profile(name).name == name


def test_normalize_header() -> None:
    assert normalize_header("罚款金额（万元）") == normalize_header("罚款金额(万元)")
    assert normalize_header("CF_NR_FK") == normalize_header("cfNrFk") == "cfnrfk"
    assert normalize_header(" 行政相对人名称 ") == "行政相对人名称"


@pytest.mark.skipif(not PBOC.exists(), reason="real data not available")
def test_resolve_real_pboc_header() -> None:
    df = pl.read_csv(PBOC, infer_schema_length=0)
    profile = load_profile("pboc_payment_penalties")
    res = profile.resolve(df.columns)
    assert res["subject_name"] == "处罚企业名称"
    assert res["doc_number"] == "处罚决定书文号（如适用）"
    assert res["fine_amount"] == "处罚金额（万元）（如适用）"
    assert res["decided_on"] == "处罚日期（如适用）"
    assert res["content"] == "处罚措施（如适用）"
    assert res.missing_required == []
    assert "序号" in res.unknown and "处罚地域" in res.unknown
    assert profile.units["fine_amount"] == "wan_yuan"
    assert "不适用" in profile.null_values
    canon = df.select([pl.col(v).alias(k) for k, v in res.items()])
    kinds = canon.select(profile.derive["penalty_kinds"].expr(pl.col("content"))).to_series()
    assert kinds[0] == "警告;没收违法所得;罚款"  # 给予警告，没收违法所得…并处罚款…
    assert kinds.null_count() == 0
    ids = canon.select(source_record_id_expr(profile.source_record_id)).to_series()
    assert ids.drop_nulls().n_unique() > 1100  # one 文号 covers several violations
    assert ids.str.len_chars().max() <= 128


def test_resolve_chinese_dual_publicity_header() -> None:
    header = [
        "行政相对人名称", "行政相对人类别", "行政相对人代码_1（统一社会信用代码）", "法定代表人",
        "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容",
        "罚款金额（万元）", "没收违法所得、没收非法财物的金额（万元）", "暂扣或吊销证照名称及编号",
        "处罚决定日期", "处罚有效期", "公示截止期", "处罚机关", "处罚机关统一社会信用代码",
        "数据来源单位", "数据来源单位统一社会信用代码", "备注", "内部序号",
    ]  # fmt: skip
    res = load_profile("dual_publicity_penalty").resolve(header)
    assert res["uscc"] == "行政相对人代码_1（统一社会信用代码）"
    assert res["fine_amount"] == "罚款金额（万元）"
    assert res["confiscated_amount"].startswith("没收违法所得")
    assert res["publicity_until"] == "公示截止期"
    assert res.missing_required == []
    assert res.unknown == ["内部序号"]


@pytest.mark.parametrize("upper", [False, True])
def test_resolve_cf_coded_header(upper: bool) -> None:
    header = ["cf_xdr_mc", "cf_xdr_shxym", "cf_wsh", "cf_wfxw", "cf_sy", "cf_yj", "cf_cflb",
              "cf_nr", "cf_nr_fk", "cf_jdrq", "cf_gsjzq", "cf_cfjg", "cf_sjly", "bz"]  # fmt: skip
    if upper:
        header = [h.upper() for h in header]
    res = load_profile("dual_publicity_penalty").resolve(header)
    assert res["subject_name"] == header[0]
    assert res["fine_amount"] == header[8]
    assert res["decided_on"] == header[9]
    assert res.missing_required == []
    assert res.unknown == []


def test_resolve_license_camel_case() -> None:
    header = ["xkXdrMc", "xkXdrShxym", "xkXkws", "xkWsh", "xkXklb", "xkNr", "xkJdrq", "xkYxqz",
              "xkYxqzi", "xkXkjg"]  # fmt: skip
    res = load_profile("dual_publicity_license").resolve(header)
    assert res["uscc"] == "xkXdrShxym"
    assert res["valid_until"] == "xkYxqzi"
    assert res.missing_required == []


def test_missing_required_reported() -> None:
    res = load_profile("dual_publicity_penalty").resolve(["行政相对人名称", "处罚决定日期"])
    assert not res.ok
    assert any(m.startswith("doc_number") for m in res.missing_required)
    assert "缺少必填列" in res.message()


def test_first_listed_name_wins() -> None:
    res = load_profile("dual_publicity_penalty").resolve(["cf_xdr_mc", "行政相对人名称"])
    assert res["subject_name"] == "行政相对人名称"


def test_default_profile() -> None:
    rt = load_catalog().type("honor")
    profile = default_profile(rt)
    res = profile.resolve(["荣誉名称", "subject_name", "授予日期", "授予文号"])
    assert res["honor_name"] == "荣誉名称" and res["awarded_on"] == "授予日期"
    assert res.missing_required == []
    assert profile.source_record_id == "{doc_number}/{subject_name}"
    assert (
        default_profile(load_catalog().type("administrative_penalty")).source_record_id
        == "{doc_number}"
    )


def test_render_source_record_id() -> None:
    tpl = "{doc_number}/{subject_name}#{facts:4}"
    assert (
        render_source_record_id(
            tpl,
            {"doc_number": "罚〔2020〕1号", "subject_name": "某 公司", "facts": "未按规定 落实"},
        )
        == "罚〔2020〕1号/某公司#未按规定"
    )
    with pytest.raises(ProfileError) as exc:
        render_source_record_id(tpl, {"doc_number": "x", "subject_name": "", "facts": "y"})
    assert exc.value.code == "PROFILE_ID_FIELD_EMPTY"


def test_unknown_profile() -> None:
    with pytest.raises(ProfileError) as exc:
        load_profile("nope")
    assert exc.value.code == "PROFILE_UNKNOWN"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("name: bad\nlabel: x\nrecord_type: nope\n", "PROFILE_RECORD_TYPE"),
        (
            "name: bad\nlabel: x\nrecord_type: honor\ncolumns: {nope: [a]}\n",
            "PROFILE_UNKNOWN_FIELD",
        ),
        ("name: bad\nlabel: x\nrecord_type: honor\nunits: {honor_name: yuan}\n", "PROFILE_UNIT"),
        (
            "name: bad\nlabel: x\nrecord_type: utility_arrears\nunits: {amount: dollars}\n",
            "PROFILE_UNIT",
        ),
        (
            "name: bad\nlabel: x\nrecord_type: honor\nsource_record_id: '{nope}'\n",
            "PROFILE_UNKNOWN_FIELD",
        ),
        ("name: other\nlabel: x\nrecord_type: honor\n", "PROFILE_NAME"),
        ("name: bad\nlabel: x\nrecord_type: honor\ncolums: {}\n", "PROFILE_KEY"),
    ],
)
def test_broken_profiles(tmp_path: Path, body: str, code: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ProfileError) as exc:
        load_profile_file(path)
    assert exc.value.code == code

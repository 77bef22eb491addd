"""Reading the real 2019 registrations file into subject rows."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import polars as pl
import pytest

from xinyong.subjects.registrations import REJECTED_COLUMNS, SUBJECT_COLUMNS, read_registrations

REAL = Path("/work/shared/realdata/enterprises-2019.csv.gz")


@pytest.fixture(scope="module")
def loaded() -> tuple[pl.DataFrame, pl.DataFrame]:
    start = time.perf_counter()
    result = read_registrations(REAL)
    print(f"read_registrations: {time.perf_counter() - start:.2f} s")
    return result


def test_shape_and_types(loaded: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    subjects, rejected = loaded
    assert subjects.height == 164_586
    assert subjects.columns == SUBJECT_COLUMNS
    assert rejected.columns == REJECTED_COLUMNS and rejected.height == 0
    assert subjects["uscc"].is_unique().all()
    assert subjects["established_on"].dtype == pl.Date
    assert subjects["registered_capital_fen"].dtype == pl.Int64
    assert subjects["established_on"].null_count() == 0
    assert set(subjects["uscc_status"].unique()) == {"verified"}
    assert set(subjects["kind"].unique()) <= {
        "legal_person",
        "unincorporated",
        "individual_business",
    }
    assert subjects["region_code"].null_count() == 0  # every row has at least a province
    assert subjects["province"].null_count() == 0
    assert set(subjects["status"].unique()) == {"active"}
    assert set(subjects["source"].unique()) == {"registrations-2019"}
    assert subjects["size_class"].null_count() == subjects.height
    assert (subjects["enterprise_type"] == "N/A").sum() == 0


def test_known_rows(loaded: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    subjects, _ = loaded
    row = subjects.filter(pl.col("uscc") == "91310117MA1J3AJ43G").row(0, named=True)
    assert row["region_code"] == "310117" and row["city"] == "松江区"
    assert row["province"] == "上海市"
    assert row["registered_capital_fen"] == 1_000_000_000 and row["capital_currency"] == "CNY"
    partnership = subjects.filter(pl.col("uscc") == "91310114MA1GW3GC65").row(0, named=True)
    assert partnership["kind"] == "unincorporated"
    assert partnership["name_norm"] == "上海也兴网络科技合伙企业(有限合伙)"
    # A shifted source row: type and capital recovered from the neighbouring columns.
    shifted = subjects.filter(pl.col("uscc") == "91330782MA2E917BXE").row(0, named=True)
    assert shifted["enterprise_type"] == "有限责任公司 外商投资企业"
    assert (shifted["registered_capital_fen"], shifted["capital_currency"]) == (10_000_000, "USD")
    assert shifted["region_code"] == "330000"
    kinds = subjects.group_by("kind").len()
    print(dict(kinds.iter_rows()))
    assert (
        subjects.filter(pl.col("uscc").str.starts_with("92"))["kind"]
        .eq("individual_business")
        .all()
    )


def test_rejected_rows(tmp_path: Path) -> None:
    header = (
        "企业名称,统一社会信用代码,注册日期,企业类型,注册资金,经营范围,所在省份,地区,注册地址\n"
    )
    rows = [
        "甲公司,914403001922038216,2019-01-02,有限责任公司,100万元人民币,餐饮服务,广东,深圳,深圳市\n",
        "乙公司,9144030019220382,2019-01-02,N/A,N/A,销售,广东,深圳,深圳市\n",
        "丙公司,91350100M0001TGQXM,2019-01-02,分公司,N/A,销售,福建,福州,福州市\n",
        "丁公司,914403001922038216,2019-01-03,N/A,N/A,销售,广东,深圳,深圳市\n",
    ]
    path = tmp_path / "r.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(header + "".join(rows))
    subjects, rejected = read_registrations(path)
    assert subjects["uscc_status"].to_list() == ["verified", "unverified"]
    assert subjects["kind"].to_list() == ["legal_person", "unincorporated"]
    assert rejected.rows() == [
        (2, "统一社会信用代码", "USCC_LENGTH", "统一社会信用代码应为18位"),
        (4, "统一社会信用代码", "USCC_DUPLICATE", "统一社会信用代码重复，已保留首次出现的记录"),
    ]

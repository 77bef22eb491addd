"""Business registration files (企业注册登记信息) → subject rows ready for a bulk load.

Reads the layout of shared/realdata/enterprises-2019.csv.gz (企业名称, 统一社会信用代码,
注册日期, 企业类型, 注册资金, 经营范围, 所在省份, 地区, 注册地址). Everything is column-wise;
the whole 164,586-row file takes 2–3 s.

Subject kind (GB 32100 category code + 企业类型 + name):
  - category 92, or 企业类型 个体工商户/个体户 → individual_business;
  - 企业类型 or name naming a partnership (合伙), a sole proprietorship (个人独资), a branch
    (分公司, 分支机构, 分店, 分厂) or an unincorporated unit (非法人) → unincorporated: under the
    Civil Code (arts. 102–104) these are 非法人组织, and branches have no legal personality
    (Company Law art. 14 of 2018);
  - everything else (companies, 93 农民专业合作社, state-owned and collective enterprises,
    the rare 51/52 social organisations) → legal_person.
size_class stays null: the SME size rule (工信部联企业〔2011〕300号) needs employees and
revenue, which the file does not have; capital is not a criterion.

Misaligned rows: a few source rows carry an extra column (a legal representative's name that
contained a comma), which shifts 企业类型 into 注册资金 and so on. They are recognised by a
所在省份 that is no province; their type is then read from 所在省份, their capital from 企业类型
when it parses, and their province from the code's region digits.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from xinyong.subjects.capital import parse_capital_series
from xinyong.subjects.industry import derive_industry_series
from xinyong.subjects.names import normalize_name_expr
from xinyong.subjects.regions import load_regions, region_codes
from xinyong.subjects.uscc import MESSAGES, check_uscc_series

SOURCE = "registrations-2019"
_NULL_MARKERS = ["", "N/A", "NA", "-", "null"]
_COLUMNS = {
    "企业名称": "name_raw",
    "统一社会信用代码": "uscc_raw",
    "注册日期": "date_raw",
    "企业类型": "type_raw",
    "注册资金": "capital_col",
    "经营范围": "scope_raw",
    "所在省份": "province_raw",
    "地区": "area_raw",
    "注册地址": "address_raw",
}
_UNINCORPORATED = r"合伙|个人独资|分公司|分支机构|非法人|分店|分厂"
_INDIVIDUAL_TYPES = ["个体工商户", "个体户"]

SUBJECT_COLUMNS = [
    "uscc",
    "uscc_status",
    "kind",
    "name",
    "name_norm",
    "enterprise_type",
    "industry_section",
    "industry_division",
    "industry_source",
    "region_code",
    "province",
    "city",
    "registered_capital_fen",
    "capital_currency",
    "capital_raw",
    "established_on",
    "status",
    "address",
    "business_scope",
    "size_class",
    "source",
]
REJECTED_COLUMNS = ["row_number", "field", "code", "message"]


def _text(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return pl.when(value.is_in(_NULL_MARKERS)).then(pl.lit(None, dtype=pl.String)).otherwise(value)


def read_registrations(path: str | Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(subjects, rejected). Rejected rows have an invalid or repeated USCC.

    rejected: row_number (1-based data row, header excluded), field, code, message (Chinese).
    """
    raw = (
        pl.read_csv(path, infer_schema=False, columns=list(_COLUMNS))
        .rename(_COLUMNS)
        .with_row_index("row_number", offset=1)
    )
    regions = load_regions()
    names = dict(regions.select("code", "name").iter_rows())
    levels = dict(regions.select("code", "level").iter_rows())

    checked = check_uscc_series(raw["uscc_raw"])
    frame = raw.with_columns(
        uscc=checked["code"], uscc_status=checked["status"], uscc_error=checked["error_code"]
    ).with_columns(
        duplicate=pl.col("uscc").is_duplicated() & ~pl.col("uscc").is_first_distinct(),
    )

    rejected = (
        pl.concat(
            [
                frame.filter(pl.col("uscc_status") == "invalid").select(
                    "row_number", code="uscc_error"
                ),
                frame.filter((pl.col("uscc_status") != "invalid") & pl.col("duplicate")).select(
                    "row_number", code=pl.lit("USCC_DUPLICATE")
                ),
            ]
        )
        .select(
            pl.col("row_number").cast(pl.Int64),
            field=pl.lit("统一社会信用代码"),
            code="code",
            message=pl.col("code").replace_strict(
                {**MESSAGES, "USCC_DUPLICATE": "统一社会信用代码重复，已保留首次出现的记录"},
                default="统一社会信用代码无效",
                return_dtype=pl.String,
            ),
        )
        .sort("row_number")
    )

    frame = frame.filter((pl.col("uscc_status") != "invalid") & ~pl.col("duplicate"))
    region = region_codes(frame["province_raw"], frame["area_raw"])
    capital_direct = parse_capital_series(frame["capital_col"])
    capital_shifted = parse_capital_series(frame["type_raw"])
    frame = frame.with_columns(
        region_code=region,
        misaligned=region.is_null(),
        fen_direct=capital_direct["fen"],
        cur_direct=capital_direct["currency"],
        fen_shifted=capital_shifted["fen"],
        cur_shifted=capital_shifted["currency"],
    )
    uscc_province = pl.col("uscc").str.slice(2, 2) + "0000"
    frame = frame.with_columns(
        region_code=pl.when(pl.col("misaligned") & uscc_province.is_in(list(names)))
        .then(uscc_province)
        .otherwise(pl.col("region_code")),
        enterprise_type=pl.when(pl.col("misaligned"))
        .then(_text("province_raw"))
        .otherwise(_text("type_raw")),
        capital_raw=pl.when(pl.col("misaligned") & pl.col("fen_shifted").is_not_null())
        .then(_text("type_raw"))
        .when(pl.col("misaligned"))
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(_text("capital_col")),
        registered_capital_fen=pl.when(pl.col("misaligned"))
        .then(pl.col("fen_shifted"))
        .otherwise(pl.col("fen_direct")),
        capital_currency=pl.when(pl.col("misaligned"))
        .then(pl.col("cur_shifted"))
        .otherwise(pl.col("cur_direct")),
    )

    industry = derive_industry_series(frame["scope_raw"])
    name = pl.col("name_raw").str.strip_chars()
    kind = (
        pl.when(
            (pl.col("uscc").str.slice(0, 2) == "92")
            | pl.col("enterprise_type").is_in(_INDIVIDUAL_TYPES)
        )
        .then(pl.lit("individual_business"))
        .when(
            pl.col("enterprise_type").str.contains(_UNINCORPORATED).fill_null(False)
            | name.str.contains(_UNINCORPORATED)
        )
        .then(pl.lit("unincorporated"))
        .otherwise(pl.lit("legal_person"))
    )
    subjects = frame.with_columns(
        industry_section=industry["section"], industry_division=industry["division"]
    ).select(
        "uscc",
        "uscc_status",
        kind=kind,
        name=name,
        name_norm=normalize_name_expr(name),
        enterprise_type="enterprise_type",
        industry_section="industry_section",
        industry_division="industry_division",
        industry_source=pl.when(pl.col("industry_section").is_not_null()).then(pl.lit("keyword")),
        region_code="region_code",
        province=(pl.col("region_code").str.slice(0, 2) + "0000").replace_strict(
            names, default=None, return_dtype=pl.String
        ),
        city=pl.when(
            pl.col("region_code").replace_strict(levels, default=None, return_dtype=pl.String)
            != "province"
        ).then(pl.col("region_code").replace_strict(names, default=None, return_dtype=pl.String)),
        registered_capital_fen="registered_capital_fen",
        capital_currency="capital_currency",
        capital_raw="capital_raw",
        established_on=pl.col("date_raw").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        status=pl.lit("active"),
        address=_text("address_raw"),
        business_scope=_text("scope_raw"),
        size_class=pl.lit(None, dtype=pl.String),
        source=pl.lit(SOURCE),
    )
    return subjects, rejected

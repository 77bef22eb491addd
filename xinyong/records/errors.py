"""Typed ingest errors: a stable code for machines and a Chinese sentence for people."""

from __future__ import annotations

from xinyong.core.errors import DomainError


class IngestError(DomainError):
    """Raised for a problem with the whole input (unreadable file, unknown type, bad profile).

    Row-level problems are never raised: they are collected as ``RowError`` rows.
    """


class RecordError(DomainError):
    """A state change of one record that cannot be made (unknown record or status, a record
    already superseded by a correction, …)."""


# Stable error codes of row validation, with the Chinese sentence template for each.
ROW_ERRORS: dict[str, str] = {
    "FIELD_REQUIRED": "必填字段「{label}」为空，请补全后重新报送",
    "DATE_INVALID": "「{label}」的值「{value}」不是有效日期，可用格式如 2022-09-09、2022/9/9、20220909、2022年9月9日",
    "DATE_FUTURE": "「{label}」的值「{value}」晚于今天，请核对",
    "MONEY_INVALID": "「{label}」的值「{value}」不是有效金额",
    "MONEY_NEGATIVE": "「{label}」的值「{value}」为负数",
    "MONEY_PRECISION": "「{label}」的值「{value}」精度超过分，请核对单位",
    "INTEGER_INVALID": "「{label}」的值「{value}」不是整数",
    "DECIMAL_INVALID": "「{label}」的值「{value}」不是数字",
    "BOOLEAN_INVALID": "「{label}」的值「{value}」应为 是/否",
    "ENUM_INVALID": "「{label}」的值「{value}」不在允许的取值内（{allowed}）",
    "USCC_LENGTH": "「{label}」的值「{value}」长度不是18位",
    "USCC_CHARSET": "「{label}」的值「{value}」含有统一社会信用代码不允许的字符（不使用 I、O、S、V、Z）",
    "USCC_REGION": "「{label}」的值「{value}」第3至8位行政区划码不是数字",
    "ID_NUMBER_INVALID": "「{label}」格式不正确（身份证号码已隐去）",
    "TEXT_TOO_LONG": "「{label}」超过 {limit} 个字符",
    "DUPLICATE_IN_BATCH": "本批次中第 {other} 行已报送同一记录（记录标识「{value}」），本行未导入",
    "SUBJECT_IDENTIFIER_MISSING": "缺少主体名称或统一社会信用代码，无法确定信用主体",
}


def row_message(code: str, **params: object) -> str:
    template = ROW_ERRORS.get(code, code)
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template

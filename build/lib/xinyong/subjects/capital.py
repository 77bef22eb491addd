"""Registered capital (注册资本/注册资金) free text → exact amount in fen plus ISO 4217 currency.

Forms seen in the 2019 registrations file (164,586 rows; digits shown as 9):
    9万元人民币 · 9万人民币 · 9(万) · 9(万元人民币) · 9(万元) · 9,9(万元) · 9(万人民币元)
    9（万元） · 9.9万元人民币 · 9万美元 · 9(万美元) · 9(万香港元) · 9万港元 · 9(万港币)
    9万欧元 · 9万日元 · 9,9(万美) · N/A · - · 万人民币 (no amount).
A bare 万 or 元 means 人民币: SAMR registration notices state capital in 万元 unless a foreign
currency is named. Amounts are exact: Decimal in the scalar path, integer arithmetic in the
batch path (never float). Digits finer than a fen are rounded half-up after the 11th decimal
place is dropped — neither ever occurs in real data, but both paths agree on it.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

# Fen per unit written after the amount: 1 元 = 100 分, 万 = 10^4 元, 亿 = 10^8 元.
_FEN_PER_UNIT: dict[str, int] = {"": 100, "万": 1_000_000, "亿": 10_000_000_000}
_FRACTION_DIGITS = 11  # enough for every unit: 亿 needs 10 decimals to reach a fen
_MAX_FEN = 2**63 - 1

# Ordered: the first pattern found in the currency words wins, so the specific foreign names
# come before the bare 元 that most of them contain. ISO 4217 codes.
CURRENCY_RULES: tuple[tuple[str, str], ...] = (
    ("美", "USD"),
    ("港", "HKD"),
    ("澳门|葡币", "MOP"),
    ("澳", "AUD"),
    ("欧", "EUR"),
    ("日", "JPY"),
    ("英镑", "GBP"),
    ("新加坡|新元", "SGD"),
    ("加拿大|加元", "CAD"),
    ("瑞士|法郎", "CHF"),
    ("韩", "KRW"),
    ("台", "TWD"),
    ("^(人民币)?(元)?(人民币)?$", "CNY"),
)

# After NFKC: thousands separators and whitespace go; parentheses only wrap the unit.
# Explicit whitespace list: Python's and Rust's `\s` differ on a few control characters.
_NOISE = "[\t\n\x0b\x0c\r \u3000,()]"
_SHAPE = r"^([0-9]+)(?:\.([0-9]+))?(亿|万)?(.*)$"
_SHAPE_RE = re.compile(_SHAPE)


def _clean(text: str) -> str:
    return re.sub(_NOISE, "", unicodedata.normalize("NFKC", text))


def currency_of(words: str) -> str | None:
    """ISO 4217 code for the currency words after the amount ("万美元" → USD), None if unknown."""
    for pattern, code in CURRENCY_RULES:
        if re.search(pattern, words):
            return code
    return None


def parse_capital(text: str | None) -> tuple[int | None, str | None]:
    """(fen, currency) for one capital text; (None, None) when it has no readable amount."""
    if text is None:
        return None, None
    match = _SHAPE_RE.match(_clean(text))
    if match is None:
        return None, None
    whole, fraction, unit, words = match.groups()
    currency = currency_of(words)
    if currency is None:
        return None, None
    amount = Decimal(f"{whole}.{(fraction or '')[:_FRACTION_DIGITS] or '0'}")
    fen = int((amount * _FEN_PER_UNIT[unit or ""]).to_integral_value(rounding=ROUND_HALF_UP))
    if fen > _MAX_FEN:
        return None, None
    return fen, currency


def _currency_expr(words: pl.Expr) -> pl.Expr:
    currency = pl.lit(None, dtype=pl.String)
    for pattern, code in reversed(CURRENCY_RULES):
        currency = pl.when(words.str.contains(pattern)).then(pl.lit(code)).otherwise(currency)
    return currency


def parse_capital_series(s: pl.Series) -> pl.DataFrame:
    """Vectorised `parse_capital`: DataFrame(fen Int64, currency String); nulls when unreadable.

    Built in stages (each column materialised once): a single nested expression made Polars
    re-evaluate the shared parts and took 1 s instead of 0.05 s on the 164,586-row file.
    """
    cleaned = pl.col("raw").str.normalize("NFKC").str.replace_all(_NOISE, "")
    frame = (
        s.cast(pl.String)
        .to_frame("raw")
        .select(parts=cleaned.str.extract_groups(_SHAPE))
        .unnest("parts")
        .rename({"1": "whole", "2": "fraction", "3": "unit", "4": "words"})
        .with_columns(
            currency=_currency_expr(pl.col("words")),
            fen_per_unit=pl.col("unit")
            .fill_null("")
            .replace_strict(_FEN_PER_UNIT, return_dtype=pl.Int64),
            fraction_scaled=pl.col("fraction")
            .fill_null("")
            .str.slice(0, _FRACTION_DIGITS)
            .str.pad_end(_FRACTION_DIGITS, "0")
            .cast(pl.Int64),
            # More than 18 digits cannot be an Int64 anyway.
            whole_int=pl.when(pl.col("whole").str.len_chars() <= 18).then(
                pl.col("whole").cast(pl.Int64, strict=False)
            ),
        )
        # fraction × fen_per_unit / 10^11, rounded half-up; 10^11 / fen_per_unit is an integer.
        .with_columns(step=pl.lit(10**_FRACTION_DIGITS, dtype=pl.Int64) // pl.col("fen_per_unit"))
        .with_columns(
            fraction_fen=(pl.col("fraction_scaled") + pl.col("step") // 2) // pl.col("step")
        )
        .with_columns(
            # The bound check keeps the product from overflowing Int64.
            fits=pl.col("whole_int")
            <= (pl.lit(_MAX_FEN, dtype=pl.Int64) - pl.col("fraction_fen")) // pl.col("fen_per_unit")
        )
        .select(
            fen=pl.when(pl.col("currency").is_not_null() & pl.col("fits")).then(
                pl.col("whole_int") * pl.col("fen_per_unit") + pl.col("fraction_fen")
            ),
            currency="currency",
        )
    )
    return frame.with_columns(currency=pl.when(pl.col("fen").is_not_null()).then("currency"))

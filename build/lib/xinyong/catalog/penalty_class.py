"""失信程度 of administrative penalties: 轻微 / 一般 / 严重 (minor / general / serious).

The department's own class wins; otherwise ordered rules from ``data/penalty_class.yaml``
decide. Everything is a Polars expression over whole columns, so classing a million penalties
is one pass (see ``compute_publicity``).

Output spelling: ``penalty_class`` is always the English code (minor/general/serious) or null;
``class_source`` is ``department`` or ``rule``; ``class_reason`` is a Chinese sentence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from xinyong.catalog.types import CatalogError

DATA_FILE = Path(__file__).resolve().parent / "data" / "penalty_class.yaml"
CLASSES = ("minor", "general", "serious")

# Separators departments put between several 处罚类别 ("警告;罚款", "罚款、没收违法所得").
KIND_SEPARATORS = r"[;；,，、/|\s]+"


@dataclass(frozen=True)
class ClassRule:
    id: str
    penalty_class: str
    reason: str
    kinds_any: tuple[str, ...] = ()
    kinds_only: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    fine_at_least: int | None = None  # fen


@dataclass(frozen=True)
class ClassRules:
    reference: str
    department_values: dict[str, str]
    labels: dict[str, str]
    rules: tuple[ClassRule, ...]


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def parse_class_rules(raw: dict[str, Any], where: str = "penalty_class.yaml") -> ClassRules:
    rules: list[ClassRule] = []
    for i, r in enumerate(raw.get("rules") or [], start=1):
        cls = r.get("class")
        if cls not in CLASSES:
            raise CatalogError("PENALTY_CLASS_RULE", f"{where}：第{i}条规则的 class“{cls}”无效")
        if not r.get("reason"):
            raise CatalogError("PENALTY_CLASS_RULE", f"{where}：第{i}条规则缺少中文理由（reason）")
        rules.append(
            ClassRule(
                id=str(r.get("id") or f"rule{i}"),
                penalty_class=cls,
                reason=str(r["reason"]),
                kinds_any=tuple(r.get("kinds_any") or ()),
                kinds_only=tuple(r.get("kinds_only") or ()),
                procedures=tuple(r.get("procedures") or ()),
                fine_at_least=r.get("fine_at_least"),
            )
        )
    if not rules or any(
        r.kinds_any or r.kinds_only or r.procedures or r.fine_at_least is not None
        for r in rules[-1:]
    ):
        raise CatalogError("PENALTY_CLASS_RULE", f"{where}：最后一条规则须无条件（兜底分类）")
    dept = {_norm(str(k)): str(v) for k, v in (raw.get("department_values") or {}).items()}
    bad = sorted(v for v in dept.values() if v not in CLASSES)
    if bad:
        raise CatalogError("PENALTY_CLASS_RULE", f"{where}：department_values 含无效分类 {bad}")
    return ClassRules(
        reference=str(raw.get("reference") or ""),
        department_values=dept,
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        rules=tuple(rules),
    )


@lru_cache(maxsize=1)
def load_class_rules() -> ClassRules:
    with DATA_FILE.open(encoding="utf-8") as fh:
        return parse_class_rules(yaml.safe_load(fh))


def _alternation(words: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(w) for w in words)


def kinds_any(kinds: pl.Expr, words: tuple[str, ...] | list[str]) -> pl.Expr:
    """True where the kinds text mentions any of ``words`` (null kinds -> False)."""
    return kinds.str.contains(_alternation(words)).fill_null(False)


def kinds_only(kinds: pl.Expr, words: tuple[str, ...] | list[str]) -> pl.Expr:
    """True where the kinds text is made only of ``words`` and separators, and not empty.

    "警告；通报批评" is only-warnings; "警告并处罚款" is not (conservative: unknown words count).
    """
    rest = kinds.str.replace_all(_alternation(words), "").str.replace_all(KIND_SEPARATORS, "")
    present = kinds.str.replace_all(KIND_SEPARATORS, "").str.len_chars() > 0
    return (present & (rest.str.len_chars() == 0)).fill_null(False)


def _rule_condition(rule: ClassRule, kinds: pl.Expr, procedure: pl.Expr, fine: pl.Expr) -> pl.Expr:
    cond = pl.lit(True)
    if rule.kinds_any:
        cond = cond & kinds_any(kinds, rule.kinds_any)
    if rule.kinds_only:
        cond = cond & kinds_only(kinds, rule.kinds_only)
    if rule.procedures:
        cond = cond & procedure.is_in(list(rule.procedures)).fill_null(False)
    if rule.fine_at_least is not None:
        cond = cond & (fine >= rule.fine_at_least).fill_null(False)
    return cond


def _rule_reason(rule: ClassRule, kinds: pl.Expr) -> pl.Expr:
    if "{match}" in rule.reason and rule.kinds_any:
        before, after = rule.reason.split("{match}", 1)
        matched = kinds.str.extract(f"({_alternation(rule.kinds_any)})", 1)
        return pl.concat_str([pl.lit(before), matched, pl.lit(after)])
    return pl.lit(rule.reason)


def normalize_procedure(procedure: pl.Expr) -> pl.Expr:
    """简易程序/普通程序 (or codes) -> simple/ordinary; anything else -> null."""
    p = procedure.str.strip_chars().str.to_lowercase()
    return (
        pl.when(p.is_in(["simple", "简易程序", "简易"]))
        .then(pl.lit("simple"))
        .when(p.is_in(["ordinary", "普通程序", "一般程序", "普通"]))
        .then(pl.lit("ordinary"))
        .otherwise(pl.lit(None, pl.String))
    )


def department_class(raw: pl.Expr, rules: ClassRules | None = None) -> pl.Expr:
    """The department's class as a code, or null when absent or not recognised."""
    rules = rules or load_class_rules()
    # NFKC is not available as a Polars expression; the spellings in use are plain text, so
    # trimming and lower-casing cover them.
    key = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
    return key.replace_strict(rules.department_values, default=None, return_dtype=pl.String)


def class_exprs(
    kinds: pl.Expr,
    procedure: pl.Expr,
    fine: pl.Expr,
    given: pl.Expr,
    rules: ClassRules | None = None,
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(penalty_class, class_source, class_reason) expressions.

    ``procedure`` must already be normalised (simple/ordinary); ``fine`` is in fen.
    """
    rules = rules or load_class_rules()
    dept = department_class(given, rules)
    cls: Any = pl.when(dept.is_not_null()).then(dept)
    reason: Any = pl.when(dept.is_not_null()).then(
        pl.concat_str(
            [
                pl.lit("数据来源单位认定为"),
                dept.replace_strict(rules.labels, default=dept, return_dtype=pl.String),
            ]
        )
    )
    for rule in rules.rules:
        cond = _rule_condition(rule, kinds, procedure, fine)
        cls = cls.when(cond).then(pl.lit(rule.penalty_class))
        reason = reason.when(cond).then(_rule_reason(rule, kinds))
    source = pl.when(dept.is_not_null()).then(pl.lit("department")).otherwise(pl.lit("rule"))
    return cls.otherwise(pl.lit(None, pl.String)), source, reason.otherwise(pl.lit(None, pl.String))


def classify(df: pl.DataFrame) -> pl.DataFrame:
    """Add penalty_class, class_source, class_reason to a frame of penalties.

    Input columns used when present: penalty_kinds, procedure, fine_amount (fen),
    penalty_class (the department's, any spelling).
    """

    def col(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name).cast(dtype) if name in df.columns else pl.lit(None, dtype)

    cls, source, reason = class_exprs(
        col("penalty_kinds", pl.String()),
        normalize_procedure(col("procedure", pl.String())),
        col("fine_amount", pl.Int64()),
        col("penalty_class", pl.String()),
    )
    return df.with_columns(
        cls.alias("penalty_class"), source.alias("class_source"), reason.alias("class_reason")
    )

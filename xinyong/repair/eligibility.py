"""Which negative records may be repaired, from when, and with what — computed from the rules
in ``data/rules.yaml`` over whole frames of records.

The minimum period of a penalty (and of other negative information) is not repeated here: it is
the catalog's ``min_publicity_until`` (``catalog.publicity.compute_publicity``), recomputed over
the records' stored payload, because the platform does not store it on ``credit_record``. Lists
(严重失信主体名单, 经营异常名录) take their minimum from the repair rules, dated by the listing
date. The same function serves one subject's page (a handful of rows) and the repair notices of
an ingest batch (up to a million rows): nothing here loops over records in Python.

Output per record (``repair_dates``): ``rule_id``, ``repairable_from`` and ``block`` — null when
the rules allow repair once the date has come, else a stable code saying why never (court
lists, 527号's 特定严重失信行为, a SAMR warning, a record that is not published, a period that
ends by itself no later than repair could end it). What changes from day to day (today's date,
the record's status, open applications, local limits) is applied by ``service.eligibility``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from xinyong.catalog.loader import load_catalog
from xinyong.catalog.publicity import add_months, compute_publicity
from xinyong.core.errors import DomainError

DATA_DIR = Path(__file__).resolve().parent / "data"

# Never-repairable codes the frame computation gives (the rules' own codes come from the data).
NOT_REPAIRABLE = "REPAIR_NOT_REPAIRABLE"
NOT_PUBLISHED = "REPAIR_NOT_PUBLISHED"
ENDS_BY_ITSELF = "REPAIR_ENDS_BY_ITSELF"
NO_RULE = "REPAIR_NO_RULE"

# The payload fields compute_publicity and the keyword rules read (the rest is not decoded).
_DATA_FIELDS: dict[str, pl.DataType] = {
    "penalty_kinds": pl.String(),
    "procedure": pl.String(),
    "fine_amount": pl.Int64(),
    "restriction_until": pl.String(),
    "authority": pl.String(),
    "subject_kind": pl.String(),
    "market_regulation": pl.Boolean(),
    "publicity_until": pl.String(),
    "violation_type": pl.String(),
    "basis": pl.String(),
    "facts": pl.String(),
    "content": pl.String(),
}
_TEXT_FIELDS = ("violation_type", "basis", "facts", "content", "penalty_kinds", "authority")

# The frame a caller passes in.
INPUT_SCHEMA: dict[str, pl.DataType] = {
    "subject_id": pl.Int64(),
    "record_id": pl.Int64(),
    "record_type": pl.String(),
    "decided_on": pl.Date(),
    "penalty_class": pl.String(),
    "publicity_until": pl.Date(),
    "publicity_rule": pl.String(),
    "data": pl.String(),
}


class RulesError(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__("REPAIR_RULES_INVALID", message, status=500)


# ---------------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Material:
    code: str
    label: str
    hint: str


@dataclass(frozen=True)
class CategoryBlock:
    code: str
    classes: tuple[str, ...]
    keywords: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    record_types: tuple[str, ...]
    handled_by: str
    reference: str
    publicity_rules: tuple[str, ...] = ()
    effective_from: dt.date | None = None
    min_months: int | None = None
    repairable: bool = True
    message: str = ""
    materials: tuple[str, ...] = ()
    class_materials: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_repairable: tuple[CategoryBlock, ...] = ()
    not_repairable_labels: dict[str, str] = field(default_factory=dict)
    blocked_while_listed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "handled_by": self.handled_by,
                "reference": self.reference}


@dataclass(frozen=True)
class StepDeadline:
    working_days: int
    start: str
    reference: str


@dataclass(frozen=True)
class LocalLimits:
    enabled: bool
    min_interval_months: int
    max_count: int
    window_months: int
    reference: str


@dataclass(frozen=True)
class RepairRules:
    version: str
    rules: tuple[Rule, ...]
    materials: dict[str, Material]
    commitment_title: str
    commitment_text: str
    deadlines: dict[str, StepDeadline]
    max_bytes: int
    max_files: int
    file_types: tuple[str, ...]
    limits: LocalLimits

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise RulesError(f"信用修复规则中没有“{rule_id}”")

    def materials_for(self, rule_id: str, penalty_class: str | None) -> list[Material]:
        rule = self.rule(rule_id)
        codes = list(rule.materials) + list(rule.class_materials.get(penalty_class or "", ()))
        return [self.materials[c] for c in dict.fromkeys(codes)]

    def record_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for r in self.rules for t in r.record_types))


def _day(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RulesError(f"{where}：日期“{value}”无效") from None


def parse_rules(raw: dict[str, Any], local: dict[str, Any] | None = None) -> RepairRules:
    materials = {
        code: Material(code, str(m["label"]), str(m.get("hint") or ""))
        for code, m in raw["materials"].items()
    }
    rules = []
    for r in raw["rules"]:
        where = f"repair/rules.yaml {r.get('id')}"
        rule = Rule(
            id=str(r["id"]),
            label=str(r["label"]),
            record_types=tuple(r["record_types"]),
            handled_by=str(r.get("handled_by") or ""),
            reference=str(r["reference"]).strip(),
            publicity_rules=tuple(r.get("publicity_rules") or ()),
            effective_from=_day(r["effective_from"], where) if r.get("effective_from") else None,
            min_months=int(r["min_months"]) if r.get("min_months") is not None else None,
            repairable=bool(r.get("repairable", True)),
            message=str(r.get("message") or ""),
            materials=tuple(r.get("materials") or ()),
            class_materials={k: tuple(v) for k, v in (r.get("class_materials") or {}).items()},
            not_repairable=tuple(
                CategoryBlock(str(b["code"]), tuple(b.get("classes") or ()),
                              tuple(b["keywords"]), str(b["message"]))
                for b in r.get("not_repairable") or ()
            ),
            not_repairable_labels={str(k): str(v)
                                   for k, v in (r.get("not_repairable_labels") or {}).items()},
            blocked_while_listed=tuple(r.get("blocked_while_listed") or ()),
        )
        if rule.repairable and not rule.publicity_rules and rule.min_months is None:
            raise RulesError(f"{where}：名单类规则须给出 min_months")
        if not rule.publicity_rules and rule.effective_from is None:
            raise RulesError(f"{where}：名单类规则须给出 effective_from")
        for code in (*rule.materials, *(c for v in rule.class_materials.values() for c in v)):
            if code not in materials:
                raise RulesError(f"{where}：未定义的材料“{code}”")
        rules.append(rule)
    if len({r.id for r in rules}) != len(rules):
        raise RulesError("repair/rules.yaml：规则编号重复")
    limits_raw = dict(raw.get("local_limits") or {})
    limits_raw.update((local or {}).get("local_limits") or {})
    deadlines = {
        name: StepDeadline(int(d["working_days"]), str(d["from"]), str(d["reference"]))
        for name, d in raw["deadlines"].items()
    }
    for needed in ("acceptance", "department_review", "decision", "completion"):
        if needed not in deadlines:
            raise RulesError(f"repair/rules.yaml：缺少期限 {needed}")
    uploads = raw["uploads"]
    return RepairRules(
        version=str(raw.get("version") or ""),
        rules=tuple(rules),
        materials=materials,
        commitment_title=str(raw["commitment"]["title"]),
        commitment_text=str(raw["commitment"]["text"]),
        deadlines=deadlines,
        max_bytes=int(uploads["max_bytes"]),
        max_files=int(uploads["max_files"]),
        file_types=tuple(uploads["types"]),
        limits=LocalLimits(
            enabled=bool(limits_raw.get("enabled", False)),
            min_interval_months=int(limits_raw.get("min_interval_months", 12)),
            max_count=int(limits_raw.get("max_count", 2)),
            window_months=int(limits_raw.get("window_months", 60)),
            reference=str(limits_raw.get("reference") or ""),
        ),
    )


@lru_cache(maxsize=8)
def load_rules(local: str | None = None, data_dir: Path = DATA_DIR) -> RepairRules:
    """The national rules, with ``data/local/<local>.yaml`` over them when that file exists
    (the same name as the local publicity rules, ``XINYONG_LOCAL_RULES``)."""
    with (data_dir / "rules.yaml").open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    extra = None
    if local:
        path = data_dir / "local" / f"{local}.yaml"
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                extra = yaml.safe_load(fh)
    return parse_rules(raw, extra)


def current_rules() -> RepairRules:
    from xinyong.core.config import get_settings

    return load_rules(get_settings().local_rules or None)


# ---------------------------------------------------------------------------------- the frame


def repair_dates(
    frame: pl.DataFrame, rules: RepairRules, *, local_rules: str | None = None
) -> pl.DataFrame:
    """Add ``rule_id``, ``repairable_from`` (Date) and ``block`` (a code, null when the rules
    allow repair) to a frame with ``INPUT_SCHEMA``'s columns."""
    frame = frame.cast({k: v for k, v in INPUT_SCHEMA.items() if k in frame.columns})  # type: ignore[arg-type]
    if frame.height == 0:
        return frame.with_columns(
            pl.lit(None, pl.String()).alias("rule_id"),
            pl.lit(None, pl.Date()).alias("repairable_from"),
            pl.lit(None, pl.String()).alias("block"),
        )
    decoded = _decode(frame)

    regime = pl.col("publicity_rule").str.split(":").list.first()
    label = pl.col("publicity_rule").str.split(":").list.get(1, null_on_oob=True)
    by_publicity = [r for r in rules.rules if r.publicity_rules]
    by_date = sorted((r for r in rules.rules if not r.publicity_rules),
                     key=lambda r: r.effective_from or dt.date.min, reverse=True)

    choice: Any = None

    def add(cond: pl.Expr, rule_id: str) -> None:
        nonlocal choice
        choice = (pl.when(cond).then(pl.lit(rule_id)) if choice is None
                  else choice.when(cond).then(pl.lit(rule_id)))

    rt = pl.col("record_type")
    for r in by_publicity:
        add(rt.is_in(list(r.record_types)) & regime.is_in(list(r.publicity_rules)), r.id)
    for r in by_date:
        add(rt.is_in(list(r.record_types)) & (pl.col("decided_on") >= pl.lit(r.effective_from)),
            r.id)
    # Listed before the earliest rule: the earliest one (as the publicity rules do).
    earliest: dict[str, str] = {}
    for r in reversed(by_date):
        for t in r.record_types:
            earliest.setdefault(t, r.id)
    for t, rid in earliest.items():
        add(rt == t, rid)
    decoded = decoded.with_columns(
        (choice.otherwise(pl.lit(None, pl.String())) if choice is not None
         else pl.lit(None, pl.String())).alias("rule_id"),
        regime.alias("__regime"),
        label.alias("__label"),
    )

    needs_min = decoded.filter(
        pl.col("rule_id").is_in([r.id for r in by_publicity])
    )
    mins = _minimums(needs_min, local_rules)
    decoded = decoded.join(mins, on="record_id", how="left")

    months = {r.id: r.min_months for r in by_date if r.min_months is not None}
    list_from = add_months(
        pl.col("decided_on"),
        pl.col("rule_id").replace_strict(months, default=None, return_dtype=pl.Int32()),
    )
    is_list_rule = pl.col("rule_id").is_in(list(months))
    decoded = decoded.with_columns(
        pl.when(is_list_rule).then(list_from).otherwise(pl.col("min_publicity_until"))
        .alias("repairable_from")
    )

    text = pl.concat_str([pl.col(c) for c in _TEXT_FIELDS], separator=" ", ignore_nulls=True)
    block: Any = pl.when(pl.col("rule_id").is_null()).then(pl.lit(NO_RULE))
    never = [r.id for r in rules.rules if not r.repairable]
    block = block.when(pl.col("rule_id").is_in(never)).then(pl.lit(NOT_REPAIRABLE))
    block = block.when(
        pl.col("publicity_rule").str.contains("not_published").fill_null(False)
    ).then(pl.lit(NOT_PUBLISHED))
    for r in by_publicity:
        mine = pl.col("rule_id") == r.id
        for lab in r.not_repairable_labels:
            block = block.when(mine & (pl.col("__label") == lab).fill_null(False)).then(
                pl.lit(f"{NOT_REPAIRABLE}:{lab}"))
        for i, cat in enumerate(r.not_repairable):
            cond = mine & text.str.contains("|".join(cat.keywords)).fill_null(False)
            if cat.classes:
                cond = cond & pl.col("penalty_class").is_in(list(cat.classes)).fill_null(False)
            block = block.when(cond).then(pl.lit(f"{cat.code}:{i}"))
    block = block.when(pl.col("repairable_from").is_null()).then(pl.lit(NO_RULE))
    block = block.when(
        (pl.col("publicity_until").is_not_null()
         & (pl.col("repairable_from") >= pl.col("publicity_until"))).fill_null(False)
    ).then(pl.lit(ENDS_BY_ITSELF))
    decoded = decoded.with_columns(block.otherwise(pl.lit(None, pl.String())).alias("block"))
    return decoded.select(*frame.columns, "rule_id", "repairable_from", "block")


def _decode(frame: pl.DataFrame) -> pl.DataFrame:
    """Payload fields as columns; the department's own 公示截止期 (a payload field) is kept
    apart from the stored projection of the same name."""
    fields = dict(_DATA_FIELDS)
    d = pl.col("data").str.json_decode(pl.Struct(fields))
    return frame.with_columns(
        *(d.struct.field(name).alias(name if name != "publicity_until" else "publicity_until_dept")
          for name in fields),
    ).with_columns(
        pl.col("restriction_until").str.to_date(strict=False),
        pl.col("publicity_until_dept").str.to_date(strict=False),
    )


def _minimums(rows: pl.DataFrame, local_rules: str | None) -> pl.DataFrame:
    """``min_publicity_until`` per record, by the catalog's own computation."""
    catalog = load_catalog()
    parts = []
    for (code,), part in rows.group_by(["record_type"], maintain_order=True):
        rtype = catalog.type(str(code))
        date_field = rtype.date_field or "decided_on"
        inputs = part.select(
            "record_id",
            pl.col("decided_on").alias(date_field),
            "penalty_class",
            pl.col("publicity_until_dept").alias("publicity_until"),
            *(c for c in _DATA_FIELDS if c != "publicity_until"),
        )
        out = compute_publicity(inputs, rtype, local_rules=local_rules)
        parts.append(out.select("record_id", "min_publicity_until"))
    if not parts:
        return pl.DataFrame(schema={"record_id": pl.Int64(), "min_publicity_until": pl.Date()})
    return pl.concat(parts)


def block_message(code: str | None, rules: RepairRules, rule_id: str | None,
                  publicity_until: dt.date | None) -> str:
    """The Chinese sentence for a never-repairable code."""
    if code is None:
        return ""
    rule = rules.rule(rule_id) if rule_id else None
    base, _, extra = code.partition(":")
    if code == NOT_REPAIRABLE and rule is not None:
        return rule.message or "该类信息依规不予修复"
    if code == NOT_PUBLISHED:
        return "该记录依规不予公示，不在信用网站展示，无需申请信用修复"
    if code == ENDS_BY_ITSELF:
        until = publicity_until.isoformat() if publicity_until else ""
        return f"该记录的最短公示期与公示期相同，公示期届满（{until}）后自动停止公示，无需申请信用修复"
    if code == NO_RULE:
        return "该类信息没有适用的信用修复规则"
    if base == NOT_REPAIRABLE and rule is not None and extra in rule.not_repairable_labels:
        return rule.not_repairable_labels[extra]
    if rule is not None and extra.isdigit() and int(extra) < len(rule.not_repairable):
        return rule.not_repairable[int(extra)].message
    return "依规不予修复"


def block_code(code: str | None) -> str | None:
    """The stable part of a block code (without the rule-internal suffix)."""
    return None if code is None else code.split(":")[0]

"""Publicity periods (公示期), computed over whole columns from dated rules.

The rules live in ``data/publicity/*.yaml`` (one file per family, named by a record type's
``publicity`` value) and ``data/publicity/local/*.yaml`` (local overrides, off unless asked
for). Each rule set carries the date it took effect and its legal reference; the set applied to
a record is chosen by the record's decision date (``date_field``), because a penalty is shown
under the rule it was decided under — a penalty decided on 2026-03-31 keeps the legacy period
after the 2026-04-01 switch.

Output columns added to the frame:

* ``penalty_class`` / ``class_source`` / ``class_reason`` — penalties only, else null;
* ``publicity_until`` — last day the record is public. Null means "no end" (``always`` types
  and open lists). A record that is never publicised gets its own decision date;
* ``min_publicity_until`` — earliest day publicity may end by credit repair (null when the
  family has no minimum);
* ``publicity_rule`` — id of the rule applied, e.g. ``ndrc-2026:general``; suffixes
  ``+<local>`` (a local override changed a period) and ``+department`` (the department's own
  earlier 公示截止期 was kept).

The department's own 公示截止期 (input ``publicity_until``): kept when it is earlier than the
rule's maximum (the department may publish for less), capped at the maximum when later (the
platform must take a record down at the maximum, 527号/36号令), and never before the decision
date. For a class that is not published by default (轻微 from 2026-04-01), a department date
means "publish anyway", which the rule allows for at most ``max_months``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from xinyong.catalog.penalty_class import (
    CLASSES,
    class_exprs,
    kinds_any,
    kinds_only,
    normalize_procedure,
)
from xinyong.catalog.types import CatalogError, RecordType

DATA_DIR = Path(__file__).resolve().parent / "data" / "publicity"
NEVER = dt.date(1970, 1, 1)  # publicity_until for "never shown" records without a date

# Columns the computation reads, with their types; absent ones count as null.
INPUT_TYPES: dict[str, pl.DataType] = {
    "decided_on": pl.Date(),
    "penalty_kinds": pl.String(),
    "procedure": pl.String(),
    "fine_amount": pl.Int64(),
    "penalty_class": pl.String(),
    "publicity_until": pl.Date(),
    "valid_until": pl.Date(),
    "restriction_until": pl.Date(),
    "authority": pl.String(),
    "subject_kind": pl.String(),
    "market_regulation": pl.Boolean(),
}
OUTPUT_COLUMNS = (
    "penalty_class",
    "class_source",
    "class_reason",
    "publicity_until",
    "min_publicity_until",
    "publicity_rule",
)


# ---------------------------------------------------------------------------------------------
# Rule data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassPeriod:
    published: bool
    min_months: int
    max_months: int


@dataclass(frozen=True)
class NdrcRuleSet:
    id: str
    effective_from: dt.date
    reference: str
    classes: dict[str, ClassPeriod]


@dataclass(frozen=True)
class SamrRuleSet:
    id: str
    effective_from: dt.date
    reference: str
    not_published_procedures: tuple[str, ...]
    not_published_kinds_only: tuple[str, ...]
    short_months: int
    short_kinds_only: tuple[str, ...]
    standard_months: int
    restriction_kinds: tuple[str, ...]
    min_months: int
    sensitive_min_months: int
    sensitive_keywords: tuple[str, ...]


@dataclass(frozen=True)
class FixedRuleSet:
    id: str
    effective_from: dt.date
    reference: str
    min_months: int
    max_months: int


@dataclass(frozen=True)
class LocalRule:
    id: str
    label: str
    families: tuple[str, ...]
    min_months: int
    max_months: int
    domains: tuple[tuple[tuple[str, ...], int], ...]  # (keywords, min_months)
    match_fields: tuple[str, ...]


@dataclass(frozen=True)
class Family:
    name: str
    kind: str  # penalty | fixed | until_field
    ndrc: tuple[NdrcRuleSet, ...] = ()
    samr: tuple[SamrRuleSet, ...] = ()
    samr_authorities: tuple[str, ...] = ()
    low_fine_thresholds: dict[str, dict[str, int]] = field(default_factory=dict)
    natural_person_kinds: tuple[str, ...] = ()
    fixed: tuple[FixedRuleSet, ...] = ()
    end_fields: tuple[str, ...] = ()


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise CatalogError("PUBLICITY_DATE", f"{where}：日期“{value}”无效") from None


def _sorted(sets: list[Any], where: str) -> tuple[Any, ...]:
    if not sets:
        raise CatalogError("PUBLICITY_EMPTY", f"{where}：没有任何规则集（rule_sets）")
    ids = [s.id for s in sets]
    if len(set(ids)) != len(ids):
        raise CatalogError("PUBLICITY_DUPLICATE", f"{where}：规则集编号重复")
    return tuple(sorted(sets, key=lambda s: s.effective_from))


def parse_family(name: str, raw: dict[str, Any]) -> Family:
    where = f"publicity/{name}.yaml"
    kind = raw.get("kind")
    if kind == "penalty":
        ndrc = []
        for rs in raw["ndrc"]["rule_sets"]:
            classes = {c: ClassPeriod(**rs["classes"][c]) for c in CLASSES}
            ndrc.append(
                NdrcRuleSet(rs["id"], _date(rs["effective_from"], where), rs["reference"], classes)
            )
        samr = []
        for rs in raw["samr"]["rule_sets"]:
            samr.append(
                SamrRuleSet(
                    id=rs["id"],
                    effective_from=_date(rs["effective_from"], where),
                    reference=rs["reference"],
                    not_published_procedures=tuple(rs["not_published"]["procedures"]),
                    not_published_kinds_only=tuple(rs["not_published"]["kinds_only"]),
                    short_months=int(rs["short"]["months"]),
                    short_kinds_only=tuple(rs["short"]["kinds_only"]),
                    standard_months=int(rs["standard_months"]),
                    restriction_kinds=tuple(rs["restriction_kinds"]),
                    min_months=int(rs["min_months"]),
                    sensitive_min_months=int(rs["sensitive_min_months"]),
                    sensitive_keywords=tuple(rs["sensitive_keywords"]),
                )
            )
        thresholds = {
            str(k): {
                "natural_person": int(v["natural_person"]),
                "organisation": int(v["organisation"]),
            }
            for k, v in raw["samr"]["low_fine_thresholds"].items()
        }
        if "default" not in thresholds:
            raise CatalogError("PUBLICITY_THRESHOLD", f"{where}：较低数额罚款缺少 default 标准")
        for rs in ndrc:
            for c, p in rs.classes.items():
                if p.min_months > p.max_months:
                    raise CatalogError(
                        "PUBLICITY_PERIOD", f"{where}：{rs.id} {c} 的最短公示期长于最长公示期"
                    )
        return Family(
            name=name,
            kind=kind,
            ndrc=_sorted(ndrc, where),
            samr=_sorted(samr, where),
            samr_authorities=tuple(raw.get("samr_authorities") or ()),
            low_fine_thresholds=thresholds,
            natural_person_kinds=tuple(raw["samr"].get("natural_person_kinds") or ()),
        )
    if kind == "fixed":
        sets = [
            FixedRuleSet(
                rs["id"],
                _date(rs["effective_from"], where),
                rs["reference"],
                int(rs["min_months"]),
                int(rs["max_months"]),
            )
            for rs in raw["rule_sets"]
        ]
        return Family(name=name, kind=kind, fixed=_sorted(sets, where))
    if kind == "until_field":
        return Family(name=name, kind=kind, end_fields=tuple(raw.get("end_fields") or ()))
    raise CatalogError("PUBLICITY_KIND", f"{where}：未知的规则类型“{kind}”")


@lru_cache(maxsize=8)
def load_family(name: str, data_dir: Path = DATA_DIR) -> Family:
    path = data_dir / f"{name}.yaml"
    if not path.is_file():
        raise CatalogError("PUBLICITY_UNKNOWN_FAMILY", f"没有公示规则“{name}”（{path}）")
    with path.open(encoding="utf-8") as fh:
        return parse_family(name, yaml.safe_load(fh))


@lru_cache(maxsize=8)
def load_local_rule(name: str, data_dir: Path = DATA_DIR) -> LocalRule:
    path = data_dir / "local" / f"{name}.yaml"
    if not path.is_file():
        raise CatalogError("PUBLICITY_UNKNOWN_LOCAL", f"没有地方公示规则“{name}”")
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return LocalRule(
        id=str(raw["id"]),
        label=str(raw["label"]),
        families=tuple(raw.get("families") or ("penalty",)),
        min_months=int(raw.get("min_months", 0)),
        max_months=int(raw["max_months"]),
        domains=tuple(
            (tuple(d["keywords"]), int(d["min_months"])) for d in raw.get("domains") or ()
        ),
        match_fields=tuple(raw.get("match_fields") or ()),
    )


def list_local_rules(data_dir: Path = DATA_DIR) -> list[str]:
    return sorted(p.stem for p in (data_dir / "local").glob("*.yaml"))


# ---------------------------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------------------------


def add_months(day: pl.Expr, months: pl.Expr | int) -> pl.Expr:
    """Calendar months: the same day number, clamped to the month's last day
    (2025-08-31 + 6 = 2026-02-28; 2024-02-29 + 12 = 2025-02-28). ``dt.offset_by`` with a "mo"
    duration does exactly this (verified in tests against a pure-Python reference)."""
    if isinstance(months, int):
        return day.dt.offset_by(f"{months}mo")
    return day.dt.offset_by(pl.format("{}mo", months))


def _select_set(day: pl.Expr, sets: tuple[Any, ...]) -> pl.Expr:
    """Id of the last rule set in effect on ``day`` (earliest set for older or null days)."""
    expr: Any = None
    for rs in reversed(sets[1:]):
        cond = day >= pl.lit(rs.effective_from)
        expr = (
            pl.when(cond).then(pl.lit(rs.id))
            if expr is None
            else expr.when(cond).then(pl.lit(rs.id))
        )
    if expr is None:
        return pl.lit(sets[0].id)
    return expr.otherwise(pl.lit(sets[0].id))


def _lookup(key: pl.Expr, mapping: dict[str, Any], dtype: pl.DataType) -> pl.Expr:
    return key.replace_strict(mapping, default=None, return_dtype=dtype)


def _input(df: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name).cast(dtype) if name in df.columns else pl.lit(None, dtype)


def _text_of(df: pl.DataFrame, names: tuple[str, ...]) -> pl.Expr:
    cols = [pl.col(n).cast(pl.String) for n in names if n in df.columns]
    if not cols:
        return pl.lit("")
    return pl.concat_str(cols, separator=" ", ignore_nulls=True)


# Temporary columns: every stage is materialised under a name, so that later expressions read a
# column instead of repeating (and re-evaluating) a whole expression tree.
_T = "__pub_"


def _c(name: str) -> pl.Expr:
    return pl.col(_T + name)


def _penalty_stages(df: pl.DataFrame, fam: Family, province: str | None) -> list[list[pl.Expr]]:
    """Stages producing __pub_published/max/min/rule/cap for the penalty family."""
    thresholds = fam.low_fine_thresholds.get(province or "default")
    if thresholds is None:
        raise CatalogError("PUBLICITY_UNKNOWN_PROVINCE", f"没有“{province}”的较低数额罚款标准")
    day, kinds, cls = _c("day"), _c("kinds"), pl.col("penalty_class")

    # Stage 1: inputs and choices per row.
    pattern = "|".join(fam.samr_authorities)
    by_name = _input(df, "authority", pl.String()).str.contains(pattern).fill_null(False)
    natural = _input(df, "subject_kind", pl.String()).is_in(list(fam.natural_person_kinds))
    stage1 = [
        pl.concat_str([_select_set(day, fam.ndrc), pl.lit(":"), cls]).alias(_T + "nkey"),
        _select_set(day, fam.samr).alias(_T + "sset"),
        pl.coalesce(_input(df, "market_regulation", pl.Boolean()), by_name).alias(_T + "samr"),
        pl.when(natural.fill_null(False))
        .then(pl.lit(thresholds["natural_person"]))
        .otherwise(pl.lit(thresholds["organisation"]))
        .alias(_T + "threshold"),
        pl.coalesce(
            _input(df, "restriction_until", pl.Date()), _input(df, "valid_until", pl.Date())
        ).alias(_T + "restr_end"),
        _text_of(df, ("violation_type", "basis", "facts", "authority", "content")).alias(
            _T + "text"
        ),
    ]

    # Stage 2: NDRC lookups (class-based) and SAMR conditions (kind-based), per SAMR rule set.
    key = _c("nkey")
    pub_map = {f"{s.id}:{c}": p.published for s in fam.ndrc for c, p in s.classes.items()}
    max_map = {f"{s.id}:{c}": p.max_months for s in fam.ndrc for c, p in s.classes.items()}
    min_map = {f"{s.id}:{c}": p.min_months for s in fam.ndrc for c, p in s.classes.items()}
    stage2 = [
        _lookup(key, pub_map, pl.Boolean()).fill_null(True).alias(_T + "n_pub"),
        add_months(day, _lookup(key, max_map, pl.Int32())).alias(_T + "n_max"),
        add_months(day, _lookup(key, min_map, pl.Int32())).alias(_T + "n_min"),
    ]
    # An unknown amount is not "low": without the amount the platform cannot shorten the period.
    low_fine = (_c("fine") < _c("threshold")).fill_null(False)
    has_fine = kinds_any(kinds, ["罚款"])
    stage3: list[pl.Expr] = []
    stage4: list[pl.Expr] = []
    for i, rs in enumerate(fam.samr):
        p = f"s{i}_"
        not_pub = _c("proc").is_in(list(rs.not_published_procedures)).fill_null(False) | kinds_only(
            kinds, rs.not_published_kinds_only
        )
        short = kinds_only(kinds, rs.short_kinds_only) & (~has_fine | low_fine)
        stage2 += [
            not_pub.alias(_T + p + "notpub"),
            short.alias(_T + p + "short"),
            add_months(day, rs.standard_months).alias(_T + p + "std"),
            kinds_any(kinds, rs.restriction_kinds).alias(_T + p + "restr_kind"),
            _c("text")
            .str.contains("|".join(rs.sensitive_keywords))
            .fill_null(False)
            .alias(_T + p + "sensitive"),
        ]
        restricted = (
            _c(p + "restr_kind")
            & ~_c(p + "short")
            & (_c("restr_end") > _c(p + "std")).fill_null(False)
        )
        stage3.append(restricted.alias(_T + p + "restricted"))
        until = (
            pl.when(_c(p + "short"))
            .then(add_months(day, rs.short_months))
            .when(_c(p + "restricted"))
            .then(_c("restr_end"))
            .otherwise(_c(p + "std"))
        )
        # 警告/通报批评/较低数额罚款 cannot be repaired early (国市监信规〔2021〕3号): min = max.
        minimum = (
            pl.when(_c(p + "short"))
            .then(add_months(day, rs.short_months))
            .when(_c(p + "sensitive"))
            .then(add_months(day, rs.sensitive_min_months))
            .otherwise(add_months(day, rs.min_months))
        )
        label = (
            pl.when(_c(p + "notpub"))
            .then(pl.lit("not_published"))
            .when(_c(p + "short"))
            .then(pl.lit("short"))
            .when(_c(p + "restricted"))
            .then(pl.lit("restriction"))
            .otherwise(pl.lit("standard"))
        )
        stage4 += [
            until.alias(_T + p + "max"),
            minimum.alias(_T + p + "min"),
            pl.concat_str([pl.lit(rs.id + ":"), label]).alias(_T + p + "rule"),
        ]

    # Stage 5: pick the SAMR set by id, then route between SAMR and NDRC.
    def pick(suffix: str, ndrc: pl.Expr) -> pl.Expr:
        expr: Any = pl.when(~_c("samr")).then(ndrc)
        for i, rs in enumerate(fam.samr):
            expr = expr.when(_c("sset") == pl.lit(rs.id)).then(_c(f"s{i}_{suffix}"))
        return expr

    stage5 = [
        pick("notpub", ~_c("n_pub")).not_().alias(_T + "published"),
        pick("max", _c("n_max")).alias(_T + "max"),
        pick("min", _c("n_min")).alias(_T + "min"),
        pick("rule", key).alias(_T + "rule"),
        pick("restricted", pl.lit(False)).not_().alias(_T + "cap"),
    ]
    return [stage1, stage2, stage3, stage4, stage5]


def _fixed_stages(fam: Family) -> list[list[pl.Expr]]:
    day = _c("day")
    rs_id = _select_set(day, fam.fixed)
    return [
        [rs_id.alias(_T + "rule")],
        [
            pl.lit(True).alias(_T + "published"),
            add_months(
                day, _lookup(_c("rule"), {s.id: s.max_months for s in fam.fixed}, pl.Int32())
            ).alias(_T + "max"),
            add_months(
                day, _lookup(_c("rule"), {s.id: s.min_months for s in fam.fixed}, pl.Int32())
            ).alias(_T + "min"),
            pl.lit(True).alias(_T + "cap"),
        ],
    ]


def compute_publicity(
    df: pl.DataFrame,
    record_type: RecordType,
    *,
    local_rules: str | None = None,
    province: str | None = None,
) -> pl.DataFrame:
    """Add the publicity and class columns (see the module docstring) to ``df``.

    ``df`` holds canonical fields (see ``INPUT_TYPES``; absent columns count as null). The date
    the clock starts from is the record type's ``date_field`` (``decided_on`` for penalties).
    ``local_rules`` names a file in ``data/publicity/local/`` (e.g. "shenzhen");
    ``province`` picks the SAMR 较低数额罚款 thresholds (default: ``default``).
    """
    family_name = record_type.publicity
    date_col = record_type.date_field or "decided_on"
    null_date = pl.lit(None, pl.Date())
    null_str = pl.lit(None, pl.String())
    # Output columns replace inputs of the same name (penalty_class, publicity_until), so the
    # inputs are copied to temporary columns first.
    # Lazy: the stages below are planned as one query, so Polars runs them in parallel and
    # evaluates shared sub-expressions once; ``finish`` collects.
    out = df.lazy().with_columns(
        _input(df, date_col, pl.Date()).alias(_T + "day"),
        _input(df, "publicity_until", pl.Date()).alias(_T + "dept"),
    )
    day, dept = _c("day"), _c("dept")

    if family_name == "penalty":
        out = out.with_columns(
            _input(df, "penalty_kinds", pl.String()).alias(_T + "kinds"),
            normalize_procedure(_input(df, "procedure", pl.String())).alias(_T + "proc"),
            _input(df, "fine_amount", pl.Int64()).alias(_T + "fine"),
        )
        cls, source, reason = class_exprs(
            _c("kinds"), _c("proc"), _c("fine"), _input(df, "penalty_class", pl.String())
        )
        out = out.with_columns(
            cls.alias("penalty_class"), source.alias("class_source"), reason.alias("class_reason")
        )
    else:
        out = out.with_columns(
            null_str.alias("penalty_class"),
            null_str.alias("class_source"),
            null_str.alias("class_reason"),
        )

    def finish(
        frame: pl.LazyFrame, until: pl.Expr, minimum: pl.Expr, rule: pl.Expr
    ) -> pl.DataFrame:
        frame = frame.with_columns(
            until.alias("publicity_until"),
            minimum.alias("min_publicity_until"),
            rule.alias("publicity_rule"),
        )
        return frame.select(pl.exclude(f"^{_T}.*$")).collect()

    if family_name == "always":
        return finish(out, null_date, null_date, pl.lit("always"))
    if family_name == "none":
        never = pl.coalesce(day, pl.lit(NEVER))
        return finish(out, never, never, pl.lit("none"))

    fam = load_family(family_name)
    if fam.kind == "until_field":
        names = [record_type.valid_until_field, *fam.end_fields]
        ends = [pl.col(n).cast(pl.Date) for n in dict.fromkeys(names) if n and n in df.columns]
        end = pl.min_horizontal(ends) if ends else null_date
        rule = (
            pl.when(end.is_null())
            .then(pl.lit(f"{fam.name}:open"))
            .otherwise(pl.lit(f"{fam.name}:until_end"))
        )
        return finish(out, end, null_date, rule)

    stages = _penalty_stages(df, fam, province) if fam.kind == "penalty" else _fixed_stages(fam)
    for stage in stages:
        out = out.with_columns(stage)

    local = load_local_rule(local_rules) if local_rules else None
    if local is not None and family_name in local.families:
        text = _text_of(df, local.match_fields)
        local_min: Any = pl.lit(local.min_months)
        for keywords, months in local.domains:
            hit = text.str.contains("|".join(keywords)).fill_null(False)
            local_min = (
                pl.when(hit).then(pl.max_horizontal(local_min, pl.lit(months))).otherwise(local_min)
            )
        out = out.with_columns(
            add_months(day, local_min).alias(_T + "lmin"),
            add_months(day, local.max_months).alias(_T + "lmax"),
        )
        out = out.with_columns(
            pl.when(_c("cap") & (_c("max") > _c("lmax")).fill_null(False))
            .then(_c("lmax"))
            .otherwise(_c("max"))
            .alias(_T + "max2"),
            pl.max_horizontal(_c("min"), _c("lmin")).alias(_T + "min2"),
        )
        changed = _c("published") & (
            (_c("max2") != _c("max")) | (_c("min2") != _c("min"))
        ).fill_null(False)
        out = out.with_columns(
            _c("max2").alias(_T + "max"),
            _c("min2").alias(_T + "min"),
            pl.when(changed)
            .then(pl.concat_str([_c("rule"), pl.lit("+" + local.id)]))
            .otherwise(_c("rule"))
            .alias(_T + "rule"),
        )

    published = _c("published")
    out = out.with_columns(
        (dept.is_not_null() & (dept < _c("max")).fill_null(False)).alias(_T + "dept_earlier"),
        # Not published stays not published, except where the rules let a department publish
        # anyway (NDRC 轻微 from 2026-04-01, at most 3 months): SAMR order No. 45 publishes only
        # ordinary-procedure penalties, whatever date a department sends.
        (~published & (dept.is_null() | _c("rule").str.starts_with("samr"))).alias(_T + "hidden"),
    )
    until = (
        pl.when(_c("hidden"))
        .then(day)
        .when(_c("dept_earlier"))
        .then(pl.max_horizontal(dept, day))
        .otherwise(_c("max"))
    )
    rule = (
        pl.when(_c("dept_earlier"))
        .then(pl.concat_str([_c("rule"), pl.lit("+department")]))
        .when(_c("hidden") & ~_c("rule").str.ends_with("not_published"))
        .then(pl.concat_str([_c("rule"), pl.lit(":not_published")]))
        .otherwise(_c("rule"))
    )
    out = out.with_columns(until.alias(_T + "until"))
    minimum = pl.when(_c("hidden")).then(day).otherwise(pl.min_horizontal(_c("min"), _c("until")))
    return finish(out, _c("until"), minimum, rule)

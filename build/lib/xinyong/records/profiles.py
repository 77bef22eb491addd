"""Ingest mapping profiles: a department's own file layout -> a record type's canonical fields.

A profile is data (``profiles/*.yaml``). It says, for each canonical field, which source column
names carry it (the first one present in the file wins), the unit of money columns, constants,
fields derived by keyword rules, and how to build the record's id at the source
(``source_record_id``) when the file has no id column.

Column names are matched after normalisation (``normalize_header``): Unicode NFKC (full-width
brackets and letters become half-width), case folded, and spaces and underscores removed — so
"罚款金额（万元）", "罚款金额(万元)", "CF_NR_FK", "cf_nr_fk" and "cfNrFk" all match.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from xinyong.catalog.loader import load_catalog
from xinyong.catalog.types import RecordType
from xinyong.core.errors import DomainError

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"

# Money units a profile may declare -> fen per unit. Money is stored in 分 so sums are exact.
UNIT_FEN = {"fen": 1, "jiao": 10, "yuan": 100, "wan_yuan": 1_000_000}
# Separator used when a profile derives a list-like text field (penalty_kinds); the catalog
# accepts ; ；、 ， , / | as separators on input, ";" is what derived values use.
DERIVED_SEPARATOR = ";"

_PROFILE_KEYS = {
    "name", "label", "record_type", "description", "columns", "units", "constants",
    "source_record_id", "derive", "null_values", "date_formats", "notes",
}  # fmt: skip


class ProfileError(DomainError):
    """A profile problem; ``code`` is stable for machines, ``message`` is Chinese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=404 if code == "PROFILE_UNKNOWN" else 400)


def normalize_header(name: str) -> str:
    """The form column names are compared in (see the module docstring)."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return re.sub(r"[\s_\ufeff]+", "", text)


@dataclass(frozen=True)
class KeywordRule:
    """``pattern`` (a regular expression) found in the source field adds ``value``."""

    pattern: str
    value: str


@dataclass(frozen=True)
class Derivation:
    """A canonical field computed from another canonical field by keyword rules.

    Every rule whose pattern matches contributes its value (once, in rule order), joined by
    ``;``; when none matches, ``default`` (may be None). Only applied when the field has no
    source column of its own, or that column is empty for the row.
    """

    target: str
    source: str
    rules: tuple[KeywordRule, ...]
    default: str | None = None

    def expr(self, source: pl.Expr) -> pl.Expr:
        parts = [
            pl.when(source.str.contains(r.pattern).fill_null(False)).then(pl.lit(r.value))
            for r in self.rules
        ]
        joined = pl.concat_str(parts, separator=DERIVED_SEPARATOR, ignore_nulls=True)
        # Two rules may yield the same value (罚款 from "罚款" and "罚金"): keep the first.
        joined = (
            joined.str.split(DERIVED_SEPARATOR)
            .list.unique(maintain_order=True)
            .list.join(DERIVED_SEPARATOR)
        )
        empty = joined.is_null() | (joined.str.len_chars() == 0)
        return pl.when(empty).then(pl.lit(self.default, pl.String)).otherwise(joined)


class Resolution(dict[str, str]):
    """canonical field -> actual header column, plus what did not match.

    A ``dict`` so callers can use it directly; ``unknown`` lists header columns no field uses
    (ignored, but reported to the department), ``missing_required`` lists required canonical
    fields that neither a column, a constant nor a derivation provides.
    """

    def __init__(self) -> None:
        super().__init__()
        self.unknown: list[str] = []
        self.missing_required: list[str] = []
        self.duplicates: list[str] = []  # header names that normalise to an earlier one

    @property
    def ok(self) -> bool:
        return not self.missing_required

    def message(self) -> str:
        parts = []
        if self.missing_required:
            parts.append("缺少必填列：" + "、".join(self.missing_required))
        if self.unknown:
            parts.append("未识别的列（已忽略）：" + "、".join(self.unknown))
        if self.duplicates:
            parts.append("重复的列名：" + "、".join(self.duplicates))
        return "；".join(parts)


@dataclass
class Profile:
    name: str
    label: str
    record_type: str
    columns: dict[str, list[str]]
    units: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    source_record_id: str | None = None
    derive: dict[str, Derivation] = field(default_factory=dict)
    # Cell values that mean "no value" in this source (e.g. "不适用"), besides empty cells.
    null_values: list[str] = field(default_factory=list)
    # strptime formats to try, per date field, before the ingest defaults.
    date_formats: dict[str, list[str]] = field(default_factory=dict)
    description: str | None = None

    def resolve(self, header: list[str], record_type: RecordType | None = None) -> Resolution:
        """Map canonical fields to the columns of ``header`` (first accepted name wins)."""
        rt = record_type or load_catalog().type(self.record_type)
        res = Resolution()
        by_norm: dict[str, str] = {}
        for col in header:
            key = normalize_header(col)
            if key in by_norm:
                res.duplicates.append(col)
                continue
            by_norm[key] = col
        for canonical, names in self.columns.items():
            for name in names:
                actual = by_norm.get(normalize_header(name))
                if actual is not None:
                    res[canonical] = actual
                    break
        used = set(res.values())
        res.unknown = [c for c in header if c not in used and c not in res.duplicates]
        provided = set(res) | set(self.constants) | set(self.derive)
        res.missing_required = [
            f"{f.name}（{f.label}）" for f in rt.fields if f.required and f.name not in provided
        ]
        return res

    def source_id_fields(self) -> list[str]:
        return template_fields(self.source_record_id) if self.source_record_id else []


def template_fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def render_source_record_id(template: str, values: dict[str, Any]) -> str:
    """Fill a "{doc_number}#{facts:40}" template for one record.

    ``{field:N}`` keeps the first N characters; whitespace inside values is removed first, so
    re-sending a file with re-wrapped text keeps the same id. Raises ``ProfileError`` when a
    field is empty.
    """
    out: list[str] = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        value = values.get(name)
        text = "" if value is None else re.sub(r"\s+", "", str(value))
        if not text:
            raise ProfileError("PROFILE_ID_FIELD_EMPTY", f"来源记录编号所需字段“{name}”为空")
        out.append(text[: int(spec)] if spec else text)
    return "".join(out)


def source_record_id_expr(template: str) -> pl.Expr:
    """The same as ``render_source_record_id`` over whole columns (null where a part is empty)."""
    parts: list[pl.Expr] = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name is None:
            continue
        col = pl.col(name).cast(pl.String).str.replace_all(r"\s+", "")
        col = pl.when(col.str.len_chars() > 0).then(col)
        parts.append(col.str.slice(0, int(spec)) if spec else col)
    return pl.concat_str(parts)


def _parse(raw: Any, where: str) -> Profile:
    if not isinstance(raw, dict):
        raise ProfileError("PROFILE_INVALID", f"{where}：文件内容必须是映射")
    unknown = set(raw) - _PROFILE_KEYS
    if unknown:
        raise ProfileError("PROFILE_KEY", f"{where}：未知属性 {sorted(unknown)}")
    for key in ("name", "label", "record_type"):
        if not raw.get(key):
            raise ProfileError("PROFILE_MISSING", f"{where}：缺少“{key}”")
    catalog = load_catalog()
    if raw["record_type"] not in catalog.types:
        raise ProfileError("PROFILE_RECORD_TYPE", f"{where}：未知的信息类别“{raw['record_type']}”")
    rt = catalog.type(raw["record_type"])

    def check_field(name: str, what: str) -> None:
        if rt.field(name) is None:
            raise ProfileError(
                "PROFILE_UNKNOWN_FIELD", f"{where}：{what}“{name}”不是“{rt.label}”的字段"
            )

    columns: dict[str, list[str]] = {}
    for canonical, names in (raw.get("columns") or {}).items():
        check_field(canonical, "列映射")
        names = [names] if isinstance(names, str) else list(names)
        if not names:
            raise ProfileError("PROFILE_COLUMNS", f"{where}：字段“{canonical}”没有列名")
        columns[canonical] = [str(n) for n in names]
    units: dict[str, str] = {}
    for canonical, unit in (raw.get("units") or {}).items():
        check_field(canonical, "金额单位")
        spec = rt.field(canonical)
        if spec is None or spec.type != "money":
            raise ProfileError("PROFILE_UNIT", f"{where}：“{canonical}”不是金额字段，不能设置单位")
        if unit not in UNIT_FEN:
            raise ProfileError(
                "PROFILE_UNIT", f"{where}：未知金额单位“{unit}”（可用：{'、'.join(UNIT_FEN)}）"
            )
        units[canonical] = unit
    constants = {}
    for canonical, value in (raw.get("constants") or {}).items():
        check_field(canonical, "常量")
        constants[canonical] = str(value)
    derive: dict[str, Derivation] = {}
    for target, spec in (raw.get("derive") or {}).items():
        check_field(target, "派生字段")
        check_field(spec.get("from", ""), "派生来源")
        rules = tuple(
            KeywordRule(pattern=str(r["match"]), value=str(r["value"]))
            for r in spec.get("keywords") or ()
        )
        for r in rules:
            try:
                re.compile(r.pattern)
            except re.error as exc:
                raise ProfileError(
                    "PROFILE_DERIVE", f"{where}：派生规则“{r.pattern}”不是有效的正则表达式：{exc}"
                ) from None
        derive[target] = Derivation(target, spec["from"], rules, spec.get("default"))
    template = raw.get("source_record_id")
    if template is not None:
        for name in template_fields(template):
            check_field(name, "来源记录编号模板中的字段")
    date_formats = {}
    for canonical, fmts in (raw.get("date_formats") or {}).items():
        check_field(canonical, "日期格式")
        date_formats[canonical] = [str(f) for f in fmts]
    return Profile(
        name=str(raw["name"]),
        label=str(raw["label"]),
        record_type=rt.code,
        columns=columns,
        units=units,
        constants=constants,
        source_record_id=template,
        derive=derive,
        null_values=[str(v) for v in raw.get("null_values") or ()],
        date_formats=date_formats,
        description=raw.get("description"),
    )


def load_profile_file(path: Path) -> Profile:
    try:
        with Path(path).open(encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise ProfileError(
            "PROFILE_YAML_INVALID", f"{Path(path).name}：YAML 格式错误：{exc}"
        ) from None
    profile = _parse(raw, Path(path).name)
    if profile.name != Path(path).stem:
        raise ProfileError("PROFILE_NAME", f"{Path(path).name}：name“{profile.name}”须与文件名一致")
    return profile


@lru_cache(maxsize=64)
def load_profile(name: str) -> Profile:
    path = PROFILE_DIR / f"{name}.yaml"
    if not re.fullmatch(r"[a-z0-9_]+", name) or not path.is_file():
        raise ProfileError("PROFILE_UNKNOWN", f"没有名为“{name}”的映射方案")
    return load_profile_file(path)


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def default_profile(record_type: RecordType) -> Profile:
    """The implicit ``generic`` profile: canonical field names or their Chinese labels."""
    template = record_type.key_template or (
        "{" + record_type.key_field + "}" if record_type.key_field else None
    )
    return Profile(
        name=f"generic:{record_type.code}",
        label=f"通用格式·{record_type.label}（字段名或中文名称）",
        record_type=record_type.code,
        columns={f.name: [f.name, f.label] for f in record_type.fields},
        source_record_id=template,
    )

"""Evaluation models as data: the YAML schema, its validation and the resolved model.

A model file declares named *features* (aggregates over a subject's records, or subject
attributes), a tree of weighted *indicators* whose leaves turn one feature into points, *vetoes*
that cap the grade, *grades* with thresholds, and *colours* and *tags* as conditions. Conditions
are SQL boolean expressions over feature names (parsed and checked by ``sqlglot``; see
``conditions.py``), so the office writes ``penalties_3y > 0 AND NOT on_serious_list`` rather than
code.

Every rejection of a bad file is a :class:`ModelError` with a stable code and a Chinese sentence
that names the place in the file (``indicators[0].children[2].weight``).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xinyong.core.errors import DomainError

MODELS_DIR = Path(__file__).parent / "data" / "models"

# Subject attributes a feature may read (column of ``subject`` or a value derived from one).
ATTRIBUTES: dict[str, str] = {
    "years_since_established": "number",
    "registered_capital_yuan": "number",
    "industry_section": "text",
    "industry_division": "text",
    "kind": "text",
    "region_code": "text",
    "size_class": "text",
    "status": "text",
}
AGGREGATES = ("count", "exists", "sum_amount", "max_amount", "days_since_latest")
# How a record in each state counts; every model must say it for every state (issue #3: "never
# silently").
COUNTING_STATES = ("past_publicity", "repaired", "revoked", "objection_pending")
# Names a condition may use besides the features.
RESULT_NAMES = ("score", "grade", "vetoed")
SUBJECT_KINDS = ("legal_person", "unincorporated", "individual_business", "natural_person")
SUBJECT_STATUSES = ("active", "deregistered", "revoked", "moved_out")
WEIGHT_TOTAL = 100.0
# Fen → yuan and hundredths of a point: always a multiplication by this constant, never a division
# by 100. Polars divides a column by a scalar as a multiplication by its reciprocal (except, as
# measured, for a one-row frame), and the plain-Python scoring must repeat Polars to the bit.
CENT = 0.01


class ModelError(DomainError):
    """A model file that cannot be used: says where and why."""

    def __init__(self, code: str, message: str, *, where: str | None = None) -> None:
        full = f"{where}：{message}" if where else message
        super().__init__(code, full, status=422)
        self.where = where


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(_Strict):
    title: str
    url: str | None = None
    note: str | None = None


class Window(_Strict):
    """Only records decided within this window before the evaluation date."""

    years: int | None = Field(default=None, ge=1, le=50)
    days: int | None = Field(default=None, ge=1, le=36500)

    @model_validator(mode="after")
    def _one(self) -> Window:
        if (self.years is None) == (self.days is None):
            raise ValueError("window 需且只需给出 years 或 days")
        return self


class RecordFilter(_Strict):
    types: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    polarity: Literal["negative", "positive", "neutral"] | None = None
    classes: tuple[Literal["minor", "general", "serious"], ...] | None = None
    outcomes: tuple[str, ...] | None = None
    departments: tuple[str, ...] | None = None
    window: Window | None = None
    # Only records still inside their publicity period at the evaluation date.
    in_publicity: bool = False
    min_amount_yuan: float | None = None


class RecordFeature(_Strict):
    """An aggregate over the subject's records that pass ``where`` and the model's counting."""

    label: str
    aggregate: Literal["count", "exists", "sum_amount", "max_amount", "days_since_latest"]
    where: RecordFilter = RecordFilter()


class AttributeFeature(_Strict):
    label: str
    attribute: str


Feature = RecordFeature | AttributeFeature


class Bin(_Strict):
    """Points for values ``≤ upto`` (the last bin has no ``upto`` and takes the rest)."""

    upto: float | None = None
    points: float


class Scoring(_Strict):
    bins: tuple[Bin, ...] | None = None
    # Piecewise linear through (value, points) pairs, flat beyond the ends.
    linear: tuple[tuple[float, float], ...] | None = None
    # Categorical attribute value → points.
    map: dict[str, float] | None = None
    default: float | None = None  # for map: values not listed
    missing: float = 0.0  # points when the feature has no value (e.g. no establishment date)
    min: float = 0.0
    max: float = 100.0

    @model_validator(mode="after")
    def _exactly_one(self) -> Scoring:
        given = [k for k in ("bins", "linear", "map") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("scoring 需且只需给出 bins、linear、map 其中之一")
        return self


class Indicator(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    weight: float = Field(gt=0)
    feature: str | None = None
    scoring: Scoring | None = None
    children: tuple[Indicator, ...] | None = None
    note: str | None = None


class Veto(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    when: str
    max_grade: str
    citation: str | None = None


class Grade(_Strict):
    code: str
    name: str
    min_score: float | None = None  # the lowest grade has none


class Rule(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    when: str
    note: str | None = None


class Scope(_Strict):
    subject_kinds: tuple[str, ...] = SUBJECT_KINDS
    # Subjects in these states are not evaluated (Guangzhou: 注销、吊销、迁出、撤销).
    exclude_statuses: tuple[str, ...] = ()
    industry_sections: tuple[str, ...] | None = None
    industry_divisions: tuple[str, ...] | None = None
    region_prefixes: tuple[str, ...] | None = None


class Extends(_Strict):
    model: str
    version: str
    # The general model's whole indicator tree gets this weight; this file's own first-level
    # indicators share the rest (通用+专业).
    weight: float = Field(gt=0, lt=WEIGHT_TOTAL)


class Counting(_Strict):
    past_publicity: Literal["count", "ignore"]
    repaired: Literal["count", "ignore"]
    revoked: Literal["count", "ignore"]
    objection_pending: Literal["count", "ignore"]


class ModelFile(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
    title: str
    description: str | None = None
    visibility: Literal["public", "government"]
    scope: Scope = Scope()
    citations: tuple[Citation, ...] = Field(min_length=1)
    counting: Counting | None = None
    extends: Extends | None = None
    features: dict[
        str, Annotated[RecordFeature | AttributeFeature, Field(union_mode="left_to_right")]
    ] = {}
    indicators: tuple[Indicator, ...] = ()
    vetoes: tuple[Veto, ...] = ()
    grades: tuple[Grade, ...] = ()
    colours: tuple[Rule, ...] = ()
    tags: tuple[Rule, ...] = ()


# ---------------------------------------------------------------------------------------------
# The resolved model: what the engine evaluates (extends merged, weights multiplied out).


@dataclass(frozen=True)
class Leaf:
    code: str
    name: str
    path: tuple[str, ...]  # names from the first level down, for explanations
    feature: str
    scoring: Scoring
    weight: float  # effective share of the total score, 0–100
    parent: str | None = None


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    level: int
    weight: float  # effective share of the total score
    parent: str | None


@dataclass
class EvalModel:
    name: str
    version: str
    title: str
    visibility: str
    scope: Scope
    counting: Counting
    citations: tuple[Citation, ...]
    features: dict[str, RecordFeature | AttributeFeature]
    leaves: list[Leaf]
    nodes: list[Node]
    vetoes: tuple[Veto, ...]
    grades: tuple[Grade, ...]
    colours: tuple[Rule, ...]
    tags: tuple[Rule, ...]
    source_text: str
    sha256: str
    description: str | None = None
    extends: Extends | None = None
    conditions: dict[str, Any] = field(default_factory=dict)  # compiled, filled by conditions

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def scored(self) -> bool:
        return bool(self.leaves)

    @property
    def grade_codes(self) -> list[str]:
        return [g.code for g in self.grades]


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("RecordFeature", "AttributeFeature") or "function-" in str(part):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "（文件）"


_PYDANTIC_MESSAGES = {
    "extra_forbidden": (
        "MODEL_UNKNOWN_FIELD",
        "未知字段（请检查拼写，模型文件不接受未定义的字段）",
    ),
    "missing": ("MODEL_FIELD_REQUIRED", "缺少必填字段"),
    "literal_error": ("MODEL_BAD_VALUE", "取值不在允许范围内"),
    "string_pattern_mismatch": (
        "MODEL_BAD_CODE",
        "编码只能由小写字母、数字和下划线组成，且以字母开头",
    ),
    "greater_than": ("MODEL_BAD_NUMBER", "数值必须大于 0"),
    "too_short": ("MODEL_FIELD_REQUIRED", "至少需要一项"),
}


def parse_model_text(text: str, *, origin: str = "模型文件") -> ModelFile:
    """Parse and schema-check one YAML model (no cross-references yet)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else None
        raise ModelError("MODEL_BAD_YAML", f"{origin}不是有效的 YAML：{exc}", where=where) from exc
    if not isinstance(raw, dict):
        raise ModelError("MODEL_BAD_YAML", f"{origin}的顶层必须是键值对象")
    try:
        return ModelFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        code, msg = _PYDANTIC_MESSAGES.get(first["type"], ("MODEL_INVALID", first["msg"]))
        if first["type"] == "value_error":
            msg = str(first["msg"]).removeprefix("Value error, ")
        more = len(exc.errors()) - 1
        suffix = f"（另有 {more} 处错误）" if more else ""
        raise ModelError(code, msg + suffix, where=_loc(first["loc"])) from exc


def _check_weights(children: tuple[Indicator, ...], where: str) -> None:
    total = sum(c.weight for c in children)
    if abs(total - WEIGHT_TOTAL) > 1e-6:
        raise ModelError(
            "MODEL_WEIGHTS_SUM",
            f"同一层指标的权重之和应为 {WEIGHT_TOTAL:g}，实际为 {total:g}",
            where=where,
        )


def _walk(
    children: tuple[Indicator, ...],
    *,
    where: str,
    share: float,
    level: int,
    parent: str | None,
    path: tuple[str, ...],
    features: dict[str, Any],
    leaves: list[Leaf],
    nodes: list[Node],
    seen: set[str],
) -> None:
    for i, ind in enumerate(children):
        here = f"{where}[{i}]"
        if ind.code in seen:
            raise ModelError("MODEL_DUPLICATE_CODE", f"指标编码 {ind.code} 重复", where=here)
        seen.add(ind.code)
        eff = share * ind.weight / WEIGHT_TOTAL
        if level > 3:
            raise ModelError("MODEL_TOO_DEEP", "指标最多三级", where=here)
        nodes.append(Node(ind.code, ind.name, level, eff, parent))
        if ind.children:
            if ind.feature or ind.scoring:
                raise ModelError(
                    "MODEL_NODE_AND_LEAF",
                    "有下级指标的指标不能再给出 feature 或 scoring",
                    where=here,
                )
            _check_weights(ind.children, f"{here}.children")
            _walk(
                ind.children,
                where=f"{here}.children",
                share=eff,
                level=level + 1,
                parent=ind.code,
                path=(*path, ind.name),
                features=features,
                leaves=leaves,
                nodes=nodes,
                seen=seen,
            )
            continue
        if not ind.feature or not ind.scoring:
            raise ModelError(
                "MODEL_LEAF_INCOMPLETE", "末级指标必须给出 feature 和 scoring", where=here
            )
        if ind.feature not in features:
            raise ModelError(
                "MODEL_UNKNOWN_FEATURE",
                f"引用了未定义的特征 {ind.feature}",
                where=f"{here}.feature",
            )
        _check_scoring(ind.scoring, features[ind.feature], f"{here}.scoring")
        leaves.append(
            Leaf(ind.code, ind.name, (*path, ind.name), ind.feature, ind.scoring, eff, parent)
        )


def _check_scoring(s: Scoring, feat: RecordFeature | AttributeFeature, where: str) -> None:
    is_text = isinstance(feat, AttributeFeature) and ATTRIBUTES.get(feat.attribute) == "text"
    if is_text and s.map is None:
        raise ModelError("MODEL_BAD_SCORING", "文本属性只能用 map 计分", where=where)
    if s.map is not None and not is_text:
        raise ModelError("MODEL_BAD_SCORING", "map 计分只适用于文本属性", where=where)
    if s.bins is not None:
        uptos = [b.upto for b in s.bins]
        if uptos[-1] is not None:
            raise ModelError(
                "MODEL_BAD_SCORING", "bins 的最后一档不能有 upto（承接其余取值）", where=where
            )
        inner = uptos[:-1]
        if any(u is None for u in inner) or any(a >= b for a, b in itertools.pairwise(inner)):  # type: ignore[operator]
            raise ModelError("MODEL_BAD_SCORING", "bins 的 upto 必须严格递增", where=where)
    if s.linear is not None:
        xs = [p[0] for p in s.linear]
        if len(xs) < 2 or any(a >= b for a, b in itertools.pairwise(xs)):
            raise ModelError("MODEL_BAD_SCORING", "linear 至少两点，且取值严格递增", where=where)
    if s.min > s.max:
        raise ModelError("MODEL_BAD_SCORING", "min 不能大于 max", where=where)


def _check_features(features: dict[str, Any], catalog: Any, departments: set[str] | None) -> None:
    types = dict(catalog.types)
    categories = {t.category for t in catalog.types.values()}
    for name, feat in features.items():
        where = f"features.{name}"
        if not name.isidentifier() or not name.islower():
            raise ModelError(
                "MODEL_BAD_CODE", "特征名只能由小写字母、数字和下划线组成", where=where
            )
        if name in RESULT_NAMES:
            raise ModelError(
                "MODEL_RESERVED_NAME", f"{name} 是保留名称，不能用作特征名", where=where
            )
        if isinstance(feat, AttributeFeature):
            if feat.attribute not in ATTRIBUTES:
                raise ModelError(
                    "MODEL_UNKNOWN_ATTRIBUTE",
                    f"未知的主体属性 {feat.attribute}（可用：{'、'.join(ATTRIBUTES)}）",
                    where=f"{where}.attribute",
                )
            continue
        w = feat.where
        for t in w.types or ():
            if t not in types:
                raise ModelError(
                    "MODEL_UNKNOWN_RECORD_TYPE",
                    f"目录中没有信息类型 {t}",
                    where=f"{where}.where.types",
                )
        for c in w.categories or ():
            if c not in categories:
                raise ModelError(
                    "MODEL_UNKNOWN_CATEGORY",
                    f"目录中没有信息类别 {c}",
                    where=f"{where}.where.categories",
                )
        if w.outcomes:
            if not w.types:
                raise ModelError(
                    "MODEL_BAD_FILTER",
                    "按 outcomes 筛选时必须同时给出 types",
                    where=f"{where}.where.outcomes",
                )
            allowed: set[str] = set()
            for t in w.types:
                allowed |= set(types[t].outcome_values())
            for o in w.outcomes:
                if o not in allowed:
                    raise ModelError(
                        "MODEL_UNKNOWN_OUTCOME",
                        f"信息类型 {'、'.join(w.types)} 没有结果值 {o}",
                        where=f"{where}.where.outcomes",
                    )
        if departments is not None:
            for d in w.departments or ():
                if d not in departments:
                    raise ModelError(
                        "MODEL_UNKNOWN_DEPARTMENT",
                        f"没有编码为 {d} 的部门",
                        where=f"{where}.where.departments",
                    )
        if feat.aggregate in ("sum_amount", "max_amount") and w.types is None:
            raise ModelError(
                "MODEL_BAD_FILTER", "金额类聚合必须限定信息类型", where=f"{where}.where"
            )


def _check_grades(grades: tuple[Grade, ...], scored: bool) -> None:
    if not grades:
        if scored:
            raise ModelError("MODEL_NO_GRADES", "有指标的模型必须给出等级 grades", where="grades")
        return
    codes = [g.code for g in grades]
    if len(set(codes)) != len(codes):
        raise ModelError("MODEL_DUPLICATE_CODE", "等级编码重复", where="grades")
    mins = [g.min_score for g in grades]
    if mins[-1] is not None:
        raise ModelError(
            "MODEL_GRADE_THRESHOLDS",
            "最低一级等级不能设 min_score（承接其余分数）",
            where=f"grades[{len(grades) - 1}].min_score",
        )
    inner = mins[:-1]
    for i, m in enumerate(inner):
        if m is None:
            raise ModelError(
                "MODEL_GRADE_THRESHOLDS",
                "除最低一级外，每个等级都要设 min_score",
                where=f"grades[{i}].min_score",
            )
    for i in range(1, len(inner)):
        if not inner[i] < inner[i - 1]:  # type: ignore[operator]
            raise ModelError(
                "MODEL_GRADE_THRESHOLDS",
                "等级门槛必须从高到低严格递减（先写最好的等级）",
                where=f"grades[{i}].min_score",
            )


def resolve(
    mf: ModelFile,
    text: str,
    *,
    catalog: Any,
    base: EvalModel | None = None,
    departments: set[str] | None = None,
) -> EvalModel:
    """Check cross-references and build the model the engine runs.

    ``base`` is the resolved general model when ``mf.extends`` names one.
    """
    from xinyong.evaluation.conditions import compile_conditions

    if mf.extends and base is None:
        raise ModelError(
            "MODEL_UNKNOWN_BASE",
            f"找不到被扩展的模型 {mf.extends.model}@{mf.extends.version}",
            where="extends",
        )
    features: dict[str, Any] = dict(base.features) if base else {}
    for name in mf.features:
        if name in features:
            raise ModelError(
                "MODEL_DUPLICATE_FEATURE",
                f"特征 {name} 已在通用模型中定义",
                where=f"features.{name}",
            )
    features.update(mf.features)
    _check_features(features, catalog, departments)
    counting = mf.counting or (base.counting if base else None)
    if counting is None:
        raise ModelError(
            "MODEL_COUNTING_REQUIRED",
            "必须在 counting 中逐项声明超过公示期、已修复、已撤销、异议处理中的记录是否计入",
            where="counting",
        )
    leaves: list[Leaf] = []
    nodes: list[Node] = []
    seen: set[str] = set()
    if base is not None and mf.extends is not None:
        k = mf.extends.weight / WEIGHT_TOTAL
        for leaf in base.leaves:
            leaves.append(
                Leaf(
                    leaf.code,
                    leaf.name,
                    leaf.path,
                    leaf.feature,
                    leaf.scoring,
                    leaf.weight * k,
                    leaf.parent,
                )
            )
            seen.add(leaf.code)
        for node in base.nodes:
            nodes.append(Node(node.code, node.name, node.level, node.weight * k, node.parent))
            seen.add(node.code)
        own_share = WEIGHT_TOTAL - mf.extends.weight
    else:
        own_share = WEIGHT_TOTAL
    if mf.indicators:
        _check_weights(mf.indicators, "indicators")
        _walk(
            mf.indicators,
            where="indicators",
            share=own_share,
            level=1,
            parent=None,
            path=(),
            features=features,
            leaves=leaves,
            nodes=nodes,
            seen=seen,
        )
    elif base is not None and mf.extends is not None:
        raise ModelError(
            "MODEL_NO_INDICATORS", "扩展模型必须给出自己的专业指标", where="indicators"
        )
    grades = mf.grades or (base.grades if base else ())
    _check_grades(grades, bool(leaves))
    grade_codes = {g.code for g in grades}
    vetoes = (base.vetoes if base else ()) + mf.vetoes
    for i, v in enumerate(vetoes):
        if v.max_grade not in grade_codes:
            raise ModelError(
                "MODEL_UNKNOWN_GRADE",
                f"一票否决指向不存在的等级 {v.max_grade}",
                where=f"vetoes[{i}].max_grade",
            )
    colours = mf.colours or (base.colours if base else ())
    tags = (base.tags if base else ()) + mf.tags
    if not leaves and not colours:
        raise ModelError(
            "MODEL_EMPTY", "模型至少要有指标（计分定级）或赋码规则 colours", where="indicators"
        )
    model = EvalModel(
        name=mf.name,
        version=mf.version,
        title=mf.title,
        description=mf.description,
        visibility=mf.visibility,
        scope=mf.scope,
        counting=counting,
        citations=mf.citations,
        features=features,
        leaves=leaves,
        nodes=nodes,
        vetoes=vetoes,
        grades=grades,
        colours=colours,
        tags=tags,
        source_text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        extends=mf.extends,
    )
    model.conditions = compile_conditions(model)
    return model


def builtin_files() -> list[Path]:
    return sorted(MODELS_DIR.glob("*.yaml"))

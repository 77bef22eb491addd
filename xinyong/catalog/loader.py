"""Read and validate the catalog data files.

The catalog is data (``data/catalog.yaml`` + ``data/record_types/*.yaml``), so a policy officer
can review a change as a diff. Loading checks everything that would otherwise fail later and far
away (at ingest or evaluation time), and says in Chinese which file and which field is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from xinyong.catalog.types import (
    BUILTIN_PUBLICITY,
    DISCLOSURES,
    FIELD_TYPES,
    POLARITIES,
    Catalog,
    CatalogError,
    Category,
    FieldSpec,
    RecordType,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TYPE_KEYS = {
    "code", "label", "category", "polarity", "disclosure", "publicity", "legal_basis",
    "description", "key_field", "key_template", "title_field", "date_field",
    "valid_until_field", "amount_field", "outcome_field", "fields",
}  # fmt: skip
_FIELD_KEYS = {"name", "type", "required", "label", "values", "aliases", "description"}
# Which field type each role needs: a date role must hold a date, the amount summed by
# evaluation must be money (fen), so that a typo in the data cannot silently break a rule.
_ROLE_TYPES = {
    "date_field": {"date"},
    "valid_until_field": {"date"},
    "amount_field": {"money"},
    # The outcome (tax grade, inspection result, …) is stored on the record as an enum code so
    # that evaluation can filter on it inside the one aggregate pass.
    "outcome_field": {"enum"},
}


def _err(code: str, message: str) -> CatalogError:
    return CatalogError(code, message)


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise _err("CATALOG_FILE_MISSING", f"找不到目录文件：{path}") from None
    except yaml.YAMLError as exc:
        raise _err("CATALOG_YAML_INVALID", f"{path.name}：YAML 格式错误：{exc}") from None


def canonical_digest(content: dict[str, Any]) -> str:
    """sha256 over the canonical JSON form (sorted keys, no spaces, UTF-8)."""
    body = {k: v for k, v in content.items() if k != "digest"}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def template_fields(template: str) -> list[str]:
    """Names used in a "{a}/{b}" template (format spec after ':' allowed, e.g. "{facts:40}")."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def publicity_families(data_dir: Path) -> set[str]:
    """Families a record type may name: the builtins plus one per ``publicity/*.yaml`` file."""
    pub = data_dir / "publicity"
    files = {p.stem for p in pub.glob("*.yaml")} if pub.is_dir() else set()
    return set(BUILTIN_PUBLICITY) | files


def _parse_field(raw: Any, where: str, seen: set[str]) -> FieldSpec:
    if not isinstance(raw, dict):
        raise _err("CATALOG_FIELD_INVALID", f"{where}：字段定义必须是映射")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _err(
            "CATALOG_FIELD_NAME", f"{where}：字段名“{name}”无效（须为小写英文、数字和下划线）"
        )
    at = f"{where} 字段“{name}”"
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise _err("CATALOG_FIELD_KEY", f"{at}：未知属性 {sorted(unknown)}")
    if name in seen:
        raise _err("CATALOG_FIELD_DUPLICATE", f"{at}：字段重复定义")
    seen.add(name)
    ftype = raw.get("type")
    if ftype not in FIELD_TYPES:
        raise _err(
            "CATALOG_FIELD_TYPE",
            f"{at}：未知字段类型“{ftype}”（可用：{'、'.join(sorted(FIELD_TYPES))}）",
        )
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        raise _err("CATALOG_FIELD_LABEL", f"{at}：缺少中文名称（label）")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise _err("CATALOG_FIELD_REQUIRED", f"{at}：required 必须是 true 或 false")
    values = raw.get("values")
    aliases = raw.get("aliases")
    if ftype == "enum":
        if not isinstance(values, dict) or not values:
            raise _err("CATALOG_ENUM_VALUES", f"{at}：枚举字段必须列出取值（values：代码→中文）")
        values = {str(k): str(v) for k, v in values.items()}
        if aliases is not None:
            if not isinstance(aliases, dict):
                raise _err("CATALOG_ENUM_ALIASES", f"{at}：aliases 必须是映射（输入→代码）")
            aliases = {str(k): str(v) for k, v in aliases.items()}
            bad = sorted(v for v in aliases.values() if v not in values)
            if bad:
                raise _err("CATALOG_ENUM_ALIASES", f"{at}：别名指向不存在的代码 {bad}")
    elif values is not None or aliases is not None:
        raise _err("CATALOG_ENUM_VALUES", f"{at}：只有枚举（enum）字段可以有 values/aliases")
    return FieldSpec(
        name=name,
        type=ftype,
        required=required,
        label=label.strip(),
        values=values,
        aliases=aliases,
        description=raw.get("description"),
    )


def _parse_type(raw: Any, path: Path, categories: set[str], families: set[str]) -> RecordType:
    where = f"record_types/{path.name}"
    if not isinstance(raw, dict):
        raise _err("CATALOG_TYPE_INVALID", f"{where}：文件内容必须是映射")
    unknown = set(raw) - _TYPE_KEYS
    if unknown:
        raise _err("CATALOG_TYPE_KEY", f"{where}：未知属性 {sorted(unknown)}")
    for key in ("code", "label", "category", "polarity", "disclosure", "publicity", "legal_basis"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _err("CATALOG_TYPE_MISSING", f"{where}：缺少“{key}”")
    code = raw["code"]
    if not _NAME.match(code):
        raise _err("CATALOG_TYPE_CODE", f"{where}：类别代码“{code}”无效")
    if code != path.stem:
        raise _err("CATALOG_TYPE_CODE", f"{where}：类别代码“{code}”须与文件名一致")
    if raw["category"] not in categories:
        raise _err("CATALOG_UNKNOWN_CATEGORY", f"{where}：未知的目录分类“{raw['category']}”")
    if raw["polarity"] not in POLARITIES:
        raise _err("CATALOG_TYPE_POLARITY", f"{where}：polarity 须为 {'/'.join(POLARITIES)}")
    if raw["disclosure"] not in DISCLOSURES:
        raise _err("CATALOG_TYPE_DISCLOSURE", f"{where}：disclosure 须为 {'/'.join(DISCLOSURES)}")
    if raw["publicity"] not in families:
        raise _err(
            "CATALOG_TYPE_PUBLICITY",
            f"{where}：未知的公示规则“{raw['publicity']}”（可用：{'、'.join(sorted(families))}）",
        )
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise _err("CATALOG_TYPE_FIELDS", f"{where}：缺少字段列表（fields）")
    seen: set[str] = set()
    fields = tuple(_parse_field(f, where, seen) for f in raw_fields)
    by_name = {f.name: f for f in fields}

    # Every record is about a subject: ingest matches it by name and, when given, by USCC.
    subj = by_name.get("subject_name")
    if subj is None or subj.type != "text" or not subj.required:
        raise _err("CATALOG_SUBJECT_FIELDS", f"{where}：必须有必填的文本字段 subject_name")
    uscc = by_name.get("uscc")
    if uscc is None or uscc.type != "uscc" or uscc.required:
        raise _err("CATALOG_SUBJECT_FIELDS", f"{where}：必须有非必填的 uscc 字段（类型 uscc）")
    idn = by_name.get("id_number")
    if idn is not None and idn.type != "id_number":
        raise _err("CATALOG_SUBJECT_FIELDS", f"{where}：id_number 字段类型须为 id_number")

    roles: dict[str, str | None] = {}
    for role in (
        "key_field", "title_field", "date_field", "valid_until_field", "amount_field",
        "outcome_field",
    ):
        value = raw.get(role)
        if value is not None and value not in by_name:
            raise _err("CATALOG_ROLE_FIELD", f"{where}：{role}“{value}”不是本类别的字段")
        if (
            value is not None
            and role in _ROLE_TYPES
            and by_name[value].type not in _ROLE_TYPES[role]
        ):
            raise _err(
                "CATALOG_ROLE_FIELD",
                f"{where}：{role}“{value}”的类型须为 {'/'.join(sorted(_ROLE_TYPES[role]))}",
            )
        roles[role] = value
    key_template = raw.get("key_template")
    if key_template is not None:
        missing = [n for n in template_fields(key_template) if n not in by_name]
        if missing:
            raise _err("CATALOG_ROLE_FIELD", f"{where}：key_template 引用了不存在的字段 {missing}")
    return RecordType(
        code=code,
        label=raw["label"].strip(),
        category=raw["category"],
        polarity=raw["polarity"],
        disclosure=raw["disclosure"],
        publicity=raw["publicity"],
        legal_basis=raw["legal_basis"].strip(),
        key_field=roles["key_field"],
        title_field=roles["title_field"],
        date_field=roles["date_field"],
        valid_until_field=roles["valid_until_field"],
        amount_field=roles["amount_field"],
        outcome_field=roles["outcome_field"],
        fields=fields,
        description=raw.get("description"),
        key_template=key_template,
    )


def _load(data_dir: Path) -> Catalog:
    head = _read_yaml(data_dir / "catalog.yaml")
    if not isinstance(head, dict):
        raise _err("CATALOG_INVALID", "catalog.yaml：文件内容必须是映射")
    version = head.get("version")
    if not isinstance(version, str) or not version.strip():
        raise _err("CATALOG_VERSION", "catalog.yaml：缺少版本号（version，须为字符串）")
    raw_cats = head.get("categories")
    if not isinstance(raw_cats, list) or not raw_cats:
        raise _err("CATALOG_CATEGORIES", "catalog.yaml：缺少分类列表（categories）")
    categories: list[Category] = []
    for order, rc in enumerate(raw_cats, start=1):
        if not isinstance(rc, dict) or not rc.get("code") or not rc.get("label"):
            raise _err("CATALOG_CATEGORIES", f"catalog.yaml：第{order}个分类缺少 code 或 label")
        if any(c.code == rc["code"] for c in categories):
            raise _err("CATALOG_CATEGORIES", f"catalog.yaml：分类“{rc['code']}”重复")
        categories.append(Category(code=str(rc["code"]), label=str(rc["label"]), order=order))
    cat_codes = {c.code for c in categories}
    families = publicity_families(data_dir)

    types: dict[str, RecordType] = {}
    type_dir = data_dir / "record_types"
    for path in sorted(type_dir.glob("*.yaml")):
        rt = _parse_type(_read_yaml(path), path, cat_codes, families)
        types[rt.code] = rt  # file name == code, so codes cannot repeat
    if not types:
        raise _err("CATALOG_NO_TYPES", f"{type_dir}：没有任何信息类别文件")
    # Types in catalogue order (category order, then code) so that listings are stable.
    order = {c.code: c.order for c in categories}
    types = dict(sorted(types.items(), key=lambda kv: (order[kv[1].category], kv[0])))

    basis = head.get("basis") or ()
    if isinstance(basis, str):
        basis = (basis,)
    draft = Catalog(
        version=version.strip(),
        digest="",
        categories=tuple(categories),
        types=types,
        title=str(head.get("title") or ""),
        basis=tuple(str(b) for b in basis),
    )
    digest = canonical_digest(draft.snapshot())
    return Catalog(
        version=draft.version,
        digest=digest,
        categories=draft.categories,
        types=draft.types,
        title=draft.title,
        basis=draft.basis,
    )


@lru_cache(maxsize=1)
def _default_catalog() -> Catalog:
    return _load(DATA_DIR)


def load_catalog(path: Path | None = None) -> Catalog:
    """Load the catalog from ``path`` (a data directory, or its ``catalog.yaml``).

    The shipped catalog (``path=None``) is cached: it cannot change while the process runs.
    """
    if path is None:
        return _default_catalog()
    path = Path(path)
    return _load(path.parent if path.is_file() else path)

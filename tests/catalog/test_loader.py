"""The shipped catalog loads, and each kind of broken data file says what is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from xinyong.catalog.loader import DATA_DIR, load_catalog
from xinyong.catalog.types import FIELD_TYPES, CatalogError

REQUIRED_TYPES = {
    "registration", "dishonest_judgment_debtor", "consumption_restriction", "judicial_ruling",
    "administrative_license", "administrative_penalty", "administrative_coercion",
    "administrative_confirmation", "administrative_levy", "administrative_payment",
    "administrative_ruling", "administrative_compensation", "administrative_reward",
    "inspection", "abnormal_operations_list", "serious_dishonesty_list", "contract_performance",
    "commitment", "commitment_performance", "tax_credit_rating", "customs_certification",
    "honor", "utility_arrears", "self_reported",
}  # fmt: skip


def test_shipped_catalog_loads() -> None:
    cat = load_catalog()
    assert cat.version == "2024.2"
    assert set(cat.types) >= REQUIRED_TYPES
    assert len(cat.digest) == 64
    assert [c.order for c in cat.categories] == list(range(1, 13))
    assert load_catalog() is cat  # cached


def test_every_category_has_a_type() -> None:
    cat = load_catalog()
    for category in cat.categories:
        assert cat.types_in(category.code), category.code


def test_every_type_has_subject_fields_and_valid_roles() -> None:
    for rt in load_catalog().types.values():
        assert rt.field("subject_name").required
        assert not rt.field("uscc").required
        assert rt.legal_basis
        for spec in rt.fields:
            assert spec.type in FIELD_TYPES
        if rt.field("id_number") is not None:
            assert rt.field("id_number").type == "id_number"


def test_dual_publicity_penalty_fields() -> None:
    rt = load_catalog().type("administrative_penalty")
    for name in (
        "doc_number",
        "violation_type",
        "facts",
        "basis",
        "penalty_kinds",
        "content",
        "fine_amount",
        "confiscated_amount",
        "license_affected",
        "decided_on",
        "valid_until",
        "publicity_until",
        "authority",
        "authority_uscc",
        "source_unit",
        "source_unit_uscc",
        "remark",
        "procedure",
        "penalty_class",
    ):
        assert rt.field(name) is not None, name
    assert rt.field("fine_amount").type == "money"
    cls = rt.field("penalty_class")
    assert cls.enum_code("严重") == "serious"
    assert cls.enum_code("minor") == "minor"
    assert rt.field("procedure").enum_code("简易程序") == "simple"
    assert rt.field("subject_kind").enum_code("法人及非法人组织") == "legal_person"
    assert rt.field("subject_kind").enum_code("nonsense") is None


def test_unknown_type() -> None:
    with pytest.raises(CatalogError) as exc:
        load_catalog().type("nope")
    assert exc.value.code == "CATALOG_UNKNOWN_TYPE"
    assert "nope" in exc.value.message


def test_snapshot_is_json_and_digest_is_stable(tmp_path: Path) -> None:
    cat = load_catalog()
    snap = cat.snapshot()
    json.dumps(snap, ensure_ascii=False)
    assert snap["types"]["administrative_penalty"]["fields"][0]["name"] == "subject_name"
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    assert load_catalog(copy).digest == cat.digest
    # Any change to the content changes the digest.
    path = copy / "record_types" / "honor.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("诚实守信相关荣誉", "荣誉X"), "utf-8")
    assert load_catalog(copy).digest != cat.digest


# --- broken files ------------------------------------------------------------------------------


@pytest.fixture
def data(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


def _edit(data: Path, code: str, change) -> None:
    path = data / "record_types" / f"{code}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def _field(raw: dict, name: str) -> dict:
    return next(f for f in raw["fields"] if f["name"] == name)


BROKEN = [
    ("unknown field type", lambda r: _field(r, "facts").update(type="blob"), "CATALOG_FIELD_TYPE", "blob"),
    ("duplicate field", lambda r: r["fields"].append(dict(_field(r, "facts"))), "CATALOG_FIELD_DUPLICATE", "facts"),
    ("unknown category", lambda r: r.update(category="nowhere"), "CATALOG_UNKNOWN_CATEGORY", "nowhere"),
    ("key_field not a field", lambda r: r.update(key_field="nope"), "CATALOG_ROLE_FIELD", "nope"),
    ("date_field not a date", lambda r: r.update(date_field="facts"), "CATALOG_ROLE_FIELD", "facts"),
    ("amount_field not money", lambda r: r.update(amount_field="facts"), "CATALOG_ROLE_FIELD", "facts"),
    ("enum without values", lambda r: _field(r, "procedure").pop("values"), "CATALOG_ENUM_VALUES", "procedure"),
    ("values on a text field", lambda r: _field(r, "facts").update(values={"a": "甲"}), "CATALOG_ENUM_VALUES", "facts"),
    ("unknown polarity", lambda r: r.update(polarity="bad"), "CATALOG_TYPE_POLARITY", "polarity"),
    ("unknown disclosure", lambda r: r.update(disclosure="secret"), "CATALOG_TYPE_DISCLOSURE", "disclosure"),
    ("unknown publicity", lambda r: r.update(publicity="forever"), "CATALOG_TYPE_PUBLICITY", "forever"),
    ("typo in a key", lambda r: r.update(lable="x"), "CATALOG_TYPE_KEY", "lable"),
    ("no subject_name", lambda r: r["fields"].remove(_field(r, "subject_name")), "CATALOG_SUBJECT_FIELDS", "subject_name"),
    ("uscc required", lambda r: _field(r, "uscc").update(required=True), "CATALOG_SUBJECT_FIELDS", "uscc"),
    ("code differs from file", lambda r: r.update(code="other"), "CATALOG_TYPE_CODE", "other"),
    ("missing legal basis", lambda r: r.pop("legal_basis"), "CATALOG_TYPE_MISSING", "legal_basis"),
    ("bad field name", lambda r: _field(r, "facts").update(name="Facts X"), "CATALOG_FIELD_NAME", "Facts X"),
    ("alias to unknown code", lambda r: _field(r, "procedure").update(aliases={"快": "fast"}), "CATALOG_ENUM_ALIASES", "fast"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "change", "code", "word"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_record_type(data: Path, case: str, change, code: str, word: str) -> None:
    _edit(data, "administrative_penalty", change)
    with pytest.raises(CatalogError) as exc:
        load_catalog(data)
    assert exc.value.code == code, exc.value.message
    assert "administrative_penalty.yaml" in exc.value.message or code == "CATALOG_TYPE_CODE"
    assert word in exc.value.message


def test_broken_yaml(data: Path) -> None:
    (data / "record_types" / "honor.yaml").write_text("code: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(data)
    assert exc.value.code == "CATALOG_YAML_INVALID"
    assert "honor.yaml" in exc.value.message


def test_missing_version(data: Path) -> None:
    path = data / "catalog.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw.pop("version")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(data)
    assert exc.value.code == "CATALOG_VERSION"

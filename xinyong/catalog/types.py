"""The catalog's value types: what a record type is, as read from the data files.

These are plain frozen dataclasses so that every other domain (ingest, evaluation, reports)
can hold a catalog without touching YAML or the database. The loader (``loader.py``) builds
them and validates the data; nothing here reads files.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from xinyong.core.errors import DomainError

# Field types a record type may declare. ``money`` is stored as an integer number of 分 (fen)
# so that sums are exact; ``enum`` carries its codes and Chinese labels.
FIELD_TYPES = frozenset(
    {"text", "uscc", "id_number", "date", "money", "integer", "decimal", "enum", "boolean"}
)
POLARITIES = ("positive", "negative", "neutral")
# GLOSSARY: 公开 / 有限公开 / 不公开
DISCLOSURES = ("public", "restricted", "internal")
# Publicity families that need no rule file: ``always`` = public without an end date,
# ``none`` = never shown on a public page (its period ends the day it starts).
BUILTIN_PUBLICITY = ("always", "none")


class CatalogError(DomainError):
    """A catalog problem; ``code`` is stable for machines, ``message`` is Chinese for people."""

    def __init__(self, code: str, message: str) -> None:
        status = 404 if code == "CATALOG_UNKNOWN_TYPE" else 400
        super().__init__(code, message, status=status)


def _norm_token(value: str) -> str:
    # Full-width forms and case must not matter when a department writes an enum value.
    return unicodedata.normalize("NFKC", value).strip().casefold()


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool
    label: str
    values: dict[str, str] | None = None  # enum code -> Chinese label
    # Extra accepted inputs for an enum (input -> code), e.g. "法人及非法人组织" -> legal_person,
    # because departments' templates do not spell labels the way the catalog does.
    aliases: dict[str, str] | None = None
    description: str | None = None

    def enum_inputs(self) -> dict[str, str]:
        """Every accepted input for an enum (normalised: NFKC, trimmed, casefolded) -> code."""
        if self.values is None:
            return {}
        out: dict[str, str] = {}
        for code, label in self.values.items():
            out[_norm_token(code)] = code
            out[_norm_token(label)] = code
        for alias, code in (self.aliases or {}).items():
            out[_norm_token(alias)] = code
        return out

    def enum_code(self, value: str | None) -> str | None:
        """The enum code for a code, a Chinese label or an alias; None when not recognised."""
        if value is None or self.values is None:
            return None
        return self.enum_inputs().get(_norm_token(str(value)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "label": self.label,
        }
        if self.values is not None:
            out["values"] = dict(self.values)
        if self.aliases:
            out["aliases"] = dict(self.aliases)
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    order: int

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "order": self.order}


@dataclass(frozen=True)
class RecordType:
    code: str
    label: str
    category: str
    polarity: str
    disclosure: str
    publicity: str
    legal_basis: str
    key_field: str | None
    title_field: str | None
    date_field: str | None
    valid_until_field: str | None
    amount_field: str | None
    fields: tuple[FieldSpec, ...]
    outcome_field: str | None = None
    description: str | None = None
    # When one field is not enough to identify a record (a tax rating per year), a template
    # over fields such as "{taxpayer_number}/{year}"; ``default_profile`` uses it.
    key_template: str | None = None

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields if spec.required)

    def outcome_values(self) -> tuple[str, ...]:
        """The enum codes the outcome field can take (empty when the type has none)."""
        spec = self.field(self.outcome_field) if self.outcome_field else None
        return tuple(spec.values or ()) if spec else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "category": self.category,
            "polarity": self.polarity,
            "disclosure": self.disclosure,
            "publicity": self.publicity,
            "legal_basis": self.legal_basis,
            "description": self.description,
            "key_field": self.key_field,
            "key_template": self.key_template,
            "title_field": self.title_field,
            "date_field": self.date_field,
            "valid_until_field": self.valid_until_field,
            "amount_field": self.amount_field,
            "outcome_field": self.outcome_field,
            "fields": [spec.to_dict() for spec in self.fields],
        }


@dataclass(frozen=True)
class Catalog:
    version: str
    digest: str
    categories: tuple[Category, ...]
    types: dict[str, RecordType]
    title: str = ""
    basis: tuple[str, ...] = field(default_factory=tuple)

    def type(self, code: str) -> RecordType:
        try:
            return self.types[code]
        except KeyError:
            raise CatalogError(
                "CATALOG_UNKNOWN_TYPE", f"目录（{self.version}版）中没有信息类别“{code}”"
            ) from None

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def types_in(self, category: str) -> list[RecordType]:
        return [t for t in self.types.values() if t.category == category]

    def snapshot(self) -> dict[str, Any]:
        """The full content as JSON-serialisable data; ``digest`` is the sha256 of its canonical
        JSON form without the digest itself (see ``loader.canonical_digest``)."""
        return {
            "version": self.version,
            "title": self.title,
            "basis": list(self.basis),
            "digest": self.digest,
            "categories": [c.to_dict() for c in self.categories],
            "types": {code: t.to_dict() for code, t in self.types.items()},
        }

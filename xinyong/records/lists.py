"""Published lists (公示名单): the serious dishonesty list, dishonest judgment debtors, consumption
restriction orders and the abnormal operations list, as the public may see them.

A list is one record type of the catalog; an entry is one record of that type. What the public
sees is exactly what it sees on a profile: ``visible_clause("public", today)`` (public
disclosure, the current version, active or under objection, inside its publicity period), and
never a natural person — court lists name individuals, whose records are never public here.
An entry shows the subject's name, credit code and region, the decision date, the department
that sent it, the title (and for some lists the reason) and the end of publicity; never an ID
number.

Speed at city scale (1M subjects, 20M records, ~600k list entries): every query reads the list
entries through ``ix_credit_record_list`` (migration 0009), a partial index over the list types
only that also holds the columns of the visibility rule, so counting a list and finding a page in
date order never touch the table. Penalties and licences, the bulk of every ingest, are outside
its predicate and pay nothing for it (the reason 0005 dropped the full (record_type, decided_on)
index). SQLite uses a partial index only when the query repeats the index's own predicate, term
for term, so every query here carries :func:`_in_lists`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import Select, Text, cast, exists, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from xinyong.catalog.loader import load_catalog
from xinyong.catalog.types import RecordType
from xinyong.core import clock
from xinyong.core.errors import DomainError
from xinyong.records.models import CreditRecord, CreditRecordDetail
from xinyong.records.profile import department_names, visible_clause
from xinyong.subjects.models import (
    SUBJECT_STATUSES,
    GramStat,
    Subject,
    SubjectName,
    SubjectNameGram,
)
from xinyong.subjects.names import normalize_name
from xinyong.subjects.regions import load_regions, region_name
from xinyong.subjects.search import USCC_LIKE, _escape_like, _grams

Sort = Literal["date_desc", "date_asc", "name"]
SORTS: tuple[Sort, ...] = ("date_desc", "date_asc", "name")
MAX_QUERY = 100
MAX_SIZE = 100


@dataclass(frozen=True)
class ListSpec:
    code: str  # the record type
    # A text field of the payload shown as the reason, when the record's title is something
    # else (a case number); None when the title already says why.
    reason_field: str | None = None
    # The title is free text (a reason) rather than a number or a short name: pages let it wrap.
    title_is_text: bool = False


# The catalog has no "is a published list" attribute: its ``publicity: list`` family also covers
# honours, A-grade taxpayers, customs certification and professional qualifications, which are
# shown while they last but are not lists of sanctioned subjects, and tax arrears notices. These
# four are the lists the national rules publish as lists (国办发〔2020〕49号 and the courts'
# 法释〔2017〕7号、法释〔2015〕17号), in the order a reader looks for them. Adding one here
# needs a migration that recreates ix_credit_record_list with the new predicate
# (tests/records/test_lists.py checks that the two agree).
LISTS: tuple[ListSpec, ...] = (
    ListSpec("serious_dishonesty_list", reason_field="reason"),
    ListSpec("dishonest_judgment_debtor", reason_field="behaviour"),
    ListSpec("consumption_restriction"),
    ListSpec("abnormal_operations_list", title_is_text=True),
)
LIST_TYPES: tuple[str, ...] = tuple(spec.code for spec in LISTS)
_SPECS = {spec.code: spec for spec in LISTS}

# A name query whose rarest bigram is in more names than this is checked entry by entry
# instead of through the bigram index ("有限公司" is in nearly every name).
GRAM_SET_MAX = 20_000


class ListError(DomainError):
    pass


# ------------------------------------------------------------------------------ the lists


def _record_type(code: str) -> RecordType:
    if code not in _SPECS:
        raise ListError(
            "LIST_UNKNOWN",
            f"没有名为「{code[:64]}」的公示名单：请从公示名单首页选择，可查询的名单有"
            + "、".join(load_catalog().types[c].label for c in LIST_TYPES)
            + "。",
            status=404,
        )
    return load_catalog().type(code)


def _label(rtype: RecordType, field: str | None) -> str | None:
    spec = rtype.field(field) if field else None
    return spec.label if spec else None


def list_info(code: str) -> dict[str, Any]:
    """What a list is: its Chinese name, legal basis and the labels of its columns (each list
    names its date and title the way its catalog entry does)."""
    rtype = _record_type(code)
    spec = _SPECS[code]
    catalog = load_catalog()
    category = catalog.category(rtype.category)
    return {
        "code": code,
        "label": rtype.label,
        "category": rtype.category,
        "category_label": category.label if category else rtype.category,
        "legal_basis": rtype.legal_basis,
        "date_label": _label(rtype, rtype.date_field) or "决定日期",
        "title_label": _label(rtype, rtype.title_field) or "标题",
        "reason_label": _label(rtype, spec.reason_field),
        "title_is_text": spec.title_is_text,
    }


def published_lists(session: Session, *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Every published list with the number of entries the public may see today."""
    today = today or clock.today()
    r = CreditRecord.__table__.c
    rows = session.execute(
        select(r.record_type, func.count())
        .select_from(CreditRecord.__table__)
        .where(*_public_entries(session, today))
        .group_by(r.record_type)
    ).all()
    counts = {str(t): int(n) for t, n in rows}
    return [{**list_info(code), "count": counts.get(code, 0)} for code in LIST_TYPES]


# ------------------------------------------------------------------------------ filters


def region_prefix(value: str) -> str:
    """A GB/T 2260 code, a prefix of one ("4403"), or a region's name ("深圳市", "深圳") → the
    code prefix that selects it: trailing "00" pairs go, "440300" means all of 4403xx."""
    text_ = value.replace("\x00", "").strip()
    if re.fullmatch(r"\d{2,6}", text_):
        code = text_
        while len(code) > 2 and len(code) % 2 == 0 and code.endswith("00"):
            code = code[:-2]
        return code
    regions = load_regions()
    hits = regions.filter(
        (regions["name"] == text_)
        | (regions["short_name"] == text_)
        | regions["aliases"].str.split("|").list.contains(text_)
    )
    codes = sorted(set(hits["code"].to_list()))
    if len(codes) == 1:
        return region_prefix(codes[0])
    if len(codes) > 1:
        named = "、".join(f"{region_name(c)}（{c}）" for c in codes[:6])
        raise ListError(
            "LIST_REGION_AMBIGUOUS",
            f"地区「{text_[:20]}」对应多个行政区划：{named}：请改为输入其中一个行政区划代码。",
        )
    raise ListError(
        "LIST_REGION_INVALID",
        f"无法识别地区「{text_[:20]}」：请输入行政区划代码（如 4403 或 440305）"
        "或地区名称（如 深圳市、南山区）。",
    )


def _check(sort: str, year: int | None, q: str | None) -> None:
    if sort not in SORTS:
        raise ListError(
            "LIST_SORT_INVALID",
            f"排序方式「{sort[:20]}」无效：请使用 date_desc（日期从新到旧）、"
            "date_asc（日期从旧到新）或 name（按名称）。",
        )
    if year is not None and not 1949 <= year <= 2100:
        raise ListError(
            "LIST_YEAR_INVALID", f"年份「{year}」无效：请输入四位年份，如 {clock.today().year}。"
        )
    if q is not None and len(q) > MAX_QUERY:
        raise ListError(
            "LIST_QUERY_TOO_LONG",
            f"查询词过长：请输入不超过 {MAX_QUERY} 个字符的名称或统一社会信用代码。",
        )


# ------------------------------------------------------------------------------ statements


def _in_lists() -> ColumnElement[bool]:
    """The predicate of ix_credit_record_list, written out with literal values: SQLite uses a
    partial index only when the query holds this very term (bound values would not match)."""
    values = ", ".join(f"'{code}'" for code in LIST_TYPES)
    return text(f"credit_record.record_type IN ({values})")  # type: ignore[return-value]


def _not_natural_person(dialect: str) -> ColumnElement[bool]:
    """No record of a natural person, decided without reading each entry's subject row.

    SQLite runs ``NOT IN (subquery)`` once into an in-memory set (a correlated NOT EXISTS would
    read one subject row per entry), found through ix_subject_status_kind by naming every
    status; PostgreSQL plans NOT EXISTS as an anti-join, while its NOT IN becomes a per-row
    subplan as soon as the set outgrows work_mem. The rows of a page are checked again on the
    subject row itself (:func:`_keys_statement`), so the set only has to be right for counting.
    """
    r = CreditRecord.__table__.c
    n = Subject.__table__.alias("np")
    if dialect == "sqlite":
        return r.subject_id.not_in(
            select(n.c.id).where(n.c.status.in_(SUBJECT_STATUSES), n.c.kind == "natural_person")
        )
    return ~exists().where(n.c.id == r.subject_id, n.c.kind == "natural_person")


def _public_entries(session: Session, today: dt.date) -> list[ColumnElement[bool]]:
    dialect = session.get_bind().dialect.name
    return [_in_lists(), visible_clause("public", today), _not_natural_person(dialect)]


def _subject_filter(session: Session, q: str) -> ColumnElement[bool] | None:
    """Entries whose subject's credit code starts with ``q``, or one of whose current or former
    names contains it. None when nothing can match."""
    r = CreditRecord.__table__.c
    code = normalize_name(q).upper()
    if USCC_LIKE.match(code):
        s = Subject.__table__.alias("qs")
        return r.subject_id.in_(
            select(s.c.id).where(s.c.uscc >= code, s.c.uscc < code + "\uffff")
        )
    norm = normalize_name(q)
    if not norm:
        return None
    pattern = f"%{_escape_like(norm)}%"
    sn = SubjectName.__table__.alias("qn")
    grams = _grams(norm)
    if grams:
        g = SubjectNameGram.__table__.c
        stats = _gram_df(session, grams)
        if any(gram not in stats for gram in grams):
            return None  # a bigram no name has: no name contains the query
        rarest = min(grams, key=lambda gram: stats[gram])
        if stats[rarest] <= GRAM_SET_MAX:
            candidates = select(g.subject_id).where(g.gram == rarest)
            return r.subject_id.in_(
                select(sn.c.subject_id).where(
                    sn.c.subject_id.in_(candidates), sn.c.name_norm.like(pattern, escape="\\")
                )
            )
    return exists().where(
        sn.c.subject_id == r.subject_id, sn.c.name_norm.like(pattern, escape="\\")
    )


def _gram_df(session: Session, grams: list[str]) -> dict[str, int]:
    rows = session.execute(select(GramStat.gram, GramStat.df).where(GramStat.gram.in_(grams)))
    return {str(gram): int(df) for gram, df in rows}


def _filters(
    session: Session,
    code: str,
    *,
    q: str | None,
    region: str | None,
    year: int | None,
) -> list[ColumnElement[bool]] | None:
    """The WHERE terms of the filters (on columns ix_credit_record_list holds, or on sets of
    subject ids); None when nothing can match."""
    r = CreditRecord.__table__.c
    where: list[ColumnElement[bool]] = [r.record_type == code]
    if q:
        matched = _subject_filter(session, q)
        if matched is None:
            return None
        where.append(matched)
    if region:
        prefix = region_prefix(region)
        s = Subject.__table__.alias("rs")
        # the set of the region's subjects, probed per entry: the entries, not the subjects,
        # drive the query (a region can hold most of the city's subjects)
        where.append(
            r.subject_id.in_(
                select(s.c.id).where(
                    s.c.region_code >= prefix, s.c.region_code < prefix + "\uffff"
                )
            )
        )
    if year is not None:
        where += [r.decided_on >= dt.date(year, 1, 1), r.decided_on < dt.date(year + 1, 1, 1)]
    return where


def _keys_statement(
    where: list[ColumnElement[bool]], today: dt.date, sort: Sort
) -> Select[Any]:
    """The keys of a page's entries in order. Everything it reads of credit_record is in
    ix_credit_record_list (the page's other columns are read for its few rows afterwards), so
    walking the list in date order, or sorting it by name, never reads the table."""
    r = CreditRecord.__table__
    s = Subject.__table__
    if sort == "name":
        order = [s.c.name_norm, r.c.id]
    elif sort == "date_asc":
        order = [r.c.decided_on, r.c.id]
    else:
        # the index order read backwards: the first page costs a few index entries
        order = [r.c.decided_on.desc(), r.c.id.desc()]
    return (
        select(r.c.subject_id, r.c.id)
        .select_from(r.join(s, s.c.id == r.c.subject_id))
        .where(_in_lists(), visible_clause("public", today), *where)
        .where(s.c.kind != "natural_person")
        .order_by(*order)
    )


def _rows_statement(
    keys: list[tuple[int, int]], code: str, today: dt.date
) -> Select[Any]:
    r = CreditRecord.__table__
    s = Subject.__table__
    return (
        select(
            r.c.id,
            r.c.subject_id,
            r.c.department_id,
            r.c.title,
            r.c.decided_on,
            r.c.publicity_until,
            s.c.name,
            s.c.uscc,
            s.c.region_code,
            s.c.province,
            s.c.city,
        )
        .select_from(r.join(s, s.c.id == r.c.subject_id))
        .where(
            r.c.subject_id.in_({sid for sid, _ in keys}),
            r.c.id.in_({rid for _, rid in keys}),
            r.c.record_type == code,
            # the rule again, on the rows shown: what the public sees is never decided by an
            # earlier statement alone
            visible_clause("public", today),
            s.c.kind != "natural_person",
        )
    )


# ------------------------------------------------------------------------------ entries


def _iso(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value.isoformat())


def _reasons(session: Session, field: str | None, rows: list[Any]) -> dict[int, str]:
    """The reason field of each entry's payload; nothing else of the payload leaves here."""
    if not field or not rows:
        return {}
    d = CreditRecordDetail.__table__.c
    ids = {int(row.id) for row in rows}
    got = session.execute(
        select(d.id, cast(d.data, Text)).where(
            d.subject_id.in_({int(row.subject_id) for row in rows}), d.id.in_(ids)
        )
    ).all()
    out: dict[int, str] = {}
    for rid, data in got:
        if int(rid) not in ids or not data:
            continue
        value = orjson.loads(data).get(field)
        if value not in (None, ""):
            out[int(rid)] = str(value)
    return out


def _region_label(row: Any) -> str | None:
    parts = [p for p in (row.province, row.city) if p]
    if parts:
        return " ".join(dict.fromkeys(parts))
    return region_name(row.region_code)


def list_entries(
    session: Session,
    list_type: str,
    *,
    q: str | None = None,
    region: str | None = None,
    year: int | None = None,
    sort: str = "date_desc",
    limit: int = 20,
    offset: int = 0,
    today: dt.date | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of a list's public entries and how many there are under the filters.

    ``q``: part of the subject's name (current or former) or the start of its credit code;
    ``region``: a GB/T 2260 code, prefix or region name; ``year``: the year of the decision.
    """
    _record_type(list_type)
    q = (q or "").replace("\x00", "").strip() or None
    _check(sort, year, q)
    today = today or clock.today()
    limit = max(1, min(int(limit), MAX_SIZE))
    offset = max(0, int(offset))
    where = _filters(session, list_type, q=q, region=region or None, year=year)
    if where is None:
        return [], 0
    r = CreditRecord.__table__
    total = int(
        session.execute(
            select(func.count())
            .select_from(r)
            .where(*_public_entries(session, today), *where)
        ).scalar_one()
    )
    if total == 0 or offset >= total:
        return [], total
    keys = [
        (int(sid), int(rid))
        for sid, rid in session.execute(
            _keys_statement(where, today, sort).limit(limit).offset(offset)  # type: ignore[arg-type]
        )
    ]
    if not keys:
        return [], total
    by_id = {int(row.id): row for row in session.execute(_rows_statement(keys, list_type, today))}
    rows = [by_id[rid] for _, rid in keys if rid in by_id]
    depts = department_names(session, {int(row.department_id) for row in rows})
    reasons = _reasons(session, _SPECS[list_type].reason_field, rows)
    items = [
        {
            "record_id": int(row.id),
            "subject_id": int(row.subject_id),
            "subject_name": row.name,
            "uscc": row.uscc,
            "region_code": row.region_code,
            "region": _region_label(row),
            "decided_on": _iso(row.decided_on),
            "authority": depts.get(int(row.department_id)),
            "title": row.title,
            "reason": reasons.get(int(row.id)),
            "publicity_until": _iso(row.publicity_until),
        }
        for row in rows
    ]
    return items, total


__all__ = [
    "LISTS",
    "LIST_TYPES",
    "SORTS",
    "ListError",
    "list_entries",
    "list_info",
    "published_lists",
    "region_prefix",
]

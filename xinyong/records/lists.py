"""Published lists (公示名单): the serious dishonesty list, dishonest judgment debtors, consumption
restriction orders and the abnormal operations list, as the public may see them.

A list is one record type of the catalog; an entry is one record of that type. What the public
sees is exactly what it sees on a profile: ``visible_clause("public", today)`` (public
disclosure, the current version, active or under objection, inside its publicity period), and
never a natural person — court lists name individuals, whose records are never public here.
An entry shows the subject's name, credit code and region, the decision date, the department
that sent it, the title (and for some lists the reason) and the end of publicity; never an ID
number.

Speed at city scale (1M subjects, 20M records, 575,000 list entries; the longest list, the
abnormal operations list, has 397,000): the entries are read through ``ix_credit_record_list``
(migration 0009), a partial index over the list types only that also holds the columns of the
visibility rule, so counting a list or reading it in date order never touches the table.
Penalties and licences, the bulk of every ingest, are outside its predicate and pay nothing for
it (why 0005 dropped the full (record_type, decided_on) index). SQLite uses a partial index only
when the query holds one of the index's predicate terms as written: every statement on the
entries names its list with a literal (:func:`_of_list`). Without the index a page took 10-24 s
on either engine.

``benchmarks/bench_lists.py``, 132 requests over the four lists (newest and oldest pages, name
order, a year, districts, provinces, parts of names, a common word, code prefixes, deep pages):
p50 41 ms / p99 290 ms on SQLite, p50 74 ms / p99 542 ms on PostgreSQL; a newest page 5-7 ms;
the index page 120-135 ms with its counts computed afresh, ~0 while they are kept (COUNT_TTL).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import (
    Select,
    Text,
    and_,
    cast,
    exists,
    func,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from xinyong.catalog.loader import load_catalog
from xinyong.catalog.types import RecordType
from xinyong.core import clock, hooks
from xinyong.core.errors import DomainError
from xinyong.records.models import CreditRecord, CreditRecordDetail
from xinyong.records.profile import STATUS_LABELS, department_names, visible_clause
from xinyong.subjects.idnumbers import mask_personal_data
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

# Filters that leave at most this many subjects are served from those subjects' records.
CANDIDATE_CAP = 1_000
# A name query all of whose bigrams are in more names than this is refused as too common
# ("有限公司" is in nearly every name; a list filtered by it is the list itself).
GRAM_SET_MAX = 200_000
# Up to this many matching entries are all read (by the plan that counted them) and sorted
# here; more are paged by walking an index in order (the list's by date, the subjects' by
# name), whose cost grows with the page's depth: for names that depth is bounded.
FETCH_ALL_MAX = 5_000
# The name walk reads subjects a batch at a time: a batch's entries cost ~0.08 ms per subject
# on PostgreSQL (their rows are spread over the heap), ~0.005 ms on SQLite; from a few
# thousand subjects on, PostgreSQL reads the whole table instead (seconds).
NAME_BATCH = 1_000
NAME_WALK_MAX = 5_000
COUNT_TTL = 60.0


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
    counts = _list_counts(session, today or clock.today())
    return [{**list_info(code), "count": counts[code]} for code in LIST_TYPES]


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
#
# How a page is found, by what the filters leave:
#
# - the filters name few subjects (a distinctive part of a name, a credit code, a small
#   region; at most CANDIDATE_CAP subjects): their records are read by the clustered key
#   (subject_id, id), a few rows each, and counted and sorted here;
# - otherwise the list's entries drive, read from ix_credit_record_list: the count is one scan
#   of the index, a page in date order is the index read from one end. Filters on subjects
#   are sets of subject ids built once and probed per entry. Both sides of those probes are
#   written ``x + 0`` so that no engine can turn them into one index lookup per entry into the
#   other table (PostgreSQL did, 400,000 subject lookups for a province-wide region).


def _in_lists() -> ColumnElement[bool]:
    """The predicate of ix_credit_record_list, as migration 0009 writes it: every list at once
    (the counts of all lists). An OR of equalities, not IN: SQLite evaluates an IN list by
    building a small table for every row it inserts, which cost penalties' ingest as much as a
    full index (+38 % on a raw insert of 200,000 penalties; the OR costs +3 %)."""
    terms = " OR ".join(f"credit_record.record_type = '{code}'" for code in LIST_TYPES)
    return text(f"({terms})")  # type: ignore[return-value]


def _of_list(code: str) -> ColumnElement[bool]:
    """One list's entries, through ix_credit_record_list: SQLite uses a partial index only when
    the query holds one of its predicate's terms as written, a literal (a bound value would not
    match); ``code`` is one of LIST_TYPES."""
    assert code in _SPECS
    return text(f"credit_record.record_type = '{code}'")  # type: ignore[return-value]


def _of_type(code: str) -> ColumnElement[bool]:
    """One list's entries, compared as an expression so that no engine picks the list index for
    a statement that reads a few subjects by the clustered key (PostgreSQL would combine the
    two and read the whole list's part of the index)."""
    return CreditRecord.__table__.c.record_type + "" == code


def _not_natural_person(dialect: str) -> ColumnElement[bool]:
    """No record of a natural person, decided without reading each entry's subject row.

    The natural persons are found through ix_subject_status_kind by naming every status (the
    index leads with status). SQLite runs ``NOT IN (subquery)`` once into an in-memory set (a
    correlated NOT EXISTS reads one subject row per entry); PostgreSQL plans NOT EXISTS as an
    anti-join, while its NOT IN turns into a per-row subplan once the set outgrows work_mem.
    The rows shown are checked again on the subject row itself (``_rows_statement``), so a
    subject with a status outside SUBJECT_STATUSES could only make a count one too high.
    """
    r = CreditRecord.__table__.c
    n = Subject.__table__.alias("np")
    natural = and_(n.c.status.in_(SUBJECT_STATUSES), n.c.kind == "natural_person")
    if dialect == "sqlite":
        return r.subject_id.not_in(select(n.c.id).where(natural))
    return ~exists().where(n.c.id == r.subject_id, natural)


def _public_entries(session: Session, today: dt.date) -> list[ColumnElement[bool]]:
    dialect = session.get_bind().dialect.name
    return [visible_clause("public", today), _not_natural_person(dialect)]


def _plus0(column: Any) -> Any:
    return column + literal_column("0")


@dataclass
class _Filter:
    """One filter on the entries' subjects, in the two forms the two plans need."""

    ids: set[int] | None  # the subjects it names, when there are at most CANDIDATE_CAP
    per_row: list[ColumnElement[bool]]  # on credit_record / subject rows (few rows)
    as_set: list[ColumnElement[bool]]  # on credit_record only, as probed sets (many entries)


def _capped_ids(session: Session, stmt: Select[Any]) -> set[int] | None:
    ids = {int(i) for (i,) in session.execute(stmt.limit(CANDIDATE_CAP + 1))}
    return ids if len(ids) <= CANDIDATE_CAP else None


def _code_filter(session: Session, code: str) -> _Filter:
    s = Subject.__table__
    r = CreditRecord.__table__.c
    hi = code + "\uffff"
    ids = _capped_ids(session, select(s.c.id).where(s.c.uscc >= code, s.c.uscc < hi))
    x = s.alias("qs")
    return _Filter(
        ids,
        [s.c.uscc >= code, s.c.uscc < hi],
        [_plus0(r.subject_id).in_(select(_plus0(x.c.id)).where(x.c.uscc >= code, x.c.uscc < hi))],
    )


def _name_filter(session: Session, q: str) -> _Filter | None:
    """Current or former names containing ``q``, found through the bigram index (search.py);
    None when no name can contain it."""
    norm = normalize_name(q)
    grams = _grams(norm)
    if not grams:
        raise ListError(
            "LIST_QUERY_TOO_SHORT",
            "名称至少输入两个字：请输入名称中连续的两个或更多字，如字号。",
        )
    stats = _gram_df(session, grams)
    if any(gram not in stats for gram in grams):
        return None  # a bigram no name has
    rare = sorted(grams, key=lambda gram: stats[gram])[:2]
    if stats[rare[0]] > GRAM_SET_MAX:
        raise ListError(
            "LIST_QUERY_TOO_COMMON",
            f"「{q[:20]}」在绝大多数名称中都有：请输入名称中更有区分度的部分（如字号），"
            "或用地区、年份筛选。",
        )
    r = CreditRecord.__table__.c
    g = SubjectNameGram.__table__
    sn = SubjectName.__table__.alias("qn")
    pattern = f"%{_escape_like(norm)}%"
    like = exists().where(sn.c.subject_id == r.subject_id, sn.c.name_norm.like(pattern, escape="\\"))
    # Two characters are one bigram: holding it is containing the query, nothing to verify.
    verify = [like] if len(norm) > 2 else []
    ids = None
    if stats[rare[0]] <= GRAM_SET_MAX // 10:
        g0, g1 = g.alias("g0"), g.alias("g1")
        found = select(g0.c.subject_id).where(g0.c.gram == rare[0])
        if len(rare) > 1:
            found = found.where(
                exists().where(g1.c.gram == rare[1], g1.c.subject_id == g0.c.subject_id)
            )
        if len(norm) > 2:
            v = SubjectName.__table__.alias("qv")
            found = found.where(
                exists().where(
                    v.c.subject_id == g0.c.subject_id, v.c.name_norm.like(pattern, escape="\\")
                )
            )
        ids = _capped_ids(session, found)
    sets = []
    for i, gram in enumerate(rare):
        gx = g.alias(f"gs{i}")
        sets.append(
            _plus0(r.subject_id).in_(select(_plus0(gx.c.subject_id)).where(gx.c.gram == gram))
        )
    if len(norm) > 2:
        per_row = [like]
    else:
        gp = g.alias("gp")  # one probe of the bigram index's key
        per_row = [exists().where(gp.c.gram == rare[0], gp.c.subject_id == r.subject_id)]
    return _Filter(ids, per_row, sets + verify)


def _region_filter(session: Session, prefix: str) -> _Filter:
    s = Subject.__table__
    r = CreditRecord.__table__.c
    hi = prefix + "\uffff"
    ids = _capped_ids(
        session, select(s.c.id).where(s.c.region_code >= prefix, s.c.region_code < hi)
    )
    x = s.alias("rs")
    return _Filter(
        ids,
        [s.c.region_code >= prefix, s.c.region_code < hi],
        [
            _plus0(r.subject_id).in_(
                select(_plus0(x.c.id)).where(x.c.region_code >= prefix, x.c.region_code < hi)
            )
        ],
    )


def _gram_df(session: Session, grams: list[str]) -> dict[str, int]:
    rows = session.execute(select(GramStat.gram, GramStat.df).where(GramStat.gram.in_(grams)))
    return {str(gram): int(df) for gram, df in rows}


def _subject_filters(session: Session, q: str | None, region: str | None) -> list[_Filter] | None:
    """The filters on subjects; None when nothing can match."""
    out: list[_Filter] = []
    if q:
        code = normalize_name(q).upper()
        if USCC_LIKE.match(code):
            out.append(_code_filter(session, code))
        else:
            name = _name_filter(session, q)
            if name is None:
                return None
            out.append(name)
    if region:
        out.append(_region_filter(session, region_prefix(region)))
    return out


def _order_key(sort: Sort) -> Any:
    """The order of the statements below, for entries sorted here: (subject_id, id,
    decided_on, name_norm) tuples; date_desc is this order reversed."""
    if sort == "name":
        return lambda e: (e[3], e[0], e[1])
    return lambda e: (_iso(e[2]) or "", e[1])


def _few_subjects(
    session: Session,
    ids: set[int],
    base: list[ColumnElement[bool]],
    filters: list[_Filter],
    today: dt.date,
    sort: Sort,
) -> list[tuple[int, int]]:
    """Every public entry of these subjects, in page order: (subject_id, id)."""
    r = CreditRecord.__table__
    s = Subject.__table__
    rows = session.execute(
        select(r.c.subject_id, r.c.id, r.c.decided_on, s.c.name_norm)
        .select_from(r.join(s, s.c.id == r.c.subject_id))
        .where(
            # by the clustered key, a few rows per subject
            r.c.subject_id.in_(sorted(ids)),
            visible_clause("public", today),
            s.c.kind != "natural_person",
            *base,
            *(cond for f in filters if f.ids is None for cond in f.per_row),
        )
    ).all()
    entries = [(int(a), int(b), c, d) for a, b, c, d in rows]
    entries.sort(key=_order_key(sort), reverse=sort == "date_desc")
    return [(e[0], e[1]) for e in entries]


def _count_entries(
    session: Session, where: list[ColumnElement[bool]], today: dt.date
) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(CreditRecord.__table__)
            .where(*_public_entries(session, today), *where)
        ).scalar_one()
    )


def _all_keys(
    session: Session, where: list[ColumnElement[bool]], today: dt.date, sort: Sort
) -> list[tuple[int, int]]:
    """Every matching entry (there are at most FETCH_ALL_MAX), sorted here. The WHERE is the
    count's, so the engine plans it the way it planned the count (sets hashed once); with a
    LIMIT PostgreSQL would rather probe a set per entry."""
    r = CreditRecord.__table__
    s = Subject.__table__
    dialect = session.get_bind().dialect.name
    conds = [visible_clause("public", today), _not_natural_person(dialect), *where]
    if sort == "name":
        stmt = (
            select(r.c.subject_id, r.c.id, r.c.decided_on, s.c.name_norm)
            .select_from(r.join(s, s.c.id == r.c.subject_id))
            .where(*conds)
        )
    else:
        stmt = select(r.c.subject_id, r.c.id, r.c.decided_on, literal_column("''")).where(*conds)
    entries = [(int(a), int(b), c, d) for a, b, c, d in session.execute(stmt)]
    entries.sort(key=_order_key(sort), reverse=sort == "date_desc")
    return [(e[0], e[1]) for e in entries]


def _keys_by_date(
    session: Session, where: list[ColumnElement[bool]], today: dt.date, sort: Sort,
    limit: int, offset: int,
) -> list[tuple[int, int]]:
    """A page in date order when many entries match: ix_credit_record_list read from one end,
    each entry checked as it comes (``where`` holds per-row tests here, not sets), so the
    newest page reads about ``limit / share matching`` index entries."""
    r = CreditRecord.__table__
    s = Subject.__table__
    if sort == "date_asc":
        order = [r.c.decided_on, r.c.id]
    else:
        order = [r.c.decided_on.desc(), r.c.id.desc()]
    stmt = (
        select(r.c.subject_id, r.c.id)
        .select_from(r.join(s, s.c.id == r.c.subject_id))
        .where(visible_clause("public", today), *where)
        .where(s.c.kind != "natural_person")
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    return [(int(a), int(b)) for a, b in session.execute(stmt)]


def _keys_by_name(
    session: Session,
    code: str,
    per_row: list[ColumnElement[bool]],
    today: dt.date,
    limit: int,
    offset: int,
) -> list[tuple[int, int]]:
    """A page in name order when many entries match: the subjects are walked in name order
    (``ix_subject_name_norm``, a batch at a time) and each batch's entries read by the
    clustered key, until the page is full. Both engines plan these two simple statements the
    same way every time; a single statement joining the list to the name order was planned by
    PostgreSQL as a nested loop over a materialised list (seconds) or a sort of every entry's
    subject (~1.5 s for a 400,000-entry list). The walk costs what it passes over, so it is
    bounded (NAME_WALK_MAX subjects: the first pages of every list, further ones of the long
    lists, whose entries are dense in the name order)."""
    r = CreditRecord.__table__
    s = Subject.__table__
    need = offset + limit
    found: list[tuple[int, int]] = []
    last: tuple[str, int] | None = None
    walked = 0
    while len(found) < need:
        if walked >= NAME_WALK_MAX:
            raise ListError(
                "LIST_PAGE_TOO_DEEP",
                "按名称排序时翻页过深：请用名称、地区或年份缩小范围，或改为按日期排序后翻页。",
            )
        stmt = select(s.c.id, s.c.name_norm).order_by(s.c.name_norm, s.c.id).limit(NAME_BATCH)
        if last is not None:
            stmt = stmt.where(tuple_(s.c.name_norm, s.c.id) > tuple_(*last))
        subjects = session.execute(stmt).all()
        if not subjects:
            break
        walked += len(subjects)
        last = (subjects[-1][1], int(subjects[-1][0]))
        position = {int(sid): i for i, (sid, _) in enumerate(subjects)}
        hits = [
            (int(a), int(b))
            for a, b in session.execute(
                select(r.c.subject_id, r.c.id)
                .select_from(r.join(s, s.c.id == r.c.subject_id))
                .where(
                    # by the clustered key, a few rows per subject
                    r.c.subject_id.in_(list(position)),
                    _of_type(code),
                    visible_clause("public", today),
                    s.c.kind != "natural_person",
                    *per_row,
                )
            )
        ]
        hits.sort(key=lambda k: (position[k[0]], k[1]))
        found += hits
    return found[offset : offset + limit]


def _rows_statement(keys: list[tuple[int, int]], code: str, today: dt.date) -> Select[Any]:
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
            r.c.status,
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
            _of_type(code),
            # the rule again, on the rows shown, and the subject row's own kind: what the
            # public sees is never decided by an earlier statement alone
            visible_clause("public", today),
            s.c.kind != "natural_person",
        )
    )


# ------------------------------------------------------------------------------ counts
#
# The whole lists' counts (the index page, an unfiltered list's pager) are one scan of the
# index each, ~100 ms for a 400,000-entry list; they are kept for COUNT_TTL seconds per
# database and day, and forgotten at once when this process ingests or changes a record
# (core/hooks.py). Another process's ingest shows in the counts within COUNT_TTL.

_counts: dict[tuple[str, dt.date], tuple[float, dict[str, int]]] = {}
_counts_lock = threading.Lock()


def forget_counts(*_: Any) -> None:
    with _counts_lock:
        _counts.clear()


hooks.register_records_changed(forget_counts)


def _list_counts(session: Session, today: dt.date) -> dict[str, int]:
    key = (session.get_bind().url.render_as_string(hide_password=True), today)
    now = time.monotonic()
    with _counts_lock:
        got = _counts.get(key)
    if got is not None and got[0] > now:
        return got[1]
    r = CreditRecord.__table__.c
    rows = session.execute(
        select(r.record_type, func.count())
        .select_from(CreditRecord.__table__)
        .where(_in_lists(), *_public_entries(session, today))
        .group_by(r.record_type)
    ).all()
    counts = {code: 0 for code in LIST_TYPES} | {str(t): int(n) for t, n in rows}
    with _counts_lock:
        if len(_counts) > 64:  # one entry per database and day; tests make many databases
            _counts.clear()
        _counts[key] = (now + COUNT_TTL, counts)
    return counts


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
    order: Sort = sort  # type: ignore[assignment]
    today = today or clock.today()
    limit = max(1, min(int(limit), MAX_SIZE))
    offset = max(0, int(offset))
    filters = _subject_filters(session, q, region or None)
    if filters is None:
        return [], 0
    r = CreditRecord.__table__.c
    years: list[ColumnElement[bool]] = []
    if year is not None:
        years = [r.decided_on >= dt.date(year, 1, 1), r.decided_on < dt.date(year + 1, 1, 1)]
    base = [_of_list(list_type), *years]
    named = [f.ids for f in filters if f.ids is not None]
    if named:
        ids = set.intersection(*named)
        few = [_of_type(list_type), *years]
        ordered = _few_subjects(session, ids, few, filters, today, order) if ids else []
        total = len(ordered)
        keys = ordered[offset : offset + limit]
    else:
        sets = base + [cond for f in filters for cond in f.as_set]
        if filters or year is not None:
            total = _count_entries(session, sets, today)
        else:
            total = _list_counts(session, today)[list_type]
        if total == 0 or offset >= total:
            return [], total
        if total <= FETCH_ALL_MAX:
            keys = _all_keys(session, sets, today, order)[offset : offset + limit]
        else:
            per_row = [cond for f in filters for cond in f.per_row]
            if order == "name":
                keys = _keys_by_name(session, list_type, years + per_row, today, limit, offset)
            else:
                keys = _keys_by_date(session, base + per_row, today, order, limit, offset)
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
            # departments' free text can carry an ID or mobile number (a reason quoting a
            # person): masked as everywhere the public reads
            "title": mask_personal_data(row.title) if row.title else row.title,
            "reason": mask_personal_data(reasons[rid]) if (rid := int(row.id)) in reasons else None,
            "publicity_until": _iso(row.publicity_until),
            # an entry under objection is still listed, marked 异议处理中 as on the profile
            "status": row.status,
            "status_label": STATUS_LABELS.get(row.status, row.status),
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

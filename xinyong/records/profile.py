"""The profile (一企一档): one subject's attributes and all its records, grouped by catalog
category, in one of three views.

- ``public``: public records, current, not revoked or repaired, inside their publicity period;
  natural persons' records are never public;
- ``subject``: what the subject itself may see — its public and restricted records, all states;
- ``government``: everything, internal records included.

The visibility rule is one function (``visible_clause``) used by every query of records, so no
page or endpoint can forget it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from typing import Any, Literal

import orjson
from sqlalchemy import Date, Select, Text, and_, bindparam, cast, false, func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from xinyong.catalog.loader import load_catalog
from xinyong.core import clock
from xinyong.core.db import get_engine, run_read, run_read_async
from xinyong.departments.models import Department
from xinyong.records.models import CreditRecord, CreditRecordDetail
from xinyong.subjects.idnumbers import mask_personal_data, may_hold_personal_data
from xinyong.subjects.models import Subject, SubjectName

View = Literal["public", "subject", "government"]
VIEWS: tuple[View, ...] = ("public", "subject", "government")

STATUS_LABELS = {
    "active": "有效",
    "corrected": "已更正",
    "revoked": "已撤销",
    "repaired": "已修复",
    "objection_pending": "异议处理中",
}
CLASS_LABELS = {"minor": "轻微", "general": "一般", "serious": "严重"}
KIND_LABELS = {
    "legal_person": "法人",
    "unincorporated": "非法人组织",
    "individual_business": "个体工商户",
    "natural_person": "自然人",
}
SUBJECT_STATUS_LABELS = {
    "active": "存续",
    "deregistered": "注销",
    "revoked": "吊销",
    "moved_out": "迁出",
}
PUBLICITY_LABELS = {
    "in_publicity": "公示中",
    "ended": "公示期满",
    "not_publicised": "不予公示",
    "permanent": "长期公示",
}


def visible_clause(
    view: View, today: dt.date, subject_kind: str | None = None
) -> ColumnElement[bool]:
    r = CreditRecord
    if view == "government":
        return true()
    if view == "subject":
        return r.disclosure.in_(("public", "restricted"))
    if subject_kind == "natural_person":
        return false()
    return and_(
        r.disclosure == "public",
        r.is_current.is_(True),
        r.status.in_(("active", "objection_pending")),
        or_(r.publicity_until.is_(None), r.publicity_until >= today),
        or_(r.publicity_rule.is_(None), ~r.publicity_rule.like("%not_published%")),
    )


def publicity_state(rule: str | None, until: dt.date | None, today: dt.date) -> str:
    if rule and "not_published" in rule:
        return "not_publicised"
    if until is None:
        return "permanent"
    return "in_publicity" if until >= today else "ended"


def department_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Names of the departments that sent these records (read each time: a process-wide cache
    would go stale when a department is added by another process)."""
    if not ids:
        return {}
    rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return {int(i): n for i, n in rows}


def forget_departments() -> None:
    """Kept for callers from before; nothing is cached any more."""


# Subject attributes a profile shows, in the order of the fast path's SELECT.
SUBJECT_COLUMNS = (
    "id",
    "uscc",
    "uscc_status",
    "name",
    "kind",
    "status",
    "industry_section",
    "industry_division",
    "region_code",
    "province",
    "city",
    "registered_capital_fen",
    "capital_currency",
    "capital_raw",
    "established_on",
    "enterprise_type",
    "address",
    "business_scope",
    "size_class",
    "id_number_masked",
)


def _iso(value: Any) -> str | None:
    """A date as ISO text: the SQLite driver already returns the text, PostgreSQL a date."""
    if value is None or isinstance(value, str):
        return value
    return str(value.isoformat())


def subject_view(subject: Subject, view: View, former: list[str]) -> dict[str, Any]:
    return _subject_dict({c: getattr(subject, c) for c in SUBJECT_COLUMNS}, view, former)


def _subject_dict(s: dict[str, Any], view: View, former: list[str]) -> dict[str, Any]:
    capital = s["registered_capital_fen"]
    out: dict[str, Any] = {
        "id": s["id"],
        "uscc": s["uscc"],
        "uscc_status": s["uscc_status"],
        "name": s["name"],
        "former_names": former,
        "kind": s["kind"],
        "kind_label": KIND_LABELS.get(s["kind"], s["kind"]),
        "status": s["status"],
        "status_label": SUBJECT_STATUS_LABELS.get(s["status"], s["status"]),
        "industry_section": s["industry_section"],
        "industry_division": s["industry_division"],
        "region_code": s["region_code"],
        "province": s["province"],
        "city": s["city"],
        "registered_capital_yuan": None if capital is None else f"{capital / 100:.2f}",
        "capital_currency": s["capital_currency"],
        "capital_raw": s["capital_raw"],
        "established_on": _iso(s["established_on"]),
        "enterprise_type": s["enterprise_type"],
        "address": s["address"],
        "business_scope": s["business_scope"],
        "size_class": s["size_class"],
    }
    if s["kind"] == "natural_person":
        # Only the masked number ever leaves the database, and only to government views.
        out["id_number_masked"] = s["id_number_masked"] if view == "government" else None
        if view == "public":
            out["address"] = None
    return out


# --------------------------------------------------------------------------- statements
#
# A profile is one statement: the subject, the number of its former names, and its visible
# records (LEFT JOIN: a subject without records still gives its row), so it costs one round
# trip to the server; former names, which few subjects have, are read only when there are any.
# It is written once with SQLAlchemy (the visibility rule stays one expression) and compiled
# once per dialect into the driver's own SQL, which then runs on the DB-API cursor: the
# ORM/Core execution path cost several times more than the query itself. Rows come back as the
# driver returns them (SQLite: dates as ISO text, booleans as 0/1; PostgreSQL: dates and
# booleans); the payload is read as text and parsed with orjson.

RECORD_COLUMNS = (
    "id",
    "record_type",
    "category",
    "title",
    "decided_on",
    "valid_until",
    "amount_fen",
    "penalty_class",
    "class_source",
    "class_reason",
    "publicity_until",
    "publicity_rule",
    "status",
    "status_since",
    "is_current",
    "version",
    "disclosure",
    "data",
    "catalog_version",
    "source_record_id",
    "department_name",
)
N_SUBJECT = len(SUBJECT_COLUMNS)


def _profile_statement(view: View, by: str) -> Select[Any]:
    """``by``: ``id`` (bound ``subject_id``) or ``uscc`` (bound ``uscc``)."""
    st = Subject.__table__
    r = CreditRecord.__table__
    d = CreditRecordDetail.__table__
    dept = Department.__table__
    n = SubjectName.__table__
    key = st.c.id == bindparam("subject_id", 0) if by == "id" else (
        st.c.uscc == bindparam("uscc", "")
    )
    # The subject (one row) with its number of former names, as a derived table: the count is
    # then worked out once, not once per record row (LIMIT keeps the planners from merging it
    # into the outer query; the key is unique anyway).
    n_former = (
        select(func.count())
        .where(n.c.subject_id == st.c.id, n.c.is_current.is_(False))
        .scalar_subquery()
    )
    subject = (
        select(*(st.c[c] for c in SUBJECT_COLUMNS), n_former.label("n_former"))
        .where(key)
        .limit(1)
    )
    sj = subject.subquery("s")
    visible = visible_clause(view, bindparam("today", dt.date.min, type_=Date()))  # type: ignore[arg-type]
    on = [r.c.subject_id == sj.c.id, visible]
    if view != "government":
        on.append(r.c.is_current.is_(True))
    # A flat chain of LEFT JOINs (every record has its detail row, so the second is exact):
    # SQLite materialised a parenthesised (record JOIN detail) by scanning every record.
    joined = (
        sj.outerjoin(r, and_(*on))
        .outerjoin(d, and_(d.c.subject_id == r.c.subject_id, d.c.id == r.c.id))
        .outerjoin(dept, dept.c.id == r.c.department_id)
    )
    return (
        select(
            *(sj.c[c] for c in SUBJECT_COLUMNS),
            sj.c.n_former,
            r.c.id.label("record_id"),
            r.c.record_type,
            r.c.category,
            r.c.title,
            r.c.decided_on,
            r.c.valid_until,
            r.c.amount_fen,
            r.c.penalty_class,
            r.c.class_source,
            d.c.class_reason,
            r.c.publicity_until,
            r.c.publicity_rule,
            r.c.status.label("record_status"),
            r.c.status_since,
            r.c.is_current,
            r.c.version,
            r.c.disclosure,
            cast(d.c.data, Text).label("data"),
            r.c.catalog_version,
            r.c.source_record_id,
            dept.c.name.label("department_name"),
        )
        .select_from(joined)
        # NULLS LAST spelled out: the engines' defaults differ (PostgreSQL puts NULLs first)
        .order_by(r.c.decided_on.desc().nulls_last(), r.c.id.desc())
    )


def _statement(name: str) -> Any:
    """By name: ``profile:<view>:<id|uscc>`` and ``former_names``."""
    kind, *args = name.split(":")
    if kind == "profile":
        return _profile_statement(args[0], args[1])  # type: ignore[arg-type]
    if kind == "former_names":
        n = SubjectName.__table__.c
        return (
            select(n.name)
            .where(n.subject_id == bindparam("subject_id", 0), n.is_current.is_(False))
            .order_by(n.id)
        )
    raise KeyError(name)


class _DriverSQL:
    """One statement compiled for one dialect: the SQL text, and how to lay out parameters.

    Compiling with ``render_postcompile`` needs a value for every bound parameter, so each
    statement is built with default values; the caller's values replace them at each run."""

    __slots__ = ("order", "sql", "static")

    def __init__(self, stmt: Any, dialect: Any) -> None:
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        self.sql: str = compiled.string
        self.static: dict[str, Any] = dict(compiled.params)
        self.order: list[str] | None = list(compiled.positiontup) if compiled.positional else None

    def params(self, values: dict[str, Any]) -> Any:
        if self.order is None:
            return {**self.static, **values}
        return tuple(values[n] if n in values else self.static[n] for n in self.order)


_compiled: dict[tuple[str, str], _DriverSQL] = {}


def _driver_sql(dialect: Any, name: str) -> _DriverSQL:
    key = (name, dialect.name)
    sql = _compiled.get(key)
    if sql is None:
        sql = _compiled[key] = _DriverSQL(_statement(name), dialect)
    return sql


def _query(conn: Any, dialect: Any, name: str, values: dict[str, Any]) -> list[Any]:
    sql = _driver_sql(dialect, name)
    cur = conn.cursor()
    try:
        cur.execute(sql.sql, sql.params(values))
        return list(cur.fetchall())
    finally:
        cur.close()


async def _aquery(conn: Any, dialect: Any, name: str, values: dict[str, Any]) -> list[Any]:
    sql = _driver_sql(dialect, name)
    async with conn.cursor() as cur:
        await cur.execute(sql.sql, sql.params(values))
        return list(await cur.fetchall())


# (subject attributes, former names, record rows)
ProfileRows = tuple[dict[str, Any], list[str], list[Any]]
# What a profile read asks for: (statement name, values) → the statement's rows.
Reads = Generator[tuple[str, dict[str, Any]], list[Any], ProfileRows | None]


def _profile_reads(dialect: Any, view: View, by: str, key: Any, today: dt.date) -> Reads:
    """The reads of one profile, as a generator that yields each statement it needs and is
    sent its rows: the same steps serve the blocking driver (``_read_profile``) and the async
    one (``_read_profile_async``). Returns None when there is no such subject."""
    day = today.isoformat() if dialect.name == "sqlite" else today  # as SQLAlchemy binds it
    values = {"subject_id" if by == "id" else "uscc": key, "today": day}
    rows = yield f"profile:{view}:{by}", values
    if not rows:
        return None
    first = rows[0]
    subject = dict(zip(SUBJECT_COLUMNS, first[:N_SUBJECT], strict=True))
    former: list[str] = []
    if first[N_SUBJECT]:
        former = [r[0] for r in (yield "former_names", {"subject_id": subject["id"]})]
    start = N_SUBJECT + 1
    records = [row[start:] for row in rows if row[start] is not None]
    if view == "public" and subject["kind"] == "natural_person":
        records = []  # never public (visible_clause says so too)
    return subject, former, records


def _read_profile(
    conn: Any, dialect: Any, view: View, by: str, key: Any, today: dt.date
) -> ProfileRows | None:
    reads = _profile_reads(dialect, view, by, key, today)
    try:
        name, values = next(reads)
        while True:
            name, values = reads.send(_query(conn, dialect, name, values))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def _read_profile_async(
    conn: Any, dialect: Any, view: View, by: str, key: Any, today: dt.date
) -> ProfileRows | None:
    reads = _profile_reads(dialect, view, by, key, today)
    try:
        name, values = next(reads)
        while True:
            name, values = reads.send(await _aquery(conn, dialect, name, values))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- assembly


# record type → (label, polarity, {field name: (position, label, type, enum labels)})
Shape = tuple[str, str | None, dict[str, tuple[int, str, str, dict[str, str] | None]]]
_shapes: tuple[Any, dict[str, Shape]] | None = None


def _type_shapes(catalog: Any) -> dict[str, Shape]:
    """What the profile needs of each record type, worked out once per catalog object (the
    shipped catalog is loaded once per process)."""
    global _shapes
    if _shapes is None or _shapes[0] is not catalog:
        _shapes = (
            catalog,
            {
                code: (
                    t.label,
                    t.polarity,
                    {f.name: (i, f.label, f.type, f.values) for i, f in enumerate(t.fields)},
                )
                for code, t in catalog.types.items()
            },
        )
    return _shapes[1]


def _labelled_fields(
    fields: dict[str, tuple[int, str, str, dict[str, str] | None]] | None, data: dict[str, Any]
) -> list[dict[str, Any]]:
    """The catalog fields present in ``data``, labelled, in the catalog's order. Walks the
    record's own (few) values rather than every field of the type; writers store them in the
    catalog's order already, so the sort is the exception."""
    if fields is None:
        return [{"name": k, "label": k, "value": v} for k, v in data.items()]
    out = []
    last = -1
    ordered = True
    for name, value in data.items():
        if value is None:
            continue
        spec = fields.get(name)
        if spec is None:
            continue
        pos, label, ftype, values = spec
        if ftype == "money" and isinstance(value, int):
            value = f"{value / 100:.2f} 元"
        elif values is not None and ftype == "enum":
            value = values.get(value, value)
        if pos < last:
            ordered = False
        last = pos
        out.append({"name": name, "label": label, "value": value})
    if not ordered:
        out.sort(key=lambda f: fields[f["name"]][0])
    return out


def _masked(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 11:
        return mask_personal_data(value)
    return value


def _assemble(
    subject: dict[str, Any],
    former: list[str],
    rows: list[Any],
    view: View,
    today: dt.date,
) -> dict[str, Any]:
    catalog = load_catalog()
    shapes = _type_shapes(catalog)
    today_iso = today.isoformat()
    public = view == "public"
    groups: dict[str, list[dict[str, Any]]] = {c.code: [] for c in catalog.categories}
    for (
        rid,
        record_type,
        category,
        title,
        decided_on,
        valid_until,
        amount_fen,
        penalty_class,
        class_source,
        class_reason,
        publicity_until,
        publicity_rule,
        status,
        status_since,
        is_current,
        version,
        disclosure,
        data,
        catalog_version,
        source_record_id,
        department_name,
    ) in rows:
        shape = shapes.get(record_type)
        # Departments sometimes write a person's ID or mobile number into free text (a
        # penalty's facts, a list entry's reason): outside government they are masked. One
        # look at the stored text tells whether any field can hold one (most records: none).
        mask = view != "government"
        if data is None:
            data = {}
        elif isinstance(data, str | bytes):
            if mask:
                raw = data if isinstance(data, str) else data.decode()
                # (an escaped character may be a full-width digit: then look field by field)
                mask = "\\u" in raw or may_hold_personal_data(raw)
            data = orjson.loads(data)
        if public and "id_number_masked" in data:
            data = {k: v for k, v in data.items() if k != "id_number_masked"}
        if mask:
            data = {k: _masked(v) for k, v in data.items()}
        if view != "government":
            title = _masked(title)
            class_reason = _masked(class_reason)
        until = _iso(publicity_until)
        if publicity_rule and "not_published" in publicity_rule:
            state = "not_publicised"
        elif until is None:
            state = "permanent"
        else:
            state = "in_publicity" if until >= today_iso else "ended"
        groups.setdefault(category, []).append(
            {
                "id": rid,
                "record_type": record_type,
                "record_type_label": shape[0] if shape else record_type,
                "polarity": shape[1] if shape else None,
                "title": title,
                "decided_on": _iso(decided_on),
                "valid_until": _iso(valid_until),
                "amount_yuan": None if amount_fen is None else f"{amount_fen / 100:.2f}",
                "penalty_class": penalty_class,
                "penalty_class_label": CLASS_LABELS.get(penalty_class or ""),
                "class_source": class_source,
                "class_reason": class_reason,
                "publicity_until": until,
                "publicity_state": state,
                "publicity_rule": publicity_rule,
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "status_since": _iso(status_since),
                "is_current": bool(is_current),
                "version": version,
                "disclosure": disclosure,
                "source_department": department_name,
                "source_record_id": None if public else source_record_id,
                "catalog_version": catalog_version,
                "fields": _labelled_fields(shape[2] if shape else None, data),
            }
        )
    categories = [
        {
            "code": c.code,
            "label": c.label,
            "count": len(groups.get(c.code, ())),
            "records": groups.get(c.code, []),
        }
        for c in catalog.categories
    ]
    return {
        "view": view,
        "as_of": today_iso,
        "subject": _subject_dict(subject, view, former),
        "total": sum(c["count"] for c in categories),
        "categories": categories,
    }


# --------------------------------------------------------------------------- entry points


def build_profile(
    session: Session, subject: Subject, view: View, today: dt.date | None = None
) -> dict[str, Any]:
    """The profile of ``subject`` in ``view`` as of ``today``, read inside the session's
    transaction."""
    today = today or clock.today()
    conn = session.connection()
    got = _read_profile(
        conn.connection.dbapi_connection, conn.dialect, view, "id", subject.id, today
    )
    _, former, records = got if got is not None else (None, [], [])
    # the attributes as the caller's object holds them (it may carry unflushed changes)
    attributes = {c: getattr(subject, c) for c in SUBJECT_COLUMNS}
    return _assemble(attributes, former, records, view, today)


def _code_key(code: str) -> str | None:
    """The credit code a caller typed, as stored; None when it cannot be one."""
    key = code.replace("\x00", "").strip().upper()
    return key if len(key) == 18 else None


def profile_by_code(code: str, view: View, today: dt.date | None = None) -> dict[str, Any] | None:
    """The profile of the subject with credit code ``code``, or None when no subject has that
    code (the caller then tries names and ids through ``find_subject``).

    The HTTP fast path: one statement keyed by the code on this thread's read connection
    (:func:`xinyong.core.db.run_read`) — no session, no ORM, one round trip; fast enough to run
    on the event loop itself. It sees the latest committed data.
    """
    today = today or clock.today()
    key = _code_key(code)
    if key is None:
        return None
    got = run_read(lambda conn, dialect: _read_profile(conn, dialect, view, "uscc", key, today))
    if got is None:
        return None
    return _assemble(*got, view, today)


async def profile_by_code_async(
    code: str, view: View, today: dt.date | None = None
) -> dict[str, Any] | None:
    """:func:`profile_by_code` for a caller on the event loop. On PostgreSQL the statement runs
    on the loop's async read connections (``run_read_async``): the loop serves other requests
    while PostgreSQL works. On SQLite the read is in-process CPU work and runs as it is."""
    if get_engine().dialect.name != "postgresql":
        return profile_by_code(code, view, today)
    today = today or clock.today()
    key = _code_key(code)
    if key is None:
        return None
    got = await run_read_async(
        lambda conn, dialect: _read_profile_async(conn, dialect, view, "uscc", key, today)
    )
    if got is None:
        return None
    return _assemble(*got, view, today)

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
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Date, Select, and_, bindparam, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from xinyong.catalog.loader import load_catalog
from xinyong.core import clock
from xinyong.departments.models import Department
from xinyong.records.models import CreditRecord, CreditRecordDetail
from xinyong.subjects.models import Subject

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


def subject_view(subject: Subject, view: View, former: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": subject.id,
        "uscc": subject.uscc,
        "uscc_status": subject.uscc_status,
        "name": subject.name,
        "former_names": former,
        "kind": subject.kind,
        "kind_label": KIND_LABELS.get(subject.kind, subject.kind),
        "status": subject.status,
        "status_label": SUBJECT_STATUS_LABELS.get(subject.status, subject.status),
        "industry_section": subject.industry_section,
        "industry_division": subject.industry_division,
        "region_code": subject.region_code,
        "province": subject.province,
        "city": subject.city,
        "registered_capital_yuan": (
            None
            if subject.registered_capital_fen is None
            else f"{subject.registered_capital_fen / 100:.2f}"
        ),
        "capital_currency": subject.capital_currency,
        "capital_raw": subject.capital_raw,
        "established_on": subject.established_on.isoformat() if subject.established_on else None,
        "enterprise_type": subject.enterprise_type,
        "address": subject.address,
        "business_scope": subject.business_scope,
        "size_class": subject.size_class,
    }
    if subject.kind == "natural_person":
        # Only the masked number ever leaves the database, and only to government views.
        out["id_number_masked"] = subject.id_number_masked if view == "government" else None
        if view == "public":
            out["address"] = None
    return out


@lru_cache(maxsize=8)
def _profile_statement(view: View, natural_person: bool) -> Select[Any]:
    """One prepared statement per view: building the visibility expression on every request
    cost more than running the query. ``today`` and the subject are bound parameters."""
    r = CreditRecord
    d = CreditRecordDetail
    stmt = (
        select(
            r.id,
            r.record_type,
            r.category,
            r.department_id,
            r.title,
            r.decided_on,
            r.valid_until,
            r.amount_fen,
            r.penalty_class,
            r.class_source,
            d.class_reason,
            r.publicity_until,
            r.publicity_rule,
            r.status,
            r.status_since,
            r.is_current,
            r.version,
            r.disclosure,
            d.data,
            r.catalog_version,
            r.source_record_id,
            Department.name.label("department_name"),
        )
        # The detail row has the same key: one primary-key seek per record, inside the
        # subject's range of the detail table (both tables are clustered by subject).
        .join(d, and_(d.subject_id == r.subject_id, d.id == r.id))
        .outerjoin(Department, Department.id == r.department_id)
        .where(
            r.subject_id == bindparam("subject_id"),
            d.subject_id == bindparam("subject_id"),
            visible_clause(
                view,
                bindparam("today", type_=Date()),  # type: ignore[arg-type]
                "natural_person" if natural_person else None,
            ),
        )
    )
    if view != "government":
        stmt = stmt.where(r.is_current.is_(True))
    return stmt.order_by(r.decided_on.desc(), r.id.desc())


def build_profile(
    session: Session, subject: Subject, view: View, today: dt.date | None = None
) -> dict[str, Any]:
    from xinyong.subjects.service import former_names

    today = today or clock.today()
    catalog = load_catalog()
    stmt = _profile_statement(view, subject.kind == "natural_person")
    rows = session.execute(stmt, {"subject_id": subject.id, "today": today}).all()
    groups: dict[str, list[dict[str, Any]]] = {c.code: [] for c in catalog.categories}
    for row in rows:
        rtype = catalog.types.get(row.record_type)
        data = dict(row.data or {})
        if view == "public":
            data.pop("id_number_masked", None)
        groups.setdefault(row.category, []).append(
            {
                "id": row.id,
                "record_type": row.record_type,
                "record_type_label": rtype.label if rtype else row.record_type,
                "polarity": rtype.polarity if rtype else None,
                "title": row.title,
                "decided_on": row.decided_on.isoformat() if row.decided_on else None,
                "valid_until": row.valid_until.isoformat() if row.valid_until else None,
                "amount_yuan": None if row.amount_fen is None else f"{row.amount_fen / 100:.2f}",
                "penalty_class": row.penalty_class,
                "penalty_class_label": CLASS_LABELS.get(row.penalty_class or ""),
                "class_source": row.class_source,
                "class_reason": row.class_reason,
                "publicity_until": row.publicity_until.isoformat() if row.publicity_until else None,
                "publicity_state": publicity_state(row.publicity_rule, row.publicity_until, today),
                "publicity_rule": row.publicity_rule,
                "status": row.status,
                "status_label": STATUS_LABELS.get(row.status, row.status),
                "status_since": row.status_since.isoformat() if row.status_since else None,
                "is_current": row.is_current,
                "version": row.version,
                "disclosure": row.disclosure,
                "source_department": row.department_name,
                "source_record_id": row.source_record_id if view != "public" else None,
                "catalog_version": row.catalog_version,
                "fields": _labelled(rtype, data),
            }
        )
    categories = [
        {
            "code": c.code,
            "label": c.label,
            "count": len(groups.get(c.code, [])),
            "records": groups.get(c.code, []),
        }
        for c in catalog.categories
    ]
    return {
        "view": view,
        "as_of": today.isoformat(),
        "subject": subject_view(subject, view, former_names(session, subject.id)),
        "total": sum(c["count"] for c in categories),
        "categories": categories,
    }


def _labelled(rtype: Any, data: dict[str, Any]) -> list[dict[str, Any]]:
    if rtype is None:
        return [{"name": k, "label": k, "value": v} for k, v in data.items()]
    out = []
    for spec in rtype.fields:
        if spec.name in data and data[spec.name] is not None:
            value = data[spec.name]
            if spec.type == "money" and isinstance(value, int):
                value = f"{value / 100:.2f} 元"
            elif spec.type == "enum" and spec.values:
                value = spec.values.get(value, value)
            out.append({"name": spec.name, "label": spec.label, "value": value})
    return out

"""Credit commitments (信用承诺): the only code that writes the commitment tables.

The path of a commitment:

1. a department asks a subject for one in an approval (``request_commitment``: 告知承诺,
   容缺受理 with a document due by a deadline, a service address), or the subject starts one
   itself in its portal (``sign_new``: 主动公示, 行业自律, 告知承诺, 送达地址);
2. the subject signs (``sign_request`` / ``sign_new``): it fills the template's fields and
   affirms; the exact text it was shown is stored with its SHA-256, the signer and the time.
   A public kind also becomes a public ``commitment`` credit record (catalog type 信用承诺);
3. ``sweep`` reminds the subject and the department before the deadline (working days, data)
   and flags overdue commitments to the department — an overdue commitment is not a breach by
   itself unless ``rules.yaml`` says so (``overdue.action``);
4. the department decides (``decide``): fulfilled (履约) or breached (违诺). Either is written
   as a ``commitment_performance`` credit record through the normal ingest path, in the same
   transaction, and the records_changed hook re-evaluates the subject at once (the models
   count ``outcome = breached``: gz_general 承诺践诺, samr_risk).

Eligibility (``eligibility``): whether subjects may use the commitment route, from declarative
rules over facts compiled to one SQL query — the same query for one subject and for a list —
and conditions in the evaluation models' format (``evaluation.conditions.to_polars``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import polars as pl
import yaml
from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.commitments.models import Commitment, CommitmentEvent
from xinyong.core import clock
from xinyong.core.db import bulk_insert
from xinyong.core.errors import DomainError
from xinyong.core.sqlutil import drop_temp, temp_table
from xinyong.core.workdays import WorkingCalendar, calendar_from_db
from xinyong.departments.models import Department
from xinyong.evaluation.features import date_lit, sql_in, sql_literal, years_before
from xinyong.subjects.idnumbers import mask_personal_data, mask_phone
from xinyong.subjects.models import Subject

DATA = Path(__file__).parent / "data"
FIELD_TYPES = ("text", "textarea", "phone", "email", "date")
FIELD_LIMITS = {"text": 300, "textarea": 2000, "phone": 20, "email": 200, "date": 10}
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DECIDED = ("fulfilled", "breached")
OUTCOMES = {"fulfilled": "履约", "breached": "违诺"}
STATUS_LABELS = {
    "requested": "待签署",
    "signed": "已签署",
    "fulfilled": "已履约",
    "breached": "违诺",
    "cancelled": "已撤回",
}
MAX_BATCH = 100_000


class CommitmentError(DomainError):
    pass


def _not_found(commitment_id: int | str) -> CommitmentError:
    return CommitmentError("COMMITMENT_NOT_FOUND", f"信用承诺 {commitment_id} 不存在", status=404)


# ------------------------------------------------------------------------------ data files


@dataclass(frozen=True)
class TemplateField:
    name: str
    label: str
    by: str  # department | subject
    required: bool
    type: str
    public: bool


@dataclass(frozen=True)
class Template:
    code: str
    kind: str
    title: str
    legal_basis: str
    public: bool
    self_service: bool
    department: str  # required | optional | none
    deadline_days: int | None
    deadline_working_days: int | None
    deadline_required: bool
    fields: tuple[TemplateField, ...]
    body: str
    matter: str | None = None  # the matter of a template without a matter field

    def matter_of(self, values: dict[str, Any]) -> str:
        return str(values.get("matter") or self.matter or self.title)[:300]

    def field(self, name: str) -> TemplateField | None:
        return next((f for f in self.fields if f.name == name), None)

    def summary(self, kinds: dict[str, str]) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "kind_label": kinds[self.kind],
            "title": self.title,
            "legal_basis": self.legal_basis,
            "public": self.public,
            "self_service": self.self_service,
            "department": self.department,
            "deadline": (
                {"days": self.deadline_days} if self.deadline_days
                else {"working_days": self.deadline_working_days}
                if self.deadline_working_days else None
            ),
            "deadline_required": self.deadline_required,
            "fields": [f.__dict__ for f in self.fields],
            "body": self.body,
        }


@dataclass(frozen=True)
class Templates:
    kinds: dict[str, str]
    by_code: dict[str, Template]


_env = jinja2.sandbox.SandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
)


def _bad_data(message: str) -> CommitmentError:
    return CommitmentError("COMMITMENT_DATA_INVALID", message, status=500)


@lru_cache(maxsize=1)
def load_templates() -> Templates:
    raw = yaml.safe_load((DATA / "templates.yaml").read_text(encoding="utf-8"))
    kinds = {str(k): str(v) for k, v in raw["kinds"].items()}
    out: dict[str, Template] = {}
    for t in raw["templates"]:
        where = f"templates.yaml {t.get('code')}"
        if t["kind"] not in kinds:
            raise _bad_data(f"{where}：未知的承诺类型 {t['kind']}")
        if t["code"] in out:
            raise _bad_data(f"{where}：模板编码重复")
        if t.get("department", "none") not in ("required", "optional", "none"):
            raise _bad_data(f"{where}：department 须为 required/optional/none")
        fields = []
        for f in t.get("fields") or []:
            ftype = f.get("type", "text")
            if ftype not in FIELD_TYPES or f.get("by") not in ("department", "subject"):
                raise _bad_data(f"{where}：字段 {f.get('name')} 的 type 或 by 无效")
            fields.append(TemplateField(
                name=f["name"], label=f["label"], by=f["by"], required=bool(f.get("required")),
                type=ftype, public=bool(f.get("public", True)),
            ))
        if not any(f.name == "matter" for f in fields) and not t.get("matter"):
            raise _bad_data(f"{where}：模板须有 matter（承诺事项）字段或固定的 matter")
        deadline = t.get("deadline") or {}
        tpl = Template(
            code=t["code"], kind=t["kind"], title=t["title"], legal_basis=t["legal_basis"],
            public=bool(t["public"]), self_service=bool(t.get("self_service")),
            department=t.get("department", "none"),
            deadline_days=deadline.get("days"), deadline_working_days=deadline.get("working_days"),
            deadline_required=bool(deadline.get("required")), fields=tuple(fields),
            body=t["body"], matter=t.get("matter"),
        )
        _env.from_string(tpl.body)  # a syntax error in a template fails here, not at signing
        out[tpl.code] = tpl
    return Templates(kinds, out)


@dataclass(frozen=True)
class Rule:
    code: str
    when: str
    kinds: tuple[str, ...]
    reason: str
    basis: str


@dataclass(frozen=True)
class Rules:
    platform_department: str
    features: dict[str, dict[str, Any]]
    rules: tuple[Rule, ...]
    extend_to_working_day: bool
    reminder_days: tuple[int, ...]
    overdue_action: str
    conditions: dict[str, pl.Expr] = field(default_factory=dict)


@lru_cache(maxsize=1)
def load_rules() -> Rules:
    from xinyong.evaluation.conditions import to_polars

    raw = yaml.safe_load((DATA / "rules.yaml").read_text(encoding="utf-8"))
    kinds = load_templates().kinds
    features = {str(k): dict(v) for k, v in raw["features"].items()}
    for name, spec in features.items():
        sources = [s for s in ("records", "evaluation", "subject") if s in spec]
        if len(sources) != 1:
            raise _bad_data(f"rules.yaml features.{name}：须且只能有 records、evaluation、subject 之一")
    rules = []
    conditions: dict[str, pl.Expr] = {}
    for i, r in enumerate(raw["rules"]):
        unknown = set(r["kinds"]) - set(kinds)
        if unknown:
            raise _bad_data(f"rules.yaml rules[{i}]：未知的承诺类型 {'、'.join(sorted(unknown))}")
        rule = Rule(code=r["code"], when=str(r["when"]), kinds=tuple(r["kinds"]),
                    reason=r["reason"], basis=r.get("basis", ""))
        conditions[rule.code] = to_polars(rule.when, set(features), f"rules[{i}].when").fill_null(
            False)
        rules.append(rule)
    action = raw.get("overdue", {}).get("action", "flag")
    if action not in ("flag", "breach"):
        raise _bad_data("rules.yaml overdue.action 须为 flag 或 breach")
    return Rules(
        platform_department=raw["platform_department"],
        features=features,
        rules=tuple(rules),
        extend_to_working_day=bool(raw.get("deadlines", {}).get("extend_to_working_day")),
        reminder_days=tuple(sorted(int(d) for d in raw.get("reminders", {}).get(
            "working_days_before", []))),
        overdue_action=action,
        conditions=conditions,
    )


def kind_label(kind: str) -> str:
    return load_templates().kinds.get(kind, kind)


def get_template(code: str) -> Template:
    tpl = load_templates().by_code.get(code)
    if tpl is None:
        raise CommitmentError("COMMITMENT_TEMPLATE_UNKNOWN", f"承诺书模板「{code}」不存在")
    return tpl


def check_kind(kind: str) -> str:
    kinds = load_templates().kinds
    if kind not in kinds:
        raise CommitmentError(
            "COMMITMENT_KIND_UNKNOWN",
            f"承诺类型「{kind}」不存在，可选：{'、'.join(f'{k}（{v}）' for k, v in kinds.items())}",
        )
    return kind


def list_templates(
    *, kind: str | None = None, self_service: bool | None = None
) -> list[dict[str, Any]]:
    data = load_templates()
    if kind:
        check_kind(kind)
    return [
        t.summary(data.kinds) for t in data.by_code.values()
        if (kind is None or t.kind == kind)
        and (self_service is None or t.self_service == self_service)
    ]


def cn_date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def render_text(template: Template, context: dict[str, Any]) -> str:
    """The commitment's text from its template: what the subject reads, affirms and signs.
    Other domains (credit repair) render their signed commitment with the same function."""
    values = {f.name: "" for f in template.fields}
    values.update(context)
    values.setdefault("legal_basis", template.legal_basis)
    return _env.from_string(template.body).render(**values).strip() + "\n"


def sha256(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------ helpers


def _audit(conn: Connection, actor: str, action: str, c: Commitment, **detail: Any) -> None:
    from xinyong.audit.service import append

    append(conn, actor=actor, action=f"commitments.{action}", subject_id=c.subject_id,
           target=f"commitment:{c.id}", detail={"number": c.number, **detail})


def _event(session: Session, c: Commitment, kind: str, actor: str, **detail: Any) -> None:
    session.add(CommitmentEvent(commitment_id=c.id, kind=kind, actor=actor,
                                occurred_at=clock.now(), detail=detail or None))


def _subject_by_code(session: Session, code: str) -> Subject:
    code = (code or "").strip().upper()
    subject = session.scalar(select(Subject).where(Subject.uscc == code)) if code else None
    if subject is None:
        raise CommitmentError(
            "COMMITMENT_SUBJECT_NOT_FOUND",
            f"统一社会信用代码「{code[:40]}」未找到对应的信用主体，请核对后重新填写",
            status=404,
        )
    return subject


def _department(session: Session, department_id: int | None) -> Department | None:
    return session.get(Department, department_id) if department_id is not None else None


def _department_by_code(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == (code or "").strip()))
    if dept is None:
        raise CommitmentError(
            "COMMITMENT_DEPARTMENT_UNKNOWN", f"承诺受理单位「{code[:40]}」不存在，请从列表中选择"
        )
    return dept


def _clean_fields(
    template: Template, given: dict[str, Any], by: set[str], locked: dict[str, Any] | None = None
) -> dict[str, str]:
    """The values of the fields ``by`` may fill, checked by type; a field of the template's
    other party, or one it does not have, is refused."""
    out: dict[str, str] = {}
    for name, value in (given or {}).items():
        spec = template.field(name)
        if spec is None:
            raise CommitmentError(
                "COMMITMENT_FIELD_UNKNOWN",
                f"《{template.title}》没有字段「{name}」，可填写："
                + "、".join(f"{f.name}（{f.label}）" for f in template.fields),
            )
        value = "" if value is None else str(value).strip()
        if spec.by not in by:
            if locked is not None and value and value != str(locked.get(name) or ""):
                raise CommitmentError(
                    "COMMITMENT_FIELD_LOCKED",
                    f"字段「{spec.label}」由审批部门填写，承诺人不能修改",
                )
            continue
        if not value:
            continue
        limit = FIELD_LIMITS[spec.type]
        if len(value) > limit:
            raise CommitmentError(
                "COMMITMENT_FIELD_TOO_LONG", f"字段「{spec.label}」不能超过 {limit} 个字符"
            )
        if spec.type == "phone" and not PHONE.match(value.replace(" ", "")):
            raise CommitmentError(
                "COMMITMENT_FIELD_INVALID",
                f"字段「{spec.label}」应为 11 位手机号码或带区号的固定电话，收到「{value[:20]}」",
            )
        if spec.type == "email" and not EMAIL.match(value):
            raise CommitmentError(
                "COMMITMENT_FIELD_INVALID", f"字段「{spec.label}」不是有效的电子邮箱地址"
            )
        if spec.type == "date":
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise CommitmentError(
                    "COMMITMENT_FIELD_INVALID", f"字段「{spec.label}」应为日期（YYYY-MM-DD）"
                ) from None
        out[name] = value.replace(" ", "") if spec.type == "phone" else value
    return out


def _missing(template: Template, values: dict[str, Any], by: set[str]) -> None:
    missing = [f.label for f in template.fields
               if f.by in by and f.required and not values.get(f.name)]
    if missing:
        raise CommitmentError(
            "COMMITMENT_FIELDS_MISSING", f"请填写必填项：{'、'.join(missing)}"
        )


def deadline_from(cal: WorkingCalendar, start: dt.date, template: Template) -> tuple[
        dt.date | None, bool]:
    """The template's default deadline counted from ``start``: calendar days (a last day on a
    holiday moves to the next working day, 民法典第二百零三条) or working days."""
    if template.deadline_working_days:
        d = cal.add_working_days(start, template.deadline_working_days)
        return d.due, d.provisional
    if not template.deadline_days:
        return None, False
    due = start + dt.timedelta(days=template.deadline_days)
    return _extend(cal, due)


def _extend(cal: WorkingCalendar, due: dt.date) -> tuple[dt.date, bool]:
    provisional = not cal.is_known(due)
    if load_rules().extend_to_working_day:
        while not cal.is_working_day(due):
            due += dt.timedelta(days=1)
            provisional = provisional or not cal.is_known(due)
    return due, provisional


def working_days_before(cal: WorkingCalendar, due: dt.date, n: int) -> dt.date:
    """The n-th working day before ``due`` (``due`` itself not counted)."""
    day, counted = due, 0
    while counted < n:
        day -= dt.timedelta(days=1)
        if cal.is_working_day(day):
            counted += 1
    return day


def _require_eligible(session: Session, subject: Subject, kind: str) -> None:
    result = eligibility(session.connection(), [subject.id], kind)[0]
    if not result["eligible"]:
        raise CommitmentError(
            "COMMITMENT_NOT_ELIGIBLE",
            f"{subject.name}不适用{kind_label(kind)}：" + "；".join(result["reasons"]),
            status=409,
        )


def _check_subject(subject: Subject) -> None:
    if not subject.uscc:
        # A commitment's records are matched by the credit code (ingest); a natural person's
        # ID number is stored only as a keyed hash, so its records could not be matched.
        raise CommitmentError(
            "COMMITMENT_SUBJECT_NO_CODE",
            "该信用主体没有统一社会信用代码，暂不能通过平台作出信用承诺",
        )


def _context(c: Commitment, subject: Subject, dept: Department | None) -> dict[str, Any]:
    return {
        **(c.fields or {}),
        "subject_name": subject.name,
        "uscc": subject.uscc or "",
        "department_name": dept.name if dept else "社会公众",
        "number": c.number or "",
        "signed_on": cn_date(c.signed_on),
        "due_on": cn_date(c.due_on),
    }


def _notice(c: Commitment, subject: Subject, dept: Department | None, **extra: Any
            ) -> dict[str, Any]:
    return {
        "name": subject.name, "department": dept.name if dept else "",
        "number": c.number or "", "title": c.title, "matter": c.matter,
        "due": cn_date(c.due_on), "day": cn_date(clock.today()), **extra,
    }


def _notify(session: Session, template: str, c: Commitment, key: str, *, subject: bool,
            department: bool, link: str, **extra: Any) -> None:
    from xinyong.notifications.service import notify

    subj = session.get(Subject, c.subject_id)
    assert subj is not None
    dept = _department(session, c.department_id)
    notify(session.connection(), template=template, context=_notice(c, subj, dept, **extra),
           key=key, subject_id=c.subject_id if subject else None,
           department_id=c.department_id if department and c.department_id else None, link=link)


# ------------------------------------------------------------------------------ requests


def request_commitment(
    session: Session,
    *,
    department_id: int,
    actor: str,
    code: str,
    template: str,
    fields: dict[str, Any] | None = None,
    due_on: dt.date | None = None,
) -> Commitment:
    """A department asks a subject for a commitment in an approval (e.g. 容缺受理: the document
    due and its deadline). The subject then reads and signs it in its portal."""
    tpl = get_template(template)
    if tpl.department == "none" or tpl.kind == "repair":
        raise CommitmentError(
            "COMMITMENT_TEMPLATE_NOT_REQUESTABLE",
            f"《{tpl.title}》不由审批部门发起（{kind_label(tpl.kind)}由相关业务流程自行签署）",
        )
    subject = _subject_by_code(session, code)
    _check_subject(subject)
    values = _clean_fields(tpl, fields or {}, {"department"})
    _missing(tpl, values, {"department"})
    today = clock.today()
    cal = calendar_from_db(session)
    provisional = False
    if due_on is not None:
        if due_on <= today:
            raise CommitmentError(
                "COMMITMENT_DEADLINE_PAST",
                f"承诺履行期限 {due_on.isoformat()} 不在今天（{today.isoformat()}）之后，请重新填写",
            )
        provisional = not cal.is_known(due_on)
    else:
        due_on, provisional = deadline_from(cal, today, tpl)
        if due_on is None and tpl.deadline_required:
            raise CommitmentError("COMMITMENT_DEADLINE_REQUIRED",
                                  f"《{tpl.title}》须填写承诺履行期限")
    _require_eligible(session, subject, tpl.kind)
    dept = session.get(Department, department_id)
    assert dept is not None
    now = clock.now()
    c = Commitment(
        subject_id=subject.id, kind=tpl.kind, template=tpl.code, department_id=department_id,
        title=tpl.title, matter=tpl.matter_of(values), fields=values,
        is_public=tpl.public, status="requested", due_on=due_on, due_provisional=provisional,
        requested_at=now, requested_by=actor, created_at=now,
    )
    session.add(c)
    session.flush()
    c.number = f"XYCN{today.year}{c.id:06d}"
    _event(session, c, "requested", actor, due_on=due_on.isoformat() if due_on else None)
    session.flush()
    _audit(session.connection(), actor, "request", c, template=tpl.code,
           due_on=due_on.isoformat() if due_on else None)
    _notify(session, "commitments_requested", c, f"commitment:{c.id}:requested", subject=True,
            department=False, link=f"/me/commitments/{c.id}")
    return c


def cancel_request(
    session: Session, commitment_id: int, *, department_id: int, actor: str, reason: str
) -> Commitment:
    """A department withdraws a request the subject has not signed yet."""
    c = _for_department(session, commitment_id, department_id)
    if c.status != "requested":
        raise CommitmentError(
            "COMMITMENT_NOT_REQUESTED",
            f"信用承诺 {c.number} 的状态为「{STATUS_LABELS[c.status]}」，只有待签署的请求可以撤回",
            status=409,
        )
    reason = (reason or "").strip()
    if not reason:
        raise CommitmentError("COMMITMENT_REASON_REQUIRED", "请填写撤回原因")
    c.status = "cancelled"
    c.decided_at, c.decided_on, c.decided_by, c.decision_note = (
        clock.now(), clock.today(), actor, reason[:2000])
    _event(session, c, "cancelled", actor, reason=reason[:2000])
    session.flush()
    _audit(session.connection(), actor, "cancel", c, reason=reason[:200])
    _notify(session, "commitments_cancelled", c, f"commitment:{c.id}:cancelled", subject=True,
            department=False, link=f"/me/commitments/{c.id}", note=reason[:500])
    return c


# ------------------------------------------------------------------------------ signing


def sign_request(
    session: Session,
    commitment_id: int,
    *,
    me: Principal,
    fields: dict[str, Any] | None = None,
    affirm: bool = False,
) -> Commitment:
    """The subject signs a department's request: another subject's request does not exist
    for it."""
    c = session.get(Commitment, commitment_id)
    if c is None or c.subject_id != me.subject_id:
        raise _not_found(commitment_id)
    if c.status != "requested":
        raise CommitmentError(
            "COMMITMENT_NOT_REQUESTED",
            f"信用承诺 {c.number} 的状态为「{STATUS_LABELS[c.status]}」，不能再次签署",
            status=409,
        )
    tpl = get_template(c.template)
    values = dict(c.fields or {})
    values.update(_clean_fields(tpl, fields or {}, {"subject"}, locked=c.fields))
    if c.due_on is not None and c.due_on < clock.today():
        raise CommitmentError(
            "COMMITMENT_DEADLINE_PAST",
            f"该承诺请求的履行期限 {c.due_on.isoformat()} 已过，请联系审批部门重新发起",
        )
    return _sign(session, c, tpl, values, me, affirm)


def sign_new(
    session: Session,
    *,
    me: Principal,
    template: str,
    fields: dict[str, Any] | None = None,
    department: str | None = None,
    affirm: bool = False,
) -> Commitment:
    """The subject starts and signs a commitment itself (主动公示, 行业自律, 告知承诺 to a
    department it names, 送达地址)."""
    tpl = get_template(template)
    if not tpl.self_service:
        raise CommitmentError(
            "COMMITMENT_TEMPLATE_NOT_SELF_SERVICE",
            f"《{tpl.title}》须由审批部门发起，请在审批部门的请求中签署",
        )
    assert me.subject_id is not None
    dept = None
    if department:
        if tpl.department == "none":
            raise CommitmentError("COMMITMENT_DEPARTMENT_NOT_ALLOWED",
                                  f"《{tpl.title}》不向特定单位作出")
        dept = _department_by_code(session, department)
    elif tpl.department == "required":
        raise CommitmentError("COMMITMENT_DEPARTMENT_REQUIRED",
                              f"《{tpl.title}》须选择承诺受理单位")
    values = _clean_fields(tpl, fields or {}, {"subject", "department"})
    now = clock.now()
    c = Commitment(
        subject_id=me.subject_id, kind=tpl.kind, template=tpl.code,
        department_id=dept.id if dept else None, title=tpl.title,
        matter=tpl.matter_of(values), fields=values, is_public=tpl.public,
        status="requested", due_on=None, due_provisional=False, created_at=now,
    )
    if tpl.deadline_days or tpl.deadline_working_days:
        c.due_on, c.due_provisional = deadline_from(calendar_from_db(session), clock.today(), tpl)
    return _sign(session, c, tpl, values, me, affirm, new=True)


def _sign(session: Session, c: Commitment, tpl: Template, values: dict[str, str],
          me: Principal, affirm: bool, new: bool = False) -> Commitment:
    _missing(tpl, values, {"subject", "department"})
    if not affirm:
        raise CommitmentError(
            "COMMITMENT_NOT_AFFIRMED", "请阅读承诺书全文并勾选“本单位已阅读并自愿作出上述承诺”"
        )
    subject = session.get(Subject, c.subject_id)
    assert subject is not None
    _check_subject(subject)
    _require_eligible(session, subject, tpl.kind)
    today = clock.today()
    if new:
        session.add(c)
        session.flush()
        c.number = f"XYCN{today.year}{c.id:06d}"
    c.fields = values
    c.matter = tpl.matter_of(values)
    c.signed_at = clock.now()
    c.signed_on = today
    c.signed_by = me.actor
    c.signer_account_id = me.account_id
    dept = _department(session, c.department_id)
    c.text = render_text(tpl, _context(c, subject, dept))
    c.text_sha256 = sha256(c.text)
    c.status = "signed"
    if tpl.public:
        c.record_id = _write_commitment_record(session, c, subject, dept, me.actor)
    _event(session, c, "signed", me.actor, sha256=c.text_sha256)
    session.flush()
    _audit(session.connection(), me.actor, "sign", c, template=tpl.code, sha256=c.text_sha256)
    if c.department_id:
        _notify(session, "commitments_signed", c, f"commitment:{c.id}:signed", subject=False,
                department=True, link=f"/dept/commitments/{c.id}")
    return c


# ------------------------------------------------------------------------------ records


def _ingest(session: Session, items: list[dict[str, Any]], record_type: str, department: str,
            actor: str) -> list[int]:
    from xinyong.records.ingest import ingest_records_in

    session.flush()
    conn = session.connection()
    try:
        result = ingest_records_in(conn, items, record_type=record_type, department=department,
                                   actor=actor)
    except DomainError as exc:
        raise CommitmentError(exc.code, exc.message, status=exc.status) from exc
    rows = conn.execute(
        text("SELECT source_record_id, id FROM credit_record WHERE batch_id = :b AND is_current"),
        {"b": result.batch_id},
    ).all()
    by_key = {str(k): int(v) for k, v in rows}
    return [by_key.get(str(i.get("commitment_number")), 0) for i in items]


def _record_department(session: Session, dept: Department | None) -> str:
    if dept is not None:
        return dept.code
    code = load_rules().platform_department
    if session.scalar(select(Department.id).where(Department.code == code)) is None:
        raise CommitmentError(
            "COMMITMENT_PLATFORM_DEPARTMENT_MISSING",
            f"平台自身的数据来源单位「{code}」未登记，公开承诺无法记入信用记录：请管理员先添加该单位",
            status=409,
        )
    return code


def _write_commitment_record(session: Session, c: Commitment, subject: Subject,
                             dept: Department | None, actor: str) -> int:
    """A public commitment is a public credit record (catalog type ``commitment``, 长期公示):
    it shows in the subject's profile under 信用承诺及履行情况信息."""
    item = {
        "subject_name": subject.name, "uscc": subject.uscc, "commitment_number": c.number,
        "kind": c.kind, "matter": c.matter or c.title, "content": c.text,
        "committed_on": c.signed_on.isoformat() if c.signed_on else None,
        "due_on": c.due_on.isoformat() if c.due_on else None,
        "recipient": dept.name if dept else None,
    }
    return _ingest(session, [item], "commitment", _record_department(session, dept), actor)[0]


def _performance_items(session: Session, rows: list[Commitment], outcome: str,
                       notes: dict[int, str]) -> list[dict[str, Any]]:
    subjects = {s.id: s for s in session.scalars(
        select(Subject).where(Subject.id.in_({c.subject_id for c in rows})))}
    depts = {d.id: d for d in session.scalars(
        select(Department).where(Department.id.in_({c.department_id for c in rows})))}
    items = []
    for c in rows:
        s, d = subjects[c.subject_id], depts[c.department_id]  # type: ignore[index]
        items.append({
            "subject_name": s.name, "uscc": s.uscc, "commitment_number": c.number,
            "matter": c.matter or c.title, "outcome": outcome,
            "checked_on": clock.today().isoformat(),
            "breach_description": notes.get(c.id) if outcome == "breached" else None,
            "authority": d.name, "remark": c.title,
        })
    return items


# ------------------------------------------------------------------------------ decisions


def _for_department(session: Session, commitment_id: int, department_id: int | None
                    ) -> Commitment:
    """A department's own commitment; another department's does not exist for it."""
    c = session.get(Commitment, commitment_id)
    if c is None or department_id is None or c.department_id != department_id:
        raise _not_found(commitment_id)
    return c


def decide(
    session: Session,
    commitment_id: int,
    *,
    department_id: int | None,
    actor: str,
    outcome: str,
    note: str = "",
) -> Commitment:
    """The department confirms fulfilment (履约) or records a breach (违诺). Either outcome is
    written as a ``commitment_performance`` credit record in the same transaction; the subject
    is re-evaluated at once by the records_changed hook."""
    c = _for_department(session, commitment_id, department_id)
    if outcome not in OUTCOMES:
        raise CommitmentError(
            "COMMITMENT_OUTCOME_INVALID", "履约情况只能是 fulfilled（履约）或 breached（违诺）"
        )
    if c.status in DECIDED:
        raise CommitmentError(
            "COMMITMENT_ALREADY_DECIDED",
            f"信用承诺 {c.number} 已于{cn_date(c.decided_on)}认定为「{STATUS_LABELS[c.status]}」，"
            "不能再次认定",
            status=409,
        )
    if c.status != "signed":
        raise CommitmentError(
            "COMMITMENT_NOT_SIGNED",
            f"信用承诺 {c.number} 的状态为「{STATUS_LABELS[c.status]}」，尚未签署，不能认定履约情况",
            status=409,
        )
    note = (note or "").strip()
    if outcome == "breached" and not note:
        raise CommitmentError("COMMITMENT_BREACH_DESCRIPTION_REQUIRED", "记录违诺时须填写违诺情形")
    if len(note) > 2000:
        raise CommitmentError("COMMITMENT_FIELD_TOO_LONG", "说明不能超过 2000 个字符")
    _apply_decisions(session, [c], outcome, {c.id: note}, actor)
    return c


def _apply_decisions(session: Session, rows: list[Commitment], outcome: str,
                     notes: dict[int, str], actor: str) -> None:
    """Decide several commitments of one outcome: one ingest batch per department."""
    by_dept: dict[int, list[Commitment]] = {}
    for c in rows:
        by_dept.setdefault(int(c.department_id or 0), []).append(c)
    for dept_id, group in by_dept.items():
        dept = session.get(Department, dept_id)
        assert dept is not None
        ids = _ingest(session, _performance_items(session, group, outcome, notes),
                      "commitment_performance", dept.code, actor)
        now, today = clock.now(), clock.today()
        for c, rid in zip(group, ids, strict=True):
            c.status = outcome
            c.decided_at, c.decided_on, c.decided_by = now, today, actor
            c.decision_note = notes.get(c.id) or None
            c.performance_record_id = rid or None
            _event(session, c, outcome, actor, note=notes.get(c.id) or None, record_id=rid)
        session.flush()
        for c in group:
            _audit(session.connection(), actor, "breach" if outcome == "breached" else "fulfil",
                   c, record_id=c.performance_record_id, note=(notes.get(c.id) or "")[:200])
            _notify(session, f"commitments_{outcome}", c, f"commitment:{c.id}:{outcome}",
                    subject=True, department=False, link=f"/me/commitments/{c.id}",
                    note=notes.get(c.id) or "")


# ------------------------------------------------------------------------------ sweep


@dataclass
class SweepResult:
    reminders: int = 0
    overdue: int = 0
    breached: int = 0
    details: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"reminders": self.reminders, "overdue": self.overdue, "breached": self.breached,
                "details": self.details}


def sweep(session: Session, *, actor: str = "system", today: dt.date | None = None
          ) -> SweepResult:
    """Reminders before deadlines and flags for overdue commitments, over the whole set.

    A reminder is due once the working days left are at most one of the configured offsets;
    the nearest offset is sent (a sweep that did not run on the 7th working day before still
    sends the 1-day reminder on time), each offset once per commitment (its event). Overdue
    signed commitments are flagged to their department once; with ``overdue.action: breach``
    they are recorded as breaches instead."""
    rules = load_rules()
    today = today or clock.today()
    cal = calendar_from_db(session)
    conn = session.connection()
    out = SweepResult()
    if rules.reminder_days:
        # Enough calendar days to hold the largest offset in working days, Spring Festival
        # included; the exact count is made below with the calendar.
        horizon = today + dt.timedelta(days=max(rules.reminder_days) * 2 + 21)
        rows = session.scalars(
            select(Commitment).where(
                Commitment.status == "signed", Commitment.due_on.is_not(None),
                Commitment.due_on >= today, Commitment.due_on <= horizon,
            ).order_by(Commitment.due_on, Commitment.id)
        ).all()
        sent: set[tuple[int, str]] = set()
        if rows:
            sent = {(int(cid), k) for cid, k in session.execute(
                select(CommitmentEvent.commitment_id, CommitmentEvent.kind).where(
                    CommitmentEvent.commitment_id.in_([c.id for c in rows]),
                    CommitmentEvent.kind.like("reminder_%"),
                ))}
        events = []
        for c in rows:
            assert c.due_on is not None
            left = cal.working_days_between(today, c.due_on)
            offset = next((d for d in rules.reminder_days if left <= d), None)
            if offset is None or (c.id, f"reminder_{offset}") in sent:
                continue
            events.append((c.id, f"reminder_{offset}", actor, clock.now(),
                           {"days_left": left, "due_on": c.due_on.isoformat()}))
            _notify(session, "commitments_reminder", c, f"commitment:{c.id}:reminder:{offset}",
                    subject=True, department=True, link=f"/me/commitments/{c.id}",
                    days_left=left)
            out.details.append({"commitment": c.number, "event": f"reminder_{offset}",
                                "days_left": left})
        _insert_events(conn, events)
        out.reminders = len(events)
    overdue = session.scalars(
        select(Commitment).where(
            Commitment.status == "signed", Commitment.due_on.is_not(None),
            Commitment.due_on < today,
            ~select(CommitmentEvent.id).where(
                CommitmentEvent.commitment_id == Commitment.id, CommitmentEvent.kind == "overdue"
            ).exists(),
        ).order_by(Commitment.id)
    ).all()
    events = [(c.id, "overdue", actor, clock.now(), {"due_on": c.due_on.isoformat()})  # type: ignore[union-attr]
              for c in overdue]
    _insert_events(conn, events)
    out.overdue = len(events)
    for c in overdue:
        _notify(session, "commitments_overdue", c, f"commitment:{c.id}:overdue", subject=True,
                department=True, link=f"/dept/commitments/{c.id}")
        out.details.append({"commitment": c.number, "event": "overdue"})
    if rules.overdue_action == "breach":
        decidable = [c for c in overdue if c.department_id]
        if decidable:
            _apply_decisions(session, decidable, "breached",
                             {c.id: f"逾期未履行承诺（期限{cn_date(c.due_on)}）" for c in decidable},
                             actor)
            out.breached = len(decidable)
    if out.reminders or out.overdue:
        from xinyong.audit.service import append

        append(conn, actor=actor, action="commitments.sweep", target="commitments",
               detail={"today": today.isoformat(), "reminders": out.reminders,
                       "overdue": out.overdue, "breached": out.breached})
    return out


def daily_job(session: Session, day: dt.date) -> dict[str, int]:
    """The entry of ``xinyong jobs daily`` (core/jobs.py): the sweep of ``day``."""
    out = sweep(session, actor="jobs", today=day)
    return {"reminders": out.reminders, "overdue": out.overdue, "breached": out.breached}


def _insert_events(conn: Connection, events: list[tuple[Any, ...]]) -> None:
    if events:
        conn.execute(CommitmentEvent.__table__.insert(), [
            {"commitment_id": cid, "kind": k, "actor": a, "occurred_at": at, "detail": d}
            for cid, k, a, at, d in events
        ])


# ------------------------------------------------------------------------------ eligibility


def _facts_sql(dialect: str, today: dt.date, subject_filter: str) -> tuple[str, list[str]]:
    """One query: every feature of rules.yaml for the subjects ``subject_filter`` (a condition
    on ``subject_id``) names — the same text for one subject and for a million."""
    rules = load_rules()
    d = date_lit(dialect, today)
    rec_cols, cols = [], []
    models: dict[str, str] = {}
    names = []
    for name, spec in rules.features.items():
        names.append(name)
        if "records" in spec:
            r = spec["records"]
            parts = [sql_in("r.record_type", r["types"]),
                     sql_in("r.status", r.get("statuses", ["active", "objection_pending"])),
                     f"(r.decided_on IS NULL OR r.decided_on <= {d})"]
            if r.get("outcomes"):
                parts.append(sql_in("r.outcome", r["outcomes"]))
            if r.get("in_publicity"):
                parts.append(f"(r.publicity_until IS NULL OR r.publicity_until >= {d})")
            if r.get("in_force"):
                parts.append(f"(r.valid_until IS NULL OR r.valid_until > {d})")
            if r.get("window_years"):
                cutoff = years_before(today, int(r["window_years"]))
                parts.append(f"r.decided_on > {date_lit(dialect, cutoff)}")
            rec_cols.append(f"COUNT(*) FILTER (WHERE {' AND '.join(parts)}) AS f_{name}")
            cols.append(f"COALESCE(rf.f_{name}, 0) AS {name}")
        elif "evaluation" in spec:
            e = spec["evaluation"]
            alias = models.setdefault(e["model"], f"e{len(models)}")
            conds = []
            if e.get("colours"):
                conds.append(sql_in(f"{alias}.colour", e["colours"]))
            if e.get("grades"):
                conds.append(sql_in(f"{alias}.grade", e["grades"]))
            for tag in e.get("tags") or []:
                conds.append(f"{alias}.tags LIKE {sql_literal('%,' + tag + ',%')}")
            cols.append(f"CASE WHEN {' AND '.join(conds) or '1 = 0'} THEN 1 ELSE 0 END AS {name}")
        else:
            cols.append(f"CASE WHEN {sql_in('s.status', spec['subject']['statuses'])}"
                        f" THEN 1 ELSE 0 END AS {name}")
    joins = [f"LEFT JOIN evaluation_result {alias} ON {alias}.subject_id = s.id"
             f" AND {alias}.model_name = {sql_literal(model)}" for model, alias in models.items()]
    sql = "SELECT s.id AS subject_id, s.uscc, s.name"
    if cols:
        sql += ", " + ", ".join(cols)
    sql += " FROM subject s"
    if rec_cols:
        all_types = sorted({t for spec in rules.features.values() if "records" in spec
                            for t in spec["records"]["types"]})
        sql += (
            " LEFT JOIN (SELECT r.subject_id, " + ", ".join(rec_cols)
            + f" FROM credit_record r WHERE r.subject_id {subject_filter} AND r.is_current = true"
            f" AND {sql_in('r.record_type', all_types)} GROUP BY r.subject_id) rf"
            " ON rf.subject_id = s.id"
        )
    sql += " " + " ".join(joins) + f" WHERE s.id {subject_filter}"
    return sql, names


def eligibility(conn: Connection, subject_ids: list[int], kind: str) -> list[dict[str, Any]]:
    """Whether each subject may use the commitment route of ``kind``, with the reasons it may
    not, in the order given. Facts come from one SQL query over the whole list; the rules are
    Polars expressions over the facts frame — one subject and a million take the same path."""
    check_kind(kind)
    rules = load_rules()
    today = clock.today()
    if not subject_ids:
        return []
    if len(subject_ids) <= 500:
        flt = f"IN ({', '.join(str(int(i)) for i in subject_ids)})"
        temp = False
    else:
        temp_table(conn, "commitment_elig", "subject_id INTEGER PRIMARY KEY")
        bulk_insert(conn, "commitment_elig", ["subject_id"],
                    [(int(i),) for i in sorted(set(subject_ids))])
        flt = "IN (SELECT subject_id FROM commitment_elig)"
        temp = True
    sql, names = _facts_sql(conn.dialect.name, today, flt)
    rows = conn.execute(text(sql)).all()
    if temp:
        drop_temp(conn, "commitment_elig")
    schema = {"subject_id": pl.Int64, "uscc": pl.Utf8, "name": pl.Utf8,
              **{n: pl.Int64 for n in names}}
    frame = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    applicable = [r for r in rules.rules if kind in r.kinds]
    frame = frame.with_columns(
        [rules.conditions[r.code].alias(f"rule_{r.code}") for r in applicable]
    )
    by_id = {row["subject_id"]: row for row in frame.iter_rows(named=True)}
    out = []
    for sid in subject_ids:
        row = by_id.get(int(sid))
        if row is None:
            out.append({"subject_id": int(sid), "code": None, "name": None, "kind": kind,
                        "eligible": None, "reasons": ["未找到该信用主体"], "rules": [],
                        "facts": {}})
            continue
        hits = [r for r in applicable if row[f"rule_{r.code}"]]
        out.append({
            "subject_id": int(sid), "code": row["uscc"], "name": row["name"], "kind": kind,
            "kind_label": kind_label(kind), "as_of": today.isoformat(),
            "eligible": not hits,
            "reasons": [r.reason for r in hits],
            "rules": [{"code": r.code, "hit": bool(row[f"rule_{r.code}"]), "reason": r.reason,
                       "basis": r.basis} for r in applicable],
            "facts": {n: row[n] for n in names},
        })
    return out


def eligibility_by_codes(conn: Connection, codes: list[str], kind: str) -> list[dict[str, Any]]:
    """The batch form: credit codes in, one answer per code in the same order (an unknown code
    answers ``eligible: null``). Codes are matched set-based through a temporary table."""
    check_kind(kind)
    if len(codes) > MAX_BATCH:
        raise CommitmentError("COMMITMENT_BATCH_TOO_LARGE",
                              f"一次最多查询 {MAX_BATCH} 个统一社会信用代码，收到 {len(codes)} 个")
    clean = [(c or "").strip().upper() for c in codes]
    temp_table(conn, "commitment_codes", "pos INTEGER PRIMARY KEY, code VARCHAR(40)")
    bulk_insert(conn, "commitment_codes", ["pos", "code"], list(enumerate(clean)))
    found = {int(p): int(s) for p, s in conn.execute(text(
        "SELECT c.pos, s.id FROM commitment_codes c JOIN subject s ON s.uscc = c.code"))}
    drop_temp(conn, "commitment_codes")
    results = eligibility(conn, sorted(set(found.values())), kind)
    by_id = {r["subject_id"]: r for r in results}
    out = []
    for pos, code in enumerate(clean):
        if pos in found:
            out.append({**by_id[found[pos]], "code": code})
        else:
            out.append({"subject_id": None, "code": code, "name": None, "kind": kind,
                        "eligible": None,
                        "reasons": ["未找到该统一社会信用代码对应的信用主体" if code
                                    else "统一社会信用代码为空"],
                        "rules": [], "facts": {}})
    return out


def eligibility_for_code(session: Session, code: str, kind: str) -> dict[str, Any]:
    check_kind(kind)
    subject = _subject_by_code(session, code)
    return eligibility(session.connection(), [subject.id], kind)[0]


# ------------------------------------------------------------------------------ reading


def _overdue_clause(today: dt.date) -> Any:
    return (Commitment.status == "signed") & (Commitment.due_on < today)


def _listing(session: Session, stmt: Any, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(Commitment.id.desc()).limit(limit).offset(offset)).all()
    today = clock.today()
    return [_row_dict(c, name, uscc, dept, today) for c, name, uscc, dept in rows], int(total)


def _base() -> Any:
    return (
        select(Commitment, Subject.name, Subject.uscc, Department.name)
        .join(Subject, Subject.id == Commitment.subject_id)
        .outerjoin(Department, Department.id == Commitment.department_id)
    )


def _row_dict(c: Commitment, name: str, uscc: str | None, dept: str | None, today: dt.date
              ) -> dict[str, Any]:
    return {
        "id": c.id, "number": c.number, "kind": c.kind, "kind_label": kind_label(c.kind),
        "template": c.template, "title": c.title, "matter": c.matter, "status": c.status,
        "status_label": STATUS_LABELS.get(c.status, c.status),
        "subject_id": c.subject_id, "subject_name": name, "uscc": uscc,
        "department": dept, "department_id": c.department_id, "is_public": c.is_public,
        "due_on": c.due_on.isoformat() if c.due_on else None,
        "due_provisional": c.due_provisional,
        "overdue": c.status == "signed" and c.due_on is not None and c.due_on < today,
        "signed_on": c.signed_on.isoformat() if c.signed_on else None,
        "decided_on": c.decided_on.isoformat() if c.decided_on else None,
    }


def _search(stmt: Any, q: str | None) -> Any:
    q = (q or "").replace("\x00", "").strip()[:100]
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Subject.uscc == q.upper(), Subject.name.like(like, escape="\\"),
                              Commitment.number == q.upper()))
    return stmt


def _public_stmt() -> Any:
    # Natural persons' commitments are never public (their records never are).
    return _base().where(
        Commitment.is_public.is_(True), Commitment.status.in_(("signed", "fulfilled", "breached")),
        Subject.kind != "natural_person",
    )


def list_public(session: Session, *, q: str | None = None, kind: str | None = None,
                limit: int = 20, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Public commitments: number, subject, kind, matter and dates. Whether one was kept or
    broken is a restricted fact (catalog: commitment_performance is 有限公开) and is not shown."""
    stmt = _search(_public_stmt(), q)
    if kind:
        stmt = stmt.where(Commitment.kind == check_kind(kind))
    rows, total = _listing(session, stmt, limit, offset)
    return [public_row(r) for r in rows], total


def public_row(r: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "number", "kind", "kind_label", "title", "matter", "subject_name", "uscc",
            "department", "due_on", "signed_on")
    return {**{k: r[k] for k in keep}, "status": "signed", "status_label": "已作出承诺",
            "matter": mask_personal_data(r["matter"] or "")}


def list_for_subject(session: Session, subject_id: int, *, limit: int = 100, offset: int = 0
                     ) -> tuple[list[dict[str, Any]], int]:
    return _listing(session, _base().where(Commitment.subject_id == subject_id), limit, offset)


def list_all(
    session: Session, *, department_id: int | None = None, status: str | None = None,
    kind: str | None = None, overdue: bool = False, q: str | None = None, limit: int = 20,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Every commitment for the administrator; a department's own with ``department_id``."""
    stmt = _search(_base(), q)
    if department_id is not None:
        stmt = stmt.where(Commitment.department_id == department_id)
    if status:
        if status not in STATUS_LABELS:
            raise CommitmentError("COMMITMENT_STATUS_UNKNOWN", f"状态「{status[:20]}」不存在")
        stmt = stmt.where(Commitment.status == status)
    if kind:
        stmt = stmt.where(Commitment.kind == check_kind(kind))
    if overdue:
        stmt = stmt.where(_overdue_clause(clock.today()))
    return _listing(session, stmt, limit, offset)


def _own(c: Commitment, view: str, me: Principal | None) -> bool:
    if view == "subject":
        return me is not None and c.subject_id == me.subject_id
    if view == "department":
        return me is not None and c.department_id is not None and (
            c.department_id == me.department_id)
    return view == "admin"


def detail(session: Session, commitment_id: int, *, view: str, me: Principal | None = None
           ) -> dict[str, Any]:
    """One commitment as ``view`` may see it: public (a public kind's masked text, no personal
    fields, no outcome), subject (its own, in full), department (its own), admin (all)."""
    row = session.execute(_base().where(Commitment.id == commitment_id)).first()
    if row is None:
        raise _not_found(commitment_id)
    c, name, uscc, dept = row
    if view == "public":
        subj_kind = session.scalar(select(Subject.kind).where(Subject.id == c.subject_id))
        if not c.is_public or c.status not in ("signed", "fulfilled", "breached") or (
                subj_kind == "natural_person"):
            raise _not_found(commitment_id)
    elif not _own(c, view, me):
        raise _not_found(commitment_id)
    out = _row_dict(c, name, uscc, dept, clock.today())
    tpl = load_templates().by_code.get(c.template)
    fields = [
        {"name": f.name, "label": f.label, "by": f.by, "type": f.type,
         "value": (c.fields or {}).get(f.name, ""), "public": f.public, "required": f.required}
        for f in (tpl.fields if tpl else ())
    ]
    out.update({
        "legal_basis": tpl.legal_basis if tpl else "",
        "text": c.text, "sha256": c.text_sha256, "signed_by": c.signed_by,
        "signed_at": c.signed_at.isoformat() if c.signed_at else None,
        "requested_by": c.requested_by,
        "requested_at": c.requested_at.isoformat() if c.requested_at else None,
        "decided_by": c.decided_by, "decision_note": c.decision_note,
        "record_id": c.record_id, "performance_record_id": c.performance_record_id,
        "fields": fields,
    })
    if view == "public":
        out = public_row(out) | {
            "legal_basis": out["legal_basis"], "sha256": out["sha256"],
            "signed_at": out["signed_at"],
            # personal data in a public text: phone and ID numbers masked (the hash is of the
            # text as signed, which the subject and the department hold)
            "text": mask_personal_data(c.text or ""),
            "fields": [dict(f, value=mask_phone(f["value"]) if f["type"] == "phone"
                            else f["value"]) for f in fields if f["public"]],
        }
        return out
    if c.status == "requested" and tpl is not None:
        subject = session.get(Subject, c.subject_id)
        assert subject is not None
        out["preview"] = render_text(tpl, _context(c, subject, _department(session, c.department_id)))
    out["events"] = [
        {"kind": e.kind, "actor": e.actor, "at": e.occurred_at.isoformat(), "detail": e.detail}
        for e in session.scalars(select(CommitmentEvent).where(
            CommitmentEvent.commitment_id == c.id).order_by(CommitmentEvent.id))
    ]
    return out


def preview_new(session: Session, *, me: Principal, template: str, fields: dict[str, Any],
                department: str | None) -> str:
    """The text a subject is about to sign, before it affirms."""
    tpl = get_template(template)
    subject = session.get(Subject, me.subject_id)
    assert subject is not None
    dept = _department_by_code(session, department) if department else None
    values = _clean_fields(tpl, fields, {"subject", "department"})
    c = Commitment(fields=values, number="（签署后生成）", signed_on=clock.today(), due_on=None)
    if tpl.deadline_days or tpl.deadline_working_days:
        c.due_on, _ = deadline_from(calendar_from_db(session), clock.today(), tpl)
    return render_text(tpl, _context(c, subject, dept))


# ------------------------------------------------------------------------------ demo


def seed_demo(session: Session) -> int:
    """A few commitments for the demo (run after its departments, subjects and accounts):
    a public voluntary one, a 容缺受理 request signed with a deadline, one fulfilled. Returns
    how many were created; idempotent (does nothing when commitments exist)."""
    from xinyong.accounts.principal import CLI

    if session.scalar(select(func.count()).select_from(Commitment)):
        return 0
    subjects = session.scalars(
        select(Subject).where(Subject.uscc.is_not(None), Subject.kind != "natural_person",
                              Subject.status == "active").order_by(Subject.id).limit(40)).all()
    dept = session.scalar(select(Department).where(Department.code != load_rules()
                                                   .platform_department).order_by(Department.id))
    if not subjects or dept is None:
        return 0
    created = 0
    conn = session.connection()
    eligible = [r["subject_id"] for r in eligibility(conn, [s.id for s in subjects],
                                                     "deficiency_tolerated") if r["eligible"]]
    if not eligible:
        return 0
    by_id = {s.id: s for s in subjects}
    for i, sid in enumerate(eligible[:3]):
        s = by_id[sid]
        me = Principal(role="subject", username="demo", subject_id=s.id, via="cli")
        if i == 0:
            try:
                sign_new(session, me=me, template="voluntary_public", affirm=True,
                         fields={"matter": "诚信经营、守法纳税主动公示承诺"})
                created += 1
            except CommitmentError:
                pass
        c = request_commitment(
            session, department_id=dept.id, actor=CLI.actor, code=s.uscc or "",
            template="deficiency_tolerated_document",
            fields={"matter": "建设工程施工许可", "document": "施工图设计文件审查合格书"})
        sign_request(session, c.id, me=me, affirm=True,
                     fields={"contact": "张工", "phone": "13800138000"})
        created += 1
        if i == 1:
            decide(session, c.id, department_id=dept.id, actor=CLI.actor, outcome="fulfilled",
                   note="已按期补齐审查合格书")
    return created

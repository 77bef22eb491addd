"""Objections (异议处理): the only writer of objection cases.

The path of a case (deadlines from ``data/rules.yaml``, Guangzhou municipal platform):

1. ``file_objection``: the subject disputes one of its records (or the credit office enters a
   paper objection on its behalf); acceptance is due within 2 working days of receipt;
2. ``accept`` (the record is marked 异议处理中 from here) or ``refuse`` (不予受理, with a reason
   code and text); the platform's own check is due within 2 working days;
3. ``check``: the office records what its check found; an error of the platform itself is
   decided at once (``decide``), otherwise ``assign`` sends the case to the department that sent
   the record, which ``answer``s within 10 working days in its portal;
4. ``decide``: corrected (a new version of the record through ingest, as the department), revoked
   or upheld (the record is active again). The records service re-evaluates the subject in the
   same transaction and the subject is notified.

Every step is a row of ``objection_step`` (who, when, why, the deadline it set). A rejected call
raises ``ObjectionError`` before anything is written or inside the caller's transaction, which
the caller then rolls back: nothing changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import and_, false, func, or_, select, text, true, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from xinyong.accounts.principal import Principal
from xinyong.catalog.loader import load_catalog
from xinyong.catalog.types import RecordType
from xinyong.core import clock, hooks
from xinyong.core.config import get_settings
from xinyong.core.errors import DomainError
from xinyong.core.sqlutil import ts
from xinyong.core.workdays import Deadline, WorkingCalendar, calendar_from_db
from xinyong.departments.models import Department
from xinyong.objections.models import (
    OPEN_STATUSES,
    OUTCOMES,
    Objection,
    ObjectionEvidence,
    ObjectionStep,
)
from xinyong.records.models import CreditRecord, CreditRecordDetail
from xinyong.records.profile import STATUS_LABELS as RECORD_STATUS_LABELS
from xinyong.subjects.models import Subject

RULES_PATH = Path(__file__).parent / "data" / "rules.yaml"

STATUS_LABELS = {
    "filed": "待受理",
    "checking": "平台核查中",
    "assigned": "数据提供单位核实中",
    "answered": "待作出决定",
    "not_accepted": "不予受理",
    "decided": "已办结",
}
# What the current stage's deadline is for.
STAGE_LABELS = {
    "filed": "受理",
    "checking": "平台核查",
    "assigned": "数据提供单位答复",
    "answered": "异议决定",
}
OUTCOME_LABELS = {"corrected": "更正记录", "revoked": "撤销记录", "upheld": "维持原记录"}
STEP_LABELS = {
    "filed": "提出异议",
    "accepted": "受理",
    "not_accepted": "不予受理",
    "checked": "平台核查",
    "assigned": "转数据提供单位核实",
    "answered": "数据提供单位答复",
    "decided": "作出决定",
    "overdue": "超期",
    "reminded": "到期提醒",
    "evidence": "补充证明材料",
}
FINDING_LABELS = {
    "platform_error": "属平台处理错误（立即更正）",
    "source_data": "平台记录与数据提供单位报送一致，需转数据提供单位核实",
}
CHANNEL_LABELS = {"online": "网上申请", "paper": "书面申请（信用办代录）"}
# Fields that say whose record it is: an objection never moves a record to another subject
# (a record that is not the subject's is revoked, not corrected). ID numbers are never stored
# in clear, so they cannot be re-sent either.
FIXED_FIELDS = frozenset({"uscc", "subject_kind"})
MAX_REASON = 2000
MAX_VALUE = 4000


class ObjectionError(DomainError):
    """A call the objection rules refuse; nothing was changed."""


# ------------------------------------------------------------------------------ rules


@dataclass(frozen=True)
class RuleVersion:
    since: dt.date
    source: str
    url: str
    deadlines: dict[str, int]
    remind_before: int
    mark_pending_at: str  # accepted | filed


@dataclass(frozen=True)
class Rules:
    versions: tuple[RuleVersion, ...]
    not_accepted_reasons: dict[str, str]
    max_bytes: int
    max_files: int
    magic: dict[str, tuple[bytes, ...]]
    kind_labels: dict[str, str]

    def at(self, day: dt.date) -> RuleVersion:
        """The rules in force on ``day`` (the latest version that started on or before it)."""
        found = [v for v in self.versions if v.since <= day]
        return found[-1] if found else self.versions[0]


@lru_cache(maxsize=1)
def rules() -> Rules:
    raw = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    versions = tuple(
        sorted(
            (
                RuleVersion(
                    since=v["since"],
                    source=v["source"],
                    url=v["url"],
                    deadlines={k: int(n) for k, n in v["deadlines"].items()},
                    remind_before=int(v["remind_before"]),
                    mark_pending_at=v["mark_pending_at"],
                )
                for v in raw["versions"]
            ),
            key=lambda v: v.since,
        )
    )
    for v in versions:
        assert v.mark_pending_at in ("accepted", "filed"), v.mark_pending_at
    ev = raw["evidence"]
    return Rules(
        versions=versions,
        not_accepted_reasons=dict(raw["not_accepted_reasons"]),
        max_bytes=int(ev["max_bytes"]),
        max_files=int(ev["max_files"]),
        # YAML holds the magic bytes as latin-1 text ("\xFF\xD8\xFF")
        magic={k: tuple(m.encode("latin-1") for m in s["magic"]) for k, s in ev["kinds"].items()},
        kind_labels={k: s["label"] for k, s in ev["kinds"].items()},
    )


def _deadline(cal: WorkingCalendar, start: dt.date, n: int) -> Deadline:
    return cal.add_working_days(start, n)


# ------------------------------------------------------------------------------ helpers


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


def _fail(code: str, message: str, status: int = 422) -> ObjectionError:
    return ObjectionError(code, message, status=status)


def _required(value: str | None, label: str, code: str, limit: int = MAX_REASON) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise _fail(code, f"请填写{label}")
    if len(cleaned) > limit:
        raise _fail(f"{code.rsplit('_', 1)[0]}_TOO_LONG", f"{label}不能超过 {limit} 个字")
    return cleaned


R = CreditRecord.__table__.c
D = CreditRecordDetail.__table__.c
OB = Objection.__table__.c


def _record_columns() -> tuple[Any, ...]:
    return (
        R.id, R.subject_id, R.record_type, R.department_id, R.source_record_id, R.title,
        R.status, R.is_current, R.disclosure, R.publicity_until, R.publicity_rule, R.decided_on,
        R.version, D.data,
    )


def _record_select() -> Any:
    return select(*_record_columns()).join_from(
        CreditRecord.__table__, CreditRecordDetail.__table__,
        and_(D.subject_id == R.subject_id, D.id == R.id),
    )


def _record(conn: Connection, record_id: int) -> Row[Any] | None:
    return conn.execute(_record_select().where(R.id == record_id)).first()


def _current(conn: Connection, o: Row[Any]) -> Row[Any] | None:
    """The current version of the disputed record (a department may have sent a new one since
    the objection was filed)."""
    return conn.execute(
        _record_select().where(
            R.department_id == o.department_id,
            R.record_type == o.record_type,
            R.source_record_id == o.source_record_id,
            R.is_current.is_(True),
        )
    ).first()


def _record_key(department_id: int, record_type: str, source_record_id: str) -> str:
    return f"{department_id}:{record_type}:{source_record_id}"


def _data(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str | bytes):
        import orjson

        return dict(orjson.loads(value))
    return dict(value)


def _load(conn: Connection, objection_id: int, *, lock: bool = True) -> Row[Any]:
    stmt = select(Objection.__table__).where(OB.id == objection_id)
    if lock:
        # PostgreSQL: two officers acting on one case serialise here (SQLite has one writer)
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise _fail("OBJECTION_NOT_FOUND", f"异议 {objection_id} 不存在", 404)
    return row


def _step(
    conn: Connection, objection_id: int, step: str, actor: str, *, note: str | None = None,
    due_on: dt.date | None = None, data: dict[str, Any] | None = None,
) -> None:
    conn.execute(ObjectionStep.__table__.insert().values(
        objection_id=objection_id, step=step, actor=actor, at=clock.now(), note=note,
        due_on=due_on, data=data,
    ))


def _audit(conn: Connection, actor: str, action: str, o: Row[Any] | None, **detail: Any) -> None:
    from xinyong.audit.service import append

    append(conn, actor=actor, action=action,
           subject_id=int(o.subject_id) if o is not None else None,
           target=f"objection:{o.id}" if o is not None else None, detail=detail or None)


def _notify(conn: Connection, template: str, key: str, context: dict[str, Any], *,
            subject_id: int | None = None, department_id: int | None = None,
            account_ids: Sequence[int] = (), link: str | None = None) -> int:
    from xinyong.notifications.service import notify

    return notify(conn, template=template, context=context, key=key, subject_id=subject_id,
                  department_id=department_id, account_ids=account_ids, link=link)


def _names(conn: Connection, o: Row[Any]) -> dict[str, str]:
    name = conn.scalar(select(Subject.name).where(Subject.id == o.subject_id)) or ""
    dept = conn.scalar(select(Department.name).where(Department.id == o.department_id)) or ""
    return {"name": name, "department": dept, "record": o.record_title or o.source_record_id,
            "objection_id": str(o.id)}


def _expect(o: Row[Any], allowed: tuple[str, ...], action: str) -> None:
    if o.status not in allowed:
        raise _fail(
            "OBJECTION_OUT_OF_ORDER",
            f"异议 {o.id} 当前为「{STATUS_LABELS.get(o.status, o.status)}」，不能{action}"
            + ("：已办结的异议不能再处理" if o.status in ("decided", "not_accepted") else ""),
            409,
        )


def _set(conn: Connection, objection_id: int, **values: Any) -> None:
    conn.execute(update(Objection).where(OB.id == objection_id)
                 .values(updated_at=clock.now(), **values))


def _set_record_status(conn: Connection, record_id: int, status: str, actor: str,
                       reason: str) -> None:
    from xinyong.records.service import change_record_status

    change_record_status(conn, record_id=record_id, status=status, actor=actor, reason=reason)


# ------------------------------------------------------------------------------ values


def _fields(rtype: RecordType) -> dict[str, Any]:
    return {f.name: f for f in rtype.fields}


def _as_input(ftype: str, value: Any) -> str | None:
    """A stored (typed) value as a department would write it, for re-sending the record."""
    if value is None:
        return None
    if ftype == "money" and isinstance(value, int):
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"
    if ftype == "boolean" and isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _row(rtype: RecordType, data: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The record as its department sent it, with ``values`` replacing fields. Masked ID
    numbers (``*_masked``) are not catalog fields and cannot be re-sent: the new version has
    none (the clear numbers were never stored)."""
    fields = _fields(rtype)
    row = {
        name: _as_input(fields[name].type, v)
        for name, v in data.items()
        if name in fields and fields[name].type != "id_number"
    }
    row.update(values)
    return {k: v for k, v in row.items() if v is not None}


def _clean_values(rtype: RecordType, data: dict[str, Any],
                  values: dict[str, Any] | None) -> dict[str, str]:
    """Claimed or decided values, checked the way ingest will check them."""
    if not values:
        return {}
    if not isinstance(values, dict):
        raise _fail("OBJECTION_VALUES_INVALID", "更正内容应为「信息项: 更正值」的形式")
    fields = _fields(rtype)
    out: dict[str, str] = {}
    for name, raw in values.items():
        spec = fields.get(str(name))
        if spec is None:
            raise _fail("OBJECTION_FIELD_UNKNOWN",
                        f"「{name}」不是「{rtype.label}」的信息项，不能作为更正内容")
        if spec.type == "id_number" or spec.name in FIXED_FIELDS:
            raise _fail("OBJECTION_FIELD_FIXED",
                        f"「{spec.label}」标识信用主体，不能通过异议更正；"
                        "如记录不属于本主体，请在异议理由中说明，由平台撤销")
        value = "" if raw is None else str(raw).strip()
        if not value:
            continue  # optional per field: an empty input means "no claim on this field"
        if len(value) > MAX_VALUE:
            raise _fail("OBJECTION_VALUE_TOO_LONG", f"「{spec.label}」的更正值超过 {MAX_VALUE} 个字")
        out[spec.name] = value
    if out:
        _validate(rtype, _row(rtype, data, out), out)
    return out


def _validate(rtype: RecordType, row: dict[str, Any], values: dict[str, str]) -> None:
    from xinyong.records.readers import ROW, records_frame
    from xinyong.records.validate import validate_chunk

    checked = validate_chunk(records_frame([{**row, ROW: 1}]), rtype, today=clock.today())
    errors = [e for e in checked.errors.iter_rows(named=True) if e["field"] in values]
    if errors:
        raise _fail("OBJECTION_VALUE_INVALID", "更正值有误：" + "；".join(e["message"] for e in errors))


# ------------------------------------------------------------------------------ uploads


def _kind(content: bytes, magic: dict[str, tuple[bytes, ...]]) -> str | None:
    for kind, prefixes in magic.items():
        if any(content.startswith(p) for p in prefixes):
            return kind
    return None


def check_uploads(uploads: Sequence[Upload]) -> list[tuple[Upload, str, str]]:
    """(upload, kind, sha256) of each file; the type is read from the file's first bytes."""
    rs = rules()
    files = [u for u in uploads if u.filename or u.content]
    if len(files) > rs.max_files:
        raise _fail("OBJECTION_TOO_MANY_FILES", f"证明材料最多 {rs.max_files} 个文件")
    kinds = "、".join(rs.kind_labels.values())
    out = []
    for u in files:
        name = Path(u.filename or "材料").name[:200]
        if len(u.content) > rs.max_bytes:
            raise _fail("OBJECTION_FILE_TOO_LARGE",
                        f"文件「{name}」超过 {rs.max_bytes // (1024 * 1024)} MB 的上限", 413)
        kind = _kind(u.content, rs.magic)
        if kind is None:
            raise _fail("OBJECTION_FILE_TYPE",
                        f"文件「{name}」不是 {kinds} 格式（按文件内容判断，与扩展名无关）", 415)
        out.append((Upload(name, u.content), kind, hashlib.sha256(u.content).hexdigest()))
    return out


def _store(conn: Connection, objection_id: int, files: list[tuple[Upload, str, str]],
           actor: str) -> None:
    root = get_settings().data_dir
    for u, kind, sha in files:
        rel = f"uploads/objections/{objection_id}/{sha}.{kind}"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # content-addressed: the same file twice is stored once
            tmp = path.with_suffix(".part")
            tmp.write_bytes(u.content)
            tmp.replace(path)
        conn.execute(ObjectionEvidence.__table__.insert().values(
            objection_id=objection_id, filename=u.filename, kind=kind, size=len(u.content),
            sha256=sha, path=rel, uploaded_by=actor, uploaded_at=clock.now(),
        ))


# ------------------------------------------------------------------------------ filing


def _check_record(rec: Row[Any], today: dt.date) -> None:
    """The record may be disputed: the current version, not under objection, still valid."""
    if not rec.is_current:
        raise _fail("OBJECTION_RECORD_NOT_CURRENT",
                    f"信用记录 {rec.id} 已被更正后的新版本取代，请对当前版本提出异议", 409)
    if rec.status == "objection_pending":
        raise _fail("OBJECTION_DUPLICATE", f"信用记录 {rec.id} 已有正在处理的异议，不能重复提出", 409)
    if rec.status != "active":
        raise _fail("OBJECTION_RECORD_EXPIRED",
                    f"信用记录 {rec.id} 已{RECORD_STATUS_LABELS.get(rec.status, rec.status)}，"
                    "不在有效期内，不能提出异议", 409)
    until = _as_date(rec.publicity_until)
    # A record never published (e.g. a simple-procedure penalty) has no publicity period to
    # run out: it stays disputable while it is in force.
    unpublished = "not_published" in (rec.publicity_rule or "")
    if until is not None and until < today and not unpublished:
        raise _fail("OBJECTION_RECORD_EXPIRED",
                    f"信用记录 {rec.id} 的公示期已于 {until.isoformat()} 届满，"
                    "不在有效期内，不能提出异议", 409)


def file_objection(
    conn: Connection | Session,
    *,
    actor: str,
    record_id: int,
    reason: str | None,
    claimed_values: dict[str, Any] | None = None,
    uploads: Sequence[Upload] = (),
    subject_id: int | None,
    channel: str = "online",
    received_on: dt.date | None = None,
    contact: str | None = None,
) -> int:
    """File an objection; returns its id.

    ``subject_id``: the subject's own account files (only its own records, in the subject view:
    another's record or an internal one does not exist for it). ``None``: the credit office
    enters a paper objection on the subject's behalf (``channel='paper'``), with the day it was
    received, from which the deadlines count."""
    if isinstance(conn, Session):
        conn = conn.connection()
    rec = _record(conn, record_id)
    if rec is None or (subject_id is not None and (
            rec.subject_id != subject_id or rec.disclosure not in ("public", "restricted"))):
        raise _fail("OBJECTION_RECORD_NOT_FOUND", f"信用记录 {record_id} 不存在，或不是本主体的记录",
                    404)
    if channel not in CHANNEL_LABELS:
        raise _fail("OBJECTION_CHANNEL_INVALID", "申请方式只能是 online 或 paper")
    reason = _required(reason, "异议理由", "OBJECTION_REASON_REQUIRED")
    today = clock.today()
    received = received_on or today
    if received > today:
        raise _fail("OBJECTION_RECEIVED_IN_FUTURE",
                    f"收到日期 {received.isoformat()} 晚于今天，请核对")
    if subject_id is not None and received != today:
        raise _fail("OBJECTION_RECEIVED_INVALID", "网上申请的收到日期就是提交当天")
    open_id = conn.scalar(select(OB.id).where(OB.open_record_key == _record_key(
        rec.department_id, rec.record_type, rec.source_record_id)))
    if open_id is not None:
        raise _fail("OBJECTION_DUPLICATE",
                    f"信用记录 {record_id} 已有正在处理的异议（编号 {open_id}），不能重复提出", 409)
    _check_record(rec, today)
    rtype = load_catalog().type(rec.record_type)
    data = _data(rec.data)
    values = _clean_values(rtype, data, claimed_values)
    files = check_uploads(uploads)
    contact = (contact or "").strip()[:100] or None
    rv = rules().at(received)
    due = _deadline(calendar_from_db(conn), received, rv.deadlines["acceptance"])
    now = clock.now()
    try:
        with conn.begin_nested():
            oid = conn.execute(Objection.__table__.insert().values(
                subject_id=rec.subject_id, record_id=rec.id, record_type=rec.record_type,
                source_record_id=rec.source_record_id, record_title=rec.title,
                department_id=rec.department_id,
                open_record_key=_record_key(rec.department_id, rec.record_type,
                                            rec.source_record_id),
                status="filed", channel=channel, reason=reason, claimed_values=values or None,
                contact=contact, filed_by=actor, filed_at=now, received_on=received,
                due_on=due.due, due_provisional=due.provisional, platform_error=False,
                updated_at=now,
            ).returning(OB.id)).scalar_one()
    except IntegrityError as exc:  # another filing for the record won the race
        raise _fail("OBJECTION_DUPLICATE", f"信用记录 {record_id} 已有正在处理的异议，不能重复提出",
                    409) from exc
    _step(conn, oid, "filed", actor, note=reason, due_on=due.due,
          data={"channel": channel, "received_on": received.isoformat(),
                "claimed_values": values or None, "files": len(files)})
    _store(conn, oid, files, actor)
    o = _load(conn, oid, lock=False)
    if rv.mark_pending_at == "filed":
        _set_record_status(conn, rec.id, "objection_pending", actor, f"异议（编号 {oid}）已提出")
    names = _names(conn, o)
    _notify(conn, "objection_filed", f"objection:{oid}:filed",
            {**names, "day": received.isoformat(), "due": due.due.isoformat()},
            subject_id=rec.subject_id, link=f"/me/objections/{oid}")
    _audit(conn, actor, "objection.file", o, record_id=rec.id, channel=channel,
           received_on=received.isoformat(), fields=sorted(values), files=len(files))
    return int(oid)


def add_evidence(conn: Connection | Session, objection_id: int, *, viewer: Principal,
                 uploads: Sequence[Upload], actor: str) -> int:
    """More evidence for an open case, by the subject (or the office scanning paper copies).
    Returns the number of files added."""
    if isinstance(conn, Session):
        conn = conn.connection()
    o = _load(conn, objection_id)
    if not (viewer.is_admin or (viewer.role == "subject" and viewer.subject_id == o.subject_id)):
        raise _fail("OBJECTION_NOT_FOUND", f"异议 {objection_id} 不存在", 404)
    _expect(o, OPEN_STATUSES, "补充材料")
    files = check_uploads(uploads)
    if not files:
        raise _fail("OBJECTION_FILES_REQUIRED", "请选择要上传的证明材料")
    e = ObjectionEvidence.__table__.c
    have = conn.scalar(select(func.count()).where(e.objection_id == o.id)) or 0
    if have + len(files) > rules().max_files:
        raise _fail("OBJECTION_TOO_MANY_FILES",
                    f"每件异议的证明材料最多 {rules().max_files} 个文件（已有 {have} 个）")
    _store(conn, o.id, files, actor)
    _step(conn, o.id, "evidence", actor, data={"files": [u.filename for u, _, _ in files]})
    _audit(conn, actor, "objection.evidence", o, files=[sha for _, _, sha in files])
    return len(files)


# ------------------------------------------------------------------------------ office steps


def accept(conn: Connection | Session, objection_id: int, *, actor: str,
           note: str | None = None) -> None:
    """受理: the record is marked 异议处理中 and the platform's own check is due."""
    if isinstance(conn, Session):
        conn = conn.connection()
    o = _load(conn, objection_id)
    _expect(o, ("filed",), "受理")
    rec = _current(conn, o)
    if rec is None or rec.status not in ("active", "objection_pending"):
        raise _fail("OBJECTION_RECORD_EXPIRED",
                    "该记录已不在有效期内（已撤销、修复或更正），请以「记录已失效」不予受理", 409)
    today = clock.today()
    rv = rules().at(o.received_on)
    due = _deadline(calendar_from_db(conn), today, rv.deadlines["platform_check"])
    note = (note or "").strip()[:MAX_REASON] or None
    _set(conn, o.id, status="checking", due_on=due.due, due_provisional=due.provisional,
         overdue_stage=None)
    _step(conn, o.id, "accepted", actor, note=note, due_on=due.due)
    if rec.status == "active":
        _set_record_status(conn, rec.id, "objection_pending", actor,
                           f"异议（编号 {o.id}）已受理，核查期间标注为异议处理中")
    _notify(conn, "objection_accepted", f"objection:{o.id}:accepted",
            {**_names(conn, o), "day": today.isoformat(), "due": due.due.isoformat()},
            subject_id=o.subject_id, link=f"/me/objections/{o.id}")
    _audit(conn, actor, "objection.accept", o, due_on=due.due.isoformat())


def refuse(conn: Connection | Session, objection_id: int, *, actor: str, code: str,
           reason: str | None) -> None:
    """不予受理, with a reason code of the rules and the office's explanation."""
    if isinstance(conn, Session):
        conn = conn.connection()
    reasons = rules().not_accepted_reasons
    if code not in reasons:
        raise _fail("OBJECTION_REFUSAL_CODE_INVALID",
                    "不予受理原因无效，可选：" + "、".join(f"{k}（{v}）" for k, v in reasons.items()))
    reason = _required(reason, "不予受理的理由", "OBJECTION_DECISION_REASON_REQUIRED")
    o = _load(conn, objection_id)
    _expect(o, ("filed",), "作出不予受理决定")
    now = clock.now()
    _set(conn, o.id, status="not_accepted", due_on=None, open_record_key=None, closed_at=now,
         decision_reason=reason)
    _step(conn, o.id, "not_accepted", actor, note=reason, data={"code": code})
    rec = _current(conn, o)
    if rec is not None and rec.status == "objection_pending":  # marked at filing
        _set_record_status(conn, rec.id, "active", actor, f"异议（编号 {o.id}）不予受理")
    _notify(conn, "objection_not_accepted", f"objection:{o.id}:not_accepted",
            {**_names(conn, o), "reason_label": reasons[code], "reason": reason},
            subject_id=o.subject_id, link=f"/me/objections/{o.id}")
    _audit(conn, actor, "objection.refuse", o, code=code, reason=reason)


def check(conn: Connection | Session, objection_id: int, *, actor: str, finding: str,
          note: str | None) -> None:
    """The platform's own check: an error of the platform is to be fixed at once (the decision
    is due the same day); otherwise the case goes to the department (``assign``)."""
    if isinstance(conn, Session):
        conn = conn.connection()
    if finding not in FINDING_LABELS:
        raise _fail("OBJECTION_FINDING_INVALID", "核查结论只能是 platform_error 或 source_data")
    note = _required(note, "核查说明", "OBJECTION_NOTE_REQUIRED")
    o = _load(conn, objection_id)
    _expect(o, ("checking",), "记录平台核查结论")
    values: dict[str, Any] = {"platform_error": finding == "platform_error"}
    if finding == "platform_error":
        values.update(due_on=clock.today(), due_provisional=False)
    _set(conn, o.id, **values)
    _step(conn, o.id, "checked", actor, note=note, data={"finding": finding},
          due_on=values.get("due_on"))
    _audit(conn, actor, "objection.check", o, finding=finding)


def assign(conn: Connection | Session, objection_id: int, *, actor: str,
           note: str | None = None) -> None:
    """协查: the department that sent the record answers within 10 working days."""
    if isinstance(conn, Session):
        conn = conn.connection()
    o = _load(conn, objection_id)
    _expect(o, ("checking",), "转数据提供单位核实")
    today = clock.today()
    rv = rules().at(o.received_on)
    due = _deadline(calendar_from_db(conn), today, rv.deadlines["department_answer"])
    note = (note or "").strip()[:MAX_REASON] or None
    _set(conn, o.id, status="assigned", assigned_on=today, due_on=due.due,
         due_provisional=due.provisional, overdue_stage=None)
    _step(conn, o.id, "assigned", actor, note=note, due_on=due.due)
    _notify(conn, "objection_assigned", f"objection:{o.id}:assigned",
            {**_names(conn, o), "due": due.due.isoformat()},
            department_id=o.department_id, link=f"/dept/objections/{o.id}")
    _audit(conn, actor, "objection.assign", o, department_id=o.department_id,
           due_on=due.due.isoformat())


def answer(conn: Connection | Session, objection_id: int, *, department_id: int, actor: str,
           proposal: str, reason: str | None, values: dict[str, Any] | None = None) -> None:
    """The department's answer: what the record should become, why, and for a correction the
    corrected values. Only the department that sent the record answers."""
    if isinstance(conn, Session):
        conn = conn.connection()
    o = _load(conn, objection_id)
    if o.department_id != department_id or o.assigned_on is None:
        raise _fail("OBJECTION_NOT_FOUND", f"异议 {objection_id} 不存在", 404)
    _expect(o, ("assigned",), "答复")
    if proposal not in OUTCOMES:
        raise _fail("OBJECTION_OUTCOME_INVALID", "核实结论只能是 corrected（更正）、revoked（撤销）或 upheld（维持）")
    reason = _required(reason, "核实意见", "OBJECTION_DECISION_REASON_REQUIRED")
    cleaned = _values_for(conn, o, proposal, values)
    today = clock.today()
    due = _deadline(calendar_from_db(conn), today, rules().at(o.received_on).deadlines["decision"])
    _set(conn, o.id, status="answered", proposal=proposal, proposal_reason=reason,
         proposal_values=cleaned or None, due_on=due.due, due_provisional=due.provisional,
         overdue_stage=None)
    _step(conn, o.id, "answered", actor, note=reason, due_on=due.due,
          data={"proposal": proposal, "values": cleaned or None})
    _audit(conn, actor, "objection.answer", o, proposal=proposal, fields=sorted(cleaned))


def _values_for(conn: Connection, o: Row[Any], outcome: str,
                values: dict[str, Any] | None) -> dict[str, str]:
    rec = _current(conn, o)
    if rec is None:
        raise _fail("OBJECTION_RECORD_EXPIRED", "该记录已不存在当前版本", 409)
    cleaned = _clean_values(load_catalog().type(o.record_type), _data(rec.data), values)
    if outcome == "corrected" and not cleaned:
        raise _fail("OBJECTION_VALUES_REQUIRED", "结论为「更正记录」时，请填写至少一项更正后的值")
    if outcome != "corrected" and cleaned:
        raise _fail("OBJECTION_VALUES_UNEXPECTED", "只有结论为「更正记录」时才填写更正值")
    return cleaned


def decide(conn: Connection | Session, objection_id: int, *, actor: str, outcome: str,
           reason: str | None, values: dict[str, Any] | None = None) -> None:
    """作出决定 (the credit office): after the department's answer, or at once after a check that
    found an error of the platform itself."""
    if isinstance(conn, Session):
        conn = conn.connection()
    o = _load(conn, objection_id)
    if not (o.status == "answered" or (o.status == "checking" and o.platform_error)):
        hint = {
            "filed": "请先受理",
            "checking": "平台核查未发现平台自身错误的，应先转数据提供单位核实",
            "assigned": "数据提供单位尚未答复",
        }.get(o.status, "已办结的异议不能再处理")
        raise _fail("OBJECTION_OUT_OF_ORDER",
                    f"异议 {o.id} 当前为「{STATUS_LABELS.get(o.status, o.status)}」，"
                    f"不能作出决定：{hint}", 409)
    if outcome not in OUTCOMES:
        raise _fail("OBJECTION_OUTCOME_INVALID", "处理结果只能是 corrected（更正）、revoked（撤销）或 upheld（维持）")
    reason = _required(reason, "决定理由", "OBJECTION_DECISION_REASON_REQUIRED")
    if outcome == "corrected" and not values and o.proposal == "corrected":
        values = o.proposal_values  # the department's corrected values, as it answered
    cleaned = _values_for(conn, o, outcome, values)
    rec = _current(conn, o)
    assert rec is not None  # _values_for checked
    if rec.status not in ("objection_pending", "active"):
        raise _fail("OBJECTION_RECORD_CHANGED",
                    f"记录当前为「{RECORD_STATUS_LABELS.get(rec.status, rec.status)}」，"
                    "请核实后再处理", 409)
    now = clock.now()
    # Closed first: the new version a correction creates must not inherit the open objection
    # (the records-added hook below carries open objections over to new versions).
    _set(conn, o.id, status="decided", outcome=outcome, decision_reason=reason,
         decided_values=cleaned or None, due_on=None, open_record_key=None, closed_at=now)
    new_id = None
    why = f"异议（编号 {o.id}）处理结果：{OUTCOME_LABELS[outcome]}。{reason}"
    if outcome == "corrected":
        new_id = _correct(conn, o, rec, cleaned, actor)
        _set(conn, o.id, new_record_id=new_id)
    elif outcome == "revoked":
        _set_record_status(conn, rec.id, "revoked", actor, why)
    elif rec.status == "objection_pending":
        # upheld: back to active, a reinstatement event
        _set_record_status(conn, rec.id, "active", actor, why)
    _step(conn, o.id, "decided", actor, note=reason,
          data={"outcome": outcome, "values": cleaned or None, "new_record_id": new_id,
                "record_id": rec.id})
    _notify(conn, "objection_decided", f"objection:{o.id}:decided",
            {**_names(conn, o), "day": clock.today().isoformat(),
             "outcome_label": OUTCOME_LABELS[outcome], "reason": reason},
            subject_id=o.subject_id, link=f"/me/objections/{o.id}")
    _audit(conn, actor, "objection.decide", o, outcome=outcome, record_id=rec.id,
           new_record_id=new_id, fields=sorted(cleaned))


def _correct(conn: Connection, o: Row[Any], rec: Row[Any], values: dict[str, str],
             actor: str) -> int:
    """A correction is a new version of the record sent as its department (same source record
    id): ingest marks the old one ``corrected`` and keeps it in the history."""
    from xinyong.records.ingest import ingest_records_in

    rtype = load_catalog().type(o.record_type)
    department = conn.scalar(select(Department.code).where(Department.id == o.department_id))
    row = _row(rtype, _data(rec.data), values)
    row["record_id"] = rec.source_record_id
    # In the decision's own transaction: a refused correction leaves nothing, not even a batch.
    result = ingest_records_in(conn, [row], record_type=o.record_type,
                               department=str(department), actor=actor, raise_on_reject=False)
    if result.rejected:
        problems = "；".join(str(e["message"]) for e in result.errors.iter_rows(named=True))
        raise _fail("OBJECTION_VALUE_INVALID", f"更正值未通过校验：{problems}")
    if result.corrected != 1:
        raise _fail("OBJECTION_CORRECTION_NO_CHANGE", "更正值与记录现有内容相同，记录无需更正", 409)
    new_id = conn.scalar(select(R.id).where(
        R.department_id == o.department_id, R.record_type == o.record_type,
        R.source_record_id == o.source_record_id, R.is_current.is_(True)))
    assert new_id is not None
    return int(new_id)


# ------------------------------------------------------------------------------ reads


def _visible(p: Principal) -> ColumnElement[bool]:
    """Which cases a caller may see: the office all, a department those sent to it, a subject
    its own. Applied in every query (a route that forgot a check still cannot show more)."""
    if p.is_admin:
        return true()
    if p.is_department and p.department_id is not None:
        return and_(OB.department_id == p.department_id, OB.assigned_on.is_not(None))
    if p.role == "subject" and p.subject_id is not None:
        return OB.subject_id == p.subject_id
    return false()


def _due_state(status: str, due_on: Any, today: dt.date) -> tuple[str | None, bool]:
    due = _as_date(due_on)
    if due is None or status not in OPEN_STATUSES:
        return None, False
    return due.isoformat(), due < today


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def list_objections(
    conn: Connection | Session, viewer: Principal, *, status: str | None = None,
    overdue: bool = False, limit: int = 50, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A queue: open cases by deadline (overdue first), then closed ones, newest first."""
    if isinstance(conn, Session):
        conn = conn.connection()
    today = clock.today()
    s = Subject.__table__.c
    dept = Department.__table__.c
    where = [_visible(viewer)]
    if status == "open":
        where.append(OB.status.in_(OPEN_STATUSES))
    elif status:
        where.append(OB.status == status)
    if overdue:
        where.append(and_(OB.status.in_(OPEN_STATUSES), OB.due_on < today))
    total = conn.scalar(select(func.count()).select_from(Objection.__table__).where(*where)) or 0
    rows = conn.execute(
        select(OB.id, OB.status, OB.outcome, OB.channel, OB.record_id, OB.record_type, OB.record_title,
               OB.received_on, OB.due_on, OB.due_provisional, OB.filed_at, OB.closed_at,
               OB.platform_error, s.name.label("subject_name"), s.uscc,
               dept.name.label("department_name"))
        .join_from(Objection.__table__, Subject.__table__, s.id == OB.subject_id)
        .join(Department.__table__, dept.id == OB.department_id)
        .where(*where)
        .order_by((OB.due_on.is_(None)).asc(), OB.due_on.asc(), OB.id.desc())
        .limit(limit).offset(offset)
    ).all()
    catalog = load_catalog()
    out = []
    for r in rows:
        due, late = _due_state(r.status, r.due_on, today)
        out.append({
            "id": r.id,
            "status": r.status,
            "status_label": STATUS_LABELS.get(r.status, r.status),
            "stage_label": STAGE_LABELS.get(r.status),
            "outcome": r.outcome,
            "outcome_label": OUTCOME_LABELS.get(r.outcome or ""),
            "channel": r.channel,
            "record_id": r.record_id,
            "record_type_label": catalog.types[r.record_type].label
            if r.record_type in catalog.types else r.record_type,
            "record_title": r.record_title,
            "subject_name": r.subject_name,
            "uscc": r.uscc,
            "department_name": r.department_name,
            "received_on": _iso(r.received_on),
            "due_on": due,
            "due_provisional": bool(r.due_provisional) if due else False,
            "overdue": late,
            "platform_error": bool(r.platform_error),
        })
    return out, int(total)


def _iso(value: Any) -> str | None:
    d = _as_date(value)
    return d.isoformat() if d else None


def get_objection(conn: Connection | Session, viewer: Principal,
                  objection_id: int) -> dict[str, Any]:
    """One case with its history, evidence and the disputed record, as ``viewer`` may see it
    (another's case does not exist for it)."""
    from xinyong.subjects.idnumbers import mask_personal_data

    if isinstance(conn, Session):
        conn = conn.connection()
    o = conn.execute(select(Objection.__table__).where(OB.id == objection_id,
                                                       _visible(viewer))).first()
    if o is None:
        raise _fail("OBJECTION_NOT_FOUND", f"异议 {objection_id} 不存在", 404)
    today = clock.today()
    catalog = load_catalog()
    rtype = catalog.type(o.record_type)
    rec = _current(conn, o) or _record(conn, o.record_id)
    assert rec is not None
    data = _data(rec.data)
    mask = not (viewer.is_admin or viewer.is_department)

    def shown(v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return v
        return mask_personal_data(str(v)) if mask and isinstance(v, str) and len(v) >= 11 else v

    claimed = o.claimed_values or {}
    proposed = o.proposal_values or {}
    decided = o.decided_values or {}
    fields = []
    for f in rtype.fields:
        if f.type == "id_number":
            continue
        current = _as_input(f.type, data.get(f.name))
        if current is None and not any(f.name in v for v in (claimed, proposed, decided)):
            continue
        if f.type == "enum" and current is not None and f.values:
            current = f.values.get(current, current)
        fields.append({"name": f.name, "label": f.label, "type": f.type,
                       "current": shown(current), "claimed": claimed.get(f.name),
                       "proposed": proposed.get(f.name), "decided": decided.get(f.name),
                       "fixed": f.name in FIXED_FIELDS})
    steps = conn.execute(select(ObjectionStep.__table__)
                         .where(ObjectionStep.__table__.c.objection_id == o.id)
                         .order_by(ObjectionStep.__table__.c.id)).all()
    evidence = conn.execute(select(ObjectionEvidence.__table__)
                            .where(ObjectionEvidence.__table__.c.objection_id == o.id)
                            .order_by(ObjectionEvidence.__table__.c.id)).all()
    names = _names(conn, o)
    uscc = conn.scalar(select(Subject.uscc).where(Subject.id == o.subject_id))
    due, late = _due_state(o.status, o.due_on, today)
    reasons = rules().not_accepted_reasons
    return {
        "id": o.id,
        "status": o.status,
        "status_label": STATUS_LABELS.get(o.status, o.status),
        "stage_label": STAGE_LABELS.get(o.status),
        "outcome": o.outcome,
        "outcome_label": OUTCOME_LABELS.get(o.outcome or ""),
        "channel": o.channel,
        "channel_label": CHANNEL_LABELS.get(o.channel, o.channel),
        "reason": o.reason,
        "contact": o.contact if not mask or viewer.subject_id == o.subject_id else None,
        "claimed_values": claimed,
        "received_on": _iso(o.received_on),
        "filed_at": o.filed_at.isoformat() if isinstance(o.filed_at, dt.datetime)
        else str(o.filed_at),
        "due_on": due,
        "due_provisional": bool(o.due_provisional) if due else False,
        "overdue": late,
        "platform_error": bool(o.platform_error),
        "proposal": o.proposal,
        "proposal_label": OUTCOME_LABELS.get(o.proposal or ""),
        "proposal_reason": o.proposal_reason,
        "proposal_values": proposed,
        "decision_reason": o.decision_reason,
        "decided_values": decided,
        "new_record_id": o.new_record_id,
        "subject": {"id": o.subject_id, "name": names["name"], "uscc": uscc},
        "department": {"id": o.department_id, "name": names["department"]},
        "record": {
            "id": rec.id,
            "disputed_id": o.record_id,
            "record_type": o.record_type,
            "record_type_label": rtype.label,
            "title": shown(rec.title),
            "decided_on": _iso(rec.decided_on),
            "status": rec.status,
            "status_label": RECORD_STATUS_LABELS.get(rec.status, rec.status),
            "version": rec.version,
            "is_current": bool(rec.is_current),
            "fields": fields,
        },
        "steps": [
            {
                "step": s.step,
                "label": STEP_LABELS.get(s.step, s.step),
                "actor": s.actor,
                "at": s.at.isoformat() if isinstance(s.at, dt.datetime) else str(s.at),
                "note": s.note,
                "due_on": _iso(s.due_on),
                "data": s.data,
                "detail": _step_detail(s.step, s.data or {}, reasons),
            }
            for s in steps
        ],
        "evidence": [
            {"id": e.id, "filename": e.filename, "kind": e.kind, "size": e.size,
             "sha256": e.sha256, "uploaded_at": e.uploaded_at.isoformat()
             if isinstance(e.uploaded_at, dt.datetime) else str(e.uploaded_at)}
            for e in evidence
        ],
    }


def _step_detail(step: str, data: dict[str, Any], reasons: dict[str, str]) -> str | None:
    if step == "not_accepted":
        return reasons.get(data.get("code", ""), data.get("code"))
    if step == "checked":
        return FINDING_LABELS.get(data.get("finding", ""))
    if step == "answered":
        return "核实结论：" + OUTCOME_LABELS.get(data.get("proposal", ""), "")
    if step == "decided":
        return "处理结果：" + OUTCOME_LABELS.get(data.get("outcome", ""), "")
    if step == "filed":
        return CHANNEL_LABELS.get(data.get("channel", ""))
    return None


def evidence_file(conn: Connection | Session, viewer: Principal, objection_id: int,
                  evidence_id: int) -> tuple[Path, str, str]:
    """(path, file name, kind) of one evidence file of a case ``viewer`` may see."""
    if isinstance(conn, Session):
        conn = conn.connection()
    e = ObjectionEvidence.__table__.c
    row = conn.execute(
        select(e.path, e.filename, e.kind)
        .join_from(ObjectionEvidence.__table__, Objection.__table__, OB.id == e.objection_id)
        .where(e.id == evidence_id, e.objection_id == objection_id, _visible(viewer))
    ).first()
    if row is None:
        raise _fail("OBJECTION_EVIDENCE_NOT_FOUND", f"证明材料 {evidence_id} 不存在", 404)
    return get_settings().data_dir / row.path, row.filename, row.kind


def disputable_records(conn: Connection | Session, subject_id: int,
                       limit: int = 500) -> list[dict[str, Any]]:
    """The subject's records it may dispute now: current, active, visible to it, inside their
    publicity period, with no open objection."""
    if isinstance(conn, Session):
        conn = conn.connection()
    today = clock.today()
    dept = Department.__table__.c
    open_keys = select(OB.open_record_key).where(OB.subject_id == subject_id,
                                                OB.open_record_key.is_not(None))
    taken = {k for (k,) in conn.execute(open_keys)}
    rows = conn.execute(
        select(R.id, R.record_type, R.title, R.decided_on, R.department_id, R.source_record_id,
               dept.name.label("department_name"))
        .join_from(CreditRecord.__table__, Department.__table__, dept.id == R.department_id)
        .where(R.subject_id == subject_id, R.is_current.is_(True), R.status == "active",
               R.disclosure.in_(("public", "restricted")),
               or_(R.publicity_until.is_(None), R.publicity_until >= today,
                   R.publicity_rule.like("%not_published%")))
        .order_by(R.decided_on.desc().nulls_last(), R.id.desc())
        .limit(limit)
    ).all()
    catalog = load_catalog()
    return [
        {"id": r.id, "record_type": r.record_type,
         "record_type_label": catalog.types[r.record_type].label
         if r.record_type in catalog.types else r.record_type,
         "title": r.title, "decided_on": _iso(r.decided_on),
         "department_name": r.department_name}
        for r in rows
        if _record_key(r.department_id, r.record_type, r.source_record_id) not in taken
    ]


def correctable_fields(conn: Connection | Session, record_id: int,
                       subject_id: int | None = None) -> list[dict[str, Any]]:
    """The fields of a record a correction may claim, with their current values (the form)."""
    if isinstance(conn, Session):
        conn = conn.connection()
    rec = _record(conn, record_id)
    if rec is None or (subject_id is not None and rec.subject_id != subject_id):
        return []
    rtype = load_catalog().type(rec.record_type)
    data = _data(rec.data)
    return [
        {"name": f.name, "label": f.label, "type": f.type,
         "current": _as_input(f.type, data.get(f.name))}
        for f in rtype.fields
        if f.type != "id_number" and f.name not in FIXED_FIELDS
        and (data.get(f.name) is not None or f.required)
    ]


def counts(conn: Connection | Session, viewer: Principal) -> dict[str, int]:
    """Open and overdue cases the viewer sees (the queue's header)."""
    if isinstance(conn, Session):
        conn = conn.connection()
    today = clock.today()
    base = select(func.count()).select_from(Objection.__table__).where(
        _visible(viewer), OB.status.in_(OPEN_STATUSES))
    return {"open": int(conn.scalar(base) or 0),
            "overdue": int(conn.scalar(base.where(OB.due_on < today)) or 0)}


# ------------------------------------------------------------------------------ sweep


def _open_overdue(today_param: str) -> str:
    return (
        "status IN ('filed', 'checking', 'assigned', 'answered') AND due_on < " + today_param
        + " AND (overdue_stage IS NULL OR overdue_stage <> status)"
    )


def sweep(conn: Connection | Session, today: dt.date | None = None) -> dict[str, int]:
    """Flag every case whose stage is overdue (once per stage, set-based), tell the department
    (its answer is late) and the office, and remind departments whose answer is due within
    ``remind_before`` working days. Safe to run any number of times a day."""
    if isinstance(conn, Session):
        conn = conn.connection()
    today = today or clock.today()
    now = ts(conn, clock.now())
    params = {"today": today, "now": now}
    late = conn.execute(text(
        "SELECT id, status, due_on, subject_id, department_id, record_title, source_record_id"
        " FROM objection WHERE " + _open_overdue(":today") + " ORDER BY id"), params).all()
    if late:
        conn.execute(text(
            "INSERT INTO objection_step (objection_id, step, actor, at, due_on)"
            " SELECT id, 'overdue', 'system', :now, due_on FROM objection WHERE "
            + _open_overdue(":today")), params)
        conn.execute(text("UPDATE objection SET overdue_stage = status WHERE "
                          + _open_overdue(":today")), params)
    admins = [int(a) for (a,) in conn.execute(text(
        "SELECT id FROM account WHERE role = 'admin' AND status = 'active'"))]
    for o in late:
        context = {**_names(conn, o), "stage": STAGE_LABELS.get(o.status, o.status),
                   "due": _iso(o.due_on)}
        _notify(conn, "objection_overdue", f"objection:{o.id}:overdue:{o.status}", context,
                department_id=o.department_id if o.status == "assigned" else None,
                account_ids=admins, link=f"/admin/objections/{o.id}")
    cal = calendar_from_db(conn)
    horizon = cal.add_working_days(today, rules().at(today).remind_before).due
    soon = conn.execute(
        select(OB.id, OB.due_on, OB.subject_id, OB.department_id, OB.record_title, OB.source_record_id)
        .where(OB.status == "assigned", OB.due_on >= today, OB.due_on <= horizon)
        .order_by(OB.id)
    ).all()
    reminded = 0
    for o in soon:
        due = _iso(o.due_on)
        written = _notify(conn, "objection_due_soon", f"objection:{o.id}:due_soon:{due}",
                          {**_names(conn, o), "due": due}, department_id=o.department_id,
                          link=f"/dept/objections/{o.id}")
        if written:
            _step(conn, o.id, "reminded", "system", due_on=_as_date(o.due_on))
            reminded += 1
    if late or reminded:
        from xinyong.audit.service import append

        append(conn, actor="system", action="objection.sweep",
               detail={"overdue": [int(o.id) for o in late], "reminded": reminded,
                       "today": today.isoformat()})
    return {"overdue": len(late), "reminded": reminded}


# ------------------------------------------------------------------------------ hook


def carry_open_objections(conn: Connection, predicate: str) -> None:
    """A department sent a new version of a record under objection (its own correction, or a
    re-send): the new version is under the same objection, so it is marked too — the label must
    not vanish while the case is open."""
    marked = ("checking", "assigned", "answered")
    if rules().at(clock.today()).mark_pending_at == "filed":
        marked = ("filed", *marked)
    states = ", ".join(f"'{s}'" for s in marked)
    # nearly always no open case at all: one probe of the status index
    if conn.execute(text(f"SELECT 1 FROM objection WHERE status IN ({states}) LIMIT 1")).first() \
            is None:
        return
    rows = conn.execute(text(
        "SELECT r.id, o.id AS objection_id FROM objection o JOIN credit_record r"
        " ON r.department_id = o.department_id AND r.record_type = o.record_type"
        " AND r.source_record_id = o.source_record_id"
        f" WHERE o.status IN ({states}) AND {predicate} AND r.is_current"
        " AND r.status = 'active' AND r.version > 1"
    )).all()
    for r in rows:
        _set_record_status(conn, int(r.id), "objection_pending", "system",
                           f"异议（编号 {r.objection_id}）处理中，数据提供单位报送的新版本沿用异议标注")


hooks.register_records_added(carry_open_objections)


# ------------------------------------------------------------------------------ demo


def seed_demo(session: Session) -> list[int]:
    """Demo cases: an objection waiting for acceptance and one waiting for its department, on
    the first subject accounts' records that may be disputed. Returns the case ids."""
    from xinyong.accounts.models import Account

    conn = session.connection()
    made: list[int] = []
    subjects = [int(s) for (s,) in conn.execute(
        select(Account.subject_id).where(Account.role == "subject",
                                         Account.subject_id.is_not(None)).order_by(Account.id))]
    for sid in subjects:
        for rec in disputable_records(conn, sid, limit=2):
            if len(made) == 2:
                break
            oid = file_objection(
                conn, actor="demo", record_id=rec["id"], subject_id=sid,
                reason="该处罚决定已被复议机关撤销，平台仍在公示，请核实后撤销。",
            )
            if made:
                accept(conn, oid, actor="demo", note="材料齐全，予以受理")
                check(conn, oid, actor="demo", finding="source_data",
                      note="平台记录与报送数据一致")
                assign(conn, oid, actor="demo", note="请数据提供单位核实")
            made.append(oid)
    return made


__all__ = [
    "ObjectionError",
    "Upload",
    "accept",
    "answer",
    "assign",
    "check",
    "check_uploads",
    "counts",
    "decide",
    "disputable_records",
    "evidence_file",
    "file_objection",
    "get_objection",
    "list_objections",
    "refuse",
    "rules",
    "seed_demo",
    "sweep",
]

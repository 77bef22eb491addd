"""Credit repair (信用修复): eligibility, applications with materials and a signed commitment,
the three-step review with working-day deadlines, the decision, the shared results, the repair
notices served with negative records ("两书同达"), and the daily sweep.

The closed loop (Wuzhong, Tianhe): the subject applies for one of its records → the credit
office accepts (受理) → the department that sent the record reviews it (核实) → the credit
office decides. An approval is a ``repaired`` status event on the record: its publicity ends
and the subject is re-evaluated at once (records.service.change_record_status and its hook).

Every state change writes a ``repair_step`` (who, when, why) and an audit entry in the same
transaction; bad input raises ``RepairError`` with a stable code before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.catalog.loader import load_catalog
from xinyong.catalog.publicity import add_months
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import bulk_insert
from xinyong.core.errors import DomainError
from xinyong.core.sqlutil import day as sql_day
from xinyong.core.sqlutil import drop_temp, temp_table, ts
from xinyong.core.workdays import calendar_from_db
from xinyong.departments.models import Department
from xinyong.records.models import CreditRecord
from xinyong.repair.eligibility import (
    RepairRules,
    block_code,
    block_message,
    current_rules,
    repair_dates,
)
from xinyong.repair.models import (
    OPEN_STATUSES,
    RepairApplication,
    RepairMaterial,
    RepairNotice,
    RepairStep,
)
from xinyong.subjects.models import Subject

STATUS_LABELS = {
    "submitted": "待受理",
    "accepted": "已受理，待部门核实",
    "reviewed": "部门已核实，待决定",
    "approved": "已修复",
    "rejected": "不予修复",
    "lapsed": "已失效（逾期未补齐材料）",
}
STEP_LABELS = {
    "submit": "提交申请",
    "complete": "补齐材料",
    "accept": "受理",
    "review": "部门核实",
    "decide": "修复决定",
    "lapse": "容缺逾期失效",
}
OUTCOME_LABELS = {
    "submitted": "已提交",
    "deferred": "承诺容缺提交",
    "completed": "材料已补齐",
    "added": "已补充材料",
    "accepted": "予以受理",
    "not_accepted": "不予受理",
    "agree": "同意修复",
    "disagree": "不同意修复",
    "approved": "准予修复",
    "rejected": "不予修复",
    "lapsed": "申请失效",
}
CLASS_LABELS = {"minor": "轻微", "general": "一般", "serious": "严重"}
# 12 characters without 0/O, 1/I/L: read aloud or typed from paper without confusion.
QUERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
QUERY_CODE_LENGTH = 12
MAX_REASON = 2000

# Magic bytes of the accepted file types, and the extensions each may carry.
MAGIC: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
}
EXTENSIONS = {"pdf": "pdf", "png": "png", "jpg": "jpg", "jpeg": "jpg"}
FILE_LABELS = {"pdf": "PDF", "png": "PNG", "jpg": "JPG"}


class RepairError(DomainError):
    pass


def acts_as_department(who: Principal) -> bool:
    """A department's officer or system with the department's write scope (a read-only token
    of a department account is not the department)."""
    return who.is_department and who.department_id is not None and who.allows("records:write")


def acts_as_subject(who: Principal) -> bool:
    return who.role == "subject" and who.subject_id is not None and who.allows("self:read")


def _not_found(what: str) -> RepairError:
    return RepairError("REPAIR_NOT_FOUND", f"{what}不存在", status=404)


# ------------------------------------------------------------------------------- eligibility


def _read_frame(conn: Connection, where: str, params: dict[str, Any]) -> pl.DataFrame:
    """Negative records (with what the rules read) as a frame; ``where`` is over ``r``."""
    rows = conn.execute(
        text(
            "SELECT r.subject_id, r.id, r.record_type, r.decided_on, r.penalty_class,"
            " r.publicity_until, r.publicity_rule, CAST(d.data AS TEXT)"
            " FROM credit_record r JOIN credit_record_detail d"
            " ON d.subject_id = r.subject_id AND d.id = r.id"
            f" WHERE {where}"
        ),
        params,
    ).all()
    date_type = pl.String() if conn.dialect.name == "sqlite" else pl.Date()
    schema = {
        "subject_id": pl.Int64(), "record_id": pl.Int64(), "record_type": pl.String(),
        "decided_on": date_type, "penalty_class": pl.String(), "publicity_until": date_type,
        "publicity_rule": pl.String(), "data": pl.String(),
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    if conn.dialect.name == "sqlite":
        frame = frame.with_columns(
            pl.col("decided_on").str.to_date(strict=False),
            pl.col("publicity_until").str.to_date(strict=False),
        )
    return frame


def _negative_types(rules: RepairRules) -> str:
    return ", ".join(f"'{t}'" for t in rules.record_types())


def _local_rules() -> str | None:
    return get_settings().local_rules or None


def _subject(session: Session, subject_id: int) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise _not_found(f"信用主体 {subject_id} ")
    return subject


def _repairs_made(session: Session, subject_id: int) -> list[dt.date]:
    return [
        d for (d,) in session.execute(
            select(RepairApplication.decided_on).where(
                RepairApplication.subject_id == subject_id,
                RepairApplication.status == "approved",
            ).order_by(RepairApplication.decided_on)
        ) if d is not None
    ]


def _local_limit(rules: RepairRules, made: list[dt.date], today: dt.date
                 ) -> tuple[str, str, dt.date] | None:
    """(code, message, from) when a local limit on repeated repair stops an application."""
    lim = rules.limits
    if not lim.enabled or not made:
        return None
    last = max(made)
    after_interval = add_months_py(last, lim.min_interval_months)
    if today < after_interval:
        return ("REPAIR_LOCAL_INTERVAL",
                f"按本地规定，距上次信用修复（{last.isoformat()}）不满{lim.min_interval_months}个月，"
                f"{after_interval.isoformat()}起方可再次申请（{lim.reference}）", after_interval)
    window_start = add_months_py(today, -lim.window_months)
    recent = sorted(d for d in made if d > window_start)
    if len(recent) >= lim.max_count:
        free = add_months_py(recent[-lim.max_count], lim.window_months)
        return ("REPAIR_LOCAL_COUNT",
                f"按本地规定，{lim.window_months // 12}年内最多修复{lim.max_count}次，"
                f"已修复{len(recent)}次，{free.isoformat()}起方可再次申请（{lim.reference}）", free)
    return None


def add_months_py(day: dt.date, months: int) -> dt.date:
    """Calendar months with the day clamped, the way the publicity rules count."""
    out = pl.select(add_months(pl.lit(day), months)).item()
    return out  # type: ignore[no-any-return]


def eligibility(
    session: Session, subject_id: int, *, today: dt.date | None = None,
    rules: RepairRules | None = None,
) -> dict[str, Any]:
    """For each current negative record of the subject (the subject view): may it be repaired,
    from when, what is needed, under which rule."""
    today = today or clock.today()
    rules = rules or current_rules()
    subject = _subject(session, subject_id)
    conn = session.connection()
    frame = _read_frame(
        conn,
        "r.subject_id = :sid AND r.is_current AND r.polarity = 'negative'"
        " AND r.disclosure IN ('public', 'restricted')"
        " AND r.status IN ('active', 'objection_pending', 'repaired')",
        {"sid": subject_id},
    )
    dated = repair_dates(frame, rules, local_rules=_local_rules())
    ids = dated.get_column("record_id").to_list()
    meta: dict[int, Any] = {}
    if ids:
        r = CreditRecord.__table__.c
        dept = Department.__table__.c
        for row in conn.execute(
            select(r.id, r.title, r.status, r.decided_on, r.department_id, r.publicity_until,
                   dept.name.label("department_name"))
            .join_from(CreditRecord.__table__, Department.__table__, dept.id == r.department_id,
                       isouter=True)
            .where(r.subject_id == subject_id, r.id.in_(ids))
        ):
            meta[int(row.id)] = row
    open_apps = {
        int(a.record_id): a for a in session.scalars(
            select(RepairApplication).where(
                RepairApplication.subject_id == subject_id,
                RepairApplication.status.in_(OPEN_STATUSES),
            )
        )
    }
    listed_types = {
        t for (t,) in conn.execute(
            select(CreditRecord.record_type).where(
                CreditRecord.subject_id == subject_id, CreditRecord.is_current.is_(True),
                CreditRecord.status == "active",
                CreditRecord.record_type.in_(("abnormal_operations_list",
                                              "serious_dishonesty_list")),
                or_(CreditRecord.publicity_until.is_(None), CreditRecord.publicity_until >= today),
            )
        )
    }
    limit = _local_limit(rules, _repairs_made(session, subject_id), today)
    catalog = load_catalog()
    items = []
    for row in dated.sort("decided_on", descending=True, nulls_last=True).iter_rows(named=True):
        m = meta.get(row["record_id"])
        if m is None or row["rule_id"] is None:
            continue
        items.append(_item(row, m, rules, catalog, today, open_apps.get(row["record_id"]),
                           listed_types, limit))
    return {
        "subject": {"id": subject.id, "uscc": subject.uscc, "name": subject.name},
        "as_of": today.isoformat(),
        "rules_version": rules.version,
        "local_limits": {
            "enabled": rules.limits.enabled,
            "min_interval_months": rules.limits.min_interval_months,
            "max_count": rules.limits.max_count,
            "window_months": rules.limits.window_months,
            "reference": rules.limits.reference,
        },
        "records": items,
        "repairable_now": sum(1 for i in items if i["can_apply"]),
    }


def _item(row: dict[str, Any], m: Any, rules: RepairRules, catalog: Any, today: dt.date,
          open_app: RepairApplication | None, listed: set[str],
          limit: tuple[str, str, dt.date] | None) -> dict[str, Any]:
    rule = rules.rule(row["rule_id"])
    start: dt.date | None = row["repairable_from"]
    until = row["publicity_until"]
    blocked = row["block"]
    code: str | None = None
    message = ""
    ever = blocked is None
    if blocked is not None:
        code = block_code(blocked)
        message = block_message(blocked, rules, row["rule_id"], until)
    elif m.status == "repaired":
        code, message = "REPAIR_ALREADY_REPAIRED", "该记录已经信用修复，不再公示"
    elif open_app is not None:
        code = "REPAIR_IN_PROGRESS"
        message = (f"该记录已有进行中的修复申请（查询码 {open_app.query_code}，"
                   f"{STATUS_LABELS[open_app.status]}），请勿重复申请")
    elif m.status == "objection_pending":
        code, message = "REPAIR_OBJECTION_PENDING", "该记录异议处理中，请待异议办结后再申请修复"
    elif until is not None and until < today:
        code = "REPAIR_PUBLICITY_ENDED"
        message = f"该记录公示期已于{until.isoformat()}届满，已停止公示，无需申请修复"
    elif start is not None and today < start:
        code = "REPAIR_TOO_EARLY"
        message = f"最短公示期未满：{start.isoformat()}起可申请信用修复"
    elif rule.blocked_while_listed and listed & set(rule.blocked_while_listed):
        names = "、".join(catalog.type(t).label for t in sorted(listed))
        code = "REPAIR_SUBJECT_LISTED"
        message = f"主体目前仍在{names}中，须先移出名单方可申请提前停止公示该处罚（{rule.label}）"
    elif limit is not None:
        code, message, start = limit[0], limit[1], max(start or today, limit[2])
    materials = [
        {"code": x.code, "label": x.label, "hint": x.hint, "required": True}
        for x in rules.materials_for(rule.id, row["penalty_class"])
    ] if ever else []
    rtype = catalog.types.get(row["record_type"])
    return {
        "record_id": row["record_id"],
        "record_type": row["record_type"],
        "record_type_label": rtype.label if rtype else row["record_type"],
        "title": m.title,
        "decided_on": row["decided_on"].isoformat() if row["decided_on"] else None,
        "penalty_class": row["penalty_class"],
        "penalty_class_label": CLASS_LABELS.get(row["penalty_class"] or ""),
        "department": m.department_name,
        "status": m.status,
        "publicity_until": until.isoformat() if until else None,
        "repairable": ever,
        "repairable_from": start.isoformat() if (ever and start) else None,
        "can_apply": ever and code is None,
        "code": code,
        "message": message or "已满足申请条件，可在线申请信用修复",
        "rule": rule.to_dict(),
        "materials": materials,
        "application": ({"id": open_app.id, "query_code": open_app.query_code,
                         "status": open_app.status} if open_app is not None else None),
    }


def record_eligibility(session: Session, subject_id: int, record_id: int, *,
                       today: dt.date | None = None, rules: RepairRules | None = None
                       ) -> dict[str, Any]:
    data = eligibility(session, subject_id, today=today, rules=rules)
    for item in data["records"]:
        if item["record_id"] == record_id:
            return item
    raise RepairError(
        "REPAIR_RECORD_NOT_FOUND",
        f"信用记录 {record_id} 不是本主体的失信信息（或不存在）：只能为本主体自己的记录申请修复",
        status=404,
    )


# ------------------------------------------------------------------------------- uploads


@dataclass(frozen=True)
class Upload:
    material: str
    filename: str
    data: bytes


def read_upload(material: str, filename: str, stream: BinaryIO,
                rules: RepairRules | None = None) -> Upload:
    """Read at most the size limit plus one byte: a larger file is refused without being
    held whole in memory."""
    rules = rules or current_rules()
    return Upload(material, filename or "", stream.read(rules.max_bytes + 1))


def detect_type(data: bytes) -> str | None:
    for kind, magics in MAGIC.items():
        if any(data.startswith(m) for m in magics):
            return kind
    return None


def _check_upload(up: Upload, rules: RepairRules) -> str:
    name = up.filename.replace("\\", "/").rsplit("/", 1)[-1] or "未命名文件"
    if up.material not in rules.materials:
        raise RepairError("REPAIR_MATERIAL_UNKNOWN",
                          f"文件「{name}」的材料类别“{up.material}”不存在，请从材料清单中选择")
    allowed = "、".join(FILE_LABELS[t] for t in rules.file_types)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not up.data:
        raise RepairError("REPAIR_FILE_EMPTY", f"文件「{name}」是空文件，请重新选择")
    if len(up.data) > rules.max_bytes:
        raise RepairError(
            "REPAIR_FILE_TOO_LARGE",
            f"文件「{name}」超过大小上限 {rules.max_bytes // (1024 * 1024)} MB，请压缩后重新上传",
            status=413,
        )
    kind = detect_type(up.data)
    if kind is None or kind not in rules.file_types:
        raise RepairError(
            "REPAIR_FILE_TYPE",
            f"文件「{name}」的内容不是 {allowed} 格式（按文件内容识别，而非扩展名），只能上传 {allowed} 文件",
            status=415,
        )
    if EXTENSIONS.get(ext) != kind:
        raise RepairError(
            "REPAIR_FILE_TYPE_MISMATCH",
            f"文件「{name}」的扩展名与内容不符（内容为 {FILE_LABELS[kind]}），请使用正确的扩展名",
            status=415,
        )
    return kind


def _store(conn: Connection, application_id: int, up: Upload, kind: str, actor: str) -> None:
    digest = hashlib.sha256(up.data).hexdigest()
    rel = Path("uploads") / "repair" / str(application_id) / f"{digest[:24]}.{kind}"
    path = get_settings().data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(up.data)
    name = up.filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or f"material.{kind}"
    conn.execute(RepairMaterial.__table__.insert().values(
        application_id=application_id, material=up.material, filename=name, file_type=kind,
        size=len(up.data), sha256=digest, path=str(rel), uploaded_at=clock.now(),
        uploaded_by=actor,
    ))


# ------------------------------------------------------------------------------- applying


def commitment_text(rules: RepairRules, subject: Subject, record_label: str,
                    today: dt.date) -> str:
    return rules.commitment_text.format(
        name=subject.name, uscc=subject.uscc or "无", record=record_label,
        today=f"{today.year}年{today.month}月{today.day}日",
    )


def record_label(item: dict[str, Any]) -> str:
    return f"{item['record_type_label']} {item['title'] or ''}".strip()


def _query_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(QUERY_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
        exists = session.scalar(
            select(RepairApplication.id).where(RepairApplication.query_code == code))
        if exists is None:
            return code


def _step(session: Session, app: RepairApplication, step: str, outcome: str, who: Principal,
          reason: str | None = None, due: dt.date | None = None) -> None:
    today = clock.today()
    session.add(RepairStep(
        application_id=app.id, step=step, outcome=outcome, actor=who.actor, role=who.role,
        department_id=who.department_id, reason=reason, at=clock.now(), on_day=today, due=due,
        overdue=due is not None and today > due,
    ))


def _audit(session: Session, who: Principal, action: str, app: RepairApplication,
           **detail: Any) -> None:
    from xinyong.audit.service import append

    session.flush()
    append(session.connection(), actor=who.actor, role=who.role, action=action,
           subject_id=app.subject_id, target=f"repair:{app.id}",
           detail={"record_id": app.record_id, "status": app.status, **detail})


def _notify(session: Session, template: str, app: RepairApplication, event: str,
            *, department: bool = False, **context: Any) -> None:
    from xinyong.notifications.service import notify

    subject = session.get(Subject, app.subject_id)
    record = session.scalar(select(CreditRecord.title).where(
        CreditRecord.subject_id == app.subject_id, CreditRecord.id == app.record_id))
    ctx = {"name": subject.name if subject else "", "query_code": app.query_code,
           "record": record or str(app.record_id), "day": clock.today().isoformat(), **context}
    if department:
        dept = session.get(Department, app.department_id)
        ctx.setdefault("department", dept.name if dept else "")
        notify(session.connection(), template=template, context=ctx,
               key=f"repair:{app.id}:{event}:dept", department_id=app.department_id,
               link=f"/dept/repair/{app.id}")
    else:
        notify(session.connection(), template=template, context=ctx,
               key=f"repair:{app.id}:{event}", subject_id=app.subject_id,
               link=f"/me/repair/{app.id}")


def _required_missing(rules: RepairRules, app: RepairApplication, penalty_class: str | None,
                      have: set[str]) -> list[str]:
    return [m.code for m in rules.materials_for(app.rule_id, penalty_class) if m.code not in have]


def _penalty_class(session: Session, app: RepairApplication) -> str | None:
    return session.scalar(select(CreditRecord.penalty_class).where(
        CreditRecord.subject_id == app.subject_id, CreditRecord.id == app.record_id))


def apply(
    session: Session,
    who: Principal,
    record_id: int,
    *,
    uploads: list[Upload],
    affirm: bool,
    defer_missing: bool = False,
    statement: str = "",
    rules: RepairRules | None = None,
) -> RepairApplication:
    """A subject's own account applies to repair one of its records."""
    rules = rules or current_rules()
    if not acts_as_subject(who):
        raise RepairError("REPAIR_SUBJECT_ONLY",
                          "信用修复只能由信用主体本人的账号申请：请用企业（个人）账号登录后办理",
                          status=403)
    today = clock.today()
    item = record_eligibility(session, who.subject_id, record_id, today=today, rules=rules)
    if not item["can_apply"]:
        code = item["code"] or "REPAIR_NOT_REPAIRABLE"
        status = 409 if code in ("REPAIR_IN_PROGRESS", "REPAIR_ALREADY_REPAIRED") else 422
        raise RepairError(code, f"该记录暂不能申请信用修复：{item['message']}", status=status)
    if not affirm:
        raise RepairError("REPAIR_COMMITMENT_REQUIRED",
                          "请阅读并勾选确认《信用修复承诺书》：作出信用承诺是信用修复的必要条件"
                          "（《信用修复管理办法》）")
    if len(uploads) > rules.max_files:
        raise RepairError("REPAIR_TOO_MANY_FILES",
                          f"一次最多上传 {rules.max_files} 个文件，请合并后再上传")
    statement = (statement or "").strip()
    if len(statement) > MAX_REASON:
        raise RepairError("REPAIR_STATEMENT_TOO_LONG", f"履行情况说明最多 {MAX_REASON} 字")
    kinds = [_check_upload(up, rules) for up in uploads]
    needed = [m.code for m in rules.materials_for(item["rule"]["id"], item["penalty_class"])]
    missing = [c for c in needed if c not in {u.material for u in uploads}]
    if missing and not defer_missing:
        names = "、".join(rules.materials[c].label for c in missing)
        raise RepairError(
            "REPAIR_MATERIALS_MISSING",
            f"缺少必需材料：{names}。请上传，或选择“承诺容缺”后在5个工作日内补齐",
        )
    subject = _subject(session, who.subject_id)
    cal = calendar_from_db(session)
    accept_due = cal.add_working_days(today, rules.deadlines["acceptance"].working_days)
    provisional = accept_due.provisional
    complete_by = decision_due = None
    if missing:
        d = cal.add_working_days(today, rules.deadlines["completion"].working_days)
        complete_by, provisional = d.due, provisional or d.provisional
    else:
        d = cal.add_working_days(today, rules.deadlines["decision"].working_days)
        decision_due, provisional = d.due, provisional or d.provisional
    now = clock.now()
    text_ = commitment_text(rules, subject, record_label(item), today)
    signer = who.actor
    digest = hashlib.sha256(
        f"{text_}\n{signer}\n{now.isoformat()}".encode()).hexdigest()
    dept_id = session.scalar(select(CreditRecord.department_id).where(
        CreditRecord.subject_id == who.subject_id, CreditRecord.id == record_id))
    app = RepairApplication(
        subject_id=who.subject_id, record_id=record_id, record_type=item["record_type"],
        department_id=int(dept_id), rule_id=item["rule"]["id"], query_code=_query_code(session),
        status="submitted", statement=statement or None, applicant_account_id=who.account_id,
        applicant=who.actor, submitted_at=now, submitted_on=today,
        materials_missing=bool(missing), complete_by=complete_by,
        completed_on=None if missing else today, accept_due=accept_due.due,
        decision_due=decision_due, provisional=provisional, commitment_text=text_,
        commitment_signer=signer, commitment_signed_at=now, commitment_sha256=digest,
    )
    session.add(app)
    session.flush()
    conn = session.connection()
    for up, kind in zip(uploads, kinds, strict=True):
        _store(conn, app.id, up, kind, who.actor)
    _step(session, app, "submit", "deferred" if missing else "submitted", who,
          reason=("承诺容缺，待补材料：" + "、".join(rules.materials[c].label for c in missing))
          if missing else None)
    _audit(session, who, "repair.apply", app, rule=app.rule_id, files=len(uploads),
           missing=missing, commitment_sha256=digest)
    _notify(session, "repair_submitted", app, "submitted", due=app.accept_due.isoformat(),
            complete_by=complete_by.isoformat() if complete_by else "")
    return app


def add_materials(session: Session, who: Principal, application_id: int,
                  uploads: list[Upload], *, rules: RepairRules | None = None
                  ) -> RepairApplication:
    """The applicant completes its application (承诺容缺) or adds evidence."""
    rules = rules or current_rules()
    if not acts_as_subject(who):
        raise RepairError("REPAIR_SUBJECT_ONLY", "只有申请人可以补充材料", status=403)
    app = get_application(session, who, application_id)
    if app.status not in OPEN_STATUSES:
        raise RepairError("REPAIR_CLOSED",
                          f"该申请已办结（{STATUS_LABELS[app.status]}），不能再补充材料",
                          status=409)
    if not uploads:
        raise RepairError("REPAIR_NO_FILES", "请选择要上传的材料文件")
    have = {m for (m,) in session.execute(
        select(RepairMaterial.material).where(RepairMaterial.application_id == app.id))}
    count = session.scalar(select(func.count()).where(
        RepairMaterial.application_id == app.id)) or 0
    if count + len(uploads) > rules.max_files:
        raise RepairError("REPAIR_TOO_MANY_FILES",
                          f"每件申请最多 {rules.max_files} 个文件（已有 {count} 个）")
    kinds = [_check_upload(up, rules) for up in uploads]
    conn = session.connection()
    for up, kind in zip(uploads, kinds, strict=True):
        _store(conn, app.id, up, kind, who.actor)
    have |= {u.material for u in uploads}
    missing = _required_missing(rules, app, _penalty_class(session, app), have)
    today = clock.today()
    if app.materials_missing and not missing:
        app.materials_missing = False
        app.completed_on = today
        d = calendar_from_db(session).add_working_days(
            today, rules.deadlines["decision"].working_days)
        app.decision_due = d.due
        app.provisional = app.provisional or d.provisional
        _step(session, app, "complete", "completed", who, due=app.complete_by)
    else:
        _step(session, app, "complete", "added", who,
              reason=("仍缺：" + "、".join(rules.materials[c].label for c in missing))
              if missing else None)
    _audit(session, who, "repair.materials", app, files=len(uploads), missing=missing)
    return app


# ------------------------------------------------------------------------------- review


def get_application(session: Session, who: Principal, application_id: int
                    ) -> RepairApplication:
    """The application if ``who`` may see it: the office any, a department those about its own
    records, a subject its own; otherwise it does not exist for the caller."""
    app = session.get(RepairApplication, application_id)
    if app is None:
        raise _not_found(f"修复申请 {application_id} ")
    if who.is_admin:
        return app
    if acts_as_department(who):
        if app.department_id == who.department_id:
            return app
        raise _not_found(f"修复申请 {application_id} ")
    if acts_as_subject(who):
        if app.subject_id == who.subject_id:
            return app
        raise _not_found(f"修复申请 {application_id} ")
    raise RepairError("REPAIR_FORBIDDEN", "无权查看信用修复申请", status=403)


def _need_reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RepairError("REPAIR_REASON_REQUIRED", f"{what}必须填写理由")
    if len(reason) > MAX_REASON:
        raise RepairError("REPAIR_REASON_TOO_LONG", f"理由最多 {MAX_REASON} 字")
    return reason


def _out_of_order(app: RepairApplication, action: str) -> RepairError:
    return RepairError(
        "REPAIR_OUT_OF_ORDER",
        f"该申请当前状态为“{STATUS_LABELS[app.status]}”，不能{action}：办理顺序为受理 → 部门核实 → 信用办决定",
        status=409,
    )


def accept(session: Session, who: Principal, application_id: int, *, accept: bool = True,
           reason: str | None = None, rules: RepairRules | None = None) -> RepairApplication:
    """Step 1, the credit office: accept (受理) or not (不予受理, with reasons)."""
    rules = rules or current_rules()
    if not who.is_admin:
        raise RepairError("REPAIR_ROLE_FORBIDDEN",
                          "只有信用办（平台管理员）可以受理信用修复申请", status=403)
    app = get_application(session, who, application_id)
    if app.status != "submitted":
        raise _out_of_order(app, "受理")
    today = clock.today()
    if not accept:
        reason = _need_reason(reason, "不予受理")
        app.status, app.decided_on, app.reasons = "rejected", today, reason
        _step(session, app, "accept", "not_accepted", who, reason=reason, due=app.accept_due)
        _audit(session, who, "repair.not_accept", app, reason=reason)
        _notify(session, "repair_rejected", app, "not_accepted", step="不予受理",
                reasons=reason)
        return app
    d = calendar_from_db(session).add_working_days(
        today, rules.deadlines["department_review"].working_days)
    app.status, app.accepted_on, app.review_due = "accepted", today, d.due
    app.provisional = app.provisional or d.provisional
    _step(session, app, "accept", "accepted", who, reason=(reason or "").strip() or None,
          due=app.accept_due)
    _audit(session, who, "repair.accept", app)
    _notify(session, "repair_accepted", app, "accepted",
            due=(app.decision_due or app.complete_by or d.due).isoformat())
    _notify(session, "repair_review_due", app, "review", department=True, due=d.due.isoformat())
    return app


def review(session: Session, who: Principal, application_id: int, *, agree: bool,
           reason: str | None = None) -> RepairApplication:
    """Step 2, the department that sent the record: agree or not, with its reasons."""
    if not acts_as_department(who):
        raise RepairError("REPAIR_ROLE_FORBIDDEN",
                          "只有报送该记录的数据来源部门可以核实信用修复申请", status=403)
    app = get_application(session, who, application_id)
    if app.status != "accepted":
        raise _out_of_order(app, "核实")
    reason = _need_reason(reason, "核实意见") if not agree else (reason or "").strip() or None
    app.status, app.reviewed_on, app.review_agrees = "reviewed", clock.today(), agree
    _step(session, app, "review", "agree" if agree else "disagree", who, reason=reason,
          due=app.review_due)
    _audit(session, who, "repair.review", app, agree=agree, reason=reason)
    _notify(session, "repair_reviewed", app, "reviewed")
    return app


def decide(session: Session, who: Principal, application_id: int, *, approve: bool,
           reasons: str | None = None, rules: RepairRules | None = None) -> RepairApplication:
    """Step 3, the credit office: approve (the record is repaired) or reject with reasons."""
    from xinyong.records.service import change_record_status

    rules = rules or current_rules()
    if not who.is_admin:
        raise RepairError("REPAIR_ROLE_FORBIDDEN",
                          "信用修复决定只能由信用办（平台管理员）作出；数据来源部门只能提出核实意见",
                          status=403)
    app = get_application(session, who, application_id)
    today = clock.today()
    review_overdue = app.status == "accepted" and app.review_due is not None and (
        today > app.review_due)
    if app.status != "reviewed" and not review_overdue:
        raise _out_of_order(app, "作出决定")
    if not approve:
        reasons = _need_reason(reasons, "不予修复")
        app.status, app.decided_on, app.reasons = "rejected", today, reasons
        _step(session, app, "decide", "rejected", who, reason=reasons, due=app.decision_due)
        _audit(session, who, "repair.reject", app, reasons=reasons)
        _notify(session, "repair_rejected", app, "rejected", step="经审核不予修复",
                reasons=reasons)
        return app
    if app.materials_missing:
        raise RepairError(
            "REPAIR_MATERIALS_INCOMPLETE",
            f"申请材料尚未补齐（承诺容缺，应于{app.complete_by}前补齐），补齐后方可作出修复决定",
            status=409,
        )
    app.status, app.decided_on = "approved", today
    app.reasons = (reasons or "").strip() or "已纠正失信行为、履行法定义务并作出信用承诺，符合信用修复条件"
    app.decision_serial = f"XF{today:%Y%m%d}{app.id:06d}"
    session.flush()
    change_record_status(session.connection(), record_id=app.record_id, status="repaired",
                         actor=who.actor,
                         reason=f"信用修复决定书 {app.decision_serial}（查询码 {app.query_code}）")
    _step(session, app, "decide", "approved", who, reason=app.reasons, due=app.decision_due)
    _audit(session, who, "repair.approve", app, serial=app.decision_serial)
    _notify(session, "repair_approved", app, "approved", serial=app.decision_serial)
    return app


# ------------------------------------------------------------------------------- queues


def overdue_labels(app: RepairApplication, today: dt.date) -> list[str]:
    out = []
    if app.status == "submitted" and today > app.accept_due:
        out.append(f"受理超期（应于{app.accept_due}前）")
    if app.status == "accepted" and app.review_due and today > app.review_due:
        out.append(f"部门核实超期（应于{app.review_due}前）")
    if app.status in OPEN_STATUSES and app.decision_due and today > app.decision_due:
        out.append(f"决定超期（应于{app.decision_due}前）")
    if app.status in OPEN_STATUSES and app.materials_missing and app.complete_by and (
            today > app.complete_by):
        out.append(f"容缺材料逾期（应于{app.complete_by}前补齐）")
    return out


def _overdue_clause(today: dt.date) -> Any:
    a = RepairApplication
    return or_(
        (a.status == "submitted") & (a.accept_due < today),
        (a.status == "accepted") & (a.review_due < today),
        a.status.in_(OPEN_STATUSES) & (a.decision_due < today),
        a.status.in_(OPEN_STATUSES) & a.materials_missing.is_(True) & (a.complete_by < today),
    )


def list_applications(
    session: Session, who: Principal, *, status: str | None = None, overdue: bool = False,
    limit: int = 200, offset: int = 0,
) -> list[dict[str, Any]]:
    """The caller's queue: the office every application, a department those about its own
    records, a subject its own."""
    a = RepairApplication
    stmt = select(a)
    if who.is_admin:
        pass
    elif acts_as_department(who):
        stmt = stmt.where(a.department_id == who.department_id)
    elif acts_as_subject(who):
        stmt = stmt.where(a.subject_id == who.subject_id)
    else:
        raise RepairError("REPAIR_FORBIDDEN", "无权查看信用修复申请", status=403)
    if status == "open":
        stmt = stmt.where(a.status.in_(OPEN_STATUSES))
    elif status:
        stmt = stmt.where(a.status == status)
    today = clock.today()
    if overdue:
        stmt = stmt.where(_overdue_clause(today))
    apps = list(session.scalars(stmt.order_by(a.id.desc()).limit(limit).offset(offset)))
    return [summary(session, x, today) for x in apps]


def summary(session: Session, app: RepairApplication, today: dt.date | None = None
            ) -> dict[str, Any]:
    today = today or clock.today()
    subject = session.get(Subject, app.subject_id)
    rec = session.execute(select(CreditRecord.title, CreditRecord.status).where(
        CreditRecord.subject_id == app.subject_id, CreditRecord.id == app.record_id)).first()
    catalog = load_catalog()
    rtype = catalog.types.get(app.record_type)
    dept = session.get(Department, app.department_id)
    return {
        "id": app.id,
        "query_code": app.query_code,
        "status": app.status,
        "status_label": STATUS_LABELS[app.status],
        "subject": {"id": app.subject_id, "uscc": subject.uscc if subject else None,
                    "name": subject.name if subject else None},
        "record": {"id": app.record_id, "record_type": app.record_type,
                   "record_type_label": rtype.label if rtype else app.record_type,
                   "title": rec.title if rec else None, "status": rec.status if rec else None},
        "department": dept.name if dept else None,
        "rule_id": app.rule_id,
        "submitted_on": app.submitted_on.isoformat(),
        "materials_missing": app.materials_missing,
        "complete_by": _iso(app.complete_by),
        "accept_due": _iso(app.accept_due),
        "accepted_on": _iso(app.accepted_on),
        "review_due": _iso(app.review_due),
        "reviewed_on": _iso(app.reviewed_on),
        "review_agrees": app.review_agrees,
        "decision_due": _iso(app.decision_due),
        "decided_on": _iso(app.decided_on),
        "provisional": app.provisional,
        "reasons": app.reasons,
        "decision_serial": app.decision_serial,
        "overdue": overdue_labels(app, today),
    }


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def detail(session: Session, who: Principal, application_id: int,
           rules: RepairRules | None = None) -> dict[str, Any]:
    rules = rules or current_rules()
    app = get_application(session, who, application_id)
    out = summary(session, app)
    out["statement"] = app.statement
    out["rule"] = rules.rule(app.rule_id).to_dict()
    out["commitment"] = {
        "title": rules.commitment_title, "text": app.commitment_text,
        "signer": app.commitment_signer, "signed_at": app.commitment_signed_at.isoformat(),
        "sha256": app.commitment_sha256,
    }
    mats = list(session.scalars(select(RepairMaterial).where(
        RepairMaterial.application_id == app.id).order_by(RepairMaterial.id)))
    out["materials"] = [
        {"id": m.id, "material": m.material,
         "label": rules.materials[m.material].label if m.material in rules.materials
         else m.material,
         "filename": m.filename, "file_type": m.file_type, "size": m.size, "sha256": m.sha256,
         "uploaded_at": m.uploaded_at.isoformat()} for m in mats
    ]
    have = {m.material for m in mats}
    out["required"] = [
        {"code": m.code, "label": m.label, "hint": m.hint, "provided": m.code in have}
        for m in rules.materials_for(app.rule_id, _penalty_class(session, app))
    ]
    out["steps"] = steps(session, app.id, with_actors=True)
    return out


def steps(session: Session, application_id: int, *, with_actors: bool) -> list[dict[str, Any]]:
    rows = session.scalars(select(RepairStep).where(
        RepairStep.application_id == application_id).order_by(RepairStep.id))
    out = []
    for s in rows:
        item: dict[str, Any] = {
            "step": s.step, "step_label": STEP_LABELS.get(s.step, s.step),
            "outcome": s.outcome, "outcome_label": OUTCOME_LABELS.get(s.outcome, s.outcome),
            "on": s.on_day.isoformat(), "due": _iso(s.due), "overdue": s.overdue,
        }
        if with_actors:
            item.update(actor=s.actor, role=s.role, at=s.at.isoformat(), reason=s.reason)
        out.append(item)
    return out


def material_file(session: Session, who: Principal, material_id: int) -> tuple[RepairMaterial,
                                                                                Path]:
    mat = session.get(RepairMaterial, material_id)
    if mat is None:
        raise _not_found(f"材料 {material_id} ")
    get_application(session, who, mat.application_id)
    path = get_settings().data_dir / mat.path
    if not path.is_file():
        raise _not_found(f"材料文件 {mat.filename} ")
    return mat, path


QUERY_CODE_RE = re.compile(r"^[A-Z0-9]{6,16}$")


def progress(session: Session, query_code: str) -> dict[str, Any]:
    """What anyone holding the query code may know: status, steps and dates — no names, no
    record contents, no reasons (those are for the applicant's own account)."""
    code = (query_code or "").strip().upper().replace(" ", "").replace("-", "")
    if not QUERY_CODE_RE.fullmatch(code):
        raise RepairError("REPAIR_QUERY_CODE_INVALID",
                          "查询码格式不正确：查询码为12位字母和数字，见提交申请后的回执")
    app = session.scalar(select(RepairApplication).where(RepairApplication.query_code == code))
    if app is None:
        raise RepairError("REPAIR_QUERY_CODE_UNKNOWN",
                          "没有找到该查询码对应的修复申请，请核对后重新输入", status=404)
    today = clock.today()
    rtype = load_catalog().types.get(app.record_type)
    return {
        "query_code": app.query_code,
        "status": app.status,
        "status_label": STATUS_LABELS[app.status],
        "record_type_label": rtype.label if rtype else app.record_type,
        "submitted_on": app.submitted_on.isoformat(),
        "materials_missing": app.materials_missing,
        "complete_by": _iso(app.complete_by) if app.materials_missing else None,
        "accept_due": _iso(app.accept_due),
        "review_due": _iso(app.review_due),
        "decision_due": _iso(app.decision_due),
        "decided_on": _iso(app.decided_on),
        "provisional": app.provisional,
        "overdue": bool(overdue_labels(app, today)),
        "steps": steps(session, app.id, with_actors=False),
    }


def results(session: Session, since: dt.date, *, limit: int = 1000) -> dict[str, Any]:
    """The shared repair results (修复结果共享): every record repaired on or after ``since``,
    for departments and credit agencies to stop using it (36号令 art. 3; 22号文)."""
    a = RepairApplication
    rows = session.execute(
        select(a, Subject.uscc, Subject.name, CreditRecord.title, CreditRecord.source_record_id,
               Department.code, Department.name)
        .join(Subject, Subject.id == a.subject_id)
        .join(CreditRecord, (CreditRecord.subject_id == a.subject_id)
              & (CreditRecord.id == a.record_id))
        .join(Department, Department.id == a.department_id, isouter=True)
        .where(a.status == "approved", a.decided_on >= since)
        .order_by(a.decided_on, a.id).limit(limit)
    ).all()
    catalog = load_catalog()
    items = []
    for app, uscc, name, title, srid, dcode, dname in rows:
        rtype = catalog.types.get(app.record_type)
        items.append({
            "decision_serial": app.decision_serial, "repaired_on": app.decided_on.isoformat(),
            "subject_uscc": uscc, "subject_name": name, "record_id": app.record_id,
            "record_type": app.record_type,
            "record_type_label": rtype.label if rtype else app.record_type,
            "title": title, "source_record_id": srid, "department_code": dcode,
            "department_name": dname, "effect": "终止公示，停止共享和使用",
        })
    return {"since": since.isoformat(), "count": len(items), "items": items}


# ------------------------------------------------------------------------------- notices


# Added rows read back a slice at a time: a 5,000,000-row batch read whole would hold every
# payload in memory at once (a 100,000-row slice of the streaming benchmark's penalties took
# ~750 MB to read and date), far past ingest's streaming budget of 500 MB. Measured over 1M
# penalties on SQLite: 20,000-row slices peaked at 574 MB, 5,000 at 471 MB (the stage's own
# peak is 463), and the hook took 16–18 s whatever the size.
NOTICE_SLICE = 5_000


def issue_notices(conn: Connection, predicate: str, *, rules: RepairRules | None = None,
                  slice_size: int | None = None) -> int:
    """The records-added hook ("两书同达"): a repair notice for every added negative record
    that can ever be repaired, with the date from which it can be. Set-based, slice by slice:
    the ids the predicate names are numbered once into a keyed temporary table, then each
    slice is one read of its records by id, one Polars pass and one bulk insert; last, a
    message to each subject that has an account (few)."""
    rules = rules or current_rules()
    types = _negative_types(rules)
    where = (f"({predicate}) AND r.polarity = 'negative' AND r.status = 'active'"
             " AND r.disclosure IN ('public', 'restricted')"
             f" AND r.record_type IN ({types})")
    # Numbered rather than sliced by ranges of r.id: with the caller's predicate in each slice
    # SQLite drove every slice from the predicate's whole set (1M added ids probed for each
    # 10,000-row slice: 136 s of hook per million rows).
    # A record that already has its notice is left out here, once for the whole call.
    temp_table(conn, "notice_candidate", "n BIGINT PRIMARY KEY, id BIGINT NOT NULL")
    try:
        total = conn.execute(text(
            "INSERT INTO notice_candidate (n, id)"
            f" SELECT ROW_NUMBER() OVER (ORDER BY r.id), r.id FROM credit_record r WHERE {where}"
            " AND NOT EXISTS (SELECT 1 FROM repair_notice n WHERE n.record_id = r.id)"
        )).rowcount
        if not total:
            return 0
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE notice_candidate")
        # Subject accounts are few (thousands) next to a batch's subjects (up to a million);
        # their notices are kept across slices so that each is told once, of all its records.
        with_account = [int(s) for (s,) in conn.execute(text(
            "SELECT DISTINCT subject_id FROM account WHERE role = 'subject'"
            " AND status = 'active' AND subject_id IS NOT NULL"))]
        issued, told = 0, []
        now, today, local = clock.now(), clock.today(), _local_rules()
        step = slice_size or NOTICE_SLICE

        def write(dating: Future[pl.DataFrame]) -> None:
            nonlocal issued
            fresh = dating.result()
            _write_notices(conn, fresh, now)
            issued += fresh.height
            if with_account and fresh.height:
                told.append(fresh.filter(pl.col("subject_id").is_in(with_account)))

        # Two cores, two stages: while a worker dates slice n in Polars (without the GIL),
        # this thread reads slice n + 1 from the database (the drivers step without it too).
        # At most two slices are in memory at a time.
        with ThreadPoolExecutor(1, thread_name_prefix="repair-notices") as worker:
            dating: Future[pl.DataFrame] | None = None
            for first in range(1, total + 1, step):
                part = ("r.id IN (SELECT c.id FROM notice_candidate c"
                        f" WHERE c.n BETWEEN {first} AND {first + step - 1})")
                frame = _read_frame(conn, part, {})
                if dating is not None:
                    write(dating)
                    dating = None
                if frame.height:
                    dating = worker.submit(_date_slice, frame, rules, local, today)
                del frame
            if dating is not None:
                write(dating)
        if told:
            _announce_notices(conn, pl.concat(told), now)
        return issued
    finally:
        drop_temp(conn, "notice_candidate")


def _date_slice(frame: pl.DataFrame, rules: RepairRules, local_rules: str | None,
                today: dt.date) -> pl.DataFrame:
    """The slice's records that get a notice, with its rule and date (no payloads). Polars
    only, no database: it runs beside the reader."""
    dated = repair_dates(frame, rules, local_rules=local_rules)
    return dated.filter(
        pl.col("block").is_null() & pl.col("repairable_from").is_not_null()
        & (pl.col("publicity_until").is_null() | (pl.col("publicity_until") >= today))
    ).drop("data")


def _write_notices(conn: Connection, fresh: pl.DataFrame, now: dt.datetime) -> None:
    if fresh.height == 0:
        return
    out = fresh.select(
        "subject_id", "record_id", "record_type", "rule_id", "repairable_from",
        pl.lit(ts(conn, now)).alias("created_at"),
    )
    if conn.dialect.name == "sqlite":
        out = out.with_columns(pl.col("repairable_from").cast(pl.String))
    bulk_insert(conn, "repair_notice",
                ["subject_id", "record_id", "record_type", "rule_id", "repairable_from",
                 "created_at"], out)


def _announce_notices(conn: Connection, fresh: pl.DataFrame, now: dt.datetime) -> None:
    from xinyong.notifications.service import notify

    for sid in sorted(fresh.get_column("subject_id").unique().to_list()):
        mine = fresh.filter(pl.col("subject_id") == sid).sort("repairable_from")
        if mine.height == 0:
            continue
        first = mine.row(0, named=True)
        name = conn.scalar(select(Subject.name).where(Subject.id == sid))
        title = conn.scalar(select(CreditRecord.title).where(
            CreditRecord.subject_id == sid, CreditRecord.id == first["record_id"]))
        notify(conn, template="repair_notice_issued",
               context={"name": name or "", "count": mine.height, "record": title or "",
                        "earliest": first["repairable_from"].isoformat()},
               key=f"repair:notice:{sid}:{first['record_id']}", subject_id=sid,
               link="/me/repair")
        ids = mine.get_column("record_id").to_list()
        conn.execute(
            text("UPDATE repair_notice SET notified_at = :now WHERE subject_id = :sid"
                 f" AND record_id IN ({', '.join(str(int(i)) for i in ids)})"),
            {"now": ts(conn, now), "sid": sid},
        )


def notices(session: Session, subject_id: int, rules: RepairRules | None = None
            ) -> list[dict[str, Any]]:
    rules = rules or current_rules()
    n = RepairNotice
    rows = session.execute(
        select(n, CreditRecord.title, CreditRecord.status, CreditRecord.decided_on)
        .join(CreditRecord, (CreditRecord.subject_id == n.subject_id)
              & (CreditRecord.id == n.record_id))
        # what the subject may see of its own records (the subject view of records.profile)
        .where(n.subject_id == subject_id, CreditRecord.is_current.is_(True),
               CreditRecord.disclosure.in_(("public", "restricted")))
        .order_by(n.repairable_from, n.record_id)
    ).all()
    catalog = load_catalog()
    today = clock.today()
    out = []
    for notice, title, status, decided in rows:
        rtype = catalog.types.get(notice.record_type)
        rule = rules.rule(notice.rule_id)
        out.append({
            "record_id": notice.record_id, "record_type": notice.record_type,
            "record_type_label": rtype.label if rtype else notice.record_type,
            "title": title, "record_status": status, "decided_on": _iso(decided),
            "repairable_from": notice.repairable_from.isoformat(),
            "repairable_now": notice.repairable_from <= today and status == "active",
            "rule": rule.to_dict(),
            "materials": [m.label for m in rules.materials_for(rule.id, None)],
            "issued_at": notice.created_at.isoformat(),
        })
    return out


def notice_pdf(session: Session, subject_id: int, record_id: int,
               rules: RepairRules | None = None) -> tuple[str, bytes]:
    """The repair notice as a PDF (rendered on request; its content is fixed by the notice)."""
    from xinyong.reports import pdf

    rules = rules or current_rules()
    item = next((x for x in notices(session, subject_id, rules) if x["record_id"] == record_id),
                None)
    if item is None:
        raise _not_found(f"记录 {record_id} 的信用修复告知书")
    subject = _subject(session, subject_id)
    rule = rules.rule(item["rule"]["id"])
    serial = f"XFGZ{record_id:010d}"
    blocks: list[Any] = [
        pdf.KeyValues([("告知书编号", serial), ("信用主体", subject.name),
                       ("统一社会信用代码", subject.uscc or "无"),
                       ("失信信息", f"{item['record_type_label']} {item['title'] or ''}"),
                       ("作出日期", item["decided_on"] or ""),
                       ("可申请修复日期", item["repairable_from"]),
                       ("受理单位", rule.handled_by)]),
        pdf.Paragraph(
            f"{subject.name}：根据国办发〔2025〕22号“两书同达”要求，在送达上述失信信息的同时告知："
            f"自{item['repairable_from']}起，贵单位在纠正失信行为、履行相关义务后，可以通过本平台"
            "“我的信用—信用修复”在线申请信用修复，获准后该信息终止公示、停止共享和使用。"
            "信用修复免费办理，任何机构不得以信用修复为由收取费用。"),
        pdf.Heading("申请材料", 2),
        pdf.Table(["材料", "说明"],
                  [[m.label, m.hint] for m in rules.materials_for(rule.id, None)]),
        pdf.Paragraph(f"另须在线签署《{rules.commitment_title}》。"),
        pdf.Heading("依据", 2),
        pdf.Paragraph(f"{rule.label}：{rule.reference}"),
    ]
    data = pdf.render("信用修复告知书", blocks, serial=serial,
                      footer=f"签发日期 {item['issued_at'][:10]}")
    return serial, data


def decision_pdf(session: Session, who: Principal, application_id: int,
                 rules: RepairRules | None = None) -> tuple[str, bytes]:
    """The signed repair decision (信用修复决定书): rendered and signed once, then kept."""
    from xinyong.reports import pdf
    from xinyong.reports.signing import sign_pdf

    rules = rules or current_rules()
    app = get_application(session, who, application_id)
    if app.status != "approved" or not app.decision_serial:
        raise RepairError("REPAIR_NO_DECISION",
                          f"该申请尚无信用修复决定书（当前状态：{STATUS_LABELS[app.status]}）",
                          status=409)
    path = get_settings().data_dir / "repair" / "decisions" / f"{app.decision_serial}.pdf"
    if path.is_file():
        return app.decision_serial, path.read_bytes()
    subject = _subject(session, app.subject_id)
    s = summary(session, app)
    rule = rules.rule(app.rule_id)
    blocks: list[Any] = [
        pdf.KeyValues([("决定书编号", app.decision_serial), ("申请人", subject.name),
                       ("统一社会信用代码", subject.uscc or "无"),
                       ("查询码", app.query_code), ("申请日期", s["submitted_on"]),
                       ("决定日期", s["decided_on"] or "")]),
        pdf.Paragraph(
            f"{subject.name}：你单位就“{s['record']['record_type_label']} {s['record']['title'] or ''}”"
            f"提出的信用修复申请，经受理、数据来源单位（{s['department'] or ''}）核实和审核，"
            f"符合信用修复条件，决定准予信用修复。{app.reasons or ''}"),
        pdf.Paragraph("自本决定作出之日起，该信息终止公示，停止共享和使用；相关信用评价已同步更新，"
                      "修复结果已共享至相关部门和征信机构。如违反信用承诺，本决定可被撤销。"),
        pdf.Heading("办理过程", 2),
        pdf.Table(["环节", "结果", "日期", "期限"],
                  [[x["step_label"], x["outcome_label"], x["on"], x["due"] or ""]
                   for x in s_steps(session, app.id)]),
        pdf.Heading("依据", 2),
        pdf.Paragraph(f"{rule.label}：{rule.reference}"),
        pdf.QrCode(f"/repair/progress?code={app.query_code}", caption="扫码查询办理进度"),
    ]
    data = pdf.render("信用修复决定书", blocks, serial=app.decision_serial,
                      footer="公共信用信息平台 信用修复")
    signed = sign_pdf(data, reason=f"信用修复决定书 {app.decision_serial}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(signed)
    tmp.replace(path)
    return app.decision_serial, signed


def s_steps(session: Session, application_id: int) -> list[dict[str, Any]]:
    return steps(session, application_id, with_actors=False)


# ------------------------------------------------------------------------------- sweep


@dataclass
class SweepResult:
    lapsed: int = 0
    repairable: int = 0
    subjects_notified: int = 0


def sweep(session: Session, today: dt.date | None = None) -> SweepResult:
    """Daily: lapse 容缺 applications not completed in time (with a notice), and tell subjects
    whose records have become repairable. Both set-based; messages go to subjects with an
    account only."""
    from xinyong.notifications.service import notify

    today = today or clock.today()
    conn = session.connection()
    result = SweepResult()
    a = RepairApplication
    lapsing = list(session.scalars(select(a).where(
        a.status.in_(OPEN_STATUSES), a.materials_missing.is_(True), a.complete_by < today)))
    if lapsing:
        ids = [x.id for x in lapsing]
        now = clock.now()
        conn.execute(a.__table__.update().where(a.id.in_(ids)).values(
            status="lapsed", decided_on=today,
            reasons="承诺容缺的材料逾期未补齐，申请失效"))
        conn.execute(RepairStep.__table__.insert(), [
            {"application_id": x.id, "step": "lapse", "outcome": "lapsed", "actor": "system",
             "role": None, "department_id": None,
             "reason": f"承诺于{x.complete_by}前补齐材料，逾期未补齐", "at": now, "on_day": today,
             "due": x.complete_by, "overdue": True} for x in lapsing])
        from xinyong.audit.service import append

        for x in lapsing:
            session.refresh(x)
            append(conn, actor="system", action="repair.lapse", subject_id=x.subject_id,
                   target=f"repair:{x.id}", detail={"complete_by": str(x.complete_by)})
            _notify(session, "repair_lapsed", x, "lapsed", complete_by=str(x.complete_by))
        result.lapsed = len(lapsing)
    due_where = (
        "n.due_notified_at IS NULL AND n.repairable_from <= :today"
    )
    params = {"today": sql_day(conn, today)}
    rows = conn.execute(text(
        "SELECT n.subject_id, COUNT(*), MIN(n.record_id) FROM repair_notice n"
        " JOIN credit_record r ON r.subject_id = n.subject_id AND r.id = n.record_id"
        " AND r.is_current AND r.status = 'active' AND r.disclosure IN ('public', 'restricted')"
        " JOIN (SELECT DISTINCT subject_id FROM account WHERE role = 'subject'"
        "       AND status = 'active') h ON h.subject_id = n.subject_id"
        f" WHERE {due_where} AND (r.publicity_until IS NULL OR r.publicity_until >= :today)"
        " GROUP BY n.subject_id"), params).all()
    for sid, count, first in rows:
        name = conn.scalar(select(Subject.name).where(Subject.id == sid))
        title = conn.scalar(select(CreditRecord.title).where(
            CreditRecord.subject_id == sid, CreditRecord.id == first))
        notify(conn, template="repair_now_repairable",
               context={"name": name or "", "count": int(count), "record": title or ""},
               key=f"repair:repairable:{sid}:{today.isoformat()}", subject_id=int(sid),
               link="/me/repair")
    result.subjects_notified = len(rows)
    marked = conn.execute(text(
        "UPDATE repair_notice SET due_notified_at = :now WHERE due_notified_at IS NULL"
        " AND repairable_from <= :today"), {**params, "now": ts(conn, clock.now())})
    result.repairable = int(marked.rowcount or 0)
    return result


# ------------------------------------------------------------------------------- demo


def seed_demo(session: Session) -> int:
    """Demo cases, once: for the first subject account with repairable records, one
    application carried through the whole loop (accepted, reviewed by the department, approved:
    the record is repaired and the decision can be downloaded) and, if it has another
    repairable record, one waiting for acceptance. Returns the number of applications made."""
    from xinyong.accounts.models import Account
    from xinyong.accounts.principal import CLI

    if session.scalar(select(func.count()).select_from(RepairApplication)):
        return 0
    accounts = session.scalars(select(Account).where(
        Account.role == "subject", Account.status == "active",
        Account.subject_id.is_not(None)).order_by(Account.id)).all()
    pdf_bytes = b"%PDF-1.4\n% xinyong demo\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    for acct in accounts:
        items = [i for i in eligibility(session, acct.subject_id)["records"] if i["can_apply"]]
        if not items:
            continue
        who = Principal(role="subject", account_id=acct.id, username=acct.username,
                        subject_id=acct.subject_id, via="session")
        made = []
        for item in items[:2]:
            uploads = [Upload(m["code"], f"{m['label']}.pdf", pdf_bytes)
                       for m in item["materials"]]
            made.append(apply(session, who, item["record_id"], uploads=uploads, affirm=True,
                              statement="罚款已缴清，违法行为已整改完毕（演示数据）。"))
        first = made[0]
        accept(session, CLI, first.id)
        dept = Principal(role="department_officer", username="demo-department",
                         department_id=first.department_id, via="cli")
        review(session, dept, first.id, agree=True, reason="经核实，已履行处罚决定（演示数据）")
        decide(session, CLI, first.id, approve=True)
        return len(made)
    return 0

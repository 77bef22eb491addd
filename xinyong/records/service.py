"""Batches, their error reports, the pending-match queue, and record state maintenance."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from xinyong.catalog.loader import load_catalog
from xinyong.core import clock, hooks
from xinyong.core.models import allocate_ids
from xinyong.core.sqlutil import day, json_param, ts
from xinyong.records.errors import IngestError, RecordError
from xinyong.records.models import (
    RECORD_STATUSES,
    Batch,
    BatchError,
    CreditRecord,
    CreditRecordDetail,
    PendingMatch,
    RecordEvent,
)
from xinyong.subjects.models import Subject

ERROR_REPORT_HEADER = ["行号", "字段", "错误代码", "错误说明", "原始值"]


class NotFound(IngestError):
    def __init__(self, message: str) -> None:
        super().__init__("NOT_FOUND", message, status=404)


# ---------------------------------------------------------------------------- batches


def list_batches(
    session: Session,
    *,
    department_id: int | None = None,
    status: str | None = None,
    record_type: str | None = None,
    sort: str = "started_desc",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Batch], int]:
    stmt = select(Batch)
    if department_id is not None:
        stmt = stmt.where(Batch.department_id == department_id)
    if status:
        stmt = stmt.where(Batch.status == status)
    if record_type:
        stmt = stmt.where(Batch.record_type == record_type)
    order = {
        "started_asc": (Batch.id.asc(),),
        "rejected_desc": (Batch.rows_rejected.desc(), Batch.id.desc()),
    }.get(sort, (Batch.id.desc(),))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(*order).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def get_batch(session: Session, batch_id: int, department_id: int | None = None) -> Batch:
    """A batch; with ``department_id``, only that department's: another department's batch
    does not exist for it (no hint that it does)."""
    batch = session.get(Batch, batch_id)
    if batch is None or (department_id is not None and batch.department_id != department_id):
        raise NotFound(f"归集批次 {batch_id} 不存在")
    return batch


def batch_errors(
    session: Session, batch_id: int, limit: int | None = None, offset: int = 0
) -> list[BatchError]:
    stmt = (
        select(BatchError)
        .where(BatchError.batch_id == batch_id)
        .order_by(BatchError.row_number, BatchError.field)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def error_report_csv(session: Session, batch_id: int) -> bytes:
    """UTF-8 with BOM, so that Excel and WPS open the Chinese text correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(ERROR_REPORT_HEADER)
    for e in batch_errors(session, batch_id):
        writer.writerow([e.row_number, e.field or "", e.code, e.message, e.value or ""])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def error_report_xlsx(session: Session, batch_id: int) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet("错误报告")
    bold = wb.add_format({"bold": True})
    ws.write_row(0, 0, ERROR_REPORT_HEADER, bold)
    for i, e in enumerate(batch_errors(session, batch_id), start=1):
        ws.write_row(i, 0, [e.row_number, e.field or "", e.code, e.message])
        ws.write_string(i, 4, e.value or "")
    ws.set_column(0, 0, 8)
    ws.set_column(3, 3, 60)
    wb.close()
    return out.getvalue()


# ---------------------------------------------------------------------------- pending match


def list_pending(
    session: Session,
    *,
    status: str = "pending",
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PendingMatch], int]:
    stmt = select(PendingMatch).where(PendingMatch.status == status)
    if q:
        stmt = stmt.where(PendingMatch.subject_name.contains(q))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(PendingMatch.id).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def _insert_record_from_payload(conn: Connection, pending: PendingMatch, subject_id: int) -> int:
    payload = dict(pending.payload)
    catalog = load_catalog()
    rtype = catalog.type(pending.record_type)
    prev = conn.execute(
        select(CreditRecord.id, CreditRecord.version, CreditRecord.content_hash).where(
            CreditRecord.department_id == pending.department_id,
            CreditRecord.record_type == pending.record_type,
            CreditRecord.source_record_id == payload["source_record_id"],
            CreditRecord.is_current.is_(True),
        )
    ).first()
    if prev is not None and prev.content_hash == payload["content_hash"]:
        return int(prev.id)
    record_id = allocate_ids(conn, "credit_record", 1)
    batch_cv = conn.scalar(select(Batch.catalog_version).where(Batch.id == pending.batch_id))
    now = ts(conn, clock.now())
    conn.execute(
        text(
            "INSERT INTO credit_record (subject_id, id, record_type, category, department_id,"
            " source_record_id, version, content_hash, batch_id, catalog_version, polarity,"
            " disclosure, title, decided_on, valid_until, amount_fen, outcome, created_at,"
            " penalty_class, class_source, publicity_until, publicity_rule, status,"
            " is_current) VALUES (:sid, :id, :rt, :cat, :dept, :srid, :ver, :hash, :batch, :cv,"
            " :pol, :disc, :title, :decided, :valid, :amount, :outcome, :now, :pc, :cs, :pu, :pr,"
            " 'active', true)"
        ),
        {
            "sid": subject_id,
            "id": record_id,
            "rt": rtype.code,
            "cat": rtype.category,
            "dept": pending.department_id,
            "srid": payload["source_record_id"],
            "ver": (prev.version + 1) if prev else 1,
            "hash": payload["content_hash"],
            "batch": pending.batch_id,
            "cv": batch_cv or catalog.version,
            "pol": rtype.polarity,
            "disc": rtype.disclosure,
            "title": payload.get("title"),
            "decided": payload.get("decided_on"),
            "valid": payload.get("valid_until"),
            "amount": payload.get("amount_fen"),
            "outcome": payload.get("record_outcome"),
            "now": now,
            "pc": payload.get("penalty_class"),
            "cs": payload.get("class_source"),
            "pu": payload.get("publicity_until"),
            "pr": payload.get("publicity_rule"),
        },
    )
    conn.execute(
        text(
            "INSERT INTO credit_record_detail (subject_id, id, data, class_reason)"
            " VALUES (:sid, :id, " + json_param(conn, ":data") + ", :cr)"
        ),
        {
            "sid": subject_id,
            "id": record_id,
            "data": payload["data"],
            "cr": payload.get("class_reason"),
        },
    )
    if prev is not None:
        conn.execute(
            text(
                "UPDATE credit_record SET is_current = false, status = 'corrected',"
                " status_since = :today WHERE id = :id"
            ),
            {"id": prev.id, "today": day(conn, clock.today())},
        )
        add_event(
            conn,
            record_id=int(prev.id),
            subject_id=subject_id,
            kind="corrected",
            data={"new_record_id": record_id},
            batch_id=pending.batch_id,
        )
    return record_id


def _audit(conn: Connection, actor: str | None, action: str, **fields: Any) -> None:
    """Every state change of records is in the audit log, in the change's own transaction."""
    from xinyong.audit.service import append

    append(conn, actor=actor or "system", action=action, **fields)


def resolve_pending(
    session: Session, pending_id: int, subject_id: int, *, actor: str, same_name: bool = False
) -> list[int]:
    """Attach a waiting row (and optionally every waiting row with the same normalised name)
    to a subject; the records are created then. Returns the record ids."""
    pending = session.get(PendingMatch, pending_id)
    if pending is None:
        raise NotFound(f"待匹配记录 {pending_id} 不存在")
    if pending.status != "pending":
        raise IngestError(
            "PENDING_CLOSED",
            f"待匹配记录 {pending_id} 已处理（状态：{pending.status}）",
            status=409,
        )
    if session.get(Subject, subject_id) is None:
        raise NotFound(f"信用主体 {subject_id} 不存在")
    items = [pending]
    if same_name and pending.name_norm:
        items = list(
            session.scalars(
                select(PendingMatch)
                .where(
                    PendingMatch.status == "pending", PendingMatch.name_norm == pending.name_norm
                )
                .order_by(PendingMatch.id)
            )
        )
    conn = session.connection()
    ids = []
    for item in items:
        record_id = _insert_record_from_payload(conn, item, subject_id)
        item.status = "resolved"
        item.record_id = record_id
        item.resolved_subject_id = subject_id
        item.resolved_by = actor
        item.resolved_at = clock.now()
        ids.append(record_id)
    # The operator taught the platform a name: later records under it match by themselves.
    _learn_name(session, pending, subject_id)
    session.flush()
    _audit(conn, actor, "pending.resolve", subject_id=int(subject_id),
           target=f"pending:{pending_id}", detail={"records": ids, "same_name": same_name})
    hooks.records_changed(conn, f"IN ({int(subject_id)})")
    if ids:
        hooks.records_added(
            conn, f"r.subject_id = {int(subject_id)} AND r.id IN ({', '.join(map(str, ids))})"
        )
    return ids


def _learn_name(session: Session, pending: PendingMatch, subject_id: int) -> None:
    import polars as pl

    from xinyong.subjects.models import SubjectName
    from xinyong.subjects.service import index_names

    if not pending.name_norm or not pending.subject_name:
        return
    exists = session.scalar(
        select(SubjectName.id).where(
            SubjectName.subject_id == subject_id, SubjectName.name_norm == pending.name_norm
        )
    )
    if exists is None and pending.reason == "unmatched":
        session.flush()
        index_names(
            session.connection(),
            pl.DataFrame(
                {
                    "subject_id": [subject_id],
                    "name": [pending.subject_name],
                    "name_norm": [pending.name_norm],
                }
            ),
            current=False,
        )


def rematch_pending(session: Session, actor: str = "system") -> int:
    """Retry every waiting row against the subjects known now (e.g. after loading a registry)."""
    conn = session.connection()
    rows = conn.exec_driver_sql(
        "SELECT p.id, MIN(sn.subject_id), COUNT(DISTINCT sn.subject_id) FROM pending_match p"
        " JOIN subject_name sn ON sn.name_norm = p.name_norm WHERE p.status = 'pending'"
        " GROUP BY p.id"
    ).all()
    by_code = conn.exec_driver_sql(
        "SELECT p.id, s.id FROM pending_match p JOIN subject s ON s.uscc = p.uscc"
        " WHERE p.status = 'pending'"
    ).all()
    targets = {int(pid): int(sid) for pid, sid, n in rows if n == 1}
    targets.update({int(pid): int(sid) for pid, sid in by_code})
    for pid, sid in sorted(targets.items()):
        resolve_pending(session, pid, sid, actor=actor)
    return len(targets)


# ---------------------------------------------------------------------------- events


def add_event(
    conn: Connection,
    *,
    record_id: int,
    subject_id: int,
    kind: str,
    data: dict[str, Any] | None = None,
    effective_on: dt.date | None = None,
    batch_id: int | None = None,
    actor: str | None = None,
) -> int:
    event_id = allocate_ids(conn, "record_event", 1)
    conn.execute(
        RecordEvent.__table__.insert().values(
            id=event_id,
            record_id=record_id,
            subject_id=subject_id,
            kind=kind,
            effective_on=effective_on or clock.today(),
            occurred_at=clock.now(),
            batch_id=batch_id,
            actor=actor,
            data=data,
        )
    )
    return event_id


def record_history(session: Session, record_id: int) -> list[dict[str, Any]]:
    events = session.scalars(
        select(RecordEvent).where(RecordEvent.record_id == record_id).order_by(RecordEvent.id)
    ).all()
    return [
        {
            "id": e.id,
            "kind": e.kind,
            "effective_on": e.effective_on.isoformat(),
            "occurred_at": e.occurred_at.isoformat(),
            "actor": e.actor,
            "data": e.data,
        }
        for e in events
    ]


def correct_class(
    session: Session, record_id: int, penalty_class: str, *, actor: str, reason: str
) -> None:
    """An operator corrects a penalty's class; its publicity is recomputed by the rules."""
    import polars as pl

    from xinyong.catalog.publicity import compute_publicity

    if penalty_class not in ("minor", "general", "serious"):
        raise IngestError("CLASS_INVALID", "失信程度只能是 轻微、一般 或 严重")
    conn = session.connection()
    r, d = CreditRecord.__table__.c, CreditRecordDetail.__table__.c
    rec = conn.execute(
        select(r.subject_id, r.record_type, r.penalty_class, r.publicity_until, d.data)
        .join_from(
            CreditRecord.__table__,
            CreditRecordDetail.__table__,
            (d.subject_id == r.subject_id) & (d.id == r.id),
        )
        .where(r.id == record_id)
    ).first()
    if rec is None:
        raise NotFound(f"信用记录 {record_id} 不存在")
    rtype = load_catalog().type(rec.record_type)
    data = dict(rec.data)
    frame = pl.DataFrame(
        [
            {
                **{k: v for k, v in data.items() if isinstance(v, str | int)},
                "penalty_class": penalty_class,
            }
        ]
    )
    for col in ("decided_on", "valid_until", "publicity_until"):
        if col in frame.columns:
            frame = frame.with_columns(pl.col(col).str.to_date(strict=False))
    out = compute_publicity(frame, rtype).row(0, named=True)
    conn.execute(
        CreditRecord.__table__.update()
        .where(r.subject_id == rec.subject_id, r.id == record_id)
        .values(
            penalty_class=penalty_class,
            class_source="operator",
            publicity_until=out.get("publicity_until"),
            publicity_rule=out.get("publicity_rule"),
        )
    )
    conn.execute(
        CreditRecordDetail.__table__.update()
        .where(d.subject_id == rec.subject_id, d.id == record_id)
        .values(class_reason=reason)
    )
    add_event(
        conn,
        record_id=record_id,
        subject_id=rec.subject_id,
        kind="class_corrected",
        actor=actor,
        data={
            "from": rec.penalty_class,
            "to": penalty_class,
            "reason": reason,
            "old_publicity_until": rec.publicity_until.isoformat()
            if rec.publicity_until
            else None,
        },
    )
    _audit(conn, actor, "record.correct_class", subject_id=int(rec.subject_id),
           target=f"record:{record_id}",
           detail={"from": rec.penalty_class, "to": penalty_class, "reason": reason})


# The event kind written for a change to each status; going back to ``active`` is a
# reinstatement (e.g. an objection rejected, a revocation undone by a court).
STATUS_EVENT_KINDS = {
    "active": "reinstated",
    "revoked": "revoked",
    "repaired": "repaired",
    "objection_pending": "objection_pending",
}


def change_record_status(
    conn: Connection | Session,
    *,
    record_id: int,
    status: str,
    effective_on: dt.date | None = None,
    actor: str | None = None,
    reason: str | None = None,
    batch_id: int | None = None,
) -> int:
    """Change the status of a current record (revoked, repaired, objection pending, or back to
    active): a ``record_event`` of that kind is written and the projection (``status``,
    ``status_since``) follows it. Returns the event id.

    ``effective_on`` (default: today) is the day the change takes effect, which an evaluation
    as of an earlier day compares with ``status_since``. ``corrected`` is not set here: a
    correction is a new version sent by the department (ingest).
    """
    if isinstance(conn, Session):
        conn = conn.connection()
    if status not in RECORD_STATUSES:
        raise RecordError(
            "RECORD_STATUS_INVALID",
            f"记录状态「{status}」无效，可用的状态为：{'、'.join(STATUS_EVENT_KINDS)}",
        )
    if status not in STATUS_EVENT_KINDS:
        raise RecordError(
            "RECORD_STATUS_NOT_SETTABLE",
            "「已更正」状态只能由部门重新报送更正后的记录产生，不能直接设置",
        )
    r = CreditRecord.__table__.c
    row = conn.execute(
        select(r.subject_id, r.status, r.is_current).where(r.id == record_id)
    ).first()
    if row is None:
        raise RecordError("RECORD_NOT_FOUND", f"信用记录 {record_id} 不存在", status=404)
    if not row.is_current:
        raise RecordError(
            "RECORD_NOT_CURRENT",
            f"信用记录 {record_id} 已被更正后的新版本取代，请对当前版本操作",
            status=409,
        )
    if row.status == status:
        raise RecordError(
            "RECORD_STATUS_UNCHANGED", f"信用记录 {record_id} 的状态已是「{status}」", status=409
        )
    effective = effective_on or clock.today()
    data: dict[str, Any] = {"from": row.status, "to": status}
    if reason:
        data["reason"] = reason
    event_id = add_event(
        conn,
        record_id=record_id,
        subject_id=int(row.subject_id),
        kind=STATUS_EVENT_KINDS[status],
        data=data,
        effective_on=effective,
        batch_id=batch_id,
        actor=actor,
    )
    conn.execute(
        CreditRecord.__table__.update()
        .where(r.subject_id == row.subject_id, r.id == record_id)
        .values(status=status, status_since=effective)
    )
    _audit(conn, actor, "record.status", subject_id=int(row.subject_id),
           target=f"record:{record_id}", detail={**data, "effective_on": effective.isoformat()})
    hooks.records_changed(conn, f"IN ({int(row.subject_id)})")
    return event_id


def sweep_publicity(session: Session, today: dt.date | None = None) -> int:
    """Write a ``publicity_ended`` event for each record whose period ended and has none yet.

    Views never depend on this (they compare ``publicity_until`` with the injected today); the
    events make the end of publicity part of each record's history, for replay and for
    other capabilities that react to it.
    """
    today = today or clock.today()
    conn = session.connection()
    rows = conn.execute(
        text(
            "SELECT r.id, r.subject_id, r.publicity_until FROM credit_record r"
            " WHERE r.is_current AND r.publicity_until IS NOT NULL AND r.publicity_until < :today"
            " AND NOT EXISTS (SELECT 1 FROM record_event e WHERE e.record_id = r.id"
            " AND e.kind = 'publicity_ended')"
        ),
        {"today": today},
    ).all()
    if not rows:
        return 0
    first = allocate_ids(conn, "record_event", len(rows))
    now = clock.now()
    conn.execute(
        RecordEvent.__table__.insert(),
        [
            {
                "id": first + i,
                "record_id": rid,
                "subject_id": sid,
                "kind": "publicity_ended",
                "effective_on": (
                    until if isinstance(until, dt.date) else dt.date.fromisoformat(until)
                )
                + dt.timedelta(days=1),
                "occurred_at": now,
                "batch_id": None,
                "actor": "system",
                "data": None,
            }
            for i, (rid, sid, until) in enumerate(rows)
        ],
    )
    return len(rows)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)

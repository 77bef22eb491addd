"""Objection routes (/api/v1/objections): a subject files and follows its own objections, the
credit office accepts, checks, assigns and decides, the department that sent the record answers.
Who sees which case is the service's rule (``_visible``); the routes only pick the guard."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Body, Depends, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core.deps import get_session, json_response
from xinyong.core.errors import DomainError
from xinyong.core.security import (
    require_admin,
    require_department,
    require_login,
)
from xinyong.objections import service

router = APIRouter(prefix="/api/v1/objections", tags=["异议处理"])

MEDIA = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}


def subject_or_admin(request: Request) -> Principal:
    """The subject itself, or the credit office entering a paper objection for a subject."""
    p = require_login(request)
    if p.is_admin or (p.role == "subject" and p.subject_id is not None and p.allows("self:read")):
        return p
    raise DomainError("OBJECTION_FORBIDDEN",
                      "只有信用主体本人（或代为录入书面异议的信用办）可以提出异议", status=403)


def party(request: Request) -> Principal:
    """A party to cases: the office, a department, a subject (each sees its own)."""
    p = require_login(request)
    if p.is_admin or (p.is_department and p.department_id is not None
                      and p.allows("records:write")) or (
            p.role == "subject" and p.subject_id is not None and p.allows("self:read")):
        return p
    raise DomainError("OBJECTION_FORBIDDEN", "异议信息仅向异议当事主体、数据提供单位和信用办开放",
                      status=403)


class FileBody(BaseModel):
    record_id: int = Field(..., description="有异议的信用记录编号")
    reason: str = Field("", description="异议理由（必填）")
    claimed_values: dict[str, str] | None = Field(
        None, description="主张的正确值：{信息项代码: 值}，可选；例如 {\"fine_amount\": \"20000\"}")
    contact: str | None = Field(None, description="联系人及电话（可选）")
    received_on: dt.date | None = Field(
        None, description="信用办代录书面异议时：收到书面申请的日期（期限由此起算）")


class NoteBody(BaseModel):
    note: str | None = Field(None, description="说明")


class RefuseBody(BaseModel):
    code: str = Field(..., description="不予受理原因：not_own_record、duplicate、record_expired、"
                      "no_grounds、other")
    reason: str = Field("", description="不予受理的理由（必填）")


class CheckBody(BaseModel):
    finding: str = Field(..., description="platform_error（属平台错误）或 source_data（与报送一致）")
    note: str = Field("", description="核查说明（必填）")


class OutcomeBody(BaseModel):
    outcome: str = Field(..., description="corrected（更正）、revoked（撤销）或 upheld（维持）")
    reason: str = Field("", description="理由（必填）")
    values: dict[str, str] | None = Field(None, description="更正后的值（结论为更正时必填）")


class AnswerBody(BaseModel):
    proposal: str = Field(..., description="核实结论：corrected、revoked 或 upheld")
    reason: str = Field("", description="核实意见（必填）")
    values: dict[str, str] | None = Field(None, description="更正后的值（结论为更正时必填）")


def _case(session: Session, p: Principal, objection_id: int, status: int = 200) -> Response:
    return json_response(service.get_objection(session, p, objection_id), status_code=status)


@router.post("", summary="提出异议（信用主体本人；信用办代录书面异议）", status_code=201)
def file(
    body: FileBody = Body(...),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(subject_or_admin),
) -> Response:
    if p.is_admin:
        oid = service.file_objection(
            session, actor=p.actor, record_id=body.record_id, reason=body.reason,
            claimed_values=body.claimed_values, subject_id=None, channel="paper",
            received_on=body.received_on, contact=body.contact)
    else:
        oid = service.file_objection(
            session, actor=p.actor, record_id=body.record_id, reason=body.reason,
            claimed_values=body.claimed_values, subject_id=p.subject_id, contact=body.contact,
            received_on=body.received_on)
    return _case(session, p, oid, 201)


@router.get("", summary="异议列表（主体：本主体的；部门：转本部门核实的；信用办：全部）")
def list_(
    status: str | None = Query(None, description="filed、checking、assigned、answered、"
                               "not_accepted、decided 或 open（全部未办结）"),
    overdue: bool = Query(False, description="只看已超期的"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(party),
) -> Response:
    rows, total = service.list_objections(session, p, status=status, overdue=overdue,
                                          limit=size, offset=(page - 1) * size)
    return json_response({"total": total, "page": page, "size": size, "items": rows})


@router.get("/{objection_id}", summary="异议详情（含办理过程）")
def detail(objection_id: int, session: Session = Depends(get_session, scope="function"),
           p: Principal = Depends(party)) -> Response:
    return _case(session, p, objection_id)


@router.post("/{objection_id}/evidence", summary="补充证明材料（PDF/JPG/PNG，按文件内容识别类型）",
             status_code=201)
def add_evidence(
    request: Request,
    objection_id: int,
    files: list[UploadFile] = File(...),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(subject_or_admin),
) -> Response:
    # Like every API route, no CSRF token: the session cookie is SameSite=Lax, so another
    # site's form never carries it; the portal's own form posts to /me/objections/… instead.
    uploads = [service.Upload(f.filename or "", _read(f)) for f in files]
    service.add_evidence(session, objection_id, viewer=p, uploads=uploads, actor=p.actor)
    return _case(session, p, objection_id, 201)


def _read(f: UploadFile) -> bytes:
    """At most one byte past the limit: enough to refuse an oversized file, never all of it."""
    return f.file.read(service.rules().max_bytes + 1)


@router.get("/{objection_id}/evidence/{evidence_id}", summary="下载证明材料")
def evidence(objection_id: int, evidence_id: int,
             session: Session = Depends(get_session, scope="function"),
             p: Principal = Depends(party)) -> Response:
    path, name, kind = service.evidence_file(session, p, objection_id, evidence_id)
    if not path.exists():
        raise DomainError("OBJECTION_EVIDENCE_MISSING", "证明材料文件已不在存储中，请联系平台管理员",
                          status=410)
    return FileResponse(path, media_type=MEDIA.get(kind, "application/octet-stream"),
                        filename=name, headers={"X-Content-Type-Options": "nosniff"})


@router.post("/{objection_id}/accept", summary="受理（信用办）：记录标注为异议处理中")
def accept(objection_id: int, body: NoteBody = Body(NoteBody()),
           session: Session = Depends(get_session, scope="function"),
           p: Principal = Depends(require_admin)) -> Response:
    service.accept(session, objection_id, actor=p.actor, note=body.note)
    return _case(session, p, objection_id)


@router.post("/{objection_id}/refuse", summary="不予受理（信用办），须说明原因")
def refuse(objection_id: int, body: RefuseBody = Body(...),
           session: Session = Depends(get_session, scope="function"),
           p: Principal = Depends(require_admin)) -> Response:
    service.refuse(session, objection_id, actor=p.actor, code=body.code, reason=body.reason)
    return _case(session, p, objection_id)


@router.post("/{objection_id}/check", summary="平台核查结论（信用办）")
def check(objection_id: int, body: CheckBody = Body(...),
          session: Session = Depends(get_session, scope="function"),
          p: Principal = Depends(require_admin)) -> Response:
    service.check(session, objection_id, actor=p.actor, finding=body.finding, note=body.note)
    return _case(session, p, objection_id)


@router.post("/{objection_id}/assign", summary="转数据提供单位核实（信用办）：10个工作日内答复")
def assign(objection_id: int, body: NoteBody = Body(NoteBody()),
           session: Session = Depends(get_session, scope="function"),
           p: Principal = Depends(require_admin)) -> Response:
    service.assign(session, objection_id, actor=p.actor, note=body.note)
    return _case(session, p, objection_id)


@router.post("/{objection_id}/answer", summary="数据提供单位答复核实结论（仅报送该记录的部门）")
def answer(objection_id: int, body: AnswerBody = Body(...),
           session: Session = Depends(get_session, scope="function"),
           p: Principal = Depends(require_department)) -> Response:
    assert p.department_id is not None
    service.answer(session, objection_id, department_id=p.department_id, actor=p.actor,
                   proposal=body.proposal, reason=body.reason, values=body.values)
    return _case(session, p, objection_id)


@router.post("/{objection_id}/decide", summary="作出异议决定（信用办）：更正、撤销或维持")
def decide(objection_id: int, body: OutcomeBody = Body(...),
           session: Session = Depends(get_session, scope="function"),
           p: Principal = Depends(require_admin)) -> Response:
    service.decide(session, objection_id, actor=p.actor, outcome=body.outcome,
                   reason=body.reason, values=body.values)
    return _case(session, p, objection_id)

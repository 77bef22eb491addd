"""Credit repair routes under /api/v1/repair: a subject's eligibility, notices and applications
(multipart), the office's and departments' review steps, the shared results feed, and the
progress lookup by query code (no login)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core import clock
from xinyong.core.deps import get_session, json_response
from xinyong.core.ratelimit import limit_public_search
from xinyong.core.security import require_login, require_subject
from xinyong.repair import service
from xinyong.repair.service import RepairError
from xinyong.subjects.models import Subject

router = APIRouter(prefix="/api/v1/repair", tags=["信用修复"])


def uploads_of(files: list[UploadFile], kinds: list[str]) -> list[service.Upload]:
    """Files with their material codes (``kinds``, one per file, in the same order)."""
    files = [f for f in files if f is not None and (f.filename or "")]
    if len(kinds) != len(files):
        raise RepairError(
            "REPAIR_MATERIAL_KINDS",
            f"每个文件须对应一个材料类别（kinds）：收到 {len(files)} 个文件、{len(kinds)} 个类别",
        )
    return [service.read_upload(k, f.filename or "", f.file) for f, k in zip(files, kinds,
                                                                              strict=True)]


def _pdf(name: str, data: bytes) -> Response:
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}.pdf"',
                             "Cache-Control": "no-store"})


@router.get("/eligibility", summary="本主体各条失信信息能否修复、何时起、需要什么材料")
def eligibility(
    code: str | None = Query(None, description="统一社会信用代码（政府部门查询时填写）"),
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_login),
) -> Response:
    from sqlalchemy import select

    if service.acts_as_subject(who):
        assert who.subject_id is not None
        own = session.scalar(select(Subject.uscc).where(Subject.id == who.subject_id))
        if code and code.strip().upper() != own:
            raise RepairError("REPAIR_FORBIDDEN", "只能查询本主体的修复条件", status=403)
        return json_response(service.eligibility(session, who.subject_id))
    if not who.is_government:
        raise RepairError("REPAIR_FORBIDDEN",
                          "只能查询本主体的修复条件：请用信用主体账号登录", status=403)
    if not code:
        raise RepairError("REPAIR_CODE_REQUIRED", "政府部门查询时请填写统一社会信用代码 code")
    sid = session.scalar(select(Subject.id).where(Subject.uscc == code.strip().upper()))
    if sid is None:
        raise RepairError("REPAIR_SUBJECT_NOT_FOUND", f"没有统一社会信用代码为 {code} 的主体",
                          status=404)
    return json_response(service.eligibility(session, int(sid)))


@router.get("/notices", summary="本主体的信用修复告知书（两书同达）")
def my_notices(
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_subject),
) -> Response:
    assert who.subject_id is not None
    return json_response({"items": service.notices(session, who.subject_id)})


@router.get("/notices/{repair_record_id}/pdf", summary="下载信用修复告知书（PDF）")
def notice_pdf(
    repair_record_id: int,
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_subject),
) -> Response:
    assert who.subject_id is not None
    serial, data = service.notice_pdf(session, who.subject_id, repair_record_id)
    return _pdf(serial, data)


@router.post("/applications", summary="申请信用修复（multipart：记录、材料文件、承诺）",
             status_code=201)
def apply(
    record_id: int = Form(..., description="要修复的信用记录编号"),
    affirm: bool = Form(False, description="已阅读并确认《信用修复承诺书》"),
    defer_missing: bool = Form(False, description="承诺容缺：缺少的材料5个工作日内补齐"),
    statement: str = Form("", description="履行义务、纠正失信行为的情况说明"),
    files: list[UploadFile] = File(default=[], description="材料文件（PDF/JPG/PNG）"),
    kinds: list[str] = Form(default=[], description="每个文件的材料类别，与 files 一一对应"),
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_login),
) -> Response:
    app = service.apply(session, who, record_id, uploads=uploads_of(files, kinds),
                        affirm=affirm, defer_missing=defer_missing, statement=statement)
    return json_response(service.detail(session, who, app.id), status_code=201)


@router.get("/applications", summary="修复申请：主体看自己的，部门看本部门记录的，信用办看全部")
def applications(
    status: str | None = Query(None, description="状态；open 为全部在办"),
    overdue: bool = Query(False, description="只看超期的"),
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_login),
) -> Response:
    return json_response({"as_of": clock.today().isoformat(),
                          "items": service.list_applications(session, who, status=status,
                                                             overdue=overdue)})


@router.get("/applications/{repair_id}", summary="修复申请详情（材料、承诺、每一步的办理人、时间、理由）")
def application(
    repair_id: int,
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_login),
) -> Response:
    return json_response(service.detail(session, who, repair_id))


@router.post("/applications/{repair_id}/materials", summary="补充材料（承诺容缺的补齐）")
def add_materials(
    repair_id: int,
    files: list[UploadFile] = File(default=[]),
    kinds: list[str] = Form(default=[]),
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_login),
) -> Response:
    service.add_materials(session, who, repair_id, uploads_of(files, kinds))
    return json_response(service.detail(session, who, repair_id))


class AcceptBody(BaseModel):
    accept: bool = Field(True, description="true 受理；false 不予受理（须填理由）")
    reason: str | None = None


class ReviewBody(BaseModel):
    agree: bool = Field(..., description="是否同意修复")
    reason: str | None = Field(None, description="核实意见（不同意时必填）")


class DecideBody(BaseModel):
    approve: bool = Field(..., description="true 准予修复；false 不予修复（须填理由）")
    reasons: str | None = None


@router.post("/applications/{repair_id}/accept", summary="受理（信用办）")
def accept(
    repair_id: int,
    body: AcceptBody = Body(...),
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_login),
) -> Response:
    service.accept(session, who, repair_id, accept=body.accept, reason=body.reason)
    return json_response(service.detail(session, who, repair_id))


@router.post("/applications/{repair_id}/review", summary="部门核实（报送该记录的部门）")
def review(
    repair_id: int,
    body: ReviewBody = Body(...),
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_login),
) -> Response:
    service.review(session, who, repair_id, agree=body.agree, reason=body.reason)
    return json_response(service.detail(session, who, repair_id))


@router.post("/applications/{repair_id}/decide", summary="修复决定（信用办）")
def decide(
    repair_id: int,
    body: DecideBody = Body(...),
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_login),
) -> Response:
    service.decide(session, who, repair_id, approve=body.approve, reasons=body.reasons)
    return json_response(service.detail(session, who, repair_id))


@router.get("/applications/{repair_id}/decision.pdf", summary="下载信用修复决定书（已签名 PDF）")
def decision_pdf(
    repair_id: int,
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_login),
) -> Response:
    serial, data = service.decision_pdf(session, who, repair_id)
    return _pdf(serial, data)


def require_results_reader(request: Request) -> Principal:
    """Departments and the office, and banks (征信机构 and lenders must update repaired
    records in step, 国办发〔2025〕22号)."""
    p = require_login(request)
    if p.is_government or p.role == "bank":
        return p
    raise RepairError("REPAIR_RESULTS_FORBIDDEN",
                      "修复结果共享仅向政府部门、信用办和金融机构（征信机构）开放", status=403)


@router.get("/results", summary="修复结果共享：某日以来已修复的记录（供部门、征信机构同步）")
def results(
    since: dt.date = Query(..., description="起始日期（含）"),
    limit: int = Query(1000, ge=1, le=10_000),
    session: Session = Depends(get_session, scope="function"),
    who: Principal = Depends(require_results_reader),
) -> Response:
    return json_response(service.results(session, since, limit=limit))


@router.get("/progress/{query_code}", summary="凭查询码查询修复进度（无需登录，不含个人信息）",
            dependencies=[Depends(limit_public_search)])
def progress(
    query_code: str, session: Session = Depends(get_session, scope="function"),
) -> Any:
    return json_response(service.progress(session, query_code))

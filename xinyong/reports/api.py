"""JSON routes of credit reports: issue (a subject for itself, government for anyone), read the
metadata and the changes since, download the signed file, verify an uploaded file."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, File, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.accounts.access import audit_restricted_read
from xinyong.accounts.principal import Principal
from xinyong.core.deps import get_session, json_response
from xinyong.core.errors import DomainError
from xinyong.core.security import principal_of
from xinyong.reports import service
from xinyong.reports.config import report_settings

router = APIRouter(prefix="/api/v1/reports", tags=["信用报告"])


class IssueBody(BaseModel):
    subject: str | None = Field(
        None, description="统一社会信用代码、名称或主体编号；信用主体账号可省略（默认本主体）"
    )
    view: str = Field("public", description="报告版本：public（公开版）或 subject（主体完整版）")
    purpose: str | None = Field(None, description="报告用途（必填），如「招投标」")


def issued(report: Any) -> dict[str, Any]:
    out = service.summary(report)
    out["purpose"] = report.purpose
    out["requested_by"] = report.requested_by
    out["verify_url"] = service.verify_url(report.serial)
    out["pdf_url"] = f"/api/v1/reports/{report.serial}/pdf"
    return out


def read_upload(file: UploadFile) -> bytes:
    """The uploaded bytes, refusing (without reading it all) a file over the limit."""
    limit = report_settings().verify_upload_limit
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise DomainError(
            "REPORT_FILE_TOO_LARGE",
            f"上传的文件过大：报告文件不超过 {limit // 1024 // 1024} MB",
            status=413,
        )
    return data


@router.post("", summary="申请信用报告（信用主体申请本主体；政府部门可为任一主体出具）",
             status_code=201)
def issue(
    request: Request,
    body: IssueBody = Body(...),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    me: Principal = principal_of(request)
    service.check_can_issue(me, None)
    key: str | int | None = body.subject
    if not key:
        if me.role == "subject" and me.subject_id is not None:
            key = me.subject_id
        else:
            raise DomainError("REPORT_SUBJECT_REQUIRED", "请填写信用主体（subject）：统一社会信用代码或名称",
                              status=422)
    report = service.issue_report(session, subject=key, view=body.view, purpose=body.purpose or "",
                                  principal=me)
    session.commit()
    return json_response(issued(report), status_code=201)


@router.post("/verify", summary="上传报告 PDF 核验签名及是否为本平台出具")
def verify_upload(
    file: UploadFile = File(..., description="报告 PDF 文件（不超过 20 MB）"),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return json_response(service.verify_upload(session, read_upload(file)))


@router.get("/{serial}", summary="按报告编号核验：报告内容摘要及主体信用记录此后是否变化")
def read(
    serial: str, request: Request, session: Session = Depends(get_session, scope="function"),
) -> Response:
    return json_response(service.verify_serial(session, serial, principal_of(request)))


@router.get("/{serial}/pdf", summary="下载报告原件（该主体本人或政府部门）")
def download(
    serial: str, request: Request, session: Session = Depends(get_session, scope="function"),
) -> Response:
    me = principal_of(request)
    report, data = service.report_pdf(session, serial, me)
    view, subject_id, serial = report.view, report.subject_id, report.serial
    session.rollback()  # end the read before the audit writes (SQLite: one writer)
    audit_restricted_read(me, view, subject_id,  # type: ignore[arg-type]
                          action="reports.read_restricted", purpose="下载信用报告原件",
                          target=f"report:{serial}")
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{serial}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )

"""Pages of credit reports: the subject's own (/me/reports), the office's (/admin/reports) and
the public verification pages (/verify, /verify/{serial})."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import (
    admin_form,
    check_csrf,
    principal_of,
    require_admin,
    require_subject,
)
from xinyong.reports import service
from xinyong.reports.api import read_upload
from xinyong.web.render import PAGE_SIZE, page_number, pager, render

router = APIRouter(include_in_schema=False)

VIEW_CHOICES = {"public": "公开版（仅公开信息，可提供给第三方）",
                "subject": "主体完整版（含受限公开信息，供本主体使用）"}


# ------------------------------------------------------------------------------ subject


def _me_page(request: Request, session: Session, me: Principal, *, status: int = 200,
             error: str | None = None, form: dict[str, str] | None = None,
             page: str | None = None) -> HTMLResponse:
    n = page_number(page)
    rows, total = service.list_reports(session, subject_id=me.subject_id, limit=PAGE_SIZE,
                                       offset=(n - 1) * PAGE_SIZE)
    issued = request.query_params.get("issued", "")
    return render(request, "reports/me.html", {
        "reports": rows, "total": total, "pager": pager(request, n, total=total),
        "views": VIEW_CHOICES, "error": error, "form": form or {},
        "issued": issued if service.SERIAL_RE.fullmatch(issued) else "",
        "validity_days": service.rules()["validity_days"],
    }, status=status, nav="me-reports")


@router.get("/me/reports", response_class=HTMLResponse)
def me_reports(request: Request, page: str | None = None,
               me: Principal = Depends(require_subject),
               session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _me_page(request, session, me, page=page)


@router.post("/me/reports", response_class=HTMLResponse)
def me_issue(request: Request, view: str = Form("public"), purpose: str = Form(""),
             csrf_token: str = Form(""), me: Principal = Depends(require_subject),
             session: Session = Depends(get_session, scope="function")) -> Response:
    check_csrf(request, csrf_token)
    try:
        report = service.issue_report(session, subject=me.subject_id or 0, view=view,
                                      purpose=purpose, principal=me)
        serial = report.serial
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _me_page(request, session, me, status=exc.status, error=exc.message,
                        form={"view": view, "purpose": purpose})
    return RedirectResponse(f"/me/reports?issued={quote(serial)}", status_code=303)


# ------------------------------------------------------------------------------ admin


def _admin_page(request: Request, session: Session, *, q: str = "", page: str | None = None,
                status: int = 200, error: str | None = None,
                form: dict[str, str] | None = None) -> HTMLResponse:
    n = page_number(page)
    q = q.replace("\x00", "").strip()[:100]
    rows, total = service.list_reports(session, q=q, limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    issued = request.query_params.get("issued", "")
    return render(request, "reports/admin.html", {
        "reports": rows, "total": total, "q": q,
        "pager": pager(request, n, total=total, params={"q": q} if q else None),
        "views": VIEW_CHOICES, "error": error, "form": form or {},
        "issued": issued if service.SERIAL_RE.fullmatch(issued) else "",
    }, status=status, nav="admin-reports")


@router.get("/admin/reports", response_class=HTMLResponse)
def admin_reports(request: Request, q: str = "", page: str | None = None,
                  _: Principal = Depends(require_admin),
                  session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _admin_page(request, session, q=q, page=page)


@router.post("/admin/reports", response_class=HTMLResponse)
def admin_issue(request: Request, subject: str = Form(""), view: str = Form("public"),
                purpose: str = Form(""), me: Principal = Depends(admin_form),
                session: Session = Depends(get_session, scope="function")) -> Response:
    try:
        if not subject.strip():
            raise DomainError("REPORT_SUBJECT_REQUIRED",
                              "请填写信用主体：统一社会信用代码或名称", status=422)
        report = service.issue_report(session, subject=subject, view=view, purpose=purpose,
                                      principal=me)
        serial = report.serial
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _admin_page(request, session, status=exc.status, error=exc.message,
                           form={"subject": subject, "view": view, "purpose": purpose})
    return RedirectResponse(f"/admin/reports?issued={quote(serial)}", status_code=303)


# ------------------------------------------------------------------------------ verify


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, serial: str = "") -> Response:
    key = service.normalize_serial(serial)
    if key:
        return RedirectResponse(f"/verify/{quote(key[:40])}", status_code=303)
    return render(request, "reports/verify.html", {"result": None, "error": None}, nav="verify")


@router.post("/verify", response_class=HTMLResponse)
def verify_upload_page(request: Request, file: UploadFile | None = File(None),
                       csrf_token: str = Form(""),
                       session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    check_csrf(request, csrf_token)
    try:
        if file is None or not file.filename:
            raise DomainError("REPORT_FILE_EMPTY", "请选择要核验的报告 PDF 文件", status=422)
        result: dict[str, Any] = service.verify_upload(session, read_upload(file))
    except DomainError as exc:
        return render(request, "reports/verify.html", {"result": None, "error": exc.message},
                      status=exc.status, nav="verify")
    return render(request, "reports/verify.html", {"result": result, "error": None},
                  nav="verify")


@router.get("/verify/{serial}", response_class=HTMLResponse)
def verify_serial_page(request: Request, serial: str,
                       session: Session = Depends(get_session, scope="function")
                       ) -> HTMLResponse:
    me = principal_of(request)
    try:
        info = service.verify_serial(session, serial, me)
    except DomainError as exc:
        return render(request, "reports/verify.html", {"result": None, "error": exc.message,
                                                       "serial": serial[:40]},
                      status=exc.status, nav="verify")
    return render(request, "reports/report.html", {"r": info}, nav="verify")

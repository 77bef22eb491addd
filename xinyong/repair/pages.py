"""Credit repair pages: the subject's (/me/repair: what it can repair, its notices and
applications), the credit office's queue (/admin/repair), the department's review queue
(/dept/repair), and the public progress lookup (/repair/progress). Scoping is the service's
(``get_application``, ``list_applications``), not the templates'."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core import clock
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.ratelimit import limit_public_search
from xinyong.core.security import (
    admin_form,
    check_csrf,
    department_form,
    require_admin,
    require_department,
    require_login,
    require_subject,
)
from xinyong.repair import service
from xinyong.repair.api import uploads_of
from xinyong.repair.eligibility import current_rules
from xinyong.web.render import render

router = APIRouter(include_in_schema=False)


def _pdf(name: str, data: bytes) -> Response:
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}.pdf"',
                             "Cache-Control": "no-store"})


# ------------------------------------------------------------------------------ subject


@router.get("/me/repair", response_class=HTMLResponse)
def my_repair(
    request: Request, me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    assert me.subject_id is not None
    return render(request, "repair/me.html", {
        "e": service.eligibility(session, me.subject_id),
        "notices": service.notices(session, me.subject_id),
        "applications": service.list_applications(session, me),
        "rules": current_rules(),
    }, nav="me-repair")


def _apply_page(request: Request, session: Session, me: Principal, record_id: int,
                status: int = 200, error: str | None = None, form: dict[str, Any] | None = None
                ) -> HTMLResponse:
    assert me.subject_id is not None
    rules = current_rules()
    item = service.record_eligibility(session, me.subject_id, record_id)
    subject = service._subject(session, me.subject_id)
    return render(request, "repair/apply.html", {
        "item": item, "error": error, "form": form or {},
        "commitment_title": rules.commitment_title,
        "commitment": service.commitment_text(rules, subject, service.record_label(item),
                                              clock.today()),
        "max_mb": rules.max_bytes // (1024 * 1024), "max_files": rules.max_files,
        "completion_days": rules.deadlines["completion"].working_days,
    }, nav="me-repair", status=status)


@router.get("/me/repair/records/{repair_record_id}", response_class=HTMLResponse)
def apply_page(
    request: Request, repair_record_id: int, me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _apply_page(request, session, me, repair_record_id)


@router.post("/me/repair/records/{repair_record_id}", response_class=HTMLResponse)
def apply_submit(
    request: Request,
    repair_record_id: int,
    csrf_token: str = Form(""),
    affirm: str = Form(""),
    defer_missing: str = Form(""),
    statement: str = Form(""),
    files: list[UploadFile] = File(default=[]),
    kinds: list[str] = Form(default=[]),
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    check_csrf(request, csrf_token)
    # Only the file inputs that carry a file: an empty input sends an empty part.
    pairs = [(f, k) for f, k in zip(files, kinds, strict=False) if f.filename]
    form = {"statement": statement, "defer_missing": bool(defer_missing)}
    try:
        app = service.apply(
            session, me, repair_record_id,
            uploads=uploads_of([f for f, _ in pairs], [k for _, k in pairs]),
            affirm=bool(affirm), defer_missing=bool(defer_missing), statement=statement,
        )
    except DomainError as exc:
        session.rollback()
        return _apply_page(request, session, me, repair_record_id, status=exc.status,
                           error=f"未提交（{exc.code}）：{exc.message}", form=form)
    session.commit()
    return RedirectResponse(f"/me/repair/{app.id}?submitted=1", status_code=303)


@router.get("/me/repair/notices/{repair_record_id}.pdf")
def my_notice_pdf(
    repair_record_id: int, me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    assert me.subject_id is not None
    serial, data = service.notice_pdf(session, me.subject_id, repair_record_id)
    return _pdf(serial, data)


def _detail_page(request: Request, session: Session, me: Principal, repair_id: int,
                 portal: str, status: int = 200, error: str | None = None) -> HTMLResponse:
    nav = {"me": "me-repair", "admin": "admin-repair", "dept": "dept-repair"}[portal]
    return render(request, "repair/application.html", {
        "a": service.detail(session, me, repair_id), "portal": portal, "error": error,
        "submitted": request.query_params.get("submitted") == "1",
        "max_mb": current_rules().max_bytes // (1024 * 1024),
    }, nav=nav, status=status)


@router.get("/me/repair/{repair_id}", response_class=HTMLResponse)
def my_application(
    request: Request, repair_id: int, me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _detail_page(request, session, me, repair_id, "me")


@router.post("/me/repair/{repair_id}/materials", response_class=HTMLResponse)
def my_materials(
    request: Request,
    repair_id: int,
    csrf_token: str = Form(""),
    files: list[UploadFile] = File(default=[]),
    kinds: list[str] = Form(default=[]),
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    check_csrf(request, csrf_token)
    pairs = [(f, k) for f, k in zip(files, kinds, strict=False) if f.filename]
    try:
        service.add_materials(session, me, repair_id,
                              uploads_of([f for f, _ in pairs], [k for _, k in pairs]))
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _detail_page(request, session, me, repair_id, "me", status=exc.status,
                            error=f"未上传（{exc.code}）：{exc.message}")
    session.commit()
    return RedirectResponse(f"/me/repair/{repair_id}", status_code=303)


@router.get("/me/repair/{repair_id}/decision.pdf")
def my_decision_pdf(
    repair_id: int, me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    serial, data = service.decision_pdf(session, me, repair_id)
    return _pdf(serial, data)


# ------------------------------------------------------------------------------ office & depts


def _queue(request: Request, session: Session, me: Principal, portal: str, status: str,
           overdue: str) -> HTMLResponse:
    items = service.list_applications(session, me, status=status or None,
                                      overdue=overdue == "1")
    return render(request, "repair/queue.html", {
        "items": items, "portal": portal, "status": status, "overdue": overdue == "1",
        "statuses": service.STATUS_LABELS,
    }, nav="admin-repair" if portal == "admin" else "dept-repair")


@router.get("/admin/repair", response_class=HTMLResponse)
def admin_queue(
    request: Request, status: str = "open", overdue: str = "",
    me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _queue(request, session, me, "admin", status, overdue)


@router.get("/dept/repair", response_class=HTMLResponse)
def dept_queue(
    request: Request, status: str = "open", overdue: str = "",
    me: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _queue(request, session, me, "dept", status, overdue)


@router.get("/admin/repair/{repair_id}", response_class=HTMLResponse)
def admin_application(
    request: Request, repair_id: int, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _detail_page(request, session, me, repair_id, "admin")


@router.get("/dept/repair/{repair_id}", response_class=HTMLResponse)
def dept_application(
    request: Request, repair_id: int, me: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _detail_page(request, session, me, repair_id, "dept")


def _act(request: Request, session: Session, me: Principal, repair_id: int, portal: str,
         fn: Any) -> Response:
    try:
        fn()
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _detail_page(request, session, me, repair_id, portal, status=exc.status,
                            error=f"未办理（{exc.code}）：{exc.message}")
    session.commit()
    return RedirectResponse(f"/{portal}/repair/{repair_id}", status_code=303)


@router.post("/admin/repair/{repair_id}/accept", response_class=HTMLResponse)
def admin_accept(
    request: Request, repair_id: int, outcome: str = Form("accept"), reason: str = Form(""),
    me: Principal = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _act(request, session, me, repair_id, "admin", lambda: service.accept(
        session, me, repair_id, accept=outcome != "reject", reason=reason))


@router.post("/admin/repair/{repair_id}/decide", response_class=HTMLResponse)
def admin_decide(
    request: Request, repair_id: int, outcome: str = Form(""), reasons: str = Form(""),
    me: Principal = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _act(request, session, me, repair_id, "admin", lambda: service.decide(
        session, me, repair_id, approve=outcome == "approve", reasons=reasons))


@router.post("/dept/repair/{repair_id}/review", response_class=HTMLResponse)
def dept_review(
    request: Request, repair_id: int, outcome: str = Form(""), reason: str = Form(""),
    me: Principal = Depends(department_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _act(request, session, me, repair_id, "dept", lambda: service.review(
        session, me, repair_id, agree=outcome == "agree", reason=reason))


@router.get("/repair/materials/{repair_material_id}")
def material(
    repair_material_id: int, me: Principal = Depends(require_login),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    mat, path = service.material_file(session, me, repair_material_id)
    media = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}[mat.file_type]
    return FileResponse(path, media_type=media, filename=mat.filename,
                        headers={"Cache-Control": "no-store",
                                 "X-Content-Type-Options": "nosniff"})


# ------------------------------------------------------------------------------ public


@router.get("/repair/progress", response_class=HTMLResponse,
            dependencies=[Depends(limit_public_search)])
def progress_page(
    request: Request, code: str = "",
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    result = error = None
    status = 200
    if code.strip():
        try:
            result = service.progress(session, code)
        except DomainError as exc:
            error, status = exc.message, exc.status
    return render(request, "repair/progress.html",
                  {"code": code, "p": result, "error": error}, nav="repair-progress",
                  status=status)

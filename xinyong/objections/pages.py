"""Objection pages: the subject's (/me/objections: its cases, and the form to dispute one of
its records), the credit office's queue and case pages (/admin/objections), and the department's
(/dept/objections: the cases sent to it, where it answers). Which cases each one sees is the
service's rule; a refused form shows the page again with the Chinese message and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from xinyong.accounts.principal import Principal
from xinyong.core import clock
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import check_csrf, require_admin, require_department, require_subject
from xinyong.objections import service
from xinyong.web.render import PAGE_SIZE, error_page, page_number, pager, render

router = APIRouter(include_in_schema=False)

NAV = {"me": "me-objections", "admin": "admin-objections", "dept": "dept-objections"}
VALUE_PREFIX = "value__"
STATUS_FILTERS = {
    "open": "全部未办结",
    "filed": "待受理",
    "checking": "平台核查中",
    "assigned": "数据提供单位核实中",
    "answered": "待作出决定",
    "decided": "已办结",
    "not_accepted": "不予受理",
}


def _values(form: FormData) -> dict[str, str]:
    return {k[len(VALUE_PREFIX):]: str(v) for k, v in form.items()
            if k.startswith(VALUE_PREFIX) and isinstance(v, str) and v.strip()}


def _correction(form: FormData, choice: str) -> dict[str, str] | None:
    """The form shows the value inputs prefilled whatever the choice; they count only for a
    correction (the API, which gets exactly what its caller sends, refuses them otherwise)."""
    return _values(form) if _text(form, choice) == "corrected" else None


def _text(form: FormData, name: str) -> str:
    v = form.get(name)
    return v if isinstance(v, str) else ""


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# ------------------------------------------------------------------------------ subject


def _me_page(request: Request, session: Session, me: Principal, *, status: int = 200,
             error: str | None = None, form: dict[str, Any] | None = None,
             record_id: int | None = None) -> HTMLResponse:
    assert me.subject_id is not None
    n = page_number(request.query_params.get("page"))
    rows, total = service.list_objections(session, me, limit=PAGE_SIZE,
                                          offset=(n - 1) * PAGE_SIZE)
    records = service.disputable_records(session, me.subject_id)
    chosen = record_id if record_id is not None else _int((form or {}).get("record_id"))
    if chosen not in {r["id"] for r in records}:
        chosen = None  # not (or no longer) disputable: the list says which ones are
    fields = service.correctable_fields(session, chosen, me.subject_id) if chosen else []
    rs = service.rules()
    return render(request, "objections/me.html", {
        "rows": rows, "total": total, "pager": pager(request, n, total=total),
        "records": records, "chosen": chosen, "fields": fields, "form": form or {},
        "error": error, "max_files": rs.max_files, "max_mb": rs.max_bytes // (1024 * 1024),
        "kinds": "、".join(rs.kind_labels.values()),
        "filed": request.query_params.get("filed"),
    }, nav=NAV["me"], status=status)


@router.get("/me/objections", response_class=HTMLResponse)
def me_objections(
    request: Request, record_id: str | None = None,
    me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _me_page(request, session, me, record_id=_int(record_id))


@router.post("/me/objections", response_class=HTMLResponse)
async def me_file(
    request: Request, me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    form = await request.form()
    check_csrf(request, _text(form, "csrf_token"))
    uploads = await _uploads(form)

    def work() -> Response:
        kept = {"record_id": _text(form, "record_id"), "reason": _text(form, "reason"),
                "contact": _text(form, "contact"), "values": _values(form)}
        record_id = _int(kept["record_id"])
        try:
            if record_id is None:
                raise DomainError("OBJECTION_RECORD_REQUIRED", "请选择有异议的信用记录")
            oid = service.file_objection(
                session, actor=me.actor, record_id=record_id, reason=kept["reason"],
                claimed_values=kept["values"], uploads=uploads, subject_id=me.subject_id,
                contact=kept["contact"])
        except DomainError as exc:
            session.rollback()
            return _me_page(request, session, me, status=exc.status,
                            error=f"未提交（{exc.code}）：{exc.message}", form=kept)
        return RedirectResponse(f"/me/objections/{oid}?filed=1", status_code=303)

    return await run_in_threadpool(work)


async def _uploads(form: FormData) -> list[service.Upload]:
    limit = service.rules().max_bytes + 1  # one byte past the limit tells "too large"
    out = []
    for item in form.getlist("files"):
        if isinstance(item, UploadFile) and (item.filename or item.size):
            out.append(service.Upload(item.filename or "", await item.read(limit)))
    return out


@router.get("/me/objections/{objection_id}", response_class=HTMLResponse)
def me_objection(
    request: Request, objection_id: int, me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _case_page(request, session, me, "me", objection_id)


@router.post("/me/objections/{objection_id}/evidence", response_class=HTMLResponse)
async def me_evidence(
    request: Request, objection_id: int, me: Principal = Depends(require_subject),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    form = await request.form()
    check_csrf(request, _text(form, "csrf_token"))
    uploads = await _uploads(form)

    def work() -> Response:
        return _act(request, session, me, "me", objection_id,
                    lambda: service.add_evidence(session, objection_id, viewer=me,
                                                 uploads=uploads, actor=me.actor))

    return await run_in_threadpool(work)


# ------------------------------------------------------------------------------ case pages


def _case_page(request: Request, session: Session, me: Principal, portal: str,
               objection_id: int, *, status: int = 200, error: str | None = None,
               notice: str | None = None) -> HTMLResponse:
    try:
        case = service.get_objection(session, me, objection_id)
    except DomainError as exc:
        return error_page(request, exc.message, exc.status)
    fields = []
    if portal in ("admin", "dept") and case["status"] in ("checking", "assigned", "answered"):
        fields = service.correctable_fields(session, case["record"]["id"])
    rs = service.rules()
    return render(request, "objections/detail.html", {
        "c": case, "portal": portal, "error": error, "notice": notice, "fields": fields,
        "refusals": rs.not_accepted_reasons, "findings": service.FINDING_LABELS,
        "outcomes": service.OUTCOME_LABELS, "max_files": rs.max_files,
        "kinds": "、".join(rs.kind_labels.values()),
        "filed": request.query_params.get("filed"),
    }, nav=NAV[portal], status=status)


def _act(request: Request, session: Session, me: Principal, portal: str, objection_id: int,
         fn: Callable[[], object]) -> Response:
    try:
        fn()
    except DomainError as exc:
        session.rollback()
        return _case_page(request, session, me, portal, objection_id, status=exc.status,
                          error=f"未办理（{exc.code}）：{exc.message}")
    return RedirectResponse(f"/{portal}/objections/{objection_id}?done=1", status_code=303)


# ------------------------------------------------------------------------------ queues


def _queue(request: Request, session: Session, me: Principal, portal: str, *,
           status_filter: str, overdue: bool, status: int = 200, error: str | None = None,
           form: dict[str, Any] | None = None) -> HTMLResponse:
    n = page_number(request.query_params.get("page"))
    rows, total = service.list_objections(
        session, me, status=status_filter or None, overdue=overdue, limit=PAGE_SIZE,
        offset=(n - 1) * PAGE_SIZE)
    return render(request, "objections/queue.html", {
        "rows": rows, "total": total, "portal": portal,
        "pager": pager(request, n, total=total),
        "counts": service.counts(session, me), "status_filter": status_filter,
        "overdue": overdue, "filters": STATUS_FILTERS, "error": error, "form": form or {},
        "today": clock.today().isoformat(),
    }, nav=NAV[portal], status=status)


@router.get("/admin/objections", response_class=HTMLResponse)
def admin_queue(
    request: Request, status: str = "open", overdue: str = "",
    me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _queue(request, session, me, "admin", status_filter=status, overdue=overdue == "1")


@router.post("/admin/objections", response_class=HTMLResponse)
async def admin_file(
    request: Request, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """A paper objection entered by the office on the subject's behalf."""
    form = await request.form()
    check_csrf(request, _text(form, "csrf_token"))
    uploads = await _uploads(form)

    def work() -> Response:
        kept = {k: _text(form, k) for k in ("record_id", "reason", "contact", "received_on")}
        try:
            record_id = _int(kept["record_id"])
            if record_id is None:
                raise DomainError("OBJECTION_RECORD_REQUIRED", "请填写有异议的信用记录编号")
            try:
                received = dt.date.fromisoformat(kept["received_on"]) if kept["received_on"] \
                    else None
            except ValueError as exc:
                raise DomainError("OBJECTION_RECEIVED_INVALID",
                                  "收到日期格式应为 YYYY-MM-DD") from exc
            oid = service.file_objection(
                session, actor=me.actor, record_id=record_id, reason=kept["reason"],
                claimed_values=_values(form), uploads=uploads, subject_id=None,
                channel="paper", received_on=received, contact=kept["contact"])
        except DomainError as exc:
            session.rollback()
            return _queue(request, session, me, "admin", status_filter="open", overdue=False,
                          status=exc.status, error=f"未录入（{exc.code}）：{exc.message}",
                          form=kept)
        return RedirectResponse(f"/admin/objections/{oid}", status_code=303)

    return await run_in_threadpool(work)


@router.get("/admin/objections/{objection_id}", response_class=HTMLResponse)
def admin_case(
    request: Request, objection_id: int, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _case_page(request, session, me, "admin", objection_id)


async def _admin_step(request: Request, session: Session, me: Principal, objection_id: int,
                      run: Callable[[FormData], object]) -> Response:
    form = await request.form()
    check_csrf(request, _text(form, "csrf_token"))
    return await run_in_threadpool(
        _act, request, session, me, "admin", objection_id, lambda: run(form))


# One decorated route per step (the access matrix counts routes by their decorators).
@router.post("/admin/objections/{objection_id}/accept", response_class=HTMLResponse)
async def admin_accept(
    request: Request, objection_id: int, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return await _admin_step(request, session, me, objection_id, lambda f: service.accept(
        session, objection_id, actor=me.actor, note=_text(f, "note")))


@router.post("/admin/objections/{objection_id}/refuse", response_class=HTMLResponse)
async def admin_refuse(
    request: Request, objection_id: int, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return await _admin_step(request, session, me, objection_id, lambda f: service.refuse(
        session, objection_id, actor=me.actor, code=_text(f, "code"), reason=_text(f, "reason")))


@router.post("/admin/objections/{objection_id}/check", response_class=HTMLResponse)
async def admin_check(
    request: Request, objection_id: int, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return await _admin_step(request, session, me, objection_id, lambda f: service.check(
        session, objection_id, actor=me.actor, finding=_text(f, "finding"),
        note=_text(f, "note")))


@router.post("/admin/objections/{objection_id}/assign", response_class=HTMLResponse)
async def admin_assign(
    request: Request, objection_id: int, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return await _admin_step(request, session, me, objection_id, lambda f: service.assign(
        session, objection_id, actor=me.actor, note=_text(f, "note")))


@router.post("/admin/objections/{objection_id}/decide", response_class=HTMLResponse)
async def admin_decide(
    request: Request, objection_id: int, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return await _admin_step(request, session, me, objection_id, lambda f: service.decide(
        session, objection_id, actor=me.actor, outcome=_text(f, "outcome"),
        reason=_text(f, "reason"), values=_correction(f, "outcome")))


# ------------------------------------------------------------------------------ department


@router.get("/dept/objections", response_class=HTMLResponse)
def dept_queue(
    request: Request, status: str = "open", overdue: str = "",
    me: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _queue(request, session, me, "dept", status_filter=status, overdue=overdue == "1")


@router.get("/dept/objections/{objection_id}", response_class=HTMLResponse)
def dept_case(
    request: Request, objection_id: int, me: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _case_page(request, session, me, "dept", objection_id)


@router.post("/dept/objections/{objection_id}/answer", response_class=HTMLResponse)
async def dept_answer(
    request: Request, objection_id: int, me: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    form = await request.form()
    check_csrf(request, _text(form, "csrf_token"))
    assert me.department_id is not None
    department_id = me.department_id
    return await run_in_threadpool(
        _act, request, session, me, "dept", objection_id,
        lambda: service.answer(session, objection_id, department_id=department_id,
                               actor=me.actor, proposal=_text(form, "proposal"),
                               reason=_text(form, "reason"),
                               values=_correction(form, "proposal")))

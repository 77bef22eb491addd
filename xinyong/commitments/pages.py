"""Pages of credit commitments: the public list (/commitments), the subject's portal
(/me/commitments: sign a department's request or make a commitment), the department's
(/dept/commitments: request, confirm fulfilment, record a breach, check eligibility) and the
administrator's overview (/admin/commitments). Scoping is the service's (``detail`` views and
``list_all(department_id=…)``), not the templates'."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.accounts.access import audit_restricted_read
from xinyong.accounts.principal import Principal
from xinyong.commitments import service
from xinyong.core import clock
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import (
    check_csrf,
    require_admin,
    require_department,
    require_subject,
)
from xinyong.departments.service import list_departments
from xinyong.web.render import PAGE_SIZE, error_page, page_number, pager, render

router = APIRouter(include_in_schema=False)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token") or ""))
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _fields(form: dict[str, str]) -> dict[str, str]:
    return {k[2:]: v for k, v in form.items() if k.startswith("f_")}


def _labels() -> dict[str, Any]:
    return {"kinds": service.load_templates().kinds, "status_labels": service.STATUS_LABELS}


# ------------------------------------------------------------------------------ public


@router.get("/commitments", response_class=HTMLResponse)
def public_list(request: Request, q: str = "", kind: str = "", page: str | None = None,
                session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    n = page_number(page)
    kind = kind if kind in service.load_templates().kinds else ""
    items, total = service.list_public(session, q=q, kind=kind or None, limit=PAGE_SIZE,
                                       offset=(n - 1) * PAGE_SIZE)
    return render(request, "commitments/public_list.html", {
        "items": items, "total": total, "q": q[:100], "kind": kind,
        "pager": pager(request, n, total=total), **_labels(),
    }, nav="commitments")


@router.get("/commitments/{commitment_id}", response_class=HTMLResponse)
def public_detail(request: Request, commitment_id: int,
                  session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    try:
        c = service.detail(session, commitment_id, view="public")
    except DomainError as exc:
        return error_page(request, exc.message, exc.status)
    return render(request, "commitments/detail.html", {"c": c, "portal": "public", **_labels()},
                  nav="commitments")


# ------------------------------------------------------------------------------ the subject


def _my_page(request: Request, session: Session, me: Principal, status: int = 200,
             **extra: Any) -> HTMLResponse:
    assert me.subject_id is not None
    items, _ = service.list_for_subject(session, me.subject_id, limit=500)
    return render(request, "commitments/my_list.html", {
        "items": items, "templates": service.list_templates(self_service=True),
        "error": None, **_labels(), **extra,
    }, nav="me-commitments", status=status)


@router.get("/me/commitments", response_class=HTMLResponse)
def my_list(request: Request, me: Principal = Depends(require_subject),
            session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _my_page(request, session, me)


def _new_page(request: Request, session: Session, me: Principal, template: str,
              form: dict[str, str], status: int = 200, error: str | None = None,
              preview: str | None = None) -> HTMLResponse:
    tpl = service.get_template(template)
    if not tpl.self_service:
        raise service.CommitmentError("COMMITMENT_TEMPLATE_NOT_SELF_SERVICE",
                                      f"《{tpl.title}》须由审批部门发起")
    return render(request, "commitments/new.html", {
        "t": tpl.summary(service.load_templates().kinds), "form": form, "error": error,
        "preview": preview, "departments": list_departments(session), **_labels(),
    }, nav="me-commitments", status=status)


@router.get("/me/commitments/new", response_class=HTMLResponse)
def my_new(request: Request, template: str = "", me: Principal = Depends(require_subject),
           session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    try:
        return _new_page(request, session, me, template, {})
    except DomainError as exc:
        return _my_page(request, session, me, status=400, error=f"{exc.message}（{exc.code}）")


@router.post("/me/commitments/new", response_class=HTMLResponse)
async def my_new_sign(request: Request, me: Principal = Depends(require_subject),
                      session: Session = Depends(get_session, scope="function")) -> Response:
    form = await _form(request)
    template = form.get("template", "")
    fields, dept = _fields(form), form.get("department") or None
    try:
        if form.get("action") == "preview":
            text_ = service.preview_new(session, me=me, template=template, fields=fields,
                                        department=dept)
            return _new_page(request, session, me, template, form, preview=text_)
        c = service.sign_new(session, me=me, template=template, fields=fields, department=dept,
                             affirm=form.get("affirm") == "yes")
    except DomainError as exc:
        session.rollback()
        try:
            return _new_page(request, session, me, template, form, status=exc.status,
                             error=f"未签署（{exc.code}）：{exc.message}")
        except DomainError:
            return _my_page(request, session, me, status=exc.status, error=exc.message)
    session.commit()
    return RedirectResponse(f"/me/commitments/{c.id}?signed=1", status_code=303)


def _my_detail(request: Request, session: Session, me: Principal, commitment_id: int,
               status: int = 200, **extra: Any) -> HTMLResponse:
    try:
        c = service.detail(session, commitment_id, view="subject", me=me)
    except DomainError as exc:
        return error_page(request, exc.message, exc.status)
    return render(request, "commitments/detail.html", {
        "c": c, "portal": "me", "form": {}, "error": None, **_labels(), **extra,
    }, nav="me-commitments", status=status)


@router.get("/me/commitments/{commitment_id}", response_class=HTMLResponse)
def my_detail(request: Request, commitment_id: int, me: Principal = Depends(require_subject),
              session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _my_detail(request, session, me, commitment_id)


@router.post("/me/commitments/{commitment_id}/sign", response_class=HTMLResponse)
async def my_sign(request: Request, commitment_id: int,
                  me: Principal = Depends(require_subject),
                  session: Session = Depends(get_session, scope="function")) -> Response:
    form = await _form(request)
    try:
        service.sign_request(session, commitment_id, me=me, fields=_fields(form),
                             affirm=form.get("affirm") == "yes")
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            return error_page(request, exc.message, 404)
        return _my_detail(request, session, me, commitment_id, status=exc.status, form=form,
                          error=f"未签署（{exc.code}）：{exc.message}")
    session.commit()
    return RedirectResponse(f"/me/commitments/{commitment_id}?signed=1", status_code=303)


# ------------------------------------------------------------------------------ departments


def _requestable() -> list[dict[str, Any]]:
    return [t for t in service.list_templates() if t["department"] != "none"
            and t["kind"] != "repair"]


def _dept_page(request: Request, session: Session, me: Principal, *, status: int = 200,
               state: str = "", overdue: str = "", q: str = "", page: str | None = None,
               check: dict[str, Any] | None = None, **extra: Any) -> HTMLResponse:
    n = page_number(page)
    state = state if state in service.STATUS_LABELS else ""
    items, total = service.list_all(session, department_id=me.department_id,
                                     status=state or None, overdue=overdue == "1", q=q,
                                     limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    return render(request, "commitments/dept_list.html", {
        "items": items, "total": total, "state": state, "overdue": overdue, "q": q[:100],
        "pager": pager(request, n, total=total), "templates": _requestable(), "check": check,
        "form": {}, "error": None, "portal": "dept", **_labels(), **extra,
    }, nav="dept-commitments", status=status)


@router.get("/dept/commitments", response_class=HTMLResponse)
def dept_list(request: Request, status: str = "", overdue: str = "", q: str = "",
              page: str | None = None, check_code: str = "", check_kind: str = "",
              me: Principal = Depends(require_department),
              session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    check = None
    if check_code:
        try:
            check = service.eligibility_for_code(session, check_code, check_kind or
                                                 "notify_commit")
        except DomainError as exc:
            check = {"error": f"{exc.message}（{exc.code}）"}
    return _dept_page(request, session, me, state=status, overdue=overdue, q=q, page=page,
                      check=check, check_code=check_code[:40], check_kind=check_kind)


@router.get("/dept/commitments/new", response_class=HTMLResponse)
def dept_new(request: Request, template: str = "", me: Principal = Depends(require_department),
             session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _dept_new_page(request, template, {})


def _dept_new_page(request: Request, template: str, form: dict[str, str], status: int = 200,
                   error: str | None = None) -> HTMLResponse:
    try:
        tpl = service.get_template(template)
    except DomainError as exc:
        return error_page(request, exc.message, exc.status)
    return render(request, "commitments/dept_new.html", {
        "t": tpl.summary(service.load_templates().kinds), "form": form, "error": error,
        "today": clock.today(), **_labels(),
    }, nav="dept-commitments", status=status)


@router.post("/dept/commitments/new", response_class=HTMLResponse)
async def dept_request(request: Request, me: Principal = Depends(require_department),
                       session: Session = Depends(get_session, scope="function")) -> Response:
    form = await _form(request)
    template = form.get("template", "")
    try:
        due = form.get("due_on", "").strip()
        try:
            due_on = dt.date.fromisoformat(due) if due else None
        except ValueError:
            raise service.CommitmentError("COMMITMENT_DEADLINE_INVALID",
                                          "承诺履行期限应为日期（YYYY-MM-DD）") from None
        assert me.department_id is not None
        c = service.request_commitment(session, department_id=me.department_id, actor=me.actor,
                                       code=form.get("code", ""), template=template,
                                       fields=_fields(form), due_on=due_on)
    except DomainError as exc:
        session.rollback()
        return _dept_new_page(request, template, form, status=exc.status,
                              error=f"未发起（{exc.code}）：{exc.message}")
    session.commit()
    return RedirectResponse(f"/dept/commitments/{c.id}?requested=1", status_code=303)


def _gov_detail(request: Request, session: Session, me: Principal, commitment_id: int,
                portal: str, status: int = 200, **extra: Any) -> HTMLResponse:
    try:
        c = service.detail(session, commitment_id,
                           view="department" if portal == "dept" else "admin", me=me)
    except DomainError as exc:
        return error_page(request, exc.message, exc.status)
    # the commitment's text may hold a service address and a phone number
    audit_restricted_read(me, "government", c["subject_id"], action="commitments.read",
                          purpose="查看信用承诺", target=f"commitment:{commitment_id}")
    return render(request, "commitments/detail.html", {
        "c": c, "portal": portal, "form": {}, "error": None, **_labels(), **extra,
    }, nav="dept-commitments" if portal == "dept" else "admin-commitments", status=status)


@router.get("/dept/commitments/{commitment_id}", response_class=HTMLResponse)
def dept_detail(request: Request, commitment_id: int,
                me: Principal = Depends(require_department),
                session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _gov_detail(request, session, me, commitment_id, "dept")


@router.post("/dept/commitments/{commitment_id}/decision", response_class=HTMLResponse)
async def dept_decide(request: Request, commitment_id: int,
                      me: Principal = Depends(require_department),
                      session: Session = Depends(get_session, scope="function")) -> Response:
    form = await _form(request)
    try:
        if form.get("outcome") == "cancel":
            service.cancel_request(session, commitment_id, department_id=me.department_id,
                                   actor=me.actor, reason=form.get("note", ""))
        else:
            service.decide(session, commitment_id, department_id=me.department_id,
                           actor=me.actor, outcome=form.get("outcome", ""),
                           note=form.get("note", ""))
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            return error_page(request, exc.message, 404)
        return _gov_detail(request, session, me, commitment_id, "dept", status=exc.status,
                           form=form, error=f"未保存（{exc.code}）：{exc.message}")
    session.commit()
    return RedirectResponse(f"/dept/commitments/{commitment_id}?decided=1", status_code=303)


# ------------------------------------------------------------------------------ the office


@router.get("/admin/commitments", response_class=HTMLResponse)
def admin_list(request: Request, status: str = "", kind: str = "", department: str = "",
               overdue: str = "", q: str = "", page: str | None = None,
               me: Principal = Depends(require_admin),
               session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    n = page_number(page)
    status = status if status in service.STATUS_LABELS else ""
    kind = kind if kind in service.load_templates().kinds else ""
    departments = list_departments(session)
    dept_id = next((d.id for d in departments if d.code == department), None)
    items, total = service.list_all(session, department_id=dept_id, status=status or None,
                                    kind=kind or None, overdue=overdue == "1", q=q,
                                    limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    return render(request, "commitments/admin_list.html", {
        "items": items, "total": total, "state": status, "kind": kind,
        "department": department if dept_id else "", "overdue": overdue, "q": q[:100],
        "departments": departments, "pager": pager(request, n, total=total),
        "swept": request.query_params.get("swept"), **_labels(),
    }, nav="admin-commitments")


@router.get("/admin/commitments/{commitment_id}", response_class=HTMLResponse)
def admin_detail(request: Request, commitment_id: int, me: Principal = Depends(require_admin),
                 session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return _gov_detail(request, session, me, commitment_id, "admin")


@router.post("/admin/commitments/sweep", response_class=HTMLResponse)
async def admin_sweep(request: Request, me: Principal = Depends(require_admin),
                      session: Session = Depends(get_session, scope="function")) -> Response:
    await _form(request)
    out = service.sweep(session, actor=me.actor)
    session.commit()
    return RedirectResponse(
        f"/admin/commitments?swept={out.reminders}-{out.overdue}-{out.breached}", status_code=303)

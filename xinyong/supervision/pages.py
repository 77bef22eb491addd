"""Pages of the supervision libraries: the administrator's (/admin, every department's) and a
department officer's (/dept, its own only; the scoping is the service's ``check_owner`` and
``list_libraries(department)``, not the template)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import department_form, require_admin, require_department
from xinyong.departments.service import list_departments
from xinyong.evaluation import service as evaluation
from xinyong.supervision import service
from xinyong.web.pages import admin_form
from xinyong.web.render import PAGE_SIZE, error_page, page_number, pager, render

router = APIRouter(include_in_schema=False)


def _split(value: str) -> list[str] | None:
    parts = [p.strip() for p in value.replace("，", ",").replace("、", ",").split(",") if p.strip()]
    return parts or None


def _list_page(
    request: Request, session: Session, status: int = 200, *, me: Principal, portal: str,
    **extra: Any,
) -> HTMLResponse:
    conn = session.connection()
    own = me.department_code if portal == "dept" else None
    departments = list_departments(session)
    if own:
        departments = [d for d in departments if d.code == own]
    ctx = {
        "libraries": service.list_libraries(conn, own),
        "departments": departments, "portal": portal,
        "models": [m for m in evaluation.list_models(conn) if m["status"] == "active"],
        "error": None,
        "problems": [],
        "form": {},
    }
    ctx.update(extra)
    nav = "supervision" if portal == "admin" else "dept-supervision"
    return render(request, "supervision/libraries.html", ctx, nav=nav, status=status)


@router.get("/admin/supervision", response_class=HTMLResponse)
def libraries_page(
    request: Request, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _list_page(request, session, me=me, portal="admin")


@router.get("/dept/supervision", response_class=HTMLResponse)
def dept_libraries_page(
    request: Request, me: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _list_page(request, session, me=me, portal="dept")


@router.post("/admin/supervision", response_class=HTMLResponse)
def create(
    request: Request,
    department: str = Form(""),
    name: str = Form(""),
    kind: str = Form("condition"),
    industries: str = Form(""),
    regions: str = Form(""),
    model: str = Form(""),
    grades: str = Form(""),
    tags: str = Form(""),
    codes: str = Form(""),
    me: Principal = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _create(request, session, me, "admin", department, name, kind, industries, regions,
                   model, grades, tags, codes)


@router.post("/dept/supervision", response_class=HTMLResponse)
def dept_create(
    request: Request,
    name: str = Form(""),
    kind: str = Form("condition"),
    industries: str = Form(""),
    regions: str = Form(""),
    model: str = Form(""),
    grades: str = Form(""),
    tags: str = Form(""),
    codes: str = Form(""),
    me: Principal = Depends(department_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _create(request, session, me, "dept", me.department_code or "", name, kind,
                   industries, regions, model, grades, tags, codes)


def _create(
    request: Request,
    session: Session,
    me: Principal,
    portal: str,
    department: str,
    name: str,
    kind: str,
    industries: str,
    regions: str,
    model: str,
    grades: str,
    tags: str,
    codes: str,
) -> Response:
    form = {
        "department": department,
        "name": name,
        "kind": kind,
        "industries": industries,
        "regions": regions,
        "model": model,
        "grades": grades,
        "tags": tags,
        "codes": codes,
    }
    condition = None
    code_list = None
    if kind == "list":
        code_list = codes.splitlines()
    else:
        condition = {
            k: v
            for k, v in {
                "industry_sections": _split(industries.upper()),
                "region_prefixes": _split(regions),
                "model": model or None,
                "grades": _split(grades.upper()),
                "tags": _split(tags),
            }.items()
            if v
        }
        if list(condition) == ["model"]:
            condition = {}
    try:
        lib = service.create_library(
            session.connection(),
            department=department,
            name=name,
            condition=condition,
            codes=code_list,
            actor=me.actor,
        )
    except DomainError as exc:
        session.rollback()
        problems = getattr(exc, "problems", [])
        return _list_page(
            request,
            session,
            status=422,
            me=me,
            portal=portal,
            error=f"未创建（{exc.code}）：{exc.message}",
            problems=problems[:100],
            form=form,
        )
    session.commit()
    return RedirectResponse(f"/{portal}/supervision/{lib['id']}", status_code=303)


@router.get("/admin/supervision/{library_id}", response_class=HTMLResponse)
def library_page(
    request: Request,
    library_id: int,
    model: str = "",
    page: str | None = None,
    me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _library(request, session, me, "admin", library_id, model, page)


@router.get("/dept/supervision/{library_id}", response_class=HTMLResponse)
def dept_library_page(
    request: Request,
    library_id: int,
    model: str = "",
    page: str | None = None,
    me: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _library(request, session, me, "dept", library_id, model, page)


def _library(
    request: Request, session: Session, me: Principal, portal: str, library_id: int,
    model: str, page: str | None,
) -> HTMLResponse:
    conn = session.connection()
    n = page_number(page)
    try:
        if portal == "dept":
            service.check_owner(conn, library_id, me.department_code)
        data = service.members(
            conn, library_id, model=model or None, limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE
        )
    except DomainError as exc:
        return error_page(request, exc.message, exc.status)
    return render(
        request,
        "supervision/library.html",
        {
            "d": data,
            "models": [m for m in evaluation.list_models(conn) if m["status"] == "active"],
            "pager": pager(request, n, total=data["total"], params={"model": data["model"] or ""}),
            "portal": portal,
        },
        nav="supervision" if portal == "admin" else "dept-supervision",
    )

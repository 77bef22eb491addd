"""The Chinese web pages: public search and profiles, the catalog, and the operator's pages.

Routes stay thin: they read parameters, call a domain service and render a template. Every
admin form carries a CSRF token (``render.csrf_token``) checked by ``admin_form``.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.catalog.loader import load_catalog
from xinyong.catalog.types import CatalogError
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import (
    ADMIN_COOKIE,
    admin_token,
    cookie_value,
    is_admin,
    require_admin,
)
from xinyong.departments.service import list_departments
from xinyong.records import service as records
from xinyong.records.models import PendingMatch
from xinyong.records.profile import PUBLICITY_LABELS, build_profile
from xinyong.subjects.models import Subject
from xinyong.subjects.search import search_subjects
from xinyong.subjects.service import find_subject
from xinyong.web.render import (
    BATCH_STATUS_LABELS,
    PAGE_SIZE,
    VIEW_LABELS,
    check_csrf,
    error_page,
    page_number,
    pager,
    render,
)

router = APIRouter(include_in_schema=False)

MAX_QUERY = 100


def admin_form(
    request: Request, csrf_token: str = Form(""), actor: str = Depends(require_admin)
) -> str:
    """For every admin POST: the operator, with a valid CSRF token."""
    check_csrf(request, csrf_token)
    return actor


def _clean(text: str) -> str:
    """A query as typed, without the NUL characters PostgreSQL refuses in text."""
    return text.replace("\x00", "").strip()


def _safe_next(target: str | None) -> str:
    """Only a local path: never another host ("//evil", "/\\evil", "https://…")."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/admin/batches"
    if any(c in target for c in "\r\n\\"):
        return "/admin/batches"
    return target


# ------------------------------------------------------------------------------ public


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request, q: str = "", page: str | None = None,
    session: Session = Depends(get_session),
) -> HTMLResponse:
    q = _clean(q)
    n = page_number(page)
    if len(q) > MAX_QUERY:
        return render(request, "search.html", {
            "q": q[:MAX_QUERY], "result": None,
            "error": f"查询词过长：请输入不超过 {MAX_QUERY} 个字符的统一社会信用代码或名称。",
        }, status=400, nav="search")
    result = pg = None
    if q:
        result = search_subjects(session, q, limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
        pg = pager(request, n, total=result.total, estimate=result.total_is_estimate)
    return render(request, "search.html", {"q": q, "result": result, "pager": pg}, nav="search")


@router.get("/subjects/{code}", response_class=HTMLResponse)
def subject_page(
    request: Request, code: str, view: str = "public", cat: str = "", page: str | None = None,
    session: Session = Depends(get_session),
) -> HTMLResponse:
    subject = find_subject(session, _clean(code)) if _clean(code) else None
    if subject is None:
        return error_page(
            request, f"未找到信用主体「{code[:MAX_QUERY]}」：请核对统一社会信用代码或名称，"
            "或回到首页用部分名称查询。", 404)
    notice = None
    if view == "government" and not is_admin(request):
        notice = "政务视图仅向平台管理员开放，以下为公开视图；如需查看请先登录管理端。"
    shown = "government" if view == "government" and is_admin(request) else "public"
    profile = build_profile(session, subject, shown)
    from xinyong.evaluation.service import subject_results

    evaluations = subject_results(session.connection(), subject.id, government=shown == "government")
    # Each category shows one page of its records; ``cat`` + ``page`` page through one of them.
    base = {"view": "government"} if shown == "government" else {}
    pagers = {
        c["code"]: pager(request, page_number(page) if c["code"] == cat else 1, total=c["count"],
                         params={**base, "cat": c["code"]}, fragment=f"cat-{c['code']}")
        for c in profile["categories"]
    }
    return render(request, "subject.html", {
        "pagers": pagers,
        "profile": profile, "s": profile["subject"], "view": shown, "view_labels": VIEW_LABELS,
        "publicity_labels": PUBLICITY_LABELS, "notice": notice, "evaluations": evaluations,
        "code": subject.uscc or str(subject.id),
    }, nav="search")


@router.get("/catalog", response_class=HTMLResponse)
def catalog_page(request: Request) -> HTMLResponse:
    catalog = load_catalog()
    groups = [(c, catalog.types_in(c.code)) for c in catalog.categories]
    return render(request, "catalog.html", {"catalog": catalog, "groups": groups}, nav="catalog")


@router.get("/catalog/{code}", response_class=HTMLResponse)
def catalog_type_page(request: Request, code: str) -> HTMLResponse:
    catalog = load_catalog()
    rtype = catalog.types.get(code)
    if rtype is None:
        return error_page(
            request, f"信用信息目录（{catalog.version}版）中没有信息类别「{code[:64]}」："
            "请从目录页选择。", 404)
    return render(request, "catalog_type.html", {
        "catalog": catalog, "t": rtype, "category": catalog.category(rtype.category),
    }, nav="catalog")


# ------------------------------------------------------------------------------ login


@router.get("/admin", response_class=HTMLResponse)
def admin_home(_: str = Depends(require_admin)) -> Response:
    return RedirectResponse("/admin/batches", status_code=303)


@router.get("/admin/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/admin/batches") -> HTMLResponse:
    return render(request, "admin/login.html", {"next": _safe_next(next)}, nav="admin")


@router.post("/admin/login", response_class=HTMLResponse)
def login(request: Request, token: str = Form(""), next: str = Form("/admin/batches")) -> Response:
    target = _safe_next(next)
    if not token.strip() or not hmac.compare_digest(token.strip().encode(), admin_token().encode()):
        return render(request, "admin/login.html", {
            "next": target,
            "error": "管理令牌不正确：请核对后重新输入（令牌见环境变量 XINYONG_ADMIN_TOKEN，"
                     "或数据目录中的 admin-token 文件）。",
        }, status=401, nav="admin")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        ADMIN_COOKIE, cookie_value(), httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
    )
    return response


@router.post("/admin/logout")
def logout(_: str = Depends(admin_form)) -> Response:
    response = RedirectResponse("/?logged_out=1", status_code=303)
    response.delete_cookie(ADMIN_COOKIE, path="/")
    return response


# ------------------------------------------------------------------------------ batches


@router.get("/admin/batches", response_class=HTMLResponse)
def batches_page(
    request: Request, status: str = "", page: str | None = None,
    _: str = Depends(require_admin), session: Session = Depends(get_session),
) -> HTMLResponse:
    n = page_number(page)
    status = status if status in BATCH_STATUS_LABELS else ""
    rows, total = records.list_batches(
        session, status=status or None, limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    return render(request, "admin/batches.html", {
        "batches": rows, "total": total, "status": status, "statuses": BATCH_STATUS_LABELS,
        "departments": {d.id: d.name for d in list_departments(session)},
        "types": load_catalog().types, "pager": pager(request, n, total=total),
    }, nav="batches")


@router.get("/admin/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(
    request: Request, batch_id: int, page: str | None = None,
    _: str = Depends(require_admin), session: Session = Depends(get_session),
) -> HTMLResponse:
    n = page_number(page)
    batch = records.get_batch(session, batch_id)
    # One more than a page tells whether there is a next page without counting.
    errors = records.batch_errors(
        session, batch_id, limit=PAGE_SIZE + 1, offset=(n - 1) * PAGE_SIZE)
    departments = {d.id: d for d in list_departments(session)}
    return render(request, "admin/batch.html", {
        "batch": batch, "errors": errors[:PAGE_SIZE],
        "department": departments.get(batch.department_id),
        "rtype": load_catalog().types.get(batch.record_type),
        "pager": pager(request, n, has_next=len(errors) > PAGE_SIZE),
        "uploaded": request.query_params.get("uploaded") == "1",
    }, nav="batches")


@router.get("/admin/batches/{batch_id}/errors.{fmt}")
def batch_error_report(
    batch_id: int, fmt: str,
    _: str = Depends(require_admin), session: Session = Depends(get_session),
) -> Response:
    from xinyong.records.api import error_report_response

    records.get_batch(session, batch_id)
    return error_report_response(session, batch_id, fmt)


# ------------------------------------------------------------------------------ upload


def _upload_context(session: Session, **extra: Any) -> dict[str, Any]:
    catalog = load_catalog()
    groups = [(c, catalog.types_in(c.code)) for c in catalog.categories]
    ctx = {
        "groups": [(c, ts) for c, ts in groups if ts],
        "departments": list_departments(session),
        "profiles": _profile_choices(catalog.types),
        "form": {"record_type": "administrative_penalty", "department": "", "profile": "",
                 "strict": False},
    }
    ctx.update(extra)
    return ctx


def _profile_choices(types: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, label) of each mapping profile, the label saying which record type it is for."""
    from xinyong.records.profiles import ProfileError, list_profiles, load_profile

    out = []
    for name in list_profiles():
        try:
            prof = load_profile(name)
        except ProfileError:
            continue  # a broken profile file is reported by the catalog checks, not here
        rtype = types.get(prof.record_type)
        label = prof.label + (f"（{rtype.label}）" if rtype and rtype.label not in prof.label else "")
        out.append((name, label))
    return out


@router.get("/admin/upload", response_class=HTMLResponse)
def upload_form(
    request: Request, _: str = Depends(require_admin), session: Session = Depends(get_session),
) -> HTMLResponse:
    return render(request, "admin/upload.html", _upload_context(session), nav="upload")


@router.post("/admin/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    file: UploadFile | None = File(None),
    record_type: str = Form(""),
    department: str = Form(""),
    profile: str = Form(""),
    strict: bool = Form(False),
    actor: str = Depends(admin_form),
    session: Session = Depends(get_session),
) -> Response:
    from xinyong.records.api import _ingest_upload
    from xinyong.records.profiles import ProfileError

    form = {"record_type": record_type, "department": department, "profile": profile,
            "strict": strict}
    error = None
    if file is None or not file.filename:
        error = "请选择要上传的文件（CSV、XLSX 或 JSON Lines）。"
    elif not record_type:
        error = "请选择信息类别。"
    elif not department:
        error = "请选择数据来源单位。"
    if error is None:
        try:
            result = _ingest_upload(file, record_type, department, profile or None, strict, actor)
        except (DomainError, CatalogError, ProfileError) as exc:
            error = exc.message
        else:
            return RedirectResponse(f"/admin/batches/{result.batch_id}?uploaded=1", status_code=303)
    return render(request, "admin/upload.html", _upload_context(session, form=form, error=error),
                  status=400, nav="upload")


# ------------------------------------------------------------------------------ pending


@router.get("/admin/pending", response_class=HTMLResponse)
def pending_page(
    request: Request, q: str = "", page: str | None = None, resolved: str | None = None,
    _: str = Depends(require_admin), session: Session = Depends(get_session),
) -> HTMLResponse:
    n = page_number(page)
    q = _clean(q)[:MAX_QUERY]
    rows, total = records.list_pending(
        session, q=q or None, limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    return render(request, "admin/pending.html", {
        "items": rows, "total": total, "q": q, "types": load_catalog().types,
        "pager": pager(request, n, total=total),
        "resolved": page_number(resolved) if resolved else None,
    }, nav="pending")


def _pending_detail(
    request: Request, session: Session, pending_id: int, q: str, page: int,
    error: str | None = None, status: int = 200,
) -> HTMLResponse:
    item = session.get(PendingMatch, pending_id)
    if item is None:
        return error_page(
            request, f"待匹配记录 {pending_id} 不存在：请回到待匹配列表重新选择。", 404)
    q = (_clean(q) or item.uscc or item.subject_name or "")[:MAX_QUERY]
    candidates = [s for s in (session.get(Subject, sid) for sid in (item.candidates or [])) if s]
    result = None
    if q:
        result = search_subjects(session, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(request, "admin/pending_item.html", {
        "item": item, "q": q, "candidates": candidates, "result": result,
        "rtype": load_catalog().types.get(item.record_type),
        "pager": pager(request, page, total=result.total, estimate=result.total_is_estimate)
        if result else None,
        "error": error,
    }, status=status, nav="pending")


@router.get("/admin/pending/{pending_id}", response_class=HTMLResponse)
def pending_item_page(
    request: Request, pending_id: int, q: str = "", page: str | None = None,
    _: str = Depends(require_admin), session: Session = Depends(get_session),
) -> HTMLResponse:
    return _pending_detail(request, session, pending_id, q, page_number(page))


@router.post("/admin/pending/{pending_id}/resolve", response_class=HTMLResponse)
def resolve_pending(
    request: Request,
    pending_id: int,
    subject_id: str = Form(""),
    same_name: bool = Form(False),
    q: str = Form(""),
    actor: str = Depends(admin_form),
    session: Session = Depends(get_session),
) -> Response:
    if not subject_id.strip().isdigit():
        return _pending_detail(request, session, pending_id, q, 1,
                               error="请先在下方搜索结果中选择一个信用主体，再点击“指定”。",
                               status=400)
    try:
        ids = records.resolve_pending(session, pending_id, int(subject_id), actor=actor,
                                      same_name=same_name)
    except DomainError as exc:
        session.rollback()
        return _pending_detail(request, session, pending_id, q, 1, error=exc.message,
                               status=exc.status)
    return RedirectResponse(f"/admin/pending?resolved={len(ids)}", status_code=303)

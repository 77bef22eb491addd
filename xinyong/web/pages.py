"""The Chinese web pages: public search and profiles, the catalog, and the ingest pages of the
administrator's and the departments' portals.

Routes stay thin: they read parameters, call a domain service and render a template. Every
form carries a CSRF token (``core.security.csrf_token``) checked by ``admin_form`` /
``department_form``. The ingest pages exist twice: under ``/admin`` (every department's batches)
and under ``/dept`` (a department's own), one handler each, scoped by the caller.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xinyong.accounts.access import audit_restricted_read, profile_view
from xinyong.accounts.principal import Principal
from xinyong.catalog.loader import load_catalog
from xinyong.catalog.types import CatalogError
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.ratelimit import limit_public_search
from xinyong.core.security import (
    admin_form,
    department_form,
    principal_of,
    require_admin,
    require_department,
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
    error_page,
    page_number,
    pager,
    render,
)

router = APIRouter(include_in_schema=False)

MAX_QUERY = 100


def _clean(text: str) -> str:
    """A query as typed, without the NUL characters PostgreSQL refuses in text."""
    return text.replace("\x00", "").strip()


# ------------------------------------------------------------------------------ public


@router.get("/", response_class=HTMLResponse, dependencies=[Depends(limit_public_search)])
def search_page(
    request: Request, q: str = "", page: str | None = None,
    session: Session = Depends(get_session, scope="function"),
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
    request: Request, code: str, view: str = "", cat: str = "", page: str | None = None,
    purpose: str = "",
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    subject = find_subject(session, _clean(code)) if _clean(code) else None
    if subject is None:
        return error_page(
            request, f"未找到信用主体「{code[:MAX_QUERY]}」：请核对统一社会信用代码或名称，"
            "或回到首页用部分名称查询。", 404)
    me = principal_of(request)
    allowed = profile_view(me, subject.id)
    notice = None
    order = {"public": 0, "subject": 1, "government": 2}
    shown = allowed
    if view in order and order[view] <= order[allowed]:
        shown = view  # type: ignore[assignment]  # a narrower view on request (e.g. to preview)
    elif view in order:
        notice = (f"{VIEW_LABELS[view]}仅向"
                  + ("政府部门" if view == "government" else "该主体本人的账号")
                  + f"开放，以下为{VIEW_LABELS[allowed]}；如需查看请先登录相应账号。")
    profile = build_profile(session, subject, shown)
    audit_restricted_read(me, shown, subject.id, action="profile.read_restricted",
                          purpose=purpose[:100] or "查看信用档案", target=f"view:{shown}")
    from xinyong.evaluation.service import subject_results

    evaluations = subject_results(session.connection(), subject.id,
                                  government=me.is_government, own=shown == "subject")
    # Each category shows one page of its records; ``cat`` + ``page`` page through one of them.
    base = {"view": view} if view in VIEW_LABELS else {}
    pagers = {
        c["code"]: pager(request, page_number(page) if c["code"] == cat else 1, total=c["count"],
                         params={**base, "cat": c["code"]}, fragment=f"cat-{c['code']}")
        for c in profile["categories"]
    }
    return render(request, "subject.html", {
        "pagers": pagers,
        "profile": profile, "s": profile["subject"], "view": shown, "view_labels": VIEW_LABELS,
        "publicity_labels": PUBLICITY_LABELS, "notice": notice, "evaluations": evaluations,
        "code": subject.uscc or str(subject.id), "allowed": allowed,
    }, nav="me" if me.subject_id == subject.id and me.role == "subject" else "search")


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


# ------------------------------------------------------------------------------ portals


@router.get("/admin", response_class=HTMLResponse)
def admin_home(_: Principal = Depends(require_admin)) -> Response:
    return RedirectResponse("/admin/batches", status_code=303)


@router.get("/dept", response_class=HTMLResponse)
def dept_home(_: Principal = Depends(require_department)) -> Response:
    return RedirectResponse("/dept/batches", status_code=303)


# ------------------------------------------------------------------------------ batches
# Each page exists for the administrator (/admin, every department) and for a department's
# officer (/dept, its own batches only: the scoping is in the query, not in the template).

BATCH_SORTS = {"started_desc": "最新在前", "started_asc": "最早在前", "rejected_desc": "错误行最多"}


def _batches(
    request: Request, session: Session, me: Principal, portal: str, status: str,
    record_type: str, sort: str, page: str | None,
) -> HTMLResponse:
    n = page_number(page)
    status = status if status in BATCH_STATUS_LABELS else ""
    catalog = load_catalog()
    record_type = record_type if record_type in catalog.types else ""
    sort = sort if sort in BATCH_SORTS else "started_desc"
    rows, total = records.list_batches(
        session, status=status or None, record_type=record_type or None, sort=sort,
        department_id=me.department_id if portal == "dept" else None,
        limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    return render(request, "admin/batches.html", {
        "batches": rows, "total": total, "status": status, "statuses": BATCH_STATUS_LABELS,
        "record_type": record_type, "sort": sort, "sorts": BATCH_SORTS, "portal": portal,
        "departments": {d.id: d.name for d in list_departments(session)},
        "types": catalog.types, "pager": pager(request, n, total=total),
    }, nav=f"{portal}-batches")


@router.get("/admin/batches", response_class=HTMLResponse)
def batches_page(
    request: Request, status: str = "", record_type: str = "", sort: str = "",
    page: str | None = None,
    me: Principal = Depends(require_admin), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _batches(request, session, me, "admin", status, record_type, sort, page)


@router.get("/dept/batches", response_class=HTMLResponse)
def dept_batches_page(
    request: Request, status: str = "", record_type: str = "", sort: str = "",
    page: str | None = None,
    me: Principal = Depends(require_department), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _batches(request, session, me, "dept", status, record_type, sort, page)


def _own_batch(session: Session, me: Principal, portal: str, batch_id: int) -> Any:
    """Every batch for the administrator; a department's own only under /dept."""
    return records.get_batch(session, batch_id, me.department_id if portal == "dept" else None)


def _batch(
    request: Request, session: Session, me: Principal, portal: str, batch_id: int,
    page: str | None,
) -> HTMLResponse:
    n = page_number(page)
    batch = _own_batch(session, me, portal, batch_id)
    # One more than a page tells whether there is a next page without counting.
    errors = records.batch_errors(
        session, batch_id, limit=PAGE_SIZE + 1, offset=(n - 1) * PAGE_SIZE)
    departments = {d.id: d for d in list_departments(session)}
    return render(request, "admin/batch.html", {
        "batch": batch, "errors": errors[:PAGE_SIZE], "portal": portal,
        "department": departments.get(batch.department_id),
        "rtype": load_catalog().types.get(batch.record_type),
        "pager": pager(request, n, has_next=len(errors) > PAGE_SIZE),
        "uploaded": request.query_params.get("uploaded") == "1",
    }, nav=f"{portal}-batches")


@router.get("/admin/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(
    request: Request, batch_id: int, page: str | None = None,
    me: Principal = Depends(require_admin), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _batch(request, session, me, "admin", batch_id, page)


@router.get("/dept/batches/{batch_id}", response_class=HTMLResponse)
def dept_batch_page(
    request: Request, batch_id: int, page: str | None = None,
    me: Principal = Depends(require_department), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _batch(request, session, me, "dept", batch_id, page)


@router.get("/admin/batches/{batch_id}/errors.{fmt}")
def batch_error_report(
    batch_id: int, fmt: str,
    me: Principal = Depends(require_admin), session: Session = Depends(get_session, scope="function"),
) -> Response:
    from xinyong.records.api import error_report_response

    _own_batch(session, me, "admin", batch_id)
    return error_report_response(session, batch_id, fmt)


@router.get("/dept/batches/{batch_id}/errors.{fmt}")
def dept_batch_error_report(
    batch_id: int, fmt: str,
    me: Principal = Depends(require_department), session: Session = Depends(get_session, scope="function"),
) -> Response:
    from xinyong.records.api import error_report_response

    _own_batch(session, me, "dept", batch_id)
    return error_report_response(session, batch_id, fmt)


# ------------------------------------------------------------------------------ upload


def _upload_context(session: Session, me: Principal, portal: str, **extra: Any) -> dict[str, Any]:
    catalog = load_catalog()
    groups = [(c, catalog.types_in(c.code)) for c in catalog.categories]
    departments = list_departments(session)
    if portal == "dept":
        departments = [d for d in departments if d.id == me.department_id]
    ctx = {
        "groups": [(c, ts) for c, ts in groups if ts],
        "departments": departments, "portal": portal,
        "profiles": _profile_choices(catalog.types),
        "form": {"record_type": "administrative_penalty",
                 "department": me.department_code if portal == "dept" else "", "profile": "",
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
    request: Request, me: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return render(request, "admin/upload.html", _upload_context(session, me, "admin"),
                  nav="admin-upload")


@router.get("/dept/upload", response_class=HTMLResponse)
def dept_upload_form(
    request: Request, me: Principal = Depends(require_department),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return render(request, "admin/upload.html", _upload_context(session, me, "dept"),
                  nav="dept-upload")


def _upload(
    request: Request, session: Session, me: Principal, portal: str,
    file: UploadFile | None, record_type: str, department: str, profile: str, strict: bool,
) -> Response:
    from xinyong.records.api import _ingest_upload
    from xinyong.records.profiles import ProfileError

    if portal == "dept":
        department = me.department_code or ""  # a department uploads only its own records
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
        assert file is not None
        try:
            result = _ingest_upload(file, record_type, department, profile or None, strict,
                                    me.actor)
        except (DomainError, CatalogError, ProfileError) as exc:
            error = exc.message
        else:
            return RedirectResponse(f"/{portal}/batches/{result.batch_id}?uploaded=1",
                                    status_code=303)
    return render(request, "admin/upload.html",
                  _upload_context(session, me, portal, form=form, error=error),
                  status=400, nav=f"{portal}-upload")


@router.post("/admin/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    file: UploadFile | None = File(None),
    record_type: str = Form(""),
    department: str = Form(""),
    profile: str = Form(""),
    strict: bool = Form(False),
    me: Principal = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _upload(request, session, me, "admin", file, record_type, department, profile,
                   strict)


@router.post("/dept/upload", response_class=HTMLResponse)
def dept_upload(
    request: Request,
    file: UploadFile | None = File(None),
    record_type: str = Form(""),
    profile: str = Form(""),
    strict: bool = Form(False),
    me: Principal = Depends(department_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    return _upload(request, session, me, "dept", file, record_type, "", profile, strict)


# ------------------------------------------------------------------------------ pending


@router.get("/admin/pending", response_class=HTMLResponse)
def pending_page(
    request: Request, q: str = "", page: str | None = None, resolved: str | None = None,
    _: Principal = Depends(require_admin), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    n = page_number(page)
    q = _clean(q)[:MAX_QUERY]
    rows, total = records.list_pending(
        session, q=q or None, limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    return render(request, "admin/pending.html", {
        "items": rows, "total": total, "q": q, "types": load_catalog().types,
        "pager": pager(request, n, total=total),
        "resolved": page_number(resolved) if resolved else None,
    }, nav="admin-pending")


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
    _: Principal = Depends(require_admin), session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _pending_detail(request, session, pending_id, q, page_number(page))


@router.post("/admin/pending/{pending_id}/resolve", response_class=HTMLResponse)
def resolve_pending(
    request: Request,
    pending_id: int,
    subject_id: str = Form(""),
    same_name: bool = Form(False),
    q: str = Form(""),
    me: Principal = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    if not subject_id.strip().isdigit():
        return _pending_detail(request, session, pending_id, q, 1,
                               error="请先在下方搜索结果中选择一个信用主体，再点击“指定”。",
                               status=400)
    try:
        ids = records.resolve_pending(session, pending_id, int(subject_id), actor=me.actor,
                                      same_name=same_name)
    except DomainError as exc:
        session.rollback()
        return _pending_detail(request, session, pending_id, q, 1, error=exc.message,
                               status=exc.status)
    return RedirectResponse(f"/admin/pending?resolved={len(ids)}", status_code=303)

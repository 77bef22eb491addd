"""Evaluation pages: the explanation of a subject's result, and the operator's model pages
(list, upload a new version, dry run, activate, run a batch)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from xinyong.accounts.access import audit_restricted_read, profile_view
from xinyong.core.db import get_engine
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import principal_of, require_admin
from xinyong.evaluation import service
from xinyong.evaluation.api import model_detail
from xinyong.evaluation.explain import explain
from xinyong.records.profile import subject_view
from xinyong.subjects.service import find_subject, former_names
from xinyong.web.pages import admin_form
from xinyong.web.render import error_page, render

router = APIRouter(include_in_schema=False)

STATUSES = {"draft": "草稿", "active": "已启用", "retired": "已停用"}


@router.get("/subjects/{code}/evaluations/{model}", response_class=HTMLResponse)
def explain_page(
    request: Request,
    code: str,
    model: str,
    view: str = "",
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    subject = find_subject(session, code.strip())
    if subject is None:
        return error_page(
            request, f"未找到信用主体「{code[:100]}」：请核对统一社会信用代码或名称。", 404
        )
    me = principal_of(request)
    shown = profile_view(me, subject.id)
    if view == "public":
        shown = "public"  # a narrower view on request
    government = me.is_government
    conn = session.connection()
    try:
        m = service.get_model(conn, model)
        if m.visibility != "public" and not government:
            return error_page(
                request, f"“{m.title}”仅限政府部门查看：请用部门或管理员账号登录后查看。", 403
            )
        if shown == "public" and not government and service.is_natural_person(conn, subject.id):
            return error_page(request, "自然人的信用评价结果不向社会公开，仅限政府部门和本人查看。", 403)
        data = explain(conn, subject.id, model, view=shown)
        audit_restricted_read(me, shown, subject.id, action="evaluation.read_explain",
                              purpose="查看评价说明", target=f"model:{model}")
    except DomainError as exc:
        return error_page(request, exc.message, exc.status)
    return render(
        request,
        "evaluation/explain.html",
        {
            "e": data,
            "s": subject_view(subject, "public", former_names(session, subject.id)),
            "code": subject.uscc or str(subject.id),
            "view": shown,
        },
        nav="search",
    )


def _models_page(request: Request, session: Session, **extra: Any) -> HTMLResponse:
    ctx = {
        "models": service.list_models(session.connection()),
        "statuses": STATUSES,
        "error": None,
        "message": None,
        "source": None,
    }
    ctx.update(extra)
    return render(
        request,
        "evaluation/models.html",
        ctx,
        nav="models",
        status=422 if extra.get("error") else 200,
    )


@router.get("/admin/models", response_class=HTMLResponse)
def models_page(
    request: Request, _: str = Depends(require_admin), session: Session = Depends(get_session, scope="function")
) -> HTMLResponse:
    return _models_page(request, session)


@router.post("/admin/models", response_class=HTMLResponse)
def register_model(
    request: Request,
    source: str = Form(""),
    _: str = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    if not source.strip():
        return _models_page(request, session, error="请粘贴模型文件（YAML）后再提交。")
    try:
        r = service.register_model(session.connection(), source, source="office", actor="admin")
    except DomainError as exc:
        session.rollback()
        return _models_page(
            request, session, error=f"模型文件未登记（{exc.code}）：{exc.message}", source=source
        )
    session.commit()
    return _models_page(
        request, session, message=f"已登记 {r['name']}@{r['version']}（草稿）：请试运行后再启用。"
    )


def _model_page(
    request: Request, session: Session, name: str, version: str, **extra: Any
) -> HTMLResponse:
    conn = session.connection()
    row = service.model_row(conn, name, version)
    if row is None:
        return error_page(request, f"没有评价模型 {name}@{version}：请从模型列表选择。", 404)
    model = service.build_model(conn, row.text)
    ctx = {
        "d": model_detail(model),
        "row": row,
        "statuses": STATUSES,
        "error": None,
        "message": None,
        "dry": None,
        "run": None,
    }
    ctx.update(extra)
    return render(request, "evaluation/model.html", ctx, nav="models")


@router.get("/admin/models/{name}/{version}", response_class=HTMLResponse)
def model_page(
    request: Request,
    name: str,
    version: str,
    _: str = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _model_page(request, session, name, version)


@router.post("/admin/models/{name}/{version}/dry-run", response_class=HTMLResponse)
def dry_run(
    request: Request,
    name: str,
    version: str,
    sample: int = Form(10_000),
    _: str = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    try:
        data = service.dry_run(
            get_engine(), name=name, version=version, sample=max(1, min(sample, 2_000_000))
        )
    except DomainError as exc:
        return _model_page(request, session, name, version, error=exc.message)
    return _model_page(request, session, name, version, dry=data)


@router.post("/admin/models/{name}/{version}/activate", response_class=HTMLResponse)
def activate(
    request: Request,
    name: str,
    version: str,
    _: str = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    try:
        service.activate_model(session.connection(), name, version, actor="admin")
    except DomainError as exc:
        session.rollback()
        return _model_page(request, session, name, version, error=exc.message)
    session.commit()
    return _model_page(
        request,
        session,
        name,
        version,
        message="已启用：同名的其他版本已停用。请运行批量评价以更新全部主体的结果。",
    )


@router.post("/admin/models/{name}/{version}/evaluate", response_class=HTMLResponse)
def evaluate(
    request: Request,
    name: str,
    version: str,
    _: str = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    try:
        run = service.evaluate(get_engine(), name, version=version, actor="admin")
    except DomainError as exc:
        return _model_page(request, session, name, version, error=exc.message)
    return _model_page(request, session, name, version, run=run.as_dict())


@router.get("/admin/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    model: str = "gz_general",
    since: str = "",
    _: str = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    import datetime as dt
    import json

    from xinyong.evaluation.dashboard import dashboard

    conn = session.connection()
    models = [m for m in service.list_models(conn) if m["status"] == "active"]
    try:
        start = dt.date.fromisoformat(since) if since else None
    except ValueError:
        return error_page(request, f"日期格式有误：{since[:20]}（应为 YYYY-MM-DD）", 400)
    try:
        data = dashboard(conn, model, since=start)
    except DomainError as exc:
        return error_page(request, exc.message, exc.status)
    return render(
        request,
        "evaluation/dashboard.html",
        {
            "d": data,
            "models": models,
            "model": model,
            # Inside <script>: "</" must not close the element (a subject name could hold it).
            "chart_json": json.dumps(data, ensure_ascii=False, default=str).replace("</", "<\\/"),
        },
        nav="dashboard",
    )

"""Evaluation routes: models (list, detail, upload, dry run, activation), batch runs, results,
explanations, history and grade changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.accounts.access import audit_restricted_read, profile_view
from xinyong.accounts.principal import Principal
from xinyong.core.db import get_engine
from xinyong.core.deps import get_session, json_response
from xinyong.core.errors import DomainError
from xinyong.core.security import principal_of, require_admin
from xinyong.evaluation import service
from xinyong.evaluation.explain import explain
from xinyong.evaluation.spec import EvalModel
from xinyong.subjects.service import find_subject

router = APIRouter(prefix="/api/v1", tags=["信用评价"])


class Viewer(BaseModel):
    """What the evaluation routes need to know of the caller (from its ``Principal``)."""

    actor: str | None
    government: bool
    admin: bool
    department: str | None
    role: str
    subject_id: int | None


def viewer(request: Request) -> Viewer:
    p = principal_of(request)
    return Viewer(
        actor=None if p.is_anonymous else p.actor,
        government=p.is_government,
        admin=p.is_admin,
        department=p.department_code if p.is_department else None,
        role=p.role,
        subject_id=p.subject_id,
    )


def _refused(who: Viewer, message: str) -> DomainError:
    """A government-only route: 401 (authenticate) for the public, 403 for a caller whose
    credentials are valid but whose role is not a government one."""
    if who.role == "public":
        return DomainError("AUTH_REQUIRED", message, status=401)
    return DomainError("AUTH_FORBIDDEN", message + "，您的账号无此权限", status=403)


def _forbidden_model(model: EvalModel) -> DomainError:
    return DomainError(
        "EVALUATION_GOVERNMENT_ONLY",
        f"“{model.title}”仅限政府部门查看，请使用部门接口密钥或管理员身份",
        status=403,
    )


def model_detail(model: EvalModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "version": model.version,
        "title": model.title,
        "description": model.description,
        "visibility": model.visibility,
        "scope": model.scope.model_dump(),
        "counting": model.counting.model_dump(),
        "extends": model.extends.model_dump() if model.extends else None,
        "citations": [c.model_dump() for c in model.citations],
        "features": {n: f.model_dump() for n, f in model.features.items()},
        "indicators": [
            {
                "code": n.code,
                "name": n.name,
                "level": n.level,
                "parent": n.parent,
                "weight": round(n.weight, 4),
            }
            for n in model.nodes
        ],
        "vetoes": [v.model_dump() for v in model.vetoes],
        "grades": [g.model_dump() for g in model.grades],
        "colours": [c.model_dump() for c in model.colours],
        "tags": [t.model_dump() for t in model.tags],
    }


@router.get("/evaluation/models", summary="评价模型列表（公众只见公开模型）")
def list_models(session: Session = Depends(get_session, scope="function"), who: Viewer = Depends(viewer)) -> Any:
    return json_response(
        service.list_models(session.connection(), include_government=who.government)
    )


@router.get(
    "/evaluation/models/{name}", summary="评价模型详情（指标体系、否决项、等级、赋码与标签规则）"
)
def get_model(
    name: str,
    version: str | None = Query(None, description="版本，缺省为已启用版本"),
    session: Session = Depends(get_session, scope="function"),
    who: Viewer = Depends(viewer),
) -> Any:
    model = service.get_model(session.connection(), name, version)
    if model.visibility != "public" and not who.government:
        raise _forbidden_model(model)
    return json_response(model_detail(model))


class ModelUpload(BaseModel):
    source: str = Field(..., description="模型文件（YAML）全文")


@router.post(
    "/evaluation/models",
    summary="登记评价模型（草稿；部门可登记本行业模型“一业一策”）",
    status_code=201,
)
def upload_model(
    body: ModelUpload = Body(...),
    session: Session = Depends(get_session, scope="function"),
    who: Viewer = Depends(viewer),
) -> Any:
    if not who.government:
        raise _refused(who, "登记评价模型需要部门接口密钥或管理员身份")
    source = "office" if who.admin else f"department:{who.department}"
    summary = service.register_model(
        session.connection(), body.source, source=source, actor=who.actor
    )
    session.commit()
    return summary


class DryRunBody(BaseModel):
    as_of: dt.date | None = None
    sample: int | None = Field(10_000, ge=1, le=2_000_000, description="抽样主体数，null 为全部")


@router.post(
    "/evaluation/models/{name}/versions/{version}/dry-run",
    summary="试运行：在样本上评价，给出等级分布和等级将变化的主体（不写入结果）",
)
def dry_run(
    name: str,
    version: str,
    body: DryRunBody = Body(DryRunBody()),
    who: Viewer = Depends(viewer),
) -> Any:
    if not who.government:
        raise _refused(who, "试运行需要部门接口密钥或管理员身份")
    return json_response(
        service.dry_run(
            get_engine(), name=name, version=version, as_of=body.as_of, sample=body.sample
        )
    )


@router.post(
    "/evaluation/models/{name}/versions/{version}/activate",
    summary="启用模型版本（启用后内容不可更改）",
)
def activate(
    name: str,
    version: str,
    session: Session = Depends(get_session, scope="function"),
    admin: Principal = Depends(require_admin),
) -> Any:
    summary = service.activate_model(session.connection(), name, version, actor=admin.actor)
    session.commit()
    return summary


class EvaluateBody(BaseModel):
    as_of: dt.date | None = None


@router.post(
    "/evaluation/models/{name}/evaluate", summary="批量评价：对模型范围内全部主体评价并保存结果"
)
def evaluate(
    name: str, body: EvaluateBody = Body(EvaluateBody()),
    admin: Principal = Depends(require_admin),
) -> Any:
    return service.evaluate(get_engine(), name, as_of=body.as_of, actor=admin.actor).as_dict()


@router.get("/evaluation/runs", summary="评价运行记录")
def runs(
    model: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(require_admin),
) -> Any:
    return json_response(service.runs(session.connection(), model, limit))


@router.get("/evaluation/grade-changes", summary="等级变动（供预警、通知等订阅）")
def grade_changes(
    model: str,
    since: dt.date,
    until: dt.date | None = None,
    limit: int = Query(500, ge=1, le=5000),
    session: Session = Depends(get_session, scope="function"),
    who: Viewer = Depends(viewer),
) -> Any:
    if not who.government:
        raise _refused(who, "等级变动需要部门接口密钥或管理员身份")
    return json_response(service.grade_changes(session.connection(), model, since, until, limit))


def _subject_id(session: Session, code: str) -> int:
    subject = find_subject(session, code)
    if subject is None:
        raise DomainError("SUBJECT_NOT_FOUND", f"没有找到信用主体：{code}", status=404)
    return int(subject.id)


@router.get("/subjects/{code}/evaluations", summary="主体的评价结果（公众只见公开模型）")
def subject_evaluations(
    code: str, session: Session = Depends(get_session, scope="function"), who: Viewer = Depends(viewer)
) -> Any:
    sid = _subject_id(session, code)
    return json_response(
        service.subject_results(session.connection(), sid, government=who.government,
                                own=who.subject_id == sid)
    )


def _check_visible(session: Session, name: str, who: Viewer, sid: int | None = None) -> None:
    model = service.get_model(session.connection(), name)
    if model.visibility != "public" and not who.government:
        raise _forbidden_model(model)
    if (sid is not None and not who.government and who.subject_id != sid
            and service.is_natural_person(session.connection(), sid)):
        raise DomainError(
            "EVALUATION_PERSONAL",
            "自然人的信用评价结果不向社会公开，仅限政府部门和本人查看",
            status=403,
        )


@router.get(
    "/subjects/{code}/evaluations/{model}/explain",
    summary="评价结果说明：各指标取值、得分、权重、否决项及计入的记录",
)
def subject_explain(
    request: Request,
    code: str,
    model: str,
    as_of: dt.date | None = None,
    purpose: str | None = Query(None, max_length=100, description="查询目的（记入审计日志）"),
    session: Session = Depends(get_session, scope="function"),
    who: Viewer = Depends(viewer),
) -> Any:
    sid = _subject_id(session, code)
    _check_visible(session, model, who, sid)
    me = principal_of(request)
    view = profile_view(me, sid)
    data = explain(session.connection(), sid, model, as_of=as_of, view=view)
    audit_restricted_read(me, view, sid, action="evaluation.read_explain",
                          purpose=purpose or "查看评价说明", target=f"model:{model}")
    return json_response(data)


@router.get("/subjects/{code}/evaluations/{model}/history", summary="评价结果历史")
def subject_history(
    code: str, model: str, session: Session = Depends(get_session, scope="function"), who: Viewer = Depends(viewer)
) -> Any:
    sid = _subject_id(session, code)
    _check_visible(session, model, who, sid)
    return json_response(service.history(session.connection(), sid, model))


@router.get(
    "/evaluation/dashboard", summary="评价看板：按行业、地区的等级分布，变化趋势，等级变动主体"
)
def dashboard(
    model: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
    session: Session = Depends(get_session, scope="function"),
    who: Viewer = Depends(viewer),
) -> Any:
    if not who.government:
        raise _refused(who, "评价看板需要部门接口密钥或管理员身份")
    from xinyong.evaluation.dashboard import dashboard as build

    return json_response(build(session.connection(), model, since=since, until=until))


@router.get("/evaluation/dashboard.xlsx", summary="评价看板导出（XLSX）")
def dashboard_xlsx(
    model: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
    session: Session = Depends(get_session, scope="function"),
    who: Viewer = Depends(viewer),
) -> Response:
    if not who.government:
        raise _refused(who, "评价看板需要部门接口密钥或管理员身份")
    from xinyong.evaluation.dashboard import dashboard as build
    from xinyong.evaluation.dashboard import dashboard_xlsx as to_xlsx

    data = build(session.connection(), model, since=since, until=until)
    return Response(
        to_xlsx(data),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="dashboard-{model}.xlsx"'},
    )

"""Commitment routes: templates and public commitments (everyone), a subject's own commitments
(its account), a department's requests and decisions (its officer or system, its own only),
eligibility (government), and the administrator's overview."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.commitments import service
from xinyong.core.deps import get_session, json_response
from xinyong.core.security import (
    require_admin,
    require_department,
    require_government,
    require_subject,
)

router = APIRouter(prefix="/api/v1", tags=["信用承诺"])


def _page(items: list[dict[str, Any]], total: int, page: int, size: int) -> Any:
    return json_response({"total": total, "page": page, "size": size, "items": items})


# ------------------------------------------------------------------------------ public


@router.get("/commitments/templates", summary="承诺书模板（含适用类型、字段和法律依据）")
def templates(kind: str | None = None) -> Any:
    return json_response(service.list_templates(kind=kind))


@router.get("/commitments/eligibility", summary="查询主体是否适用信用承诺制（政府部门）")
def eligibility(
    code: str = Query(..., description="统一社会信用代码"),
    kind: str = Query("notify_commit", description="承诺类型"),
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(require_government),
) -> Any:
    return json_response(service.eligibility_for_code(session, code, kind))


class EligibilityBody(BaseModel):
    kind: str = Field("notify_commit", description="承诺类型")
    codes: list[str] = Field(..., description="统一社会信用代码清单（每次最多 10 万个）")


@router.post("/commitments/eligibility", summary="批量查询是否适用信用承诺制（政府部门）")
def eligibility_batch(
    body: EligibilityBody = Body(...),
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(require_government),
) -> Any:
    items = service.eligibility_by_codes(session.connection(), body.codes, body.kind)
    return json_response({"kind": body.kind, "total": len(items),
                          "eligible": sum(1 for i in items if i["eligible"]), "items": items})


@router.get("/commitments", summary="公开的信用承诺（可按名称、统一社会信用代码查询）")
def public_list(
    q: str = "",
    kind: str | None = None,
    page: int = Query(1, ge=1, le=10_000),
    size: int = Query(20, ge=1, le=200),
    session: Session = Depends(get_session, scope="function"),
) -> Any:
    items, total = service.list_public(session, q=q, kind=kind, limit=size,
                                       offset=(page - 1) * size)
    return _page(items, total, page, size)


@router.get("/commitments/{commitment_id}", summary="公开信用承诺详情（个人信息已遮蔽）")
def public_detail(commitment_id: int,
                  session: Session = Depends(get_session, scope="function")) -> Any:
    return json_response(service.detail(session, commitment_id, view="public"))


# ------------------------------------------------------------------------------ the subject


class SignNewBody(BaseModel):
    template: str = Field(..., description="模板编码")
    fields: dict[str, Any] = Field(default_factory=dict, description="承诺书字段")
    department: str | None = Field(None, description="承诺受理单位编码")
    affirm: bool = Field(False, description="已阅读并自愿作出承诺")


class SignBody(BaseModel):
    fields: dict[str, Any] = Field(default_factory=dict)
    affirm: bool = False


@router.get("/me/commitments", summary="本主体的信用承诺（含待签署的请求）")
def my_list(session: Session = Depends(get_session, scope="function"),
            me: Principal = Depends(require_subject)) -> Any:
    assert me.subject_id is not None
    items, total = service.list_for_subject(session, me.subject_id, limit=500)
    return _page(items, total, 1, 500)


@router.post("/me/commitments", summary="主体作出并签署信用承诺", status_code=201)
def sign_new(body: SignNewBody = Body(...),
             session: Session = Depends(get_session, scope="function"),
             me: Principal = Depends(require_subject)) -> Any:
    c = service.sign_new(session, me=me, template=body.template, fields=body.fields,
                         department=body.department, affirm=body.affirm)
    return json_response(service.detail(session, c.id, view="subject", me=me), status_code=201)


@router.get("/me/commitments/{commitment_id}", summary="本主体的一份信用承诺")
def my_detail(commitment_id: int, session: Session = Depends(get_session, scope="function"),
              me: Principal = Depends(require_subject)) -> Any:
    return json_response(service.detail(session, commitment_id, view="subject", me=me))


@router.post("/me/commitments/{commitment_id}/sign", summary="签署部门发来的承诺请求")
def sign(commitment_id: int, body: SignBody = Body(...),
         session: Session = Depends(get_session, scope="function"),
         me: Principal = Depends(require_subject)) -> Any:
    c = service.sign_request(session, commitment_id, me=me, fields=body.fields,
                             affirm=body.affirm)
    return json_response(service.detail(session, c.id, view="subject", me=me))


# ------------------------------------------------------------------------------ departments


class RequestBody(BaseModel):
    code: str = Field(..., description="承诺主体的统一社会信用代码")
    template: str = Field(..., description="模板编码，如 deficiency_tolerated_document")
    fields: dict[str, Any] = Field(default_factory=dict, description="由部门填写的字段")
    due_on: dt.date | None = Field(None, description="承诺履行期限（缺省按模板计算）")


class DecisionBody(BaseModel):
    outcome: str = Field(..., description="fulfilled（履约）或 breached（违诺）")
    note: str = Field("", description="说明；违诺时必填违诺情形")


class CancelBody(BaseModel):
    reason: str = Field(..., description="撤回原因")


@router.get("/dept/commitments", summary="本部门的信用承诺（可筛选逾期）")
def dept_list(
    status: str | None = None,
    kind: str | None = None,
    overdue: bool = False,
    q: str = "",
    page: int = Query(1, ge=1, le=10_000),
    size: int = Query(50, ge=1, le=500),
    session: Session = Depends(get_session, scope="function"),
    me: Principal = Depends(require_department),
) -> Any:
    items, total = service.list_all(session, department_id=me.department_id, status=status,
                                    kind=kind, overdue=overdue, q=q, limit=size,
                                    offset=(page - 1) * size)
    return _page(items, total, page, size)


@router.post("/dept/commitments", summary="部门发起承诺请求（如容缺受理）", status_code=201)
def dept_request(body: RequestBody = Body(...),
                 session: Session = Depends(get_session, scope="function"),
                 me: Principal = Depends(require_department)) -> Any:
    assert me.department_id is not None
    c = service.request_commitment(session, department_id=me.department_id, actor=me.actor,
                                   code=body.code, template=body.template, fields=body.fields,
                                   due_on=body.due_on)
    return json_response(service.detail(session, c.id, view="department", me=me),
                         status_code=201)


@router.get("/dept/commitments/{commitment_id}", summary="本部门的一份信用承诺")
def dept_detail(commitment_id: int, session: Session = Depends(get_session, scope="function"),
                me: Principal = Depends(require_department)) -> Any:
    return json_response(service.detail(session, commitment_id, view="department", me=me))


@router.post("/dept/commitments/{commitment_id}/decision", summary="确认履约或记录违诺")
def dept_decide(commitment_id: int, body: DecisionBody = Body(...),
                session: Session = Depends(get_session, scope="function"),
                me: Principal = Depends(require_department)) -> Any:
    service.decide(session, commitment_id, department_id=me.department_id, actor=me.actor,
                   outcome=body.outcome, note=body.note)
    return json_response(service.detail(session, commitment_id, view="department", me=me))


@router.post("/dept/commitments/{commitment_id}/cancel", summary="撤回未签署的承诺请求")
def dept_cancel(commitment_id: int, body: CancelBody = Body(...),
                session: Session = Depends(get_session, scope="function"),
                me: Principal = Depends(require_department)) -> Any:
    service.cancel_request(session, commitment_id, department_id=me.department_id,
                           actor=me.actor, reason=body.reason)
    return json_response(service.detail(session, commitment_id, view="department", me=me))


# ------------------------------------------------------------------------------ the office


@router.get("/admin/commitments", summary="全部信用承诺（管理员）")
def admin_list(
    status: str | None = None,
    kind: str | None = None,
    department_id: int | None = None,
    overdue: bool = False,
    q: str = "",
    page: int = Query(1, ge=1, le=10_000),
    size: int = Query(50, ge=1, le=500),
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(require_admin),
) -> Any:
    items, total = service.list_all(session, department_id=department_id, status=status,
                                    kind=kind, overdue=overdue, q=q, limit=size,
                                    offset=(page - 1) * size)
    return _page(items, total, page, size)


@router.post("/admin/commitments/sweep", summary="到期提醒与逾期标记（一般由定时任务运行）")
def admin_sweep(session: Session = Depends(get_session, scope="function"),
                me: Principal = Depends(require_admin)) -> Any:
    return json_response(service.sweep(session, actor=me.actor).as_dict())

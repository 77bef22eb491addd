"""Account routes: who am I, my messages, registration, and the administrator's accounts,
tokens and department keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.accounts import service
from xinyong.accounts.models import Account, ApiToken
from xinyong.accounts.principal import ROLE_LABELS, SCOPE_LABELS, Principal
from xinyong.core.deps import get_session, json_response
from xinyong.core.security import current_principal, require_admin, require_login
from xinyong.departments import service as departments

router = APIRouter(prefix="/api/v1", tags=["账号与权限"])


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


def account_dict(a: Account) -> dict[str, Any]:
    return {
        "id": a.id, "username": a.username, "display_name": a.display_name, "role": a.role,
        "role_label": ROLE_LABELS.get(a.role, a.role), "status": a.status,
        "status_label": service.STATUS_LABELS.get(a.status, a.status),
        "department_id": a.department_id, "subject_id": a.subject_id,
        "organisation": a.organisation, "email": a.email, "phone_masked": a.phone_masked,
        "created_at": _iso(a.created_at), "decided_at": _iso(a.decided_at),
        "decided_by": a.decided_by, "note": a.note, "last_login_at": _iso(a.last_login_at),
        "locked_until": _iso(a.locked_until),
    }


def token_dict(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id, "account_id": t.account_id, "name": t.name, "prefix": t.prefix,
        "scopes": t.scopes.split(), "created_at": _iso(t.created_at),
        "expires_at": _iso(t.expires_at), "revoked_at": _iso(t.revoked_at),
        "last_used_on": _iso(t.last_used_on), "is_department_key": t.is_department_key,
    }


@router.get("/me", summary="当前调用方：角色、所属部门或主体、权限范围")
def me(p: Principal = Depends(current_principal)) -> dict[str, Any]:
    return {
        "role": p.role, "role_label": p.role_label, "username": p.username,
        "display_name": p.display_name, "department": p.department_code,
        "subject_id": p.subject_id, "scopes": sorted(p.scopes), "via": p.via,
    }


@router.get("/me/messages", summary="我的消息")
def my_messages(
    unread: bool = False,
    page: int = Query(1, ge=1, le=10_000),
    size: int = Query(20, ge=1, le=100),
    p: Principal = Depends(require_login),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    rows, total = ([], 0)
    if p.account_id is not None:
        rows, total = service.messages(session, p.account_id, unread_only=unread, limit=size,
                                       offset=(page - 1) * size)
    return json_response({"total": total, "page": page, "size": size, "items": [
        {"id": m.id, "kind": m.kind, "title": m.title, "body": m.body, "link": m.link,
         "created_at": _iso(m.created_at), "read_at": _iso(m.read_at)} for m in rows]})


class RegisterBody(BaseModel):
    role: str = Field(..., description="subject（企业）、bank（金融机构）、provider（激励服务机构）")
    username: str
    password: str
    display_name: str = Field(..., description="单位名称")
    uscc: str | None = Field(None, description="统一社会信用代码（企业必填）")
    email: str | None = None
    phone: str | None = None


@router.post("/register", summary="注册账号（待信用办审核）", status_code=201)
def register(body: RegisterBody = Body(...), session: Session = Depends(get_session, scope="function")) -> Any:
    account = service.register(session, **body.model_dump())
    return json_response({"id": account.id, "username": account.username,
                          "status": account.status,
                          "message": "注册申请已提交，请等待信用办审核"}, status_code=201)


# ------------------------------------------------------------------------------ admin


@router.get("/admin/accounts", summary="账号列表（管理员）")
def list_accounts(
    role: str | None = None, status: str | None = None, q: str | None = None,
    sort: str = "created_desc",
    page: int = Query(1, ge=1, le=10_000), size: int = Query(20, ge=1, le=200),
    _: Principal = Depends(require_admin), session: Session = Depends(get_session, scope="function"),
) -> Response:
    rows, total = service.list_accounts(session, role=role, status=status, q=q, sort=sort,
                                        limit=size, offset=(page - 1) * size)
    return json_response({"total": total, "page": page, "size": size,
                          "items": [account_dict(a) for a in rows]})


class AccountBody(BaseModel):
    username: str
    display_name: str
    role: str = Field(..., description="admin、department_officer、subject、bank、provider")
    password: str | None = None
    department: str | None = Field(None, description="部门代码（部门工作人员）")
    subject: str | None = Field(None, description="统一社会信用代码（主体账号）")
    email: str | None = None


@router.post("/admin/accounts", summary="开设账号（管理员，立即生效）", status_code=201)
def create_account(
    body: AccountBody = Body(...),
    me: Principal = Depends(require_admin), session: Session = Depends(get_session, scope="function"),
) -> Response:
    a = service.create_account(
        session, username=body.username, display_name=body.display_name, role=body.role, by=me,
        password=body.password, department=body.department, subject=body.subject,
        organisation=body.display_name if body.role in ("bank", "provider") else None,
        email=body.email)
    return json_response(account_dict(a), status_code=201)


@router.get("/admin/accounts/{account_id}", summary="账号详情及其令牌（管理员）")
def get_account(account_id: int, _: Principal = Depends(require_admin),
                session: Session = Depends(get_session, scope="function")) -> Response:
    a = service.get_account(session, account_id)
    return json_response({**account_dict(a), "tokens": [
        token_dict(t) for t in service.account_tokens(session, a.id)]})


class DecisionBody(BaseModel):
    approve: bool
    reason: str = ""


@router.post("/admin/accounts/{account_id}/decision", summary="审核注册申请（管理员）")
def decide(account_id: int, body: DecisionBody = Body(...),
           me: Principal = Depends(require_admin),
           session: Session = Depends(get_session, scope="function")) -> Response:
    return json_response(account_dict(
        service.decide(session, account_id, body.approve, me, body.reason)))


class StatusBody(BaseModel):
    status: str = Field(..., description="active（恢复）或 disabled（停用）")


@router.post("/admin/accounts/{account_id}/status", summary="停用或恢复账号（管理员）")
def set_status(account_id: int, body: StatusBody = Body(...),
               me: Principal = Depends(require_admin),
               session: Session = Depends(get_session, scope="function")) -> Response:
    return json_response(account_dict(service.set_status(session, account_id, body.status, me)))


@router.post("/admin/accounts/{account_id}/unlock", summary="解除登录锁定（管理员）")
def unlock(account_id: int, me: Principal = Depends(require_admin),
           session: Session = Depends(get_session, scope="function")) -> Response:
    return json_response(account_dict(service.unlock(session, account_id, me)))


class TokenBody(BaseModel):
    name: str = "接口令牌"
    scopes: list[str] = Field(..., description="权限范围：" + "、".join(SCOPE_LABELS))
    days: int = Field(service.TOKEN_DEFAULT_DAYS, ge=1, le=service.TOKEN_MAX_DAYS)


@router.post("/admin/accounts/{account_id}/tokens",
             summary="签发接口令牌（管理员；令牌只在此响应中出现一次）", status_code=201)
def issue_token(account_id: int, body: TokenBody = Body(...),
                me: Principal = Depends(require_admin),
                session: Session = Depends(get_session, scope="function")) -> Response:
    token, clear = service.issue_token(session, account_id, name=body.name, scopes=body.scopes,
                                       by=me, days=body.days)
    return json_response({**token_dict(token), "token": clear}, status_code=201)


@router.delete("/admin/tokens/{token_id}", summary="吊销接口令牌（管理员）")
def revoke_token(token_id: int, me: Principal = Depends(require_admin),
                 session: Session = Depends(get_session, scope="function")) -> Response:
    return json_response(token_dict(service.revoke_token(session, token_id, me)))


@router.get("/admin/departments", summary="数据来源部门及其密钥状态（管理员）")
def list_departments(_: Principal = Depends(require_admin),
                     session: Session = Depends(get_session, scope="function")) -> Response:
    out = []
    for d in departments.list_departments(session):
        key = service.department_key(session, d.id)
        out.append({"code": d.code, "name": d.name, "uscc": d.uscc,
                    "key": token_dict(key) if key else None})
    return json_response(out)


class DepartmentBody(BaseModel):
    code: str
    name: str
    uscc: str | None = None


@router.post("/admin/departments", summary="登记数据来源部门（管理员）", status_code=201)
def add_department(body: DepartmentBody = Body(...), me: Principal = Depends(require_admin),
                   session: Session = Depends(get_session, scope="function")) -> Response:
    d = departments.add_department(session, body.code, body.name, body.uscc, by=me)
    return json_response({"code": d.code, "name": d.name, "uscc": d.uscc}, status_code=201)


@router.post("/admin/departments/{code}/key",
             summary="签发部门接口密钥（旧密钥立即失效；密钥只在此响应中出现一次）")
def issue_department_key(code: str, me: Principal = Depends(require_admin),
                         session: Session = Depends(get_session, scope="function")) -> Response:
    return json_response({"code": code, "key": departments.issue_api_key(session, code, by=me)})


@router.delete("/admin/departments/{code}/key", summary="吊销部门接口密钥（管理员）")
def revoke_department_key(code: str, me: Principal = Depends(require_admin),
                          session: Session = Depends(get_session, scope="function")) -> Response:
    departments.revoke_api_key(session, code, by=me)
    return json_response({"code": code, "revoked": True})

"""Supervision library routes: a department's own libraries (the operator sees all)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from xinyong.core.deps import get_session, json_response
from xinyong.core.errors import DomainError
from xinyong.evaluation.api import Viewer, _refused, viewer
from xinyong.supervision import service

router = APIRouter(prefix="/api/v1/supervision", tags=["监管企业库"])


def _government(who: Viewer) -> str | None:
    """The caller's department code (None for the operator); the public is refused."""
    if not who.government:
        raise _refused(who, "监管企业库需要部门接口密钥或管理员身份")
    return who.department


class LibraryBody(BaseModel):
    name: str = Field(..., description="库名称")
    condition: dict[str, Any] | None = Field(
        None,
        description="筛选条件：kinds、industry_sections、industry_divisions、region_prefixes、"
        "model、grades、colours、tags（任一标签）",
    )
    codes: list[str] | None = Field(None, description="统一社会信用代码清单（与条件二选一）")
    department: str | None = Field(None, description="管理员代部门创建时填写部门编码")


@router.post("/libraries", summary="创建监管企业库（按条件或代码清单）", status_code=201)
def create(
    body: LibraryBody = Body(...),
    session: Session = Depends(get_session, scope="function"),
    who: Viewer = Depends(viewer),
) -> Any:
    dept = _government(who) or body.department
    if not dept:
        raise DomainError(
            "SUPERVISION_DEPARTMENT_REQUIRED", "管理员创建监管库时请填写部门编码 department"
        )
    try:
        lib = service.create_library(
            session.connection(),
            department=dept,
            name=body.name,
            condition=body.condition,
            codes=body.codes,
            actor=who.actor,
        )
    except service.SupervisionError as exc:
        session.rollback()
        return json_response(
            {"code": exc.code, "message": exc.message, "problems": exc.problems},
            status_code=exc.status,
        )
    session.commit()
    return json_response(lib, status_code=201)


@router.get("/libraries", summary="监管企业库列表（部门只见本部门的库）")
def list_(session: Session = Depends(get_session, scope="function"), who: Viewer = Depends(viewer)) -> Any:
    return json_response(service.list_libraries(session.connection(), _government(who)))


@router.get("/libraries/{library_id}", summary="监管企业库成员：当前等级、标签和近期等级变动")
def members(
    library_id: int,
    model: str | None = None,
    since: dt.date | None = None,
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
    session: Session = Depends(get_session, scope="function"),
    who: Viewer = Depends(viewer),
) -> Any:
    conn = session.connection()
    service.check_owner(conn, library_id, _government(who))
    return json_response(
        service.members(
            conn, library_id, model=model, since=since, limit=size, offset=(page - 1) * size
        )
    )

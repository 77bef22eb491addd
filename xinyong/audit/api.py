"""Audit log API for administrators: search the log and check its chain."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xinyong.audit import service
from xinyong.core.deps import get_session, json_response
from xinyong.core.security import require_admin

router = APIRouter(prefix="/api/v1/admin/audit", tags=["审计日志"])


def actor_of(who: object) -> str:
    """The audit actor for whoever ``require_admin`` let in: the operator token today
    (``"admin"`` → ``operator``); an account object or an ``actor`` string once accounts exist."""
    if isinstance(who, str):
        return "operator" if who == "admin" else who
    named = getattr(who, "actor", None)
    if isinstance(named, str) and named:
        return named
    username = getattr(who, "username", None)
    return f"user:{username}" if username else "operator"


@router.get("", summary="查询审计日志（按操作者、主体、操作、日期）")
def search(
    user: str | None = Query(None, description="操作者：账号名，或 user:账号、api:部门编码"),
    subject: str | None = Query(None, description="主体：统一社会信用代码或主体ID"),
    action: str | None = Query(None, description="操作代码或其前缀，如 record、model.activate"),
    since: dt.date | None = Query(None, description="起始日期（含）"),
    until: dt.date | None = Query(None, description="截止日期（含）"),
    sort: Literal["asc", "desc"] = Query("desc", description="desc：从晚到早；asc：从早到晚"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
    _: object = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    rows, total = service.search(
        session.connection(),
        actor=user,
        subject=subject,
        action=action,
        since=since,
        until=until,
        limit=size,
        offset=(page - 1) * size,
        sort=sort,
    )
    return json_response({"total": total, "page": page, "size": size, "entries": rows})


@router.get("/verify", summary="校验审计日志哈希链（逐条，日志很大时需要一些时间）")
def verify(
    anchor: str | None = Query(None, description="此前留存的链头：序号:哈希"),
    _: object = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    # A plain (sync) route: FastAPI runs it in the thread pool, so a long walk over the chain
    # does not hold the event loop.
    mark = service.parse_anchor(anchor) if anchor else None
    return json_response(service.verify(session.connection(), anchor=mark).as_dict())

"""Notification outbox API for administrators: list, retry, dispatch now."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core.deps import get_session, json_response
from xinyong.core.security import require_admin
from xinyong.notifications import service

router = APIRouter(prefix="/api/v1/admin/notifications", tags=["通知"])


@router.get("", summary="通知发件箱（按状态、渠道筛选）")
def list_outbox(
    status: str | None = Query(None, description="pending / sending / sent / failed"),
    channel: str | None = Query(None, description="in_app / email / webhook"),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(50, ge=1, le=500),
    _: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    rows, total = service.outbox(session, status=status, channel=channel, limit=size,
                                 offset=(page - 1) * size)
    return json_response({"total": total, "page": page, "counts": service.counts(session),
                          "items": [service.as_dict(r) for r in rows]})


@router.post("/{notification_id}/retry", summary="立即重发一条未送达的通知")
def retry(
    notification_id: int,
    p: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    row = service.retry(session, notification_id, actor=p.actor)
    return json_response(service.as_dict(row))


@router.post("/dispatch", summary="立即发送到期的邮件与短信通知")
def dispatch(_: Principal = Depends(require_admin)) -> Response:
    return json_response(service.dispatch().as_dict())

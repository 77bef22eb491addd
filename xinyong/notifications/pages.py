"""The administrator's view of the notification outbox."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import admin_form, require_admin
from xinyong.notifications import service
from xinyong.web.render import PAGE_SIZE, page_number, pager, render

router = APIRouter(include_in_schema=False)


@router.get("/admin/notifications", response_class=HTMLResponse)
def outbox_page(
    request: Request,
    status: str = "",
    channel: str = "",
    page: str | None = None,
    done: str = "",
    _: Principal = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    n = page_number(page)
    error, code = None, 200
    rows, total = [], 0
    try:
        rows, total = service.outbox(session, status=status or None, channel=channel or None,
                                     limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE)
    except DomainError as exc:
        error, code = f"{exc.message}（{exc.code}）", exc.status
    params = {k: v for k, v in {"status": status, "channel": channel}.items() if v}
    cfg = service.settings()
    return render(request, "notifications/outbox.html", {
        "items": [service.as_dict(r) for r in rows], "total": total,
        "counts": service.counts(session), "form": {"status": status, "channel": channel},
        "statuses": service.STATUS_LABELS, "channels": service.CHANNEL_LABELS,
        "smtp": cfg.smtp_host and f"{cfg.smtp_host}:{cfg.smtp_port}",
        "webhook": bool(cfg.sms_webhook_url), "error": error, "done": done,
        "pager": pager(request, n, total=total, params=params),
    }, nav="admin-notifications", status=code)


@router.post("/admin/notifications/{notification_id}/retry")
def retry_page(
    notification_id: int,
    p: Principal = Depends(admin_form),
    session: Session = Depends(get_session, scope="function"),
) -> RedirectResponse:
    service.retry(session, notification_id, actor=p.actor)
    return RedirectResponse(f"/admin/notifications?done=retry-{notification_id}",
                            status_code=303)


@router.post("/admin/notifications/dispatch")
def dispatch_page(_: Principal = Depends(admin_form)) -> RedirectResponse:
    r = service.dispatch()
    return RedirectResponse(
        f"/admin/notifications?done=dispatch-{r.sent}-{r.retried}-{r.failed}", status_code=303)

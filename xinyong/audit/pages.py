"""Administrator pages of the audit log: search, export, and a chain check on request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from xinyong.audit import service
from xinyong.audit.api import actor_of
from xinyong.core import clock
from xinyong.core.db import get_engine
from xinyong.core.deps import get_session
from xinyong.core.errors import DomainError
from xinyong.core.security import require_admin
from xinyong.web.render import PAGE_SIZE, page_number, pager, render

router = APIRouter(include_in_schema=False)

SORT_LABELS = {"desc": "从晚到早", "asc": "从早到晚"}


def _day(value: str, label: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DomainError(
            "AUDIT_BAD_DATE", f"{label}“{value}”不是 YYYY-MM-DD 格式的日期", status=422
        ) from None


def _filters(user: str, subject: str, action: str, since: str, until: str) -> dict[str, Any]:
    return {
        "actor": user.strip() or None,
        "subject": subject.strip() or None,
        "action": action.strip() or None,
        "since": _day(since, "起始日期"),
        "until": _day(until, "截止日期"),
    }


@router.get("/admin/audit", response_class=HTMLResponse)
def log_page(
    request: Request,
    user: str = "",
    subject: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    sort: str = "desc",
    page: str | None = None,
    verify: str = "",
    _: object = Depends(require_admin),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    conn = session.connection()
    sort = sort if sort in SORT_LABELS else "desc"
    form = {
        "user": user,
        "subject": subject,
        "action": action,
        "since": since,
        "until": until,
        "sort": sort,
    }
    n = page_number(page)
    rows: list[dict[str, Any]] = []
    total, error, status = 0, None, 200
    try:
        rows, total = service.search(
            conn,
            **_filters(user, subject, action, since, until),
            limit=PAGE_SIZE,
            offset=(n - 1) * PAGE_SIZE,
            sort=sort,  # type: ignore[arg-type]
        )
    except DomainError as exc:
        # A bad filter is shown beside the form the operator is filling in, not as an error page.
        error, status = f"{exc.message}（{exc.code}）", exc.status
    # Walking the chain reads every entry: only when asked, never on an ordinary page load.
    checked = service.verify(conn) if verify else None
    params = {k: v for k, v in form.items() if v and not (k == "sort" and v == "desc")}
    return render(
        request,
        "audit/log.html",
        {
            "entries": rows,
            "total": total,
            "form": form,
            "error": error,
            "check": checked,
            "actions": service.ACTIONS,
            "sort_labels": SORT_LABELS,
            "export_params": params,
            "pager": pager(request, n, total=total, params=params),
        },
        nav="audit",
        status=status,
    )


@router.get("/admin/audit/export.csv")
def export(
    user: str = "",
    subject: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    sort: str = "asc",
    who: object = Depends(require_admin),
) -> Response:
    filters = _filters(user, subject, action, since, until)
    order = "desc" if sort == "desc" else "asc"
    engine = get_engine()
    # Its own connection, not the request's session: the rows are read while the response
    # streams, after the route (and its dependencies) have returned.
    conn = engine.connect()
    try:
        chunks = service.export_csv(conn, **filters, sort=order)  # raises on a bad filter
        with engine.begin() as w:
            service.append(
                w,
                actor=actor_of(who),
                role=getattr(who, "role", None) or "admin",
                action="audit.export",
                detail={k: str(v) for k, v in filters.items() if v},
            )
        conn.rollback()  # read from after the export's own entry
    except BaseException:
        conn.close()
        raise

    def body() -> Iterator[bytes]:
        try:
            yield from chunks
        finally:
            conn.close()

    name = f"audit-log-{clock.now().strftime('%Y%m%d-%H%M%S')}.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )

"""The public list pages (公示名单): an index of the lists with their counts, and one list as a
table with a filter form (plain GET, works without JavaScript), sort links and pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from xinyong.core import clock
from xinyong.core.deps import get_session
from xinyong.core.ratelimit import limit_public_search
from xinyong.records.lists import (
    MAX_QUERY,
    SORTS,
    ListError,
    list_entries,
    list_info,
    published_lists,
)
from xinyong.web.render import PAGE_SIZE, error_page, page_number, pager, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(limit_public_search)])

SORT_LABELS = {"date_desc": "日期从新到旧", "date_asc": "日期从旧到新", "name": "按名称"}
YEARS_SHOWN = 10


def _clean(value: str | None, limit: int) -> str:
    return (value or "").replace("\x00", "").strip()[:limit]


@router.get("/lists", response_class=HTMLResponse)
def lists_page(request: Request, session: Session = Depends(get_session, scope="function")) -> HTMLResponse:
    return render(
        request, "lists/index.html",
        {"lists": published_lists(session), "today": clock.today()}, nav="lists",
    )


@router.get("/lists/{list_type}", response_class=HTMLResponse)
def list_page(
    request: Request,
    list_type: str,
    q: str = "",
    region: str = "",
    year: str = "",
    sort: str = "date_desc",
    page: str | None = None,
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    try:
        info = list_info(list_type)
    except ListError as exc:
        return error_page(request, exc.message, exc.status)
    today = clock.today()
    form = {
        "q": _clean(q, MAX_QUERY + 1),
        "region": _clean(region, 40),
        "year": _clean(year, 8),
        "sort": sort if sort in SORTS else "date_desc",
    }
    n = page_number(page)
    error = None
    items: list[dict[str, Any]] = []
    total = 0
    try:
        if form["year"] and not form["year"].isdigit():
            raise ListError("LIST_YEAR_INVALID", f"年份「{form['year']}」无效：请从列表中选择年份，或选择“全部年份”。")
        if len(form["q"]) > MAX_QUERY:
            raise ListError(
                "LIST_QUERY_TOO_LONG",
                f"查询词过长：请输入不超过 {MAX_QUERY} 个字符的名称或统一社会信用代码。",
            )
        if sort not in SORTS:
            raise ListError("LIST_SORT_INVALID", "排序方式无效：请点击表格上方的排序链接选择排序方式。")
        items, total = list_entries(
            session, list_type, q=form["q"] or None, region=form["region"] or None,
            year=int(form["year"]) if form["year"] else None, sort=form["sort"],
            limit=PAGE_SIZE, offset=(n - 1) * PAGE_SIZE,
        )
    except ListError as exc:
        error = exc.message
    filters = {k: v for k, v in form.items() if v and not (k == "sort" and v == "date_desc")}
    years = [today.year - i for i in range(YEARS_SHOWN)]
    if form["year"].isdigit() and int(form["year"]) not in years:
        years.append(int(form["year"]))
    return render(
        request, "lists/list.html",
        {
            "info": info,
            "form": form,
            "filtered": any(form[k] for k in ("q", "region", "year")),
            "items": items,
            "total": total,
            "error": error,
            "years": years,
            "sorts": [
                (key, label, _url(request.url.path, {**filters, "sort": key}))
                for key, label in SORT_LABELS.items()
            ],
            "pager": pager(request, n, total=total, size=PAGE_SIZE, params=filters),
            "today": today,
        },
        status=400 if error else 200,
        nav="lists",
    )


def _url(path: str, params: dict[str, str]) -> str:
    params = {k: v for k, v in params.items() if v and not (k == "sort" and v == "date_desc")}
    return path + ("?" + urlencode(params) if params else "")

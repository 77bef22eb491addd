"""Published lists (公示名单) as JSON: the lists with their public counts, and one list's public
entries, filtered, sorted and paginated. Anonymous callers share the public search budget
(core/ratelimit.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xinyong.core import clock
from xinyong.core.deps import get_session, json_response
from xinyong.core.ratelimit import limit_public_search
from xinyong.records.lists import (
    MAX_QUERY,
    MAX_SIZE,
    ListError,
    list_entries,
    list_info,
    published_lists,
)

MAX_PAGE = 10_000

router = APIRouter(
    prefix="/api/v1/lists", tags=["公示名单"], dependencies=[Depends(limit_public_search)]
)


@router.get("", summary="公示名单及各名单当前公开的条目数")
def lists(session: Session = Depends(get_session, scope="function")) -> Response:
    return json_response({"as_of": clock.today().isoformat(), "items": published_lists(session)})


@router.get("/{list_type}", summary="一个公示名单的公开条目（筛选、排序、分页）")
def entries(
    list_type: str,
    page: int = Query(1, description=f"页码，1–{MAX_PAGE}"),
    size: int = Query(20, description=f"每页条数，1–{MAX_SIZE}"),
    q: str | None = Query(None, description="主体名称（含曾用名）的一部分，或统一社会信用代码的开头"),
    region: str | None = Query(
        None, description="行政区划代码或其开头（如 4403、440305），也可写地区名称（如 深圳市）"
    ),
    year: int | None = Query(None, description="列入（决定）年份"),
    sort: str = Query("date_desc", description="date_desc（日期从新到旧）、date_asc、name"),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    # Range checks here rather than in Query(): a 422 would not say what to do in Chinese.
    if not 1 <= page <= MAX_PAGE:
        raise ListError("LIST_PAGE_INVALID", f"页码 {page} 超出范围：请使用 1 到 {MAX_PAGE} 之间的页码。")
    if not 1 <= size <= MAX_SIZE:
        raise ListError("LIST_SIZE_INVALID", f"每页条数 {size} 超出范围：请使用 1 到 {MAX_SIZE} 之间的数。")
    if q is not None and len(q) > MAX_QUERY:
        raise ListError(
            "LIST_QUERY_TOO_LONG",
            f"查询词过长：请输入不超过 {MAX_QUERY} 个字符的名称或统一社会信用代码。",
        )
    info = list_info(list_type)
    items, total = list_entries(
        session, list_type, q=q, region=region, year=year, sort=sort,
        limit=size, offset=(page - 1) * size,
    )
    return json_response(
        {
            "list": info,
            "as_of": clock.today().isoformat(),
            "filters": {"q": q, "region": region, "year": year, "sort": sort},
            "total": total,
            "page": page,
            "size": size,
            "items": items,
        }
    )

"""Rendering helpers shared by every page: the template environment, the common context,
pagination, the CSRF token of admin forms, and the Chinese error page.

Nothing here knows about a domain's rules; labels that are pure presentation (a status shown in
Chinese) live here or in the templates, labels that are domain data come from the domains.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from xinyong.accounts.principal import ROLE_LABELS
from xinyong.core.config import get_settings
from xinyong.core.security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,  # noqa: F401  (re-exported: pages import it from here)
    csrf_token,
    principal_of,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
PLATFORM_NAME = "xinyong 公共信用信息平台"
PAGE_SIZE = 20
MAX_PAGE = 10_000

# Starlette's Jinja2Templates turns autoescape on by default; it is stated here on purpose.
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.autoescape = True
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True

# ------------------------------------------------------------------------------------ labels

MATCH_LABELS = {
    "code": "代码",
    "exact": "名称完全一致",
    "prefix": "名称开头",
    "substring": "名称包含",
    "fuzzy": "相近名称",
    "former": "曾用名",
}
BATCH_STATUS_LABELS = {
    "running": "进行中",
    "committed": "已入库",
    "rejected": "已拒收",
    "failed": "失败",
}
PENDING_REASON_LABELS = {"unmatched": "未找到", "ambiguous": "同名多个"}
POLARITY_LABELS = {"positive": "正面", "negative": "负面", "neutral": "中性"}
DISCLOSURE_LABELS = {"public": "公开", "restricted": "有限公开", "internal": "不公开"}
PUBLICITY_FAMILY_LABELS = {
    "always": "长期公示",
    "none": "不在公开页面展示",
    "penalty": "按行政处罚公示期规则",
    "list": "按名单类公示期规则",
    "negative_info": "按失信信息公示期规则",
}
FIELD_TYPE_LABELS = {
    "text": "文本",
    "uscc": "统一社会信用代码",
    "id_number": "证件号码",
    "date": "日期",
    "money": "金额（元）",
    "integer": "整数",
    "decimal": "数字",
    "enum": "代码值",
    "boolean": "是/否",
}
VIEW_LABELS = {"public": "公开视图", "subject": "主体视图", "government": "政务视图"}
ERROR_TITLES = {
    400: "请求有误",
    401: "需要登录",
    403: "无权操作",
    404: "未找到",
    405: "不支持的操作",
    409: "状态冲突",
    413: "文件过大",
    422: "请求参数有误",
    429: "查询过于频繁",
    500: "系统错误",
}


def _label(mapping: dict[str, str]) -> Any:
    def f(value: Any) -> str:
        if value is None:
            return ""
        return mapping.get(str(value), str(value))

    return f


def _region(row: dict[str, Any]) -> str:
    from xinyong.subjects.regions import region_name

    parts = [p for p in (row.get("province"), row.get("city")) if p]
    if parts:
        return " ".join(dict.fromkeys(parts))
    return region_name(row.get("region_code")) or row.get("region_code") or ""


def _industry(section: str | None, division: str | None = None) -> str:
    if not section and not division:
        return ""
    from xinyong.subjects.industry import division_label, section_label

    label = section_label(section) if section else None
    if division:
        sub = division_label(division)
        if sub:
            return f"{label} · {sub}" if label else sub
    return label or section or ""


def _money(value: Any) -> str:
    """"12345.60" → "12,345.60 元"."""
    if value in (None, ""):
        return ""
    try:
        return f"{float(value):,.2f} 元"
    except (TypeError, ValueError):
        return str(value)


templates.env.filters.update(
    match_label=_label(MATCH_LABELS),
    batch_status=_label(BATCH_STATUS_LABELS),
    pending_reason=_label(PENDING_REASON_LABELS),
    polarity=_label(POLARITY_LABELS),
    disclosure=_label(DISCLOSURE_LABELS),
    publicity_family=_label(PUBLICITY_FAMILY_LABELS),
    field_type=_label(FIELD_TYPE_LABELS),
    region=_region,
    industry=_industry,
    money=_money,
)

# ------------------------------------------------------------------------------------ paging


def page_number(value: str | int | None) -> int:
    """A lenient page parameter: anything that is not a positive number means page 1."""
    try:
        n = int(value) if value is not None else 1
    except (TypeError, ValueError):
        return 1
    return min(max(n, 1), MAX_PAGE)


@dataclass
class Pager:
    page: int
    size: int
    total: int | None  # None when unknown (only "next" is known)
    has_next: bool
    estimate: bool
    base: str
    params: dict[str, Any]
    fragment: str = ""

    @property
    def pages(self) -> int | None:
        if self.total is None:
            return None
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    def url(self, page: int) -> str:
        params = {k: v for k, v in self.params.items() if v not in (None, "")}
        if page > 1:
            params["page"] = page
        else:
            params.pop("page", None)
        query = urlencode(params)
        return self.base + ("?" + query if query else "") + (
            "#" + self.fragment if self.fragment else "")

    def window(self) -> list[int | None]:
        """Page numbers to show around the current page; None is a gap ("…")."""
        last = self.pages if self.pages is not None else self.page + (1 if self.has_next else 0)
        wanted = {1, last, *range(max(1, self.page - 2), min(last, self.page + 2) + 1)}
        out: list[int | None] = []
        prev = 0
        for n in sorted(wanted):
            if n - prev > 1:
                out.append(None)
            out.append(n)
            prev = n
        return out


def pager(
    request: Request,
    page: int,
    *,
    total: int | None = None,
    has_next: bool | None = None,
    estimate: bool = False,
    size: int = PAGE_SIZE,
    params: dict[str, Any] | None = None,
    fragment: str = "",
) -> Pager:
    params = dict(request.query_params) if params is None else dict(params)
    params.pop("page", None)
    for transient in ("resolved", "uploaded", "logged_out"):
        params.pop(transient, None)
    if has_next is None:
        has_next = total is not None and page * size < total
    return Pager(page, size, total, has_next, estimate, request.url.path, params, fragment)


# ------------------------------------------------------------------------------------ render


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    nav: str = "",
) -> HTMLResponse:
    me = principal_of(request)
    new_csrf = None
    if me.is_anonymous and not request.cookies.get(SESSION_COOKIE) and not request.cookies.get(
        CSRF_COOKIE
    ):
        # A visitor's first page: the secret its forms (login, registration) are checked with.
        new_csrf = secrets.token_urlsafe(24)
        request.state.csrf_cookie = new_csrf
    ctx: dict[str, Any] = {
        "request": request,
        "platform_name": PLATFORM_NAME,
        "me": me,
        "role_labels": ROLE_LABELS,
        "is_admin": me.is_admin,
        "csrf_token": csrf_token(request),
        "nav": nav,
        "unread": _unread(me),
        # The operator should know when forms and cookies are keyed with the development secret.
        "insecure_secret": me.is_admin and get_settings().secret_key == "dev-only-change-me",
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    if new_csrf:
        response.set_cookie(CSRF_COOKIE, new_csrf, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/")
    response.headers.setdefault("Cache-Control", "no-cache" if me.is_anonymous else "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _unread(me: Any) -> int:
    """Unread messages of the account, for the badge in the header."""
    if me.account_id is None or me.via != "session":
        return 0
    from xinyong.accounts.service import unread_count
    from xinyong.core.db import session_scope

    with session_scope() as session:
        return unread_count(session, me.account_id)


def error_page(request: Request, message: str, status: int) -> HTMLResponse:
    """The Chinese error page used for every HTML error (called by the app's handlers)."""
    title = ERROR_TITLES.get(status, "出错了" if status >= 400 else "提示")
    if not message:
        message = {
            404: "您访问的页面不存在：请检查网址，或回到首页重新查询。",
            405: "该页面不支持这种操作：请从页面上的链接或按钮进入。",
            500: "系统暂时出现问题：请稍后重试，如仍有问题请联系平台管理员。",
        }.get(status, "请求未能完成：请返回上一页后重试。")
    return render(request, "error.html", {"title": title, "message": message, "status": status},
                  status=status)

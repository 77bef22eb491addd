"""Who is calling: resolve the request's credentials to a ``Principal`` and guard routes by role.

Credentials, in order:
- ``X-API-Key`` (a department's key) or ``Authorization: Bearer <token>`` (any API token):
  scoped, expiring, revocable tokens stored as digests (``accounts``);
- ``Authorization: Bearer <operator token>``: the operator's token (``XINYONG_ADMIN_TOKEN`` or
  the generated ``data_dir/admin-token``), for automation on the server, acting as the office;
- the ``xinyong_session`` cookie of a person logged in with a password.

A credential that is presented but wrong is refused (401), never downgraded to the public: an
API client must not mistake a public answer for a full one.

The principal is resolved once per request by an application-wide dependency, before any
route's own dependencies run; a request with no credential at all costs nothing here.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Depends, Form, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from xinyong.accounts.principal import ANONYMOUS, OPERATOR, Principal
from xinyong.core.config import get_settings

SESSION_COOKIE = "xinyong_session"
# The anonymous visitor's CSRF secret (login and registration forms): a double-submit cookie.
CSRF_COOKIE = "xinyong_csrf"


def admin_token() -> str:
    """The operator token: from settings, or generated once and kept in the data folder."""
    settings = get_settings()
    if settings.admin_token:
        return settings.admin_token
    path = settings.data_dir / "admin-token"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(18)
    path.write_text(token)
    path.chmod(0o600)
    return token


def _unauthorised(code: str, message: str) -> HTTPException:
    return HTTPException(status_code=401, detail={"code": code, "message": message})


def _credentials(request: Request) -> tuple[str | None, str | None, str | None]:
    key = request.headers.get("x-api-key") or None
    auth = request.headers.get("authorization", "")
    bearer = auth[7:].strip() or None if auth[:7].lower() == "bearer " else None
    cookie = request.cookies.get(SESSION_COOKIE) or None
    return key, bearer, cookie


def _lookup(key: str | None, bearer: str | None, cookie: str | None) -> Principal:
    from xinyong.accounts.service import resolve_session, resolve_token
    from xinyong.core.db import get_engine

    engine = get_engine()
    with engine.connect() as conn:
        if key or bearer:
            found, write = resolve_token(conn, key or bearer or "")
        else:
            found, write = resolve_session(conn, cookie or "")
    if write is not None:
        with engine.begin() as conn:
            write(conn)
    if found is None and (key or bearer):
        if key:
            raise _unauthorised("AUTH_KEY_INVALID",
                                "部门接口密钥无效、已过期或已被吊销：请向平台管理员申请新密钥")
        raise _unauthorised("AUTH_TOKEN_INVALID",
                            "接口令牌无效、已过期或已被吊销：请向平台管理员申请新令牌")
    # An expired or unknown session is simply not logged in: pages then ask to log in.
    return found or ANONYMOUS


async def resolve_principal(request: Request) -> Principal:
    """The application-wide dependency: sets ``request.state.principal``."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    key, bearer, cookie = _credentials(request)
    if not (key or bearer or cookie):
        principal = ANONYMOUS
    elif bearer and not key and hmac.compare_digest(bearer.encode(), admin_token().encode()):
        principal = OPERATOR
    else:
        principal = await run_in_threadpool(_lookup, key, bearer, cookie)
    request.state.principal = principal
    return principal


def principal_of(request: Request) -> Principal:
    """The principal resolved for this request (the public when none was)."""
    return getattr(request.state, "principal", None) or ANONYMOUS


def current_principal(request: Request) -> Principal:
    return principal_of(request)


def _forbidden(message: str, code: str = "AUTH_FORBIDDEN") -> HTTPException:
    return HTTPException(status_code=403, detail={"code": code, "message": message})


def _need_login(message: str) -> HTTPException:
    return _unauthorised("AUTH_REQUIRED", message)


def require_login(request: Request) -> Principal:
    p = principal_of(request)
    if p.is_anonymous:
        raise _need_login("请先登录")
    return p


def require_admin(request: Request) -> Principal:
    p = principal_of(request)
    if p.is_anonymous:
        raise _unauthorised("AUTH_ADMIN_REQUIRED", "需要管理员身份：请用管理员账号登录")
    if not p.is_admin:
        raise _forbidden("该功能仅限平台管理员使用：如需办理请联系信用办", "AUTH_ADMIN_REQUIRED")
    return p


def require_government(request: Request) -> Principal:
    """Administrator, department officer or department system (with the profiles scope)."""
    p = principal_of(request)
    if p.is_anonymous:
        raise _need_login("该功能仅向政府部门开放：请用部门账号登录，或提供部门接口密钥")
    if not p.is_government:
        raise _forbidden("该功能仅向政府部门开放，您的账号无此权限")
    return p


def require_department(request: Request) -> Principal:
    """A department's officer or system, acting for its own department."""
    p = principal_of(request)
    if p.is_anonymous:
        raise _unauthorised("AUTH_KEY_REQUIRED",
                            "缺少部门身份：请提供部门接口密钥（请求头 X-API-Key）或用部门账号登录")
    if not p.is_department or p.department_id is None or not p.allows("records:write"):
        raise _forbidden("该功能仅限数据来源部门使用，您的账号无此权限")
    return p


def require_subject(request: Request) -> Principal:
    p = principal_of(request)
    if p.is_anonymous:
        raise _need_login("请先用信用主体账号登录")
    if p.role != "subject" or p.subject_id is None or not p.allows("self:read"):
        raise _forbidden("该页面仅向信用主体（企业或个人）账号开放")
    return p


def require_department_or_admin(request: Request) -> Principal:
    p = principal_of(request)
    if p.is_admin:
        return p
    return require_department(request)


# ------------------------------------------------------------------------------ CSRF


def csrf_secret(request: Request) -> str:
    """What the CSRF token is keyed on: the session cookie, or for a visitor not logged in the
    double-submit cookie set by the page that shows the form."""
    return (request.cookies.get(SESSION_COOKIE)
            or getattr(request.state, "csrf_cookie", None)
            or request.cookies.get(CSRF_COOKIE) or "")


def csrf_token(request: Request) -> str:
    """An HMAC of the visitor's secret cookie: a page that can read the token was served to this
    browser; another site's form cannot know it."""
    secret = csrf_secret(request)
    if not secret:
        return ""
    key = get_settings().secret_key.encode()
    return hmac.new(key, b"csrf:" + secret.encode(), "sha256").hexdigest()


def check_csrf(request: Request, token: str | None) -> None:
    """Raise 403 unless a cookie-authenticated form carries its CSRF token.

    A caller that authenticates with a header (API key or bearer token) and sends no cookie
    cannot be driven by another site's form, so it needs no token.
    """
    key, bearer, cookie = _credentials(request)
    if not cookie and (key or bearer):
        return
    expected = csrf_token(request)
    if not expected or not token or not hmac.compare_digest(expected, token):
        raise HTTPException(
            status_code=403,
            detail={
                "code": "CSRF_INVALID",
                "message": "表单安全校验未通过（页面可能已过期或来自其他网站）："
                "请返回上一页，刷新后重新提交。",
            },
        )


def form_guard(request: Request, csrf_token: str = Form("")) -> None:
    check_csrf(request, csrf_token)


def admin_form(
    request: Request, csrf_token: str = Form(""), p: Principal = Depends(require_admin)
) -> Principal:
    """For every admin POST: an administrator, with a valid CSRF token."""
    check_csrf(request, csrf_token)
    return p


def department_form(
    request: Request, csrf_token: str = Form(""), p: Principal = Depends(require_department)
) -> Principal:
    check_csrf(request, csrf_token)
    return p


def login_form(
    request: Request, csrf_token: str = Form(""), p: Principal = Depends(require_login)
) -> Principal:
    check_csrf(request, csrf_token)
    return p

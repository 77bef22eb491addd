"""Who is calling: a department system (API key), the operator (admin token), or the public.

Full accounts, roles and sessions come with the portals; until then two credentials guard what
issue #2 exposes: each department's API key (``X-API-Key``) for pushing records and the
government view, and the operator token (``XINYONG_ADMIN_TOKEN``) for the admin pages and API.
Keys are stored as SHA-256 digests; the clear key is shown once when issued.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core.config import get_settings
from xinyong.core.deps import get_session
from xinyong.departments.models import Department

ADMIN_COOKIE = "xinyong_admin"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return "xy_" + secrets.token_urlsafe(32)


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


def cookie_value() -> str:
    return hmac.new(
        get_settings().secret_key.encode(), admin_token().encode(), "sha256"
    ).hexdigest()


def is_admin(request: Request) -> bool:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and hmac.compare_digest(auth[7:].strip(), admin_token()):
        return True
    cookie = request.cookies.get(ADMIN_COOKIE)
    return bool(cookie) and hmac.compare_digest(cookie, cookie_value())


def require_admin(request: Request) -> str:
    if not is_admin(request):
        raise HTTPException(
            status_code=401,
            detail={
                "code": "AUTH_ADMIN_REQUIRED",
                "message": "需要管理员身份：请登录或提供管理令牌",
            },
        )
    return "admin"


@dataclass
class Caller:
    department_id: int
    department_code: str
    department_name: str


def require_department(
    x_api_key: str | None = Header(default=None),
    session: Session = Depends(get_session),
) -> Caller:
    if not x_api_key:
        raise HTTPException(
            status_code=401,
            detail={"code": "AUTH_KEY_REQUIRED", "message": "缺少部门接口密钥（请求头 X-API-Key）"},
        )
    dept = session.scalar(select(Department).where(Department.api_key_hash == hash_key(x_api_key)))
    if dept is None:
        raise HTTPException(
            status_code=401,
            detail={"code": "AUTH_KEY_INVALID", "message": "部门接口密钥无效或已被吊销"},
        )
    return Caller(dept.id, dept.code, dept.name)


def optional_department(
    x_api_key: str | None = Header(default=None),
    session: Session = Depends(get_session),
) -> Caller | None:
    if not x_api_key:
        return None
    return require_department(x_api_key, session)

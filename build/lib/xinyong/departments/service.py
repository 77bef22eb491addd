"""Departments (数据来源单位) and their API keys."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core import clock
from xinyong.core.errors import DomainError as IngestError
from xinyong.core.security import hash_key, new_api_key
from xinyong.departments.models import Department


def add_department(session: Session, code: str, name: str, uscc: str | None = None) -> Department:
    code = code.strip()
    if not code or not name.strip():
        raise IngestError("DEPARTMENT_INVALID", "部门代码和名称不能为空")
    if session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise IngestError("DEPARTMENT_EXISTS", f"部门代码「{code}」已存在", status=409)
    dept = Department(code=code, name=name.strip(), uscc=uscc, created_at=clock.now())
    session.add(dept)
    session.flush()
    from xinyong.records.profile import forget_departments

    forget_departments()
    return dept


def issue_api_key(session: Session, code: str) -> str:
    """A new key replaces the old one at once; the clear key is returned only here."""
    dept = get_department(session, code)
    key = new_api_key()
    dept.api_key_hash = hash_key(key)
    dept.api_key_prefix = key[:10]
    session.flush()
    return key


def revoke_api_key(session: Session, code: str) -> None:
    dept = get_department(session, code)
    dept.api_key_hash = None
    dept.api_key_prefix = None
    session.flush()


def get_department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise IngestError("DEPARTMENT_UNKNOWN", f"数据来源单位「{code}」未登记", status=404)
    return dept


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.code)))

"""Departments (数据来源单位) and their API keys."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts.principal import CLI, Principal
from xinyong.core import clock
from xinyong.core.errors import DomainError as IngestError
from xinyong.departments.models import Department


def add_department(
    session: Session, code: str, name: str, uscc: str | None = None, by: Principal = CLI
) -> Department:
    code = code.strip()
    if not code or not name.strip():
        raise IngestError("DEPARTMENT_INVALID", "部门代码和名称不能为空")
    if session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise IngestError("DEPARTMENT_EXISTS", f"部门代码「{code}」已存在", status=409)
    dept = Department(code=code, name=name.strip(), uscc=uscc, created_at=clock.now())
    session.add(dept)
    session.flush()
    from xinyong.audit.service import append
    from xinyong.records.profile import forget_departments

    append(session.connection(), actor=by.actor, role=by.role, action="department.create",
           target=f"department:{code}", detail={"name": dept.name})

    forget_departments()
    return dept


def issue_api_key(session: Session, code: str, by: Principal = CLI) -> str:
    """A new key replaces the old one at once; the clear key is returned only here. The key is
    a token of the department's system account (scoped, expiring, revocable)."""
    from xinyong.accounts.service import issue_department_key

    return issue_department_key(session, get_department(session, code), by)


def revoke_api_key(session: Session, code: str, by: Principal = CLI) -> None:
    from xinyong.accounts.service import revoke_department_key

    revoke_department_key(session, get_department(session, code), by)


def get_department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise IngestError("DEPARTMENT_UNKNOWN", f"数据来源单位「{code}」未登记", status=404)
    return dept


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.code)))

"""Accounts for tests: create one of each role and log a TestClient in through the real form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from xinyong.accounts import service
from xinyong.accounts.principal import CLI
from xinyong.core.db import session_scope

PASSWORD = "Xinyong2026"


def create_user(
    username: str,
    role: str,
    *,
    department: str | None = None,
    subject: str | None = None,
    password: str = PASSWORD,
    status: str = "active",
) -> int:
    with session_scope() as session:
        account = service.create_account(
            session, username=username, display_name=f"{username} 名称", role=role, by=CLI,
            password=password if role != "department_system" else None,
            department=department, subject=subject, status=status,
            organisation=f"{username} 机构" if role in ("bank", "provider") else None,
        )
        return account.id


def issue_token(username: str, scopes: list[str], days: int = 30) -> str:
    from sqlalchemy import select

    from xinyong.accounts.models import Account

    with session_scope() as session:
        account_id = session.scalar(select(Account.id).where(Account.username == username))
        assert account_id is not None
        _, clear = service.issue_token(session, account_id, name="test", scopes=scopes, by=CLI,
                                       days=days)
        return clear


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert m, "the page has no CSRF token"
    return m.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD,
          next: str = "") -> TestClient:
    page = client.get("/login", headers={"accept": "text/html"})
    r = client.post("/login", data={"username": username, "password": password, "next": next,
                                    "csrf_token": csrf(page.text)},
                    headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return client

"""``xinyong accounts``: the office's account administration from the server's shell."""

from __future__ import annotations

import getpass

import typer
from rich.console import Console
from rich.table import Table

from xinyong.accounts import service
from xinyong.accounts.principal import CLI, ROLE_LABELS
from xinyong.core.errors import DomainError

accounts_app = typer.Typer(help="账号、角色与接口令牌", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _fail(exc: DomainError) -> None:
    err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
    raise typer.Exit(2)


def _password(given: str | None) -> str:
    if given:
        return given
    first = getpass.getpass("密码：")
    if getpass.getpass("再次输入密码：") != first:
        err.print("[red]两次输入的密码不一致[/red]")
        raise typer.Exit(2)
    return first


@accounts_app.command("create")
def create(
    username: str,
    role: str = typer.Option(..., help="admin、department_officer、subject、bank、provider"),
    name: str = typer.Option(..., "--name", help="姓名或机构名称"),
    department: str | None = typer.Option(None, help="部门编码（部门工作人员）"),
    subject: str | None = typer.Option(None, help="统一社会信用代码（主体账号）"),
    password: str | None = typer.Option(None, help="不填则交互输入"),
) -> None:
    """由信用办直接创建账号（立即生效）。"""
    from xinyong.core.db import session_scope

    try:
        with session_scope() as session:
            account = service.create_account(
                session, username=username, display_name=name, role=role, by=CLI,
                password=_password(password) if role != "department_system" else None,
                department=department, subject=subject, organisation=name
                if role in ("bank", "provider") else None,
            )
            console.print(f"已创建账号 {account.username}（{ROLE_LABELS[role]}），编号 {account.id}")
    except DomainError as exc:
        _fail(exc)


@accounts_app.command("list")
def list_(role: str | None = None, status: str | None = None, q: str | None = None,
          limit: int = 50) -> None:
    """列出账号。"""
    from xinyong.core.db import session_scope

    with session_scope() as session:
        rows, total = service.list_accounts(session, role=role, status=status, q=q, limit=limit)
        table = Table(title=f"账号（共 {total} 个）")
        for col in ("编号", "用户名", "名称", "角色", "状态"):
            table.add_column(col)
        for a in rows:
            table.add_row(str(a.id), a.username, a.display_name, ROLE_LABELS.get(a.role, a.role),
                          service.STATUS_LABELS.get(a.status, a.status))
        console.print(table)


def _by_name(session: object, username: str) -> int:
    from sqlalchemy import select

    from xinyong.accounts.models import Account

    account_id = session.scalar(select(Account.id).where(Account.username == username))  # type: ignore[attr-defined]
    if account_id is None:
        raise DomainError("ACCOUNT_UNKNOWN", f"账号「{username}」不存在", status=404)
    return int(account_id)


@accounts_app.command("approve")
def approve(username: str) -> None:
    """审核通过注册申请。"""
    _decide(username, True, "")


@accounts_app.command("reject")
def reject(username: str, reason: str = typer.Option(..., help="不予通过的理由")) -> None:
    """驳回注册申请（理由会通知申请人）。"""
    _decide(username, False, reason)


def _decide(username: str, approve: bool, reason: str) -> None:
    from xinyong.core.db import session_scope

    try:
        with session_scope() as session:
            service.decide(session, _by_name(session, username), approve, CLI, reason)
    except DomainError as exc:
        _fail(exc)
    console.print(f"{username}：{'已通过' if approve else '已驳回'}")


@accounts_app.command("disable")
def disable(username: str) -> None:
    """停用账号（结束其会话，吊销其令牌）。"""
    _status(username, "disabled")


@accounts_app.command("enable")
def enable(username: str) -> None:
    """恢复账号。"""
    _status(username, "active")


def _status(username: str, status: str) -> None:
    from xinyong.core.db import session_scope

    try:
        with session_scope() as session:
            service.set_status(session, _by_name(session, username), status, CLI)
    except DomainError as exc:
        _fail(exc)
    console.print(f"{username}：{service.STATUS_LABELS[status]}")


@accounts_app.command("unlock")
def unlock(username: str) -> None:
    """解除登录失败锁定。"""
    from xinyong.core.db import session_scope

    try:
        with session_scope() as session:
            service.unlock(session, _by_name(session, username), CLI)
    except DomainError as exc:
        _fail(exc)
    console.print(f"{username}：已解锁")


@accounts_app.command("reset-password")
def reset_password(username: str, password: str | None = None) -> None:
    """重置密码（该账号的所有会话立即结束）。"""
    from xinyong.core.db import session_scope

    try:
        with session_scope() as session:
            service.set_password(session, _by_name(session, username), _password(password), CLI)
    except DomainError as exc:
        _fail(exc)
    console.print(f"{username}：密码已重置")


@accounts_app.command("issue-token")
def issue_token(
    username: str,
    scope: list[str] = typer.Option(..., "--scope", help="权限范围，可重复"),
    name: str = typer.Option("接口令牌", help="令牌用途"),
    days: int = typer.Option(service.TOKEN_DEFAULT_DAYS, help="有效天数"),
) -> None:
    """签发接口令牌（只显示这一次）。"""
    from xinyong.core.db import session_scope

    try:
        with session_scope() as session:
            token, clear = service.issue_token(session, _by_name(session, username), name=name,
                                               scopes=scope, by=CLI, days=days)
            expires = token.expires_at
    except DomainError as exc:
        _fail(exc)
    console.print(f"接口令牌（只显示这一次，请妥善保存；{expires:%Y-%m-%d} 到期）：{clear}")


@accounts_app.command("revoke-token")
def revoke_token(token_id: int) -> None:
    """吊销接口令牌。"""
    from xinyong.core.db import session_scope

    try:
        with session_scope() as session:
            service.revoke_token(session, token_id, CLI)
    except DomainError as exc:
        _fail(exc)
    console.print(f"令牌 {token_id} 已吊销")

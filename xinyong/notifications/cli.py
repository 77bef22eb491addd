"""``xinyong notifications …``: dispatch the outbox, list it, retry a message."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table

from xinyong.core.errors import DomainError

notifications_app = typer.Typer(help="通知发件箱（邮件、短信网关、站内消息）", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@notifications_app.command("dispatch")
def dispatch_command(
    loop: bool = typer.Option(False, "--loop", help="持续运行，每隔 --interval 秒发送一次"),
    interval: float = typer.Option(30.0, help="--loop 时的间隔秒数"),
) -> None:
    """发送到期的邮件与短信通知（失败的按退避时间重试）。"""
    from xinyong.notifications import service

    while True:
        r = service.dispatch()
        console.print(f"成功 {r.sent} 条，待重试 {r.retried} 条，放弃 {r.failed} 条")
        for e in r.errors:
            err.print(f"[yellow]{e}[/yellow]")
        if not loop:
            raise typer.Exit(1 if r.failed else 0)
        time.sleep(interval)


@notifications_app.command("list")
def list_command(
    status: str | None = typer.Option(None, help="pending / sending / sent / failed"),
    channel: str | None = typer.Option(None, help="in_app / email / webhook"),
    limit: int = typer.Option(50, help="最多显示条数"),
) -> None:
    """列出发件箱中的通知。"""
    from xinyong.core.db import session_scope
    from xinyong.notifications import service

    try:
        with session_scope() as session:
            rows, total = service.outbox(session, status=status, channel=channel, limit=limit)
            items = [service.as_dict(r) for r in rows]
    except DomainError as exc:
        err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
        raise typer.Exit(2) from None
    table = Table(title=f"通知（共 {total} 条）")
    for col in ("编号", "渠道", "账号", "标题", "状态", "尝试", "错误"):
        table.add_column(col)
    for n in items:
        table.add_row(str(n["id"]), n["channel_label"], str(n["account_id"]), n["title"],
                      n["status_label"], str(n["attempts"]), n["last_error"] or "")
    console.print(table)


@notifications_app.command("retry")
def retry_command(notification_id: int) -> None:
    """把一条发送失败的通知重新排队。"""
    from xinyong.core.db import session_scope
    from xinyong.notifications import service

    try:
        with session_scope() as session:
            service.retry(session, notification_id, actor="cli")
    except DomainError as exc:
        err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
        raise typer.Exit(2) from None
    console.print(f"通知 {notification_id} 已重新排队")

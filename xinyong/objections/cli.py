"""``xinyong objections …``: the office's queue and the daily sweep (overdue flags, reminders)."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from xinyong.accounts.principal import CLI

objections_app = typer.Typer(help="异议处理", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@objections_app.command("list")
def list_command(
    overdue: bool = typer.Option(False, "--overdue", help="只列出已超期的异议"),
    status: str | None = typer.Option(None, help="按状态筛选：filed、checking、assigned、"
                                      "answered、not_accepted、decided、open"),
    limit: int = typer.Option(100, help="最多列出条数"),
) -> None:
    """列出异议（未办结的按期限排序，超期的标出）。"""
    from xinyong.core.db import session_scope
    from xinyong.objections.service import list_objections

    with session_scope() as session:
        rows, total = list_objections(session, CLI, status=status, overdue=overdue, limit=limit)
    table = Table(title=f"异议（共 {total} 件）")
    for col in ("编号", "信用主体", "记录", "数据提供单位", "状态", "期限", "超期"):
        table.add_column(col)
    for r in rows:
        due = (r["due_on"] or "—") + ("（暂定）" if r["due_provisional"] else "")
        table.add_row(str(r["id"]), r["subject_name"], r["record_title"] or "",
                      r["department_name"], r["outcome_label"] or r["status_label"], due,
                      "超期" if r["overdue"] else "")
    console.print(table)


@objections_app.command("sweep")
def sweep_command(
    today: str | None = typer.Option(None, help="按该日期处理（YYYY-MM-DD，默认今天）"),
) -> None:
    """标记超期的异议并通知；向答复期限临近的数据提供单位发送提醒。可重复运行。"""
    from xinyong.core.db import session_scope
    from xinyong.objections.service import sweep

    day = dt.date.fromisoformat(today) if today else None
    with session_scope() as session:
        out = sweep(session, day)
    console.print(f"超期标记 {out['overdue']} 件，到期提醒 {out['reminded']} 件")

"""``xinyong repair …``: eligibility of a subject, the daily sweep, the queue."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

import xinyong.repair.models  # noqa: F401  (registers the repair-notice hook with ingest)

repair_app = typer.Typer(help="信用修复", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@repair_app.command("eligibility")
def eligibility(code: str = typer.Argument(..., help="统一社会信用代码")) -> None:
    """一个主体的各条失信信息能否修复、何时起、需要什么材料。"""
    from sqlalchemy import select

    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.repair.service import eligibility as compute
    from xinyong.subjects.models import Subject

    with session_scope() as session:
        sid = session.scalar(select(Subject.id).where(Subject.uscc == code.strip().upper()))
        if sid is None:
            err.print(f"[red]错误 REPAIR_SUBJECT_NOT_FOUND[/red]：没有统一社会信用代码为 {code} 的主体")
            raise typer.Exit(2)
        try:
            data = compute(session, int(sid))
        except DomainError as exc:
            err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
            raise typer.Exit(2) from None
    table = Table(title=f"{data['subject']['name']}（{code}）信用修复条件，截至 {data['as_of']}")
    for col in ("记录", "信息", "作出日期", "可修复日期", "现可申请", "说明", "依据"):
        table.add_column(col)
    for r in data["records"]:
        table.add_row(str(r["record_id"]), f"{r['record_type_label']} {r['title'] or ''}",
                      r["decided_on"] or "", r["repairable_from"] or "不适用",
                      "是" if r["can_apply"] else "否", r["message"], r["rule"]["label"])
    console.print(table)


@repair_app.command("sweep")
def sweep() -> None:
    """每日执行：容缺逾期未补齐的申请失效并通知；已到可修复日期的告知书通知主体。"""
    from xinyong.core.db import session_scope
    from xinyong.repair.service import sweep as run

    with session_scope() as session:
        result = run(session)
    console.print(f"容缺逾期失效 {result.lapsed} 件；到期可修复的告知书 {result.repairable} 份，"
                  f"通知主体 {result.subjects_notified} 个")


@repair_app.command("list")
def list_(
    overdue: bool = typer.Option(False, "--overdue", help="只列超期的"),
    status: str = typer.Option("open", help="状态（open 为全部在办，空为全部）"),
) -> None:
    """修复申请队列（超期的标出）。"""
    from xinyong.accounts.principal import CLI
    from xinyong.core.db import session_scope
    from xinyong.repair.service import list_applications

    with session_scope() as session:
        items = list_applications(session, CLI, status=status or None, overdue=overdue)
    table = Table(title=f"信用修复申请（{len(items)} 件{'，仅超期' if overdue else ''}）")
    for col in ("编号", "查询码", "主体", "信息", "提交", "状态", "超期"):
        table.add_column(col)
    for a in items:
        table.add_row(str(a["id"]), a["query_code"], a["subject"]["name"] or "",
                      f"{a['record']['record_type_label']} {a['record']['title'] or ''}",
                      a["submitted_on"], a["status_label"], "；".join(a["overdue"]))
    console.print(table)

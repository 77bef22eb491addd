"""``xinyong commitments …``: list commitments, run the deadline sweep, check eligibility."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

commitments_app = typer.Typer(help="信用承诺", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@commitments_app.command("list")
def list_(
    status: str | None = typer.Option(None, help="状态：requested/signed/fulfilled/breached/cancelled"),
    department: str | None = typer.Option(None, help="受理单位编码"),
    overdue: bool = typer.Option(False, help="仅逾期未确认的"),
    q: str = typer.Option("", help="名称、统一社会信用代码或承诺书编号"),
    limit: int = typer.Option(50, help="最多显示条数"),
) -> None:
    """列出信用承诺。"""
    from sqlalchemy import select

    from xinyong.commitments import service
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.departments.models import Department

    try:
        with session_scope() as session:
            dept_id = None
            if department:
                dept_id = session.scalar(select(Department.id).where(Department.code == department))
                if dept_id is None:
                    raise service.CommitmentError("COMMITMENT_DEPARTMENT_UNKNOWN",
                                                  f"受理单位「{department}」不存在")
            items, total = service.list_all(session, department_id=dept_id, status=status,
                                            overdue=overdue, q=q, limit=limit)
    except DomainError as exc:
        err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
        raise typer.Exit(2) from None
    table = Table(title=f"信用承诺（共 {total} 份）")
    for col in ("编号", "主体", "统一社会信用代码", "类型", "事项", "受理单位", "状态", "期限"):
        table.add_column(col)
    for c in items:
        table.add_row(c["number"] or "", c["subject_name"], c["uscc"] or "", c["kind_label"],
                      c["matter"], c["department"] or "",
                      c["status_label"] + ("（逾期）" if c["overdue"] else ""), c["due_on"] or "")
    console.print(table)


@commitments_app.command("sweep")
def sweep() -> None:
    """到期提醒（按工作日）与逾期标记；每日由定时任务运行，重复运行不会重复提醒。"""
    from xinyong.commitments import service
    from xinyong.core.db import session_scope

    with session_scope() as session:
        out = service.sweep(session, actor="cli")
    console.print(f"发送到期提醒 {out.reminders} 份，新标记逾期 {out.overdue} 份"
                  + (f"，自动认定违诺 {out.breached} 份" if out.breached else ""))
    for d in out.details[:200]:
        console.print(f"  {d['commitment']} {d['event']}"
                      + (f"（剩余 {d['days_left']} 个工作日）" if "days_left" in d else ""))


@commitments_app.command("eligibility")
def eligibility(
    codes_file: Path = typer.Argument(..., help="代码清单文件（每行一个统一社会信用代码；- 为标准输入）"),
    kind: str = typer.Option("notify_commit", help="承诺类型"),
    output: str = typer.Option("table", help="输出格式：table、csv、jsonl"),
) -> None:
    """批量核查主体是否适用信用承诺制（与接口使用同一查询）。"""
    from xinyong.commitments import service
    from xinyong.core.db import get_engine
    from xinyong.core.errors import DomainError

    text_ = sys.stdin.read() if str(codes_file) == "-" else codes_file.read_text(
        encoding="utf-8-sig")
    codes = [line.strip() for line in text_.splitlines() if line.strip()]
    try:
        with get_engine().begin() as conn:
            items = service.eligibility_by_codes(conn, codes, kind)
    except DomainError as exc:
        err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
        raise typer.Exit(2) from None
    if output == "jsonl":
        for i in items:
            sys.stdout.write(json.dumps({k: i[k] for k in ("code", "name", "eligible", "reasons")},
                                        ensure_ascii=False) + "\n")
        return
    if output == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(["统一社会信用代码", "名称", "是否适用", "原因"])
        for i in items:
            w.writerow([i["code"], i["name"] or "",
                        {True: "适用", False: "不适用", None: "未找到"}[i["eligible"]],
                        "；".join(i["reasons"])])
        return
    table = Table(title=f"{service.kind_label(kind)}适用性核查（{len(items)} 个，"
                        f"适用 {sum(1 for i in items if i['eligible'])} 个）")
    for col in ("统一社会信用代码", "名称", "结论", "原因"):
        table.add_column(col)
    for i in items:
        table.add_row(i["code"] or "", i["name"] or "",
                      {True: "适用", False: "不适用", None: "未找到"}[i["eligible"]],
                      "；".join(i["reasons"]))
    console.print(table)

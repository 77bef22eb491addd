"""``xinyong supervision …``: create and read supervision libraries."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

supervision_app = typer.Typer(help="监管企业库", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@supervision_app.command("create")
def create(
    department: str = typer.Option(..., help="部门编码"),
    name: str = typer.Option(..., help="库名称"),
    industry: list[str] = typer.Option(None, help="行业门类（可多次）"),
    region: list[str] = typer.Option(None, help="地区代码前缀（可多次）"),
    model: str | None = typer.Option(None, help="评价模型（按等级、标签筛选时必填）"),
    grade: list[str] = typer.Option(None, help="等级（可多次）"),
    tag: list[str] = typer.Option(None, help="标签（可多次，任一即可）"),
    codes: Path | None = typer.Option(None, help="代码清单文件（每行一个统一社会信用代码）"),
) -> None:
    """按条件或代码清单创建监管企业库。"""
    from xinyong.core.db import get_engine
    from xinyong.supervision.service import SupervisionError, create_library

    condition = None
    code_list = None
    if codes is not None:
        code_list = codes.read_text(encoding="utf-8-sig").splitlines()
    else:
        condition = {
            k: v
            for k, v in {
                "industry_sections": industry or None,
                "region_prefixes": region or None,
                "model": model,
                "grades": grade or None,
                "tags": tag or None,
            }.items()
            if v
        }
    try:
        with get_engine().begin() as conn:
            lib = create_library(
                conn,
                department=department,
                name=name,
                condition=condition,
                codes=code_list,
                actor="cli",
            )
    except SupervisionError as exc:
        err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
        for p in exc.problems[:50]:
            err.print(f"  第 {p['row']} 行 {p['code']}：{p['reason']}（{p['error']}）")
        raise typer.Exit(2) from None
    console.print(f"已创建监管库 #{lib['id']}「{lib['name']}」：{lib['size']} 个主体")


@supervision_app.command("show")
def show(library_id: int, model: str | None = None, limit: int = 50) -> None:
    """显示监管库成员的当前等级、标签和近期等级变动。"""
    from xinyong.core.db import get_engine
    from xinyong.core.errors import DomainError
    from xinyong.supervision.service import members

    try:
        with get_engine().connect() as conn:
            data = members(conn, library_id, model=model, limit=limit)
    except DomainError as exc:
        err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
        raise typer.Exit(2) from None
    lib = data["library"]
    table = Table(
        title=f"#{lib['id']} {lib['name']}（{lib['department_name']}，{data['total']} 个主体，模型 {data['model']}）"
    )
    for col in ("统一社会信用代码", "名称", "等级", "赋码", "标签", f"自 {data['since']} 的变动"):
        table.add_column(col)
    for m in data["members"]:
        ch = m["change"]
        table.add_row(
            m["uscc"] or "",
            m["name"],
            m["grade"] or "",
            m["colour"] or "",
            "、".join(t["name"] for t in m["tags"]),
            f"{ch['from']}→{ch['to']}（{ch['as_of']}）" if ch else "",
        )
    console.print(table)

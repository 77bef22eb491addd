"""Evaluation commands: ``xinyong evaluate``, ``xinyong explain`` and ``xinyong models …``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from xinyong.core.errors import DomainError

models_app = typer.Typer(help="评价模型（登记、试运行、启用）", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

STATUS = {"draft": "草稿", "active": "已启用", "retired": "已停用"}
VISIBILITY = {"public": "公开", "government": "仅政府"}


def _fail(exc: DomainError) -> None:
    err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
    raise typer.Exit(2)


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]日期格式有误[/red]：{value}（应为 YYYY-MM-DD）")
        raise typer.Exit(2) from None


def _dist(d: dict[str, int]) -> str:
    total = sum(d.values()) or 1
    return "  ".join(f"{k}: {v:,}（{v / total:.1%}）" for k, v in d.items())


def evaluate_command(
    model: list[str] = typer.Option(None, "--model", "-m", help="模型名称，可多次给出"),
    all_models: bool = typer.Option(False, "--all", help="评价全部已启用模型"),
    as_of: str | None = typer.Option(None, "--as-of", help="评价日期（YYYY-MM-DD），缺省为今天"),
) -> None:
    """批量评价：对模型范围内的全部主体计算得分、等级、赋码与标签并保存。"""
    from xinyong.core.db import get_engine
    from xinyong.evaluation import service

    engine = get_engine()
    names = list(model or [])
    if all_models:
        with engine.connect() as conn:
            names = [m.name for m in service.active_models(conn)]
    if not names:
        err.print("请用 --model 指定模型，或用 --all 评价全部已启用模型")
        raise typer.Exit(2)
    day = _date(as_of)
    steps = {"aggregate": "汇总记录", "score": "计分定级", "write": "写入结果", "done": "完成"}
    try:
        for name in names:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task(name, total=3)

                def report(
                    step: str, done: int, total: int, task: int = task, name: str = name
                ) -> None:
                    bar.update(task, completed=done, description=f"{name}：{steps.get(step, step)}")

                result = service.evaluate(engine, name, as_of=day, actor="cli", progress=report)
            console.print(
                f"[bold]{result.model}@{result.version}[/bold] 评价日 {result.as_of}：主体 "
                f"{result.subjects:,}，结果变化 {result.changed:,}，用时 {result.seconds:.1f} 秒"
                + (
                    "（读取 {read:.1f}、计分 {score:.1f}、写入 {write:.1f}）".format(
                        **result.phases
                    )
                    if result.phases
                    else ""
                )
            )
            console.print("  分布：" + _dist(result.distribution))
    except DomainError as exc:
        _fail(exc)


def explain_command(
    key: str = typer.Argument(..., help="统一社会信用代码或名称"),
    model: str = typer.Option(..., "--model", "-m", help="模型名称"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="按指定日期重新计算（缺省为已保存结果的日期）"
    ),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
) -> None:
    """说明一个主体的评价结果：各指标取值、得分、权重、否决项和计入的记录。"""
    from xinyong.core.db import session_scope
    from xinyong.evaluation.explain import explain
    from xinyong.subjects.service import find_subject

    try:
        with session_scope() as session:
            subject = find_subject(session, key)
            if subject is None:
                err.print(f"未找到信用主体「{key}」")
                raise typer.Exit(1)
            data = explain(session.connection(), subject.id, model, as_of=_date(as_of))
            name = subject.name
    except DomainError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    head = f"[bold]{name}[/bold] · {data['title']}（{data['model']}@{data['version']}，评价日 {data['as_of']}）"
    console.print(head)
    line = []
    if data["score"] is not None:
        line.append(f"得分 {data['score']:.2f}")
    if data["grade"]:
        line.append(f"等级 {data['grade']}（{data['grade_name']}）")
    if data["colour"]:
        line.append(f"赋码 {data['colour_name']}")
    console.print("  ".join(line))
    hits = [v for v in data["vetoes"] if v["hit"]]
    for v in hits:
        console.print(f"[red]一票否决[/red]：{v['name']}（最高 {v['max_grade']} 级）")
    if data["tags"]:
        console.print("标签：" + "、".join(t["name"] for t in data["tags"]))
    if data["indicators"]:
        tree = Tree("指标（得分 × 权重 = 贡献）")

        def add(parent: Tree, node: dict) -> None:
            label = f"{node['name']}  {node['points']:.1f} × {node['weight']:.2f}% = {node['contribution']:.2f}"
            if "feature" in node:
                label += f"  [dim]{node['feature_label']}：{node['value']}[/dim]"
            branch = parent.add(label)
            for child in node.get("children", []):
                add(branch, child)

        for node in data["indicators"]:
            add(tree, node)
        console.print(tree)
    counted = [r for r in data["records"] if r["counted_in"]]
    if counted:
        table = Table(title="计入评价的记录")
        for col in ("类别", "标题", "日期", "状态", "计入特征"):
            table.add_column(col)
        labels = {k: v["label"] for k, v in data["features"].items()}
        for r in counted:
            table.add_row(
                r["label"],
                r["title"] or "",
                r["decided_on"] or "",
                r["status"],
                "、".join(labels[f] for f in r["counted_in"]),
            )
        console.print(table)
    else:
        console.print("没有计入评价的信用记录。")


@models_app.command("list")
def models_list() -> None:
    """列出全部模型版本。"""
    from xinyong.core.db import get_engine
    from xinyong.evaluation import service

    with get_engine().connect() as conn:
        rows = service.list_models(conn)
    table = Table(title="评价模型")
    for col in ("名称", "版本", "标题", "可见范围", "状态", "来源", "扩展自"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            r["version"],
            r["title"],
            VISIBILITY.get(r["visibility"], r["visibility"]),
            STATUS.get(r["status"], r["status"]),
            r["source"],
            r["extends"] or "",
        )
    console.print(table)


@models_app.command("sync")
def models_sync() -> None:
    """登记随平台发布的模型文件（尚无启用版本的模型随即启用）。"""
    from xinyong.core.db import get_engine
    from xinyong.evaluation import service

    try:
        with get_engine().begin() as conn:
            rows = service.sync_builtin_models(conn)
    except DomainError as exc:
        _fail(exc)
        return
    for r in rows:
        console.print(
            f"{r['name']}@{r['version']}  {STATUS.get(r['status'], r['status'])}  {r['title']}"
        )


@models_app.command("validate")
def models_validate(path: Path) -> None:
    """检查一个模型文件（不登记）。"""
    from xinyong.core.db import get_engine
    from xinyong.evaluation import service

    try:
        with get_engine().connect() as conn:
            model = service.build_model(conn, path.read_text(encoding="utf-8"))
    except DomainError as exc:
        _fail(exc)
        return
    console.print(
        f"[green]模型文件有效[/green]：{model.key}（{model.title}），"
        f"指标 {len(model.nodes)} 个，否决项 {len(model.vetoes)} 个"
    )


@models_app.command("register")
def models_register(path: Path, source: str = typer.Option("office", help="登记来源")) -> None:
    """登记模型文件为草稿。"""
    from xinyong.core.db import get_engine
    from xinyong.evaluation import service

    try:
        with get_engine().begin() as conn:
            r = service.register_model(
                conn, path.read_text(encoding="utf-8"), source=source, actor="cli"
            )
    except DomainError as exc:
        _fail(exc)
        return
    console.print(f"已登记 {r['name']}@{r['version']}（{STATUS[r['status']]}）")


@models_app.command("dry-run")
def models_dry_run(
    name: str,
    version: str,
    sample: int = typer.Option(10_000, help="抽样主体数；0 为全部"),
    as_of: str | None = typer.Option(None, "--as-of"),
) -> None:
    """试运行：在样本上评价，显示等级分布和将改变等级的主体，不写入结果。"""
    from xinyong.core.db import get_engine
    from xinyong.evaluation import service

    try:
        data = service.dry_run(
            get_engine(), name=name, version=version, as_of=_date(as_of), sample=sample or None
        )
    except DomainError as exc:
        _fail(exc)
        return
    console.print(
        f"{data['model']}@{data['version']} 评价日 {data['as_of']}：主体 {data['subjects']:,}"
        + ("（抽样）" if data["sampled"] else "")
    )
    console.print("分布：" + _dist(data["distribution"]))
    console.print(
        f"与现行结果比较 {data['current_compared']:,} 个主体，等级将变化 {data['would_change']:,} 个"
    )
    if data["changes"]:
        table = Table(title="等级将变化的主体（前若干个）")
        for col in ("统一社会信用代码", "名称", "得分", "现行", "试运行"):
            table.add_column(col)
        for c in data["changes"][:50]:
            table.add_row(
                c["uscc"],
                c["name"],
                f"{c['score']:.2f}" if c["score"] is not None else "",
                c["from"] or "",
                c["to"] or "",
            )
        console.print(table)


@models_app.command("activate")
def models_activate(name: str, version: str) -> None:
    """启用模型版本（同名的其他版本停用；启用后内容不可更改）。"""
    from xinyong.core.db import get_engine
    from xinyong.evaluation import service

    try:
        with get_engine().begin() as conn:
            r = service.activate_model(conn, name, version, actor="cli")
    except DomainError as exc:
        _fail(exc)
        return
    console.print(f"已启用 {r['name']}@{r['version']}")

"""The ``xinyong`` command: operators' and batch jobs' way in."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xinyong.core import clock
from xinyong.core.errors import DomainError

app = typer.Typer(help="xinyong 公共信用信息平台命令行", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库结构迁移", no_args_is_help=True)
dept_app = typer.Typer(help="数据来源单位及接口密钥", no_args_is_help=True)
pending_app = typer.Typer(help="待匹配队列", no_args_is_help=True)
subjects_app = typer.Typer(help="信用主体", no_args_is_help=True)
records_app = typer.Typer(help="信用记录维护", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日历（法定节假日与调休）", no_args_is_help=True)
catalog_app = typer.Typer(help="信用信息目录", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(dept_app, name="departments")
app.add_typer(pending_app, name="pending")
app.add_typer(subjects_app, name="subjects")
app.add_typer(records_app, name="records")
app.add_typer(calendar_app, name="calendar")
app.add_typer(catalog_app, name="catalog")

from xinyong.evaluation.cli import evaluate_command, explain_command, models_app  # noqa: E402

app.add_typer(models_app, name="models")

from xinyong.accounts.cli import accounts_app  # noqa: E402
from xinyong.supervision.cli import supervision_app  # noqa: E402

app.add_typer(accounts_app, name="accounts")

app.add_typer(supervision_app, name="supervision")
# Subject services (issue #5): each domain adds its own sub-command below its marker line.
# -- cli: reports --
from xinyong.reports.cli import reports_app  # noqa: E402

app.add_typer(reports_app, name="reports")
# -- cli: credit codes --
from xinyong.reports.codes_cli import codes_app  # noqa: E402

app.add_typer(codes_app, name="codes")
# -- cli: repair --
from xinyong.repair.cli import repair_app  # noqa: E402

app.add_typer(repair_app, name="repair")
# -- cli: objections --
from xinyong.objections.cli import objections_app  # noqa: E402

app.add_typer(objections_app, name="objections")
# -- cli: commitments --
from xinyong.commitments.cli import commitments_app  # noqa: E402

app.add_typer(commitments_app, name="commitments")
# -- cli: notifications --
from xinyong.notifications.cli import notifications_app  # noqa: E402

app.add_typer(notifications_app, name="notifications")
jobs_app = typer.Typer(help="每日任务（公示期届满、修复提醒、承诺到期提醒、逾期标记等）",
                       no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("daily")
def jobs_daily(
    only: list[str] = typer.Option(None, "--only", help="只运行指定任务（可重复）"),
) -> None:
    """运行全部每日任务（可由 cron 每日调用，重复运行不会重复生效）。"""
    from xinyong.core.jobs import run_daily

    failed = False
    for r in run_daily(only=only or None):
        mark = "[green]完成[/green]" if r.ok else "[red]失败[/red]"
        console.print(f"{mark} {r.label}（{r.name}）：{r.outcome}")
        failed = failed or not r.ok
    raise typer.Exit(1 if failed else 0)


app.command("evaluate")(evaluate_command)
app.command("explain")(explain_command)

console = Console()
BATCH_STATUS = {"running": "进行中", "committed": "已入库", "rejected": "已拒收", "failed": "失败"}
err = Console(stderr=True)


def _setup() -> None:
    clock.configure_from_settings()


def _fail(exc: DomainError) -> None:
    err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
    raise typer.Exit(2)


@app.callback()
def main_callback(
    today: str | None = typer.Option(None, "--today", help="以指定日期作为“今天”（YYYY-MM-DD）"),
) -> None:
    _setup()
    if today:
        clock.set_today(dt.date.fromisoformat(today))


# ---------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """将数据库结构升级到最新版本。"""
    from xinyong.core.db import get_engine
    from xinyong.core.migrate import current_revision, upgrade

    engine = get_engine()
    upgrade(engine)
    console.print(
        f"数据库已是最新结构（版本 {current_revision(engine)}）：{engine.url.render_as_string()}"
    )


@db_app.command("current")
def db_current() -> None:
    """显示数据库当前结构版本。"""
    from xinyong.core.db import get_engine
    from xinyong.core.migrate import current_revision

    console.print(current_revision(get_engine()) or "（尚未初始化）")


# ---------------------------------------------------------------------------- serve & demo


@app.command()
def serve(
    host: str | None = typer.Option(None, help="监听地址"),
    port: int | None = typer.Option(None, help="端口"),
    migrate: bool = typer.Option(True, help="启动前升级数据库结构"),
) -> None:
    """启动网页与接口服务（接口文档见 /docs）。"""
    import uvicorn

    from xinyong.core.config import get_settings
    from xinyong.core.security import admin_token

    settings = get_settings()
    if migrate:
        db_upgrade()
    console.print(
        f"运维令牌（供服务器上的脚本以 Authorization: Bearer 调用管理接口）：{admin_token()}\n"
        "网页请用账号登录 /login；首个管理员账号：xinyong accounts create 用户名 --role admin"
    )
    from xinyong.notifications.service import start_dispatcher

    # E-mail and SMS notices leave from the outbox in the background (XINYONG_NOTIFY_INTERVAL).
    start_dispatcher()
    from xinyong.core.jobs import start_daily_thread

    start_daily_thread()
    uvicorn.run(
        "xinyong.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


@app.command()
def demo(
    records_seed: int = typer.Option(20261122, help="合成记录的随机种子"),
    limit: int | None = typer.Option(None, help="只加载前 N 家企业（试用）"),
    force: bool = typer.Option(False, "--force", help="已加载过也重新生成"),
) -> None:
    """加载真实企业登记数据和按文档比例合成的信用记录，供演示。"""
    from xinyong.core.db import get_engine
    from xinyong.core.migrate import upgrade
    from xinyong.demo import load_demo

    engine = get_engine()
    upgrade(engine)
    try:
        summary = load_demo(engine, seed=records_seed, limit=limit, console=console, force=force)
    except DomainError as exc:
        _fail(exc)
    console.print_json(json.dumps(summary, ensure_ascii=False))


@app.command()
def scale(
    subjects: int = typer.Option(1_000_000, help="主体数量"),
    records: int = typer.Option(20_000_000, help="信用记录数量"),
    seed: int = typer.Option(7, help="随机种子"),
) -> None:
    """生成规模测试数据（默认 100 万主体、2000 万条记录），供性能基准使用。"""
    from xinyong.core.db import get_engine
    from xinyong.core.migrate import upgrade
    from xinyong.scale import generate_scale

    engine = get_engine()
    upgrade(engine)
    try:
        summary = generate_scale(engine, subjects=subjects, records=records, seed=seed)
    except DomainError as exc:
        _fail(exc)
    console.print_json(json.dumps(summary, ensure_ascii=False, default=str))


# ---------------------------------------------------------------------------- ingest


@app.command()
def ingest(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV / XLSX / JSON Lines 文件"
    ),
    record_type: str = typer.Option(..., "--type", help="信息类别代码，如 administrative_penalty"),
    department: str = typer.Option(..., "--department", help="数据来源单位代码"),
    profile: str | None = typer.Option(
        None, "--profile", help="映射方案，如 dual_publicity_penalty"
    ),
    strict: bool = typer.Option(False, "--strict", help="严格模式：任一行有误则整批不导入"),
    errors_out: Path | None = typer.Option(
        None, "--errors", help="把错误报告写到此文件（.csv/.xlsx）"
    ),
) -> None:
    """归集一个文件：校验、匹配主体、写入信用记录。"""
    from xinyong.core.db import get_engine, session_scope
    from xinyong.records import service
    from xinyong.records.ingest import ingest_file

    size = file.stat().st_size
    with Progress(
        TextColumn("[bold]归集[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("行"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(file.name, total=None)
        try:
            result = ingest_file(
                get_engine(),
                file,
                record_type=record_type,
                department=department,
                profile=profile,
                strict=strict,
                actor="cli",
                progress=lambda n: bar.advance(task, n),
            )
        except DomainError as exc:
            _fail(exc)
    table = Table(title=f"批次 {result.batch_id}（{size / 1e6:.1f} MB）")
    for col in ("状态", "总行数", "新增", "更正", "未变化", "待匹配", "错误行", "新建主体"):
        table.add_column(col)
    table.add_row(
        result.status,
        str(result.rows_total),
        str(result.inserted),
        str(result.corrected),
        str(result.unchanged),
        str(result.pending),
        str(result.rejected),
        str(result.subjects_created),
    )
    console.print(table)
    if result.message:
        console.print(result.message)
    for row in result.errors.head(20).iter_rows(named=True):
        console.print(f"  第 {row['row_number']} 行 [{row['code']}] {row['message']}")
    if result.errors.height > 20:
        console.print(f"  …… 共 {result.errors.height} 条错误")
    if errors_out is not None:
        with session_scope() as session:
            data = (
                service.error_report_xlsx
                if errors_out.suffix == ".xlsx"
                else service.error_report_csv
            )(session, result.batch_id)
        errors_out.write_bytes(data)
        console.print(f"错误报告已写入 {errors_out}")
    if result.status != "committed":
        raise typer.Exit(1)


@app.command()
def batches(limit: int = typer.Option(20, help="显示条数")) -> None:
    """最近的归集批次。"""
    from xinyong.core.db import session_scope
    from xinyong.records import service

    with session_scope() as session:
        rows, total = service.list_batches(session, limit=limit)
        table = Table(title=f"归集批次（共 {total}）")
        for col in (
            "批次",
            "类别",
            "来源",
            "状态",
            "总行数",
            "新增",
            "更正",
            "未变化",
            "待匹配",
            "错误行",
        ):
            table.add_column(col)
        for b in rows:
            table.add_row(
                str(b.id),
                b.record_type,
                b.source_name or "",
                BATCH_STATUS.get(b.status, b.status),
                str(b.rows_total),
                str(b.rows_inserted),
                str(b.rows_corrected),
                str(b.rows_unchanged),
                str(b.rows_pending),
                str(b.rows_rejected),
            )
        console.print(table)


# ---------------------------------------------------------------------------- profile & search


@app.command()
def profile(
    key: str = typer.Argument(..., help="统一社会信用代码或名称"),
    view: str = typer.Option("government", help="public / subject / government"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
) -> None:
    """一企一档：显示一个主体的信息和全部信用记录。"""
    from xinyong.core.db import session_scope
    from xinyong.records.profile import VIEWS, build_profile
    from xinyong.subjects.service import find_subject

    if view not in VIEWS:
        err.print("视图只能是 public、subject 或 government")
        raise typer.Exit(2)
    with session_scope() as session:
        subject = find_subject(session, key)
        if subject is None:
            err.print(f"未找到信用主体「{key}」")
            raise typer.Exit(1)
        data = build_profile(session, subject, view)  # type: ignore[arg-type]
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    s = data["subject"]
    console.print(
        f"[bold]{s['name']}[/bold]  {s['uscc'] or ''}  {s['kind_label']}  {s['status_label']}"
    )
    if s["former_names"]:
        console.print("曾用名：" + "、".join(s["former_names"]))
    console.print(
        f"地区 {s['province'] or ''}{s['city'] or ''}（{s['region_code'] or '-'}）  "
        f"行业门类 {s['industry_section'] or '-'}  成立 {s['established_on'] or '-'}  "
        f"注册资本 {s['capital_raw'] or '-'}"
    )
    for cat in data["categories"]:
        if not cat["count"]:
            continue
        table = Table(title=f"{cat['label']}（{cat['count']}）", show_lines=False)
        for col in ("类别", "标题", "日期", "程度", "公示截止", "公示状态", "状态", "来源"):
            table.add_column(col)
        for r in cat["records"]:
            table.add_row(
                r["record_type_label"],
                r["title"] or "",
                r["decided_on"] or "",
                r["penalty_class_label"] or "",
                r["publicity_until"] or "",
                r["publicity_state"],
                r["status_label"],
                r["source_department"] or "",
            )
        console.print(table)
    console.print(f"共 {data['total']} 条记录（{view} 视图，截至 {data['as_of']}）")


@subjects_app.command("search")
def subjects_search(q: str, limit: int = 20, page: int = 1) -> None:
    """按代码、名称、曾用名搜索主体。"""
    from xinyong.core.db import session_scope
    from xinyong.subjects.search import search_subjects

    with session_scope() as session:
        result = search_subjects(session, q, limit=limit, offset=(page - 1) * limit)
    table = Table(
        title=f"“{q}”：{'约' if result.total_is_estimate else '共'} {result.total} 个结果"
    )
    for col in ("代码", "名称", "匹配", "地区"):
        table.add_column(col)
    for item in result.items:
        table.add_row(
            item["uscc"] or "",
            item["name"],
            item["match"],
            f"{item['province'] or ''}{item['city'] or ''}",
        )
    console.print(table)


@subjects_app.command("load-registrations")
def load_registrations_cmd(
    path: Path = typer.Argument(..., exists=True, help="企业登记数据（csv 或 csv.gz）"),
) -> None:
    """加载企业登记数据（统一社会信用代码、名称、资本、地区、行业）。"""
    from xinyong.core.db import get_engine
    from xinyong.subjects.service import load_registrations

    with get_engine().begin() as conn:
        result = load_registrations(conn, path)
    console.print(
        f"新增 {result.inserted} 家，更新 {result.updated} 家，拒收 {result.rejected.height} 行"
    )
    for row in result.rejected.head(20).iter_rows(named=True):
        console.print(f"  第 {row['row_number']} 行 [{row['code']}] {row['message']}")


@subjects_app.command("reviews")
def subjects_reviews(limit: int = 50) -> None:
    """待人工核对的主体（校验位不符的代码等）。"""
    from xinyong.core.db import session_scope
    from xinyong.subjects.service import open_reviews

    with session_scope() as session:
        for r in open_reviews(session, limit=limit):
            console.print(f"{r.id}  主体 {r.subject_id}  [{r.code}] {r.message}")


# ---------------------------------------------------------------------------- pending


@pending_app.command("list")
def pending_list(limit: int = 50, q: str | None = None) -> None:
    """列出等待指定主体的记录。"""
    from xinyong.core.db import session_scope
    from xinyong.records import service

    with session_scope() as session:
        rows, total = service.list_pending(session, q=q, limit=limit)
        table = Table(title=f"待匹配（共 {total}）")
        for col in ("编号", "批次", "行", "名称", "原因", "候选主体", "标题"):
            table.add_column(col)
        for p in rows:
            table.add_row(
                str(p.id),
                str(p.batch_id),
                str(p.row_number),
                p.subject_name or "",
                "同名多个" if p.reason == "ambiguous" else "未找到",
                ",".join(map(str, p.candidates or [])),
                str(p.payload.get("title") or ""),
            )
        console.print(table)


@pending_app.command("resolve")
def pending_resolve(
    pending_id: int,
    subject: str = typer.Option(..., help="主体的代码、名称或编号"),
    same_name: bool = typer.Option(False, help="同名的全部待匹配记录一并处理"),
) -> None:
    """为一条待匹配记录指定主体，生成信用记录。"""
    from xinyong.core.db import session_scope
    from xinyong.records import service
    from xinyong.subjects.service import find_subject

    try:
        with session_scope() as session:
            target = find_subject(session, subject)
            if target is None:
                err.print(f"未找到信用主体「{subject}」")
                raise typer.Exit(1)
            ids = service.resolve_pending(
                session, pending_id, target.id, actor="cli", same_name=same_name
            )
    except DomainError as exc:
        _fail(exc)
    console.print(f"已生成 {len(ids)} 条信用记录：{ids[:10]}")


@pending_app.command("rematch")
def pending_rematch() -> None:
    """用当前的主体库重新匹配全部待匹配记录。"""
    from xinyong.core.db import session_scope
    from xinyong.records import service

    with session_scope() as session:
        n = service.rematch_pending(session, actor="cli")
    console.print(f"已匹配 {n} 条")


# ---------------------------------------------------------------------------- departments


@dept_app.command("add")
def dept_add(
    code: str,
    name: str,
    uscc: str | None = None,
    issue_key: bool = typer.Option(True, help="同时签发接口密钥"),
) -> None:
    """登记数据来源单位。"""
    from xinyong.core.db import session_scope
    from xinyong.departments.service import add_department, issue_api_key

    try:
        with session_scope() as session:
            add_department(session, code, name, uscc)
            key = issue_api_key(session, code) if issue_key else None
    except DomainError as exc:
        _fail(exc)
    console.print(f"已登记 {code} {name}")
    if key:
        console.print(f"接口密钥（只显示这一次，请妥善保存）：{key}")


@dept_app.command("issue-key")
def dept_issue_key(code: str) -> None:
    """为部门签发新的接口密钥（旧密钥立即失效）。"""
    from xinyong.core.db import session_scope
    from xinyong.departments.service import issue_api_key

    try:
        with session_scope() as session:
            key = issue_api_key(session, code)
    except DomainError as exc:
        _fail(exc)
    console.print(f"接口密钥（只显示这一次）：{key}")


@dept_app.command("list")
def dept_list() -> None:
    """列出数据来源单位。"""
    from xinyong.accounts.service import department_key
    from xinyong.core.db import session_scope
    from xinyong.departments.service import list_departments

    with session_scope() as session:
        for d in list_departments(session):
            key = department_key(session, d.id)
            shown = f"密钥 {key.prefix}…（{key.expires_at:%Y-%m-%d} 到期）" if key else "无密钥"
            console.print(f"{d.code}\t{d.name}\t{shown}")


# ---------------------------------------------------------------------------- records


@records_app.command("sweep")
def records_sweep() -> None:
    """为公示期已满的记录写入“公示期满”事件（可每日定时执行）。"""
    from xinyong.core.db import session_scope
    from xinyong.records.service import sweep_publicity

    with session_scope() as session:
        n = sweep_publicity(session)
    console.print(f"写入 {n} 条公示期满事件")


@records_app.command("correct-class")
def records_correct_class(record_id: int, penalty_class: str, reason: str) -> None:
    """更正一条处罚的失信程度（minor/general/serious），公示期随之重算。"""
    from xinyong.core.db import session_scope
    from xinyong.records.service import correct_class

    try:
        with session_scope() as session:
            correct_class(session, record_id, penalty_class, actor="cli", reason=reason)
    except DomainError as exc:
        _fail(exc)
    console.print("已更正")


# ---------------------------------------------------------------------------- calendar & catalog


@calendar_app.command("load")
def calendar_load(path: Path = typer.Argument(..., exists=True)) -> None:
    """加载国务院公布的某一年节假日安排（YAML：year/holidays/workdays）。"""
    import yaml

    from xinyong.core.db import session_scope
    from xinyong.core.workdays import load_schedule_into_db

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    with session_scope() as session:
        n = load_schedule_into_db(session, data)
    console.print(f"已加载 {data['year']} 年安排，共 {n} 天")


@calendar_app.command("add-days")
def calendar_add_days(start: str, days: int) -> None:
    """计算 START 之后第 DAYS 个工作日。"""
    from xinyong.core.db import session_scope
    from xinyong.core.workdays import calendar_from_db

    with session_scope() as session:
        deadline = calendar_from_db(session).add_working_days(dt.date.fromisoformat(start), days)
    console.print(
        f"{deadline.due.isoformat()}{'（暂定：该年度节假日安排尚未公布）' if deadline.provisional else ''}"
    )


@catalog_app.command("show")
def catalog_show() -> None:
    """列出目录中的信息类别。"""
    from xinyong.catalog.loader import load_catalog

    cat = load_catalog()
    table = Table(title=f"信用信息目录 {cat.version}")
    for col in ("类别", "代码", "名称", "性质", "公开属性", "公示规则"):
        table.add_column(col)
    labels = {c.code: c.label for c in cat.categories}
    for t in cat.types.values():
        table.add_row(
            labels.get(t.category, t.category),
            t.code,
            t.label,
            t.polarity,
            t.disclosure,
            t.publicity,
        )
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

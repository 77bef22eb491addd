"""``xinyong codes …``: issue a credit code for a subject (e.g. to print it), verify one."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

codes_app = typer.Typer(help="信用码（签发与核验）", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@codes_app.command("issue")
def issue(
    code: str = typer.Argument(..., help="主体的统一社会信用代码"),
    out: Path | None = typer.Option(None, "--out", help="二维码图片保存路径（.png 或 .svg）"),
    purpose: str = typer.Option("print", help="print（打印用，长期有效）或 dynamic（24 小时）"),
) -> None:
    """为主体签发信用码，输出令牌与核验网址，可保存二维码图片。"""
    from xinyong.core.db import session_scope
    from xinyong.reports import codes

    try:
        with session_scope() as session:
            subject = codes.find_subject_by_code(session, code)
            issued = codes.issue_code(session, subject.id, actor="cli", purpose=purpose)
    except codes.CodeError as exc:
        err.print(f"[red]错误 {exc.code}[/red]：{exc.message}")
        raise typer.Exit(2) from None
    colour = issued["colour"]["name"] if issued["colour"] else issued["no_result_text"]
    console.print(f"主体：{issued['subject']['name']}（{issued['subject']['uscc']}）")
    console.print(f"颜色：{colour}")
    console.print(f"编号：{issued['serial']}  有效期至：{issued['expires_at_text']}")
    console.print(f"核验网址：{issued['url']}", soft_wrap=True)
    console.print(f"令牌：{issued['token']}", soft_wrap=True)
    if out is not None:
        if out.suffix.lower() == ".svg":
            codes.qr(issued["url"]).save(str(out), kind="svg", scale=8, border=4)
        else:
            out.write_bytes(codes.qr_png(issued["url"]))
        console.print(f"二维码已保存：{out}")


@codes_app.command("verify")
def verify(token: str = typer.Argument(..., help="信用码令牌，或扫码得到的完整网址")) -> None:
    """核验信用码：有效时显示主体、当前颜色和公开信息摘要；无效时以代码 2 退出。"""
    from xinyong.core.db import session_scope
    from xinyong.reports import codes

    try:
        with session_scope() as session:
            r = codes.verify(session, codes.token_from_text(token), role="operator",
                             channel="cli")
    except codes.CodeError as exc:
        err.print(f"[red]无效 {exc.code}[/red]：{exc.message}")
        raise typer.Exit(2) from None
    table = Table(title="信用码有效", show_header=False)
    colour = r["colour"]["name"] if r["colour"] else r["no_result_text"]
    s = r["summary"]
    for k, v in (
        ("主体", r["subject"]["name"]),
        ("统一社会信用代码", r["subject"]["uscc"] or ""),
        ("当前颜色", colour),
        ("签发时颜色", r["colour_at_issue_name"] or "暂无评价结果"),
        ("签发时间", r["issued_at_text"]),
        ("有效期至", r["expires_at_text"]),
        ("公示中的不良信息", f"{s['negative']} 条"),
        ("公示中的良好信息", f"{s['positive']} 条"),
        ("严重失信主体名单", "已列入" if s["serious_dishonesty"] else "未列入"),
    ):
        table.add_row(k, str(v))
    console.print(table)
    if r["colour_changed"]:
        console.print("[yellow]注意：颜色自签发以来已变化，请以当前颜色为准。[/yellow]")

"""``xinyong reports …``: issue and verify credit reports, make the demo signing key."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

reports_app = typer.Typer(help="信用报告（出具、核验、签名密钥）", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _fail(code: str, message: str) -> None:
    err.print(f"[red]错误 {code}[/red]：{message}")
    raise typer.Exit(1)


@reports_app.command("issue")
def issue(
    code: str = typer.Argument(..., help="统一社会信用代码、名称或主体编号"),
    purpose: str = typer.Option(..., "--purpose", help="报告用途，如「招投标」"),
    view: str = typer.Option("public", "--view", help="public（公开版）或 subject（主体完整版）"),
    out: Path | None = typer.Option(None, "--out", help="保存 PDF 的文件路径"),
) -> None:
    """以信用办身份为信用主体出具一份签名报告。"""
    from xinyong.accounts.principal import CLI
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.reports import service

    try:
        with session_scope() as session:
            report = service.issue_report(session, subject=code, view=view, purpose=purpose,
                                          principal=CLI)
            serial = report.serial
            info = service.summary(report)
        with session_scope() as session:
            _, data = service.report_pdf(session, serial, CLI)
    except DomainError as exc:
        _fail(exc.code, exc.message)
        return
    console.print(f"报告编号 {serial}（{info['view_label']}），有效期至 {info['valid_until']}")
    console.print(f"核验地址 {service.verify_url(serial)}")
    console.print(f"SHA-256 {info['sha256']}")
    if out is not None:
        out.write_bytes(data)
        console.print(f"已保存到 {out}")


@reports_app.command("verify")
def verify(
    target: str = typer.Argument(..., help="报告 PDF 文件路径，或报告编号"),
) -> None:
    """核验报告文件（签名、是否本平台出具）或报告编号（内容及此后的记录变化）。"""
    from xinyong.accounts.principal import CLI
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.reports import service

    path = Path(target)
    try:
        with session_scope() as session:
            if path.is_file():
                result = service.verify_upload(session, path.read_bytes())
                sig = result["signature"]
                console.print(result["message"])
                console.print(f"签名：{sig['message']}")
                if sig.get("signer"):
                    console.print(f"签名者：{sig['signer']}，时间：{sig['signed_at']}")
                if result["report"]:
                    console.print(f"报告编号：{result['report']['serial']}")
                if not result["ok"]:
                    raise typer.Exit(2)
                return
            info = service.verify_serial(session, target, CLI)
    except DomainError as exc:
        _fail(exc.code, exc.message)
        return
    console.print(f"报告 {info['serial']}：{info['subject']['name']}，{info['view_label']}")
    console.print(f"出具 {info['issued_on']}，有效期至 {info['valid_until']}"
                  + ("（已过期）" if info["expired"] else ""))
    for c in info["categories"]:
        console.print(f"  {c['label']}：{c['count'] or '未查询到相关记录'}")
    ch = info["changes"]
    if ch["changed"]:
        n = ch["counts"]
        console.print(f"[yellow]出具后信用记录已变化[/yellow]：新增 {n['added']} 条，状态变化 "
                      f"{n['status']} 条，不再载列 {n['removed']} 条")
        for x in ch["items"]:
            console.print(f"  {x['kind_label']} {x['category']} {x['record_type']} "
                          f"{x['title'] or ''} {x['status']}")
    else:
        console.print("出具后信用记录未发生变化")


@reports_app.command("keygen")
def keygen(
    force: bool = typer.Option(False, "--force", help="已有演示密钥时重新生成"),
) -> None:
    """生成演示用自签名签章证书（ECDSA P-256）到 data_dir/signing；生产环境请配置正式证书。"""
    from xinyong.reports import signing
    from xinyong.reports.config import report_settings

    s = report_settings()
    if s.signing_key is not None:
        _fail("REPORT_KEY_CONFIGURED",
              f"已配置签章密钥 XINYONG_SIGNING_KEY={s.signing_key}：无需生成演示密钥")
    key, cert = signing.generate_self_signed(s.effective_signing_dir, overwrite=force)
    signing.reset_signer()
    console.print(f"私钥 {key}\n证书 {cert}")
    console.print(f"证书 SHA-256 {signing.certificate_fingerprint()}")

"""`xinyong demo`: the real registrations plus a synthetic history, so the platform shows
something true to life at first start. Everything goes in through the normal paths (the
registration loader and ``ingest_file``), so the demo also exercises them; running it again
changes nothing (re-sent batches are recognised as unchanged)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import session_scope
from xinyong.departments.models import Department
from xinyong.departments.service import add_department, issue_api_key
from xinyong.records.ingest import ingest_file
from xinyong.records.models import Batch
from xinyong.subjects.models import Subject

DEPARTMENTS = [
    ("market", "市场监督管理局"),
    ("tax", "税务局"),
    ("court", "中级人民法院"),
    ("housing", "住房和城乡建设局"),
    ("ecology", "生态环境局"),
    ("pboc", "中国人民银行"),
    ("credit_office", "社会信用体系建设办公室"),
]
# Which department sends which record type in the demo.
SENDER = {
    "administrative_license": "market",
    "administrative_penalty": "market",
    "inspection": "market",
    "abnormal_operations_list": "market",
    "serious_dishonesty_list": "market",
    "dishonest_judgment_debtor": "court",
    "honor": "credit_office",
    "tax_credit_rating": "tax",
    "contract_performance": "credit_office",
}


def ensure_departments() -> dict[str, str]:
    """Demo departments; returns the API keys issued now (existing departments keep theirs)."""
    keys: dict[str, str] = {}
    with session_scope() as session:
        existing = set(session.scalars(select(Department.code)))
        for code, name in DEPARTMENTS:
            if code not in existing:
                add_department(session, code, name)
                keys[code] = issue_api_key(session, code)
    return keys


# Demo accounts, one per role, all with the demo password (README). For a demo only: a real
# deployment creates its first administrator with `xinyong accounts create`.
DEMO_PASSWORD = "Demo2026xy"
DEMO_ACCOUNTS = [
    ("admin", "admin", "信用办管理员（演示）", None),
    ("market-officer", "department_officer", "市场监管局工作人员（演示）", "market"),
    ("enterprise", "subject", None, None),  # bound to the demo subject with most records
    ("bank", "bank", "演示银行股份有限公司", None),
    ("provider", "provider", "演示图书馆", None),
]


def ensure_accounts() -> dict[str, str]:
    """The demo accounts that do not exist yet; returns username → role label."""
    from sqlalchemy import desc

    from xinyong.accounts.models import Account
    from xinyong.accounts.principal import CLI, ROLE_LABELS
    from xinyong.accounts.service import create_account
    from xinyong.records.models import CreditRecord

    made: dict[str, str] = {}
    with session_scope() as session:
        existing = set(session.scalars(select(Account.username)))
        for username, role, name, dept in DEMO_ACCOUNTS:
            if username in existing:
                continue
            subject = None
            if role == "subject":
                row = session.execute(
                    select(Subject.uscc, Subject.name)
                    .join(CreditRecord, CreditRecord.subject_id == Subject.id)
                    # an operating enterprise: a cancelled one can have no credit code
                    .where(Subject.uscc.is_not(None), Subject.kind == "legal_person",
                           Subject.status == "active")
                    .group_by(Subject.id, Subject.uscc, Subject.name)
                    .order_by(desc(func.count()), Subject.id).limit(1)
                ).first()
                if row is None:
                    continue
                subject, name = row
            create_account(session, username=username, display_name=name or username,
                           role=role, by=CLI, password=DEMO_PASSWORD, department=dept,
                           subject=subject,
                           organisation=name if role in ("bank", "provider") else None)
            made[username] = ROLE_LABELS[role]
    return made


SYNTHETIC_SUBJECTS = 20_000
SYNTHETIC_SOURCE = "demo-synthetic"


def load_demo(
    engine: Engine,
    *,
    seed: int,
    limit: int | None = None,
    console: Console | None = None,
    force: bool = False,
) -> dict[str, Any]:
    from xinyong.subjects.service import load_registrations

    console = console or Console()
    settings = get_settings()
    realdata = settings.realdata_dir
    registrations = realdata / "enterprises-2019.csv.gz"
    with session_scope() as session:
        loaded = session.scalar(
            select(func.count(Batch.id)).where(
                Batch.source_name.like("demo-%"), Batch.status == "committed"
            )
        )
    if loaded and not force:
        console.print("演示数据已加载（如需重新生成，请使用 --force）")
        # A database loaded by an earlier version may predate the evaluation models.
        return {
            "already_loaded": True,
            "evaluations": _evaluate_demo(engine, console, only_new=True),
            "accounts": _accounts(console),
            "services": _subject_services(console),
        }
    keys = ensure_departments()
    summary: dict[str, Any] = {"departments_with_new_keys": keys}
    if registrations.exists():
        with engine.begin() as conn:
            result = load_registrations(conn, registrations)
        summary["subjects_inserted"] = result.inserted
        summary["subjects_updated"] = result.updated
        summary["registrations_rejected"] = result.rejected.height
        console.print(f"企业登记：新增 {result.inserted}，更新 {result.updated}")
    else:
        # The real registrations live beside the repository (they may not be copied into it);
        # a clone elsewhere still gets a working demo, on the scale generator's synthetic
        # subjects.
        from xinyong.scale import generate_subjects
        from xinyong.subjects.service import insert_subjects

        console.print(
            f"[yellow]未找到真实登记数据 {registrations}（可设置 XINYONG_REALDATA_DIR）；"
            f"改用 {SYNTHETIC_SUBJECTS:,} 个合成主体[/yellow]"
        )
        frame = generate_subjects(seed, 1, SYNTHETIC_SUBJECTS, clock.today()).with_columns(
            pl.lit(SYNTHETIC_SOURCE).alias("source")
        )
        with engine.begin() as conn:
            insert_subjects(conn, frame)
        summary["subjects_inserted"] = SYNTHETIC_SUBJECTS

    with session_scope() as session:
        stmt = (
            select(Subject.name, Subject.uscc, Subject.city, Subject.province)
            .where(Subject.source.in_(("registrations-2019", SYNTHETIC_SOURCE)))
            .order_by(Subject.id)
        )
        if limit:
            stmt = stmt.limit(limit)
        subjects = pl.DataFrame(
            session.execute(stmt).all(), orient="row", schema=["name", "uscc", "city", "province"]
        )
    from xinyong.synth import generate

    frames = generate(subjects, seed=seed, today=clock.today())
    batches: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rtype, frame in frames.items():
            dept = SENDER[rtype]
            if rtype == "abnormal_operations_list":
                # First the listings, then the removals as corrections of the same records.
                first = frame.with_columns(
                    pl.lit(None, pl.String).alias("removed_on"),
                    pl.lit(None, pl.String).alias("removal_reason"),
                    pl.lit(None, pl.String).alias("removal_authority"),
                )
                batches[rtype] = _send(engine, first, rtype, dept, Path(tmp), console)
                batches[rtype + ":removals"] = _send(
                    engine,
                    frame.filter(pl.col("removed_on").is_not_null()),
                    rtype,
                    dept,
                    Path(tmp),
                    console,
                    suffix="removals",
                )
                continue
            batches[rtype] = _send(engine, frame, rtype, dept, Path(tmp), console)
    pboc = realdata / "pboc-payment-penalties.csv"
    if pboc.exists():
        res = ingest_file(
            engine,
            pboc,
            record_type="administrative_penalty",
            department="pboc",
            profile="pboc_payment_penalties",
            actor="demo",
        )
        batches["pboc_payment_penalties"] = res.summary()
        console.print(
            f"人民银行处罚（真实数据）：入库 {res.inserted}，待匹配 {res.pending}，错误行 {res.rejected}"
        )
    summary["batches"] = batches
    # Models are registered after the records: one batch evaluation per model is cheaper than
    # re-evaluating subjects after every demo batch.
    summary["evaluations"] = _evaluate_demo(engine, console, only_new=False)
    with session_scope() as session:
        summary["subjects_total"] = session.scalar(select(func.count(Subject.id)))
    summary["accounts"] = _accounts(console)
    summary["services"] = _subject_services(console)
    return summary


# The subject services' demo cases (issue #5), after accounts and grades exist. Each seed is
# idempotent (it does nothing where its cases exist), so a second `make run` changes nothing.
SERVICE_SEEDS = [
    ("信用报告", "xinyong.reports.service:seed_demo"),
    ("信用码", "xinyong.reports.codes:seed_demo"),
    ("信用修复", "xinyong.repair.service:seed_demo"),
    ("异议处理", "xinyong.objections.service:seed_demo"),
    ("信用承诺", "xinyong.commitments.service:seed_demo"),
]


def _subject_services(console: Console) -> dict[str, str]:
    import importlib

    out: dict[str, str] = {}
    for label, path in SERVICE_SEEDS:
        module, _, name = path.partition(":")
        with session_scope() as session:
            made = getattr(importlib.import_module(module), name)(session)
        count = len(made) if isinstance(made, list | tuple) else made
        out[label] = str(count if count is not None else 0)
    console.print("演示业务数据：" + "，".join(f"{k} {v}" for k, v in out.items()))
    return out


def _accounts(console: Console) -> dict[str, str]:
    made = ensure_accounts()
    if made:
        console.print("演示账号（密码均为 " + DEMO_PASSWORD + "）：" + "、".join(
            f"{u}（{label}）" for u, label in made.items()))
    return made


def _evaluate_demo(engine: Engine, console: Console, *, only_new: bool) -> dict[str, Any]:
    """Register the shipped models and evaluate every subject with each active one (with
    ``only_new``: only models that have no result yet)."""
    from xinyong.evaluation import service as evaluation

    with engine.begin() as conn:
        evaluation.sync_builtin_models(conn)
        names = [
            m.name
            for m in evaluation.active_models(conn)
            if not (only_new and evaluation.count_results(conn, m.name))
        ]
    out = {}
    for name in names:
        run = evaluation.evaluate(engine, name, actor="demo")
        out[name] = run.as_dict()
        console.print(
            f"评价 {run.model}@{run.version}：{run.subjects} 个主体，用时 {run.seconds:.1f} 秒，分布 "
            + "、".join(f"{k} {v}" for k, v in run.distribution.items())
        )
    return out


def _send(
    engine: Engine,
    frame: pl.DataFrame,
    rtype: str,
    dept: str,
    tmp: Path,
    console: Console,
    suffix: str = "",
) -> dict[str, Any]:
    path = tmp / f"{rtype}{('-' + suffix) if suffix else ''}.csv"
    frame.write_csv(path)
    res = ingest_file(
        engine,
        path,
        record_type=rtype,
        department=dept,
        actor="demo",
        source_name=f"demo-{path.name}",
    )
    console.print(
        f"{rtype}{'（' + suffix + '）' if suffix else ''}：{res.rows_total} 行，新增 {res.inserted}，"
        f"更正 {res.corrected}，未变化 {res.unchanged}，错误 {res.rejected}"
    )
    return res.summary()

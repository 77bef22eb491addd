"""Public credit reports (公共信用信息报告): issue, store, verify.

A report is the subject's profile (``records.profile``, so a report shows exactly what a profile
shows in the same view) and the evaluation results that view may show, laid out per
《公共信用信息报告标准（2022年版）》: basic information, then every catalogue category with its
records or an explicit no-record statement. It is rendered (``pdf``), signed by the platform
(``signing``) and stored with a snapshot of what it listed and a fingerprint of the records, so
that a verifier can see by its serial what it said and whether the subject's record changed.

Two versions: ``public`` (公开版, what anyone may see) and ``subject`` (主体完整版, the subject's
own full view, restricted records included). Government-only evaluation models never appear in
either: a report leaves the platform.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import yaml
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xinyong.accounts.principal import Principal
from xinyong.catalog.loader import load_catalog
from xinyong.core import clock
from xinyong.core.errors import DomainError
from xinyong.core.models import allocate_ids
from xinyong.records.models import CreditRecord
from xinyong.records.profile import STATUS_LABELS, build_profile
from xinyong.reports import pdf, signing
from xinyong.reports.config import report_settings
from xinyong.reports.models import CreditReport, CreditReportFile
from xinyong.subjects.models import Subject

REPORT_VIEWS = ("public", "subject")
SERIAL_PREFIX = "XY"
# No 0/O, 1/I: the code is read aloud and typed from paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SERIAL_RE = re.compile(r"^XY-(\d{4})-(\d{6,})-([2-9A-HJ-NP-Z]{4})$")
PURPOSE_MAX = 200
PDF_MAGIC = b"%PDF-"


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    path = Path(__file__).with_name("report_rules.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def view_label(view: str) -> str:
    return str(rules()["views"].get(view, {}).get("label", view))


# --------------------------------------------------------------------------- errors / access


def _refuse(code: str, message: str, status: int) -> DomainError:
    return DomainError(code, message, status=status)


def check_can_issue(principal: Principal, subject: Subject | None) -> None:
    """A subject account for itself; government roles for any subject. ``subject`` None: the
    role check only (before the subject is looked up)."""
    if principal.is_anonymous:
        raise _refuse("AUTH_REQUIRED", "申请信用报告需要登录：信用主体请用本主体账号登录", 401)
    if principal.is_government:
        return
    if principal.role != "subject" or principal.subject_id is None or not principal.allows(
        "self:read"
    ):
        raise _refuse(
            "REPORT_FORBIDDEN",
            "无权申请信用报告：信用报告仅由信用主体本人或政府部门申请，如需了解他人信用状况请查询公开信息",
            403,
        )
    if subject is not None and subject.id != principal.subject_id:
        raise _refuse(
            "REPORT_FORBIDDEN",
            "无权申请他人的信用报告：信用主体账号只能申请本主体的报告",
            403,
        )


def may_read_full(principal: Principal, report: CreditReport) -> bool:
    """The owner (the subject's own account) and government roles may download the PDF and see
    the report's details; everyone else gets the public-safe summary."""
    if principal.is_government:
        return True
    return (
        principal.role == "subject"
        and principal.subject_id == report.subject_id
        and principal.allows("self:read")
    )


def _clean_purpose(purpose: str | None) -> str:
    text = (purpose or "").replace("\x00", "").strip()
    if not text:
        raise DomainError(
            "REPORT_PURPOSE_REQUIRED",
            "请填写报告用途（purpose），例如「招投标」「申请政府资金」「行政审批」",
            status=422,
        )
    if len(text) > PURPOSE_MAX:
        raise DomainError(
            "REPORT_PURPOSE_TOO_LONG", f"报告用途（purpose）不能超过 {PURPOSE_MAX} 个字", status=422
        )
    return text


def _check_view(view: str | None) -> str:
    view = (view or "public").strip()
    if view not in REPORT_VIEWS:
        raise DomainError(
            "REPORT_VIEW_UNKNOWN",
            f"报告版本（view）「{view[:20]}」不存在：可选 public（公开版）或 subject（主体完整版）",
            status=422,
        )
    return view


def resolve_subject(session: Session, key: str | int) -> Subject:
    from xinyong.subjects.service import find_subject

    text = str(key).replace("\x00", "").strip()
    subject = find_subject(session, text) if text else None
    if subject is None:
        raise DomainError(
            "SUBJECT_NOT_FOUND",
            f"未找到信用主体「{text[:60]}」：请核对统一社会信用代码或名称",
            status=404,
        )
    return subject


# --------------------------------------------------------------------------- content


def _results(session: Session, subject_id: int, view: str) -> list[dict[str, Any]]:
    from xinyong.evaluation.service import subject_results

    # government=False always: government-only models (e.g. the SAMR risk classes) are for
    # internal supervision and never leave the platform in a report.
    return subject_results(
        session.connection(), subject_id, government=False, own=view == "subject"
    )


def record_entries(profile: dict[str, Any]) -> list[list[Any]]:
    """What the report lists, one ``[id, version, status, category, record_type]`` per record,
    sorted: the basis of the snapshot and of the fingerprint."""
    out = [
        [int(r["id"]), int(r["version"]), r["status"], c["code"], r["record_type"]]
        for c in profile["categories"]
        for r in c["records"]
    ]
    out.sort()
    return out


def fingerprint(entries: Sequence[Sequence[Any]]) -> str:
    """SHA-256 of the record state (id, version, status of each listed record)."""
    canon = orjson.dumps([[e[0], e[1], e[2]] for e in sorted(entries)])
    return hashlib.sha256(canon).hexdigest()


def _result_summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "model": r["model"],
            "title": r.get("title") or r["model"],
            "version": r["version"],
            "grade": r.get("grade"),
            "grade_name": r.get("grade_name"),
            "colour": r.get("colour"),
            "colour_name": r.get("colour_name"),
            "score": r.get("score"),
            "evaluated_on": r.get("evaluated_on") or r.get("as_of"),
        }
        for r in results
    ]


# Who the record is about is the report's subject: not repeated in every row.
_IDENTITY_FIELDS = frozenset({"subject_name", "uscc", "subject_kind", "id_number",
                              "id_number_masked"})


def _fields_text(record: dict[str, Any], limit: int = 160) -> str:
    parts = []
    shown = {record.get("title"), record.get("decided_on")}
    for f in record.get("fields") or []:
        if f["name"] in _IDENTITY_FIELDS or str(f["value"]) in shown:
            continue
        value = f["value"]
        if isinstance(value, list | dict):
            value = orjson.dumps(value).decode()
        parts.append(f"{f['label']}：{value}")
    text = "；".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_text(record: dict[str, Any], view: str) -> str:
    label = record["status_label"]
    if view == "subject" and record.get("disclosure") == "restricted":
        label += "（受限公开）"
    return label


def _subject_pairs(s: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = [("名称", s["name"])]
    if s["kind"] != "natural_person":
        pairs.append(("统一社会信用代码", s.get("uscc") or "—"))
    pairs.append(("主体类型", s.get("kind_label") or s["kind"]))
    if s["kind"] != "natural_person":
        region = "".join(x for x in (s.get("province"), s.get("city")) if x)
        for label, value in (
            ("登记状态", s.get("status_label")),
            ("企业类型", s.get("enterprise_type")),
            ("成立日期", s.get("established_on")),
            (
                "注册资本",
                f"{s['registered_capital_yuan']} 元" if s.get("registered_capital_yuan") else
                s.get("capital_raw"),
            ),
            ("所在地区", region or None),
            ("住所", s.get("address")),
            ("经营范围", s.get("business_scope")),
            ("曾用名", "、".join(s.get("former_names") or []) or None),
        ):
            pairs.append((label, str(value) if value else "—"))
    return pairs


@dataclass(frozen=True)
class ReportMeta:
    serial: str
    view: str
    purpose: str
    issued_on: dt.date
    valid_until: dt.date
    verify_url: str


def report_blocks(
    profile: dict[str, Any], results: list[dict[str, Any]], meta: ReportMeta
) -> tuple[str, list[pdf.Block]]:
    """The report's title and blocks: pure, so the benchmark can time rendering apart."""
    r = rules()
    no_record = r["no_record"]
    s = profile["subject"]
    kind = "个人" if s["kind"] == "natural_person" else "法人和非法人组织"
    title = f"公共信用信息报告（{view_label(meta.view)}）"
    blocks: list[pdf.Block] = [
        pdf.KeyValues(
            [
                ("报告编号", meta.serial),
                ("信用主体", s["name"]),
                ("报告类型", f"{kind}公共信用信息报告"),
                ("报告版本", view_label(meta.view)),
                ("报告用途", meta.purpose),
                ("出具日期", meta.issued_on.isoformat()),
                ("数据截止日期", profile["as_of"]),
                ("有效期至", f"{meta.valid_until.isoformat()}（出具之日起 {r['validity_days']} 日）"),
                ("出具机构", r["issuer"]),
            ]
        ),
        pdf.Paragraph(r["views"][meta.view]["note"]),
    ]
    numerals = "一二三四五六七八九十"

    def numbered(i: int, text: str) -> str:
        n = numerals[i - 1] if i <= 10 else ("十" + numerals[i - 11] if i <= 19 else str(i))
        return f"{n}、{text}"

    i = 1
    blocks += [pdf.Heading(numbered(i, "基本信息")), pdf.KeyValues(_subject_pairs(s))]
    header = ["信息类别", "文号/名称", "决定日期", "主要内容", "状态", "公示截止", "来源单位"]
    widths = [1.1, 1.5, 1.25, 3.45, 0.95, 1.25, 1.3]
    for cat in profile["categories"]:
        i += 1
        blocks.append(pdf.Heading(numbered(i, cat["label"])))
        rows = [
            [
                rec["record_type_label"],
                rec.get("title") or "—",
                rec.get("decided_on") or "—",
                _fields_text(rec) or "—",
                _status_text(rec, meta.view),
                rec.get("publicity_until") or ("长期" if rec["publicity_state"] == "permanent"
                                                else "—"),
                rec.get("source_department") or "—",
            ]
            for rec in cat["records"]
        ]
        blocks.append(pdf.Table(header, rows, empty=no_record, widths=widths))
    i += 1
    blocks.append(pdf.Heading(numbered(i, "公共信用综合评价结果")))
    blocks.append(
        pdf.Table(
            ["评价模型", "等级", "赋码", "得分", "评价日期"],
            [
                [
                    x["title"],
                    f"{x['grade']} {x['grade_name'] or ''}".strip() if x["grade"] else "—",
                    x["colour_name"] or x["colour"] or "—",
                    "—" if x["score"] is None else f"{x['score']:.2f}",
                    x["evaluated_on"] or "—",
                ]
                for x in _result_summary(results)
            ],
            empty="无可在本报告中展示的评价结果",
        )
    )
    i += 1
    blocks += [
        pdf.Heading(numbered(i, "报告说明")),
        pdf.Paragraph(
            "1. 本报告依据《公共信用信息报告标准（2022年版）》编制，内容来源于各数据来源单位依法归集至本平台的"
            "公共信用信息，按全国公共信用信息基础目录分类载列；某类信息「未查询到相关记录」指截至数据截止日期"
            "本平台未归集到该类信息。"
        ),
        pdf.Paragraph(
            "2. 标注「异议处理中」的信息正在异议核查中，以核查结论为准；个人身份证号码、手机号码等个人信息已作"
            "脱敏处理。"
        ),
        pdf.Paragraph(
            f"3. 本报告经平台数字签名，任何修改都会使签名失效。可扫描下方二维码或访问 {meta.verify_url} "
            "核验报告真伪，并查看报告出具后主体信用记录是否发生变化。"
        ),
        pdf.QrCode(meta.verify_url, f"报告核验：{meta.serial}"),
    ]
    return title, blocks


# --------------------------------------------------------------------------- issue


def _new_serial(report_id: int, day: dt.date) -> str:
    # The sequence makes serials unique; the random code makes them unguessable, so that the
    # public verification page cannot be walked through to list who asked for reports.
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(4))
    return f"{SERIAL_PREFIX}-{day.year}-{report_id:06d}-{code}"


def normalize_serial(serial: str) -> str:
    return serial.replace("\x00", "").strip().upper()


def verify_url(serial: str) -> str:
    return f"{report_settings().public_url.rstrip('/')}/verify/{serial}"


@dataclass(frozen=True)
class Prepared:
    """A signed report before it is stored: what the reads and the CPU work produced."""

    report_id: int
    serial: str
    subject_id: int
    view: str
    purpose: str
    issued_at: dt.datetime
    issued_on: dt.date
    valid_until: dt.date
    signed: bytes
    snapshot: dict[str, Any]
    fingerprint: str


def prepare_report(
    session: Session, *, subject: Subject, view: str, purpose: str, report_id: int
) -> Prepared:
    """Read the subject's profile and results, render and sign: reads only."""
    today = clock.today()
    issued_at = clock.now()
    profile = build_profile(session, subject, view, today)  # type: ignore[arg-type]
    results = _results(session, subject.id, view)
    entries = record_entries(profile)
    serial = _new_serial(report_id, today)
    valid_until = today + dt.timedelta(days=int(rules()["validity_days"]))
    meta = ReportMeta(serial, view, purpose, today, valid_until, verify_url(serial))
    title, blocks = report_blocks(profile, results, meta)
    raw = pdf.render(
        title, blocks, serial=serial, footer=f"{rules()['issuer']} · 报告编号 {serial}"
    )
    signed = signing.sign_pdf(raw, reason=f"公共信用信息报告 {serial}")
    snapshot = {
        "view": view,
        "as_of": profile["as_of"],
        "subject": {"id": subject.id, "name": subject.name, "uscc": subject.uscc,
                    "kind": subject.kind},
        "categories": [
            {"code": c["code"], "label": c["label"], "count": c["count"]}
            for c in profile["categories"]
        ],
        "records": entries,
        "evaluations": _result_summary(results),
    }
    return Prepared(report_id, serial, subject.id, view, purpose, issued_at, today, valid_until,
                    signed, snapshot, fingerprint(entries))


def store_report(session: Session, p: Prepared, principal: Principal) -> CreditReport:
    """Write the report, its file and the audit entry (the caller commits)."""
    from xinyong.audit.service import append

    digest = hashlib.sha256(p.signed).hexdigest()
    report = CreditReport(
        id=p.report_id, serial=p.serial, subject_id=p.subject_id, view=p.view,
        purpose=p.purpose, requested_by=principal.actor, requester_role=principal.role,
        issued_at=p.issued_at, issued_on=p.issued_on, valid_until=p.valid_until,
        pdf_sha256=digest, pdf_size=len(p.signed), cert_sha256=signing.certificate_fingerprint(),
        fingerprint=p.fingerprint, snapshot=p.snapshot,
    )
    session.add(report)
    session.flush()
    session.add(CreditReportFile(report_id=p.report_id, pdf=p.signed))
    session.flush()
    # Last, as audit.append asks: the head stays locked until the commit.
    append(
        session.connection(),
        actor=principal.actor,
        role=principal.role,
        action="reports.issue",
        subject_id=p.subject_id,
        purpose=p.purpose,
        target=f"report:{p.serial}",
        detail={"view": p.view, "sha256": digest, "valid_until": p.valid_until.isoformat()},
    )
    return report


def _check_request(
    session: Session, subject: str | int | Subject, view: str, purpose: str,
    principal: Principal,
) -> tuple[Subject, str, str]:
    check_can_issue(principal, None)
    view = _check_view(view)
    purpose = _clean_purpose(purpose)
    subj = subject if isinstance(subject, Subject) else resolve_subject(session, subject)
    check_can_issue(principal, subj)
    return subj, view, purpose


def issue_report(
    session: Session,
    *,
    subject: str | int | Subject,
    view: str,
    purpose: str,
    principal: Principal,
    report_id: int | None = None,
) -> CreditReport:
    """Issue one signed report, in the session's transaction (the caller commits).

    ``report_id``: an id reserved beforehand. The first write (the id, or on SQLite a no-op
    write) comes before the reads: SQLite cannot turn a transaction that has read into a
    writer once another connection has committed, so it takes its write lock first."""
    subj, view, purpose = _check_request(session, subject, view, purpose, principal)
    conn = session.connection()
    if report_id is None:
        report_id = allocate_ids(conn, "credit_report", 1)
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("UPDATE id_block SET next_value = next_value WHERE name = 'credit_report'")
    prepared = prepare_report(session, subject=subj, view=view, purpose=purpose,
                              report_id=report_id)
    return store_report(session, prepared, principal)


# --------------------------------------------------------------------------- read


def get_report(session: Session, serial: str) -> CreditReport:
    key = normalize_serial(serial)
    report = None
    if SERIAL_RE.fullmatch(key):
        report = session.scalar(select(CreditReport).where(CreditReport.serial == key))
    if report is None:
        raise DomainError(
            "REPORT_NOT_FOUND",
            f"未找到编号为「{key[:40]}」的信用报告：请核对报告右上角或二维码下方的报告编号",
            status=404,
        )
    return report


def report_pdf(session: Session, serial: str, principal: Principal) -> tuple[CreditReport, bytes]:
    """The signed file as issued, for its owner and government roles."""
    report = get_report(session, serial)
    if not may_read_full(principal, report):
        if principal.is_anonymous:
            raise _refuse("AUTH_REQUIRED", "下载报告原件需要登录：请用该主体的账号或政府部门账号登录", 401)
        raise _refuse(
            "REPORT_FORBIDDEN",
            "无权下载该报告：报告原件仅向该信用主体本人和政府部门提供，其他人可凭报告编号核验",
            403,
        )
    data = session.scalar(
        select(CreditReportFile.pdf).where(CreditReportFile.report_id == report.id)
    )
    assert data is not None, "a report row always has its file (same transaction)"
    return report, bytes(data)


def list_reports(
    session: Session,
    *,
    subject_id: int | None = None,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    stmt = select(CreditReport, Subject.name, Subject.uscc).join(
        Subject, Subject.id == CreditReport.subject_id
    )
    if subject_id is not None:
        stmt = stmt.where(CreditReport.subject_id == subject_id)
    q = q.replace("\x00", "").strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                CreditReport.serial == normalize_serial(q),
                Subject.uscc == q.upper(),
                Subject.name.like(like),
                CreditReport.purpose.like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(CreditReport.issued_at.desc(), CreditReport.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    today = clock.today()
    out = [
        {**summary(rep, today), "subject_name": name, "subject_uscc": uscc,
         "purpose": rep.purpose, "requested_by": rep.requested_by}
        for rep, name, uscc in rows
    ]
    return out, int(total)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


def summary(report: CreditReport, today: dt.date | None = None) -> dict[str, Any]:
    """What anyone may know of a report from its serial (no purpose, no requester, no record
    details; a natural person's name masked)."""
    today = today or clock.today()
    snap = report.snapshot
    subj = snap["subject"]
    valid_until = _date(report.valid_until)
    name = subj["name"]
    if subj.get("kind") == "natural_person":
        name = _mask_name(name)
    return {
        "serial": report.serial,
        "subject": {"name": name, "uscc": subj.get("uscc"), "kind": subj.get("kind")},
        "view": report.view,
        "view_label": view_label(report.view),
        "issued_at": report.issued_at.isoformat() if report.issued_at else None,
        "issued_on": _date(report.issued_on).isoformat(),
        "valid_until": valid_until.isoformat(),
        "expired": today > valid_until,
        "sha256": report.pdf_sha256,
        "categories": snap["categories"],
        "total": sum(c["count"] for c in snap["categories"]),
        "evaluations": [
            {k: e[k] for k in ("title", "grade", "grade_name", "colour", "colour_name")}
            for e in snap.get("evaluations", [])
        ],
    }


# --------------------------------------------------------------------------- changes since


def changes_since(session: Session, report: CreditReport) -> dict[str, Any]:
    """Compare what the report listed with what the same view lists today."""
    subject = session.get(Subject, report.subject_id)
    assert subject is not None
    today = clock.today()
    profile = build_profile(session, subject, report.view, today)  # type: ignore[arg-type]
    current = record_entries(profile)
    then = [list(e) for e in report.snapshot["records"]]
    changed = fingerprint(current) != report.fingerprint
    catalog = load_catalog()

    def type_label(code: str) -> str:
        t = catalog.types.get(code)
        return t.label if t else code

    def cat_label(code: str) -> str:
        c = catalog.category(code)
        return c.label if c else code

    titles = {
        int(r["id"]): r.get("title") for c in profile["categories"] for r in c["records"]
    }
    now_by_id = {e[0]: e for e in current}
    then_by_id = {e[0]: e for e in then}
    added = [e for e in current if e[0] not in then_by_id]
    status_changed = [
        (then_by_id[i], e) for i, e in now_by_id.items()
        if i in then_by_id and (then_by_id[i][1], then_by_id[i][2]) != (e[1], e[2])
    ]
    gone_ids = [i for i in then_by_id if i not in now_by_id]
    gone_state: dict[int, tuple[str, bool, Any, str | None]] = {}
    if gone_ids:
        for rid, status, is_current, until, title in session.execute(
            select(
                CreditRecord.id, CreditRecord.status, CreditRecord.is_current,
                CreditRecord.publicity_until, CreditRecord.title,
            ).where(CreditRecord.subject_id == report.subject_id, CreditRecord.id.in_(gone_ids))
        ).all():
            gone_state[int(rid)] = (status, bool(is_current), until, title)

    items: list[dict[str, Any]] = []
    for e in added:
        items.append({
            "kind": "added", "kind_label": "新增记录", "record_id": e[0],
            "category": cat_label(e[3]), "record_type": type_label(e[4]),
            "status": STATUS_LABELS.get(e[2], e[2]), "title": titles.get(e[0]),
        })
    for old, new in status_changed:
        items.append({
            "kind": "status", "kind_label": "状态变化", "record_id": new[0],
            "category": cat_label(new[3]), "record_type": type_label(new[4]),
            "status": f"{STATUS_LABELS.get(old[2], old[2])} → {STATUS_LABELS.get(new[2], new[2])}",
            "title": titles.get(new[0]),
        })
    for i in gone_ids:
        old = then_by_id[i]
        status, is_current, until, title = gone_state.get(i, ("", True, None, None))
        if not is_current:
            why = "已更正（被新版本替代）"
        elif status in ("repaired", "revoked"):
            why = STATUS_LABELS[status]
        elif until is not None and _date(until) < today:
            why = "公示期满"
        else:
            why = "不再载列"
        items.append({
            "kind": "removed", "kind_label": "不再载列", "record_id": i,
            "category": cat_label(old[3]), "record_type": type_label(old[4]),
            "status": why, "title": title,
        })

    evals_then = {e["model"]: e for e in report.snapshot.get("evaluations", [])}
    evals_now = {e["model"]: e for e in _result_summary(_results(session, subject.id, report.view))}
    eval_changes = []
    for model in sorted(set(evals_then) | set(evals_now)):
        a, b = evals_then.get(model), evals_now.get(model)
        key = ("grade", "colour")
        if a is None or b is None or any(a.get(k) != b.get(k) for k in key):
            eval_changes.append({
                "model": (b or a or {}).get("title", model),
                "then": None if a is None else (a.get("grade_name") or a.get("grade")
                                                or a.get("colour_name")),
                "now": None if b is None else (b.get("grade_name") or b.get("grade")
                                               or b.get("colour_name")),
            })
    counts = {"added": len(added), "status": len(status_changed), "removed": len(gone_ids)}
    return {
        "changed": changed or bool(eval_changes),
        "records_changed": changed,
        "checked_on": today.isoformat(),
        "counts": counts,
        "items": items,
        "evaluations": eval_changes,
    }


def verify_serial(session: Session, serial: str, principal: Principal) -> dict[str, Any]:
    """What the report with this serial contained and whether the subject's record changed
    since. Record details (titles) only where the viewer may see them: the owner and
    government always; anyone for a public-view report (its records were public)."""
    report = get_report(session, serial)
    out = summary(report)
    diff = changes_since(session, report)
    full = may_read_full(principal, report)
    if not (full or report.view == "public"):
        # Outsiders learn that something changed and how much, not what (restricted data).
        diff = {**diff, "items": [], "evaluations": []}
    out["changes"] = diff
    out["details_shown"] = full or report.view == "public"
    if full:
        out["purpose"] = report.purpose
        out["requested_by"] = report.requested_by
    return out


# --------------------------------------------------------------------------- upload


def verify_upload(session: Session, data: bytes) -> dict[str, Any]:
    """Check an uploaded PDF: is the signature valid (pyHanko), and is it, byte for byte, a
    report the platform issued (SHA-256 of the file)."""
    limit = report_settings().verify_upload_limit
    if len(data) > limit:
        raise DomainError(
            "REPORT_FILE_TOO_LARGE",
            f"上传的文件过大（{len(data) / 1024 / 1024:.1f} MB）：报告文件不超过 "
            f"{limit // 1024 // 1024} MB",
            status=413,
        )
    if not data:
        raise DomainError("REPORT_FILE_EMPTY", "请选择要核验的报告 PDF 文件（file）", status=422)
    if not data.lstrip()[:5].startswith(PDF_MAGIC):
        raise DomainError(
            "REPORT_FILE_NOT_PDF",
            "上传的文件不是 PDF 格式：请上传平台出具的信用报告 PDF 原件",
            status=415,
        )
    result = signing.verify_pdf(data)
    digest = hashlib.sha256(data).hexdigest()
    report = session.scalar(select(CreditReport).where(CreditReport.pdf_sha256 == digest))
    issued = report is not None
    ok = result.ok and issued
    if ok:
        message = "核验通过：该文件为本平台出具的信用报告原件，签名有效，未被修改。"
    elif result.ok:
        message = "签名有效，但本平台没有出具过与该文件完全一致的报告。"
    else:
        message = "核验未通过：" + result.summary()
    out: dict[str, Any] = {
        "ok": ok,
        "issued_by_us": issued,
        "sha256": digest,
        "signature": result.as_dict(),
        "message": message,
        "report": summary(report) if report is not None else None,
    }
    return out


# --------------------------------------------------------------------------- batch path


def _batch_worker_init(url: str, settings_json: str) -> None:
    from xinyong.core.db import make_engine, set_engine
    from xinyong.reports.config import ReportSettings, use_settings

    set_engine(make_engine(url))
    use_settings(ReportSettings.model_validate_json(settings_json))


def _batch_worker(job: tuple[list[tuple[int, int]], str, str, str, str]) -> list[str]:
    pairs, view, purpose, actor, today = job
    who = Principal(role="admin", username=actor, display_name=actor, via="cli")
    with clock.frozen(dt.date.fromisoformat(today)):
        return _issue_pairs(pairs, view, purpose, who)


def _issue_pairs(
    pairs: Sequence[tuple[int, int]], view: str, purpose: str, who: Principal
) -> list[str]:
    """One report per (subject, reserved id): the reads, rendering and signing in a read
    transaction, then the writes in a short one, so that parallel workers hold no lock while
    they compute (and SQLite's writers queue only for the inserts)."""
    from xinyong.core.db import session_scope

    serials = []
    for subject_id, report_id in pairs:
        with session_scope() as session:
            subj = session.get(Subject, subject_id)
            if subj is None:
                raise DomainError("SUBJECT_NOT_FOUND", f"未找到信用主体（编号 {subject_id}）",
                                  status=404)
            subj, view, purpose = _check_request(session, subj, view, purpose, who)
            prepared = prepare_report(session, subject=subj, view=view, purpose=purpose,
                                      report_id=report_id)
            session.rollback()
        with session_scope() as session:
            serials.append(store_report(session, prepared, who).serial)
    return serials


def issue_batch(
    subject_ids: Sequence[int],
    *,
    view: str,
    purpose: str,
    principal: Principal,
    workers: int = 1,
) -> list[str]:
    """Issue one report per subject, each in its own transaction; with ``workers`` > 1 in a
    process pool (rendering and signing are CPU-bound Python, one core per process).

    Ids are reserved in one block first, so the workers never queue on the id counter."""
    from xinyong.core.db import get_engine, session_scope

    if not subject_ids:
        return []
    check_can_issue(principal, None)
    if not principal.is_government:
        raise _refuse("REPORT_FORBIDDEN", "批量出具信用报告仅限政府部门", 403)
    view = _check_view(view)
    purpose = _clean_purpose(purpose)
    with session_scope() as session:
        first = allocate_ids(session.connection(), "credit_report", len(subject_ids))
    pairs = [(int(s), first + i) for i, s in enumerate(subject_ids)]
    if workers <= 1:
        return _issue_pairs(pairs, view, purpose, principal)

    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    engine = get_engine()
    url = engine.url.render_as_string(hide_password=False)
    signing.ensure_demo_key() if report_settings().signing_key is None else None
    chunks = [pairs[i::workers] for i in range(workers)]
    ctx = mp.get_context("spawn")  # no inherited connections or locks
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_batch_worker_init,
        initargs=(url, report_settings().model_dump_json()),
    ) as pool:
        jobs = [(c, view, purpose, principal.actor, clock.today().isoformat()) for c in chunks if c]
        return [s for part in pool.map(_batch_worker, jobs) for s in part]


# --------------------------------------------------------------------------- demo


def seed_demo(session: Session) -> int:
    """Issue a public and a full report for the demo enterprise (the first subject account's
    subject, else the first subject with records), for `xinyong demo`. Idempotent: nothing
    happens once any report exists. Returns how many were issued."""
    from xinyong.accounts.models import Account
    from xinyong.accounts.principal import CLI

    if session.scalar(select(CreditReport.id).limit(1)) is not None:
        return 0
    sid = session.scalar(select(Account.subject_id).where(
        Account.role == "subject", Account.subject_id.is_not(None)).order_by(Account.id).limit(1))
    if sid is None:
        sid = session.scalar(
            select(CreditRecord.subject_id).order_by(CreditRecord.subject_id).limit(1))
    if sid is None:
        return 0
    subj = session.get(Subject, sid)
    for view, purpose in (("public", "演示：招投标信用证明"), ("subject", "演示：银行贷款申请")):
        issue_report(session, subject=subj, view=view, purpose=purpose, principal=CLI)
    return 2

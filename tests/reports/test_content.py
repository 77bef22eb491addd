"""What a report says: every catalogue category with its records or the no-record statement,
the view's rules (public: no restricted, expired or repaired records; subject: all of its own),
personal numbers masked, government-only results never shown; serials; changes since; expiry;
bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.evaluation import builders as b
from tests.reports.conftest import (
    CONTROL_DOC,
    EXPIRED_DOC,
    FREE_ID,
    ID_NUMBER,
    OBJECTION_DOC,
    PERSON_DOC,
    REPAIRED_DOC,
    RESTRICTED_CASE,
    TODAY,
    World,
    issue,
    pdf_text,
    record_id,
)
from xinyong.accounts.principal import Principal
from xinyong.audit.models import AuditEntry
from xinyong.catalog.loader import load_catalog
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.core.errors import DomainError
from xinyong.records.service import change_record_status
from xinyong.reports import service
from xinyong.reports.models import CreditReport, CreditReportFile
from xinyong.subjects.idnumbers import mask_id_number

SAMR_TEXTS = ("企业信用风险分类", "信用风险低", "信用风险一般", "信用风险较高", "信用风险高")


def test_public_report_lists_every_category_and_only_public_records(
    world: World, tmp_path: Path
) -> None:
    serial, data = issue(world.s1_code, "public")
    text = pdf_text(data, tmp_path)
    assert "公共信用信息报告（公开版）" in text
    assert serial in text and "招投标" in text
    assert "广州测试1号有限公司" in text and world.s1_code in text
    for cat in load_catalog().categories:
        assert cat.label in text, cat.label
    # records or the explicit statement: the categories without records say so, one each
    with session_scope() as session:
        snap = service.get_report(session, serial).snapshot
    empty = sum(1 for c in snap["categories"] if c["count"] == 0)
    # (+1: the explanatory note quotes the statement)
    assert empty >= 8 and text.count("未查询到相关记录") == empty + 1
    assert CONTROL_DOC in text
    assert OBJECTION_DOC in text and "异议处理中" in text  # shown, marked
    for hidden in (EXPIRED_DOC, REPAIRED_DOC, RESTRICTED_CASE):
        assert hidden not in text, hidden
    # a personal ID written into a penalty's facts is masked, never in clear
    assert FREE_ID not in text and mask_id_number(FREE_ID)[:4] in text
    # public evaluation results yes, the government-only SAMR classes never
    assert "企业公共信用综合评价（通用）" in text
    for samr in SAMR_TEXTS:
        assert samr not in text
    assert "有效期至" in text and (TODAY + dt.timedelta(days=30)).isoformat() in text


def test_subject_report_shows_restricted_and_every_state(world: World, tmp_path: Path) -> None:
    _, data = issue(world.s1_code, "subject")
    text = pdf_text(data, tmp_path)
    assert "公共信用信息报告（主体完整版）" in text
    assert RESTRICTED_CASE in text and "受限公开" in text
    assert REPAIRED_DOC in text and "已修复" in text
    assert EXPIRED_DOC in text  # publicity ended: still the subject's own record
    assert FREE_ID not in text
    for samr in SAMR_TEXTS:
        assert samr not in text


def test_natural_person_reports_never_show_the_id_number(world: World, tmp_path: Path) -> None:
    _, own = issue(world.person, "subject")
    text = pdf_text(own, tmp_path)
    assert "报告测试自然人王五" in text and "个人公共信用信息报告" in text
    assert PERSON_DOC in text
    assert ID_NUMBER not in text and mask_id_number(ID_NUMBER) not in text
    _, public = issue(world.person, "public")
    text = pdf_text(public, tmp_path)
    assert PERSON_DOC not in text  # a natural person's records are never public
    assert ID_NUMBER not in text
    with session_scope() as session:
        rep = session.scalar(select(CreditReport).order_by(CreditReport.id.desc()).limit(1))
        assert rep is not None
        assert service.summary(rep)["subject"]["name"] == "报" + "*" * 8


def test_serials_are_unique_well_formed_and_stored_with_their_file(world: World) -> None:
    serials = [issue(world.s2_code, "public", purpose=f"用途{i}")[0] for i in range(4)]
    assert len(set(serials)) == 4
    for s in serials:
        m = service.SERIAL_RE.fullmatch(s)
        assert m and m.group(1) == "2026"
    with session_scope() as session:
        reps = session.scalars(select(CreditReport).where(CreditReport.serial.in_(serials))).all()
        assert len(reps) == 4
        for rep in reps:
            data = session.get(CreditReportFile, rep.id)
            assert data is not None
            import hashlib

            assert hashlib.sha256(data.pdf).hexdigest() == rep.pdf_sha256
            assert rep.snapshot["view"] == "public" and rep.requested_by == "cli"
        # every issue is in the audit log with its purpose
        n = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "reports.issue", AuditEntry.subject_id == world.s2))
        assert n == 4


def test_changes_since_a_new_penalty_and_a_repair(world: World) -> None:
    serial, _ = issue(world.s1_code, "public")
    full, _ = issue(world.s1_code, "subject")
    with session_scope() as session:
        info = service.verify_serial(session, serial, Principal())
    assert info["changes"]["changed"] is False
    assert info["total"] == 2 and "purpose" not in info  # public: no purpose, no requester

    b.penalty(world.engine, 1, "2026-11-01", seq=9)
    with session_scope() as session:
        info = service.verify_serial(session, serial, Principal())
    ch = info["changes"]
    assert ch["changed"] and ch["counts"]["added"] == 1
    assert ch["items"][0]["kind"] == "added" and ch["items"][0]["title"] == "穗市监罚〔2026〕1-9号"

    with session_scope() as session:
        change_record_status(session, record_id=record_id(CONTROL_DOC), status="repaired",
                             actor="test", reason="信用修复")
    with session_scope() as session:
        info = service.verify_serial(session, serial, Principal())
        ch = info["changes"]
        assert ch["counts"] == {"added": 1, "status": 0, "removed": 1}
        removed = next(x for x in ch["items"] if x["kind"] == "removed")
        assert removed["title"] == CONTROL_DOC and removed["status"] == "已修复"
        # the subject view keeps the record and says its status changed; outsiders get counts
        outsider = service.verify_serial(session, full, Principal())
        assert outsider["changes"]["changed"] and outsider["changes"]["items"] == []
        assert outsider["changes"]["counts"]["status"] == 1
        owner = Principal(role="subject", subject_id=world.s1, username="s1")
        mine = service.verify_serial(session, full, owner)
        change = next(x for x in mine["changes"]["items"] if x["kind"] == "status")
        assert change["status"] == "有效 → 已修复" and mine["purpose"] == "招投标"


def test_expired_after_the_validity_period(world: World) -> None:
    serial, _ = issue(world.s2_code, "public")
    with session_scope() as session:
        assert service.verify_serial(session, serial, Principal())["expired"] is False
    with clock.frozen(TODAY + dt.timedelta(days=30)), session_scope() as session:
        assert service.verify_serial(session, serial, Principal())["expired"] is False
    with clock.frozen(TODAY + dt.timedelta(days=31)), session_scope() as session:
        info = service.verify_serial(session, serial, Principal())
        assert info["expired"] is True and info["valid_until"] == "2026-12-22"


def _count() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(CreditReport)) or 0)


@pytest.mark.parametrize(
    ("who", "code", "view", "purpose", "error", "status"),
    [
        ("s1", "UNKNOWN", "public", "招投标", "SUBJECT_NOT_FOUND", 404),
        ("s1", "s2", "public", "招投标", "REPORT_FORBIDDEN", 403),
        ("s1", "s1", "public", "  ", "REPORT_PURPOSE_REQUIRED", 422),
        ("s1", "s1", "public", "用" * 201, "REPORT_PURPOSE_TOO_LONG", 422),
        ("s1", "s1", "government", "招投标", "REPORT_VIEW_UNKNOWN", 422),
        ("bank", "s1", "public", "贷款审查", "REPORT_FORBIDDEN", 403),
        ("public", "s1", "public", "招投标", "AUTH_REQUIRED", 401),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    world: World, who: str, code: str, view: str, purpose: str, error: str, status: int
) -> None:
    principals = {
        "s1": Principal(role="subject", subject_id=world.s1, username="s1"),
        "bank": Principal(role="bank", username="bank1"),
        "public": Principal(),
    }
    key = {"s1": world.s1_code, "s2": world.s2_code}.get(code, "91440101MA9999999X")
    before = _count()
    with pytest.raises(DomainError) as exc, session_scope() as session:
        service.issue_report(session, subject=key, view=view, purpose=purpose,
                             principal=principals[who])
    assert exc.value.code == error and exc.value.status == status
    assert exc.value.message and not exc.value.message.isascii()
    assert _count() == before


def test_unknown_serial_is_404(world: World) -> None:
    with pytest.raises(DomainError) as exc, session_scope() as session:
        service.verify_serial(session, "XY-2026-999999-ABCD", Principal())
    assert exc.value.code == "REPORT_NOT_FOUND" and exc.value.status == 404


def test_seed_demo_issues_verifiable_reports_once(world: World) -> None:
    from xinyong.reports import signing
    from xinyong.reports.models import CreditReport

    with session_scope() as session:
        assert service.seed_demo(session) == 2
    with session_scope() as session:
        assert service.seed_demo(session) == 0  # idempotent: `make run` twice changes nothing
        serials = session.scalars(select(CreditReport.serial).order_by(CreditReport.id)).all()
    assert len(serials) == 2
    with session_scope() as session:
        report, data = service.report_pdf(session, serials[0],
                                          Principal(role="admin", username="a"))
        assert report.view == "public" and signing.verify_pdf(data).ok

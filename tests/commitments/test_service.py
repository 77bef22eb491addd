"""Commitments through the service: templates, signing, department requests, reminders around
the National Day week, breach and fulfilment as credit records, re-evaluation, eligibility."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from tests.commitments.helpers import CLEAN, LISTED, OTHER, RED, World, build
from tests.evaluation import builders as b
from xinyong.commitments import service
from xinyong.commitments.models import Commitment, CommitmentEvent
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.core.errors import DomainError
from xinyong.notifications.models import Notification
from xinyong.records.models import CreditRecord

DEFICIENCY = "deficiency_tolerated_document"
REQUEST_FIELDS = {"matter": "建设工程施工许可（惠州仲恺高新区某厂房四期）",
                  "document": "施工图设计文件审查合格书"}
SIGN_FIELDS = {"contact": "李工", "phone": "13912345678"}


def _request(w: World, n: int = CLEAN, **kw: object):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        c = service.request_commitment(
            session, department_id=w.market, actor="user:market-officer", code=b.code(n),
            template=kw.pop("template", DEFICIENCY),  # type: ignore[arg-type]
            fields=kw.pop("fields", REQUEST_FIELDS), **kw)  # type: ignore[arg-type]
        return c.id, c.number, c.due_on


def _sign(w: World, cid: int, n: int = CLEAN, account_id: int | None = None) -> None:
    with session_scope() as session:
        service.sign_request(session, cid, me=w.subject(n, account_id), fields=SIGN_FIELDS,
                             affirm=True)


def _counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in (
            "commitment", "commitment_event", "credit_record", "notification", "audit_log",
            "evaluation_history"))


def test_every_template_renders_with_its_fields() -> None:
    data = service.load_templates()
    assert set(data.kinds) == {"notify_commit", "deficiency_tolerated", "voluntary", "industry",
                               "repair", "service_address"}
    assert {t.kind for t in data.by_code.values()} == set(data.kinds)
    for tpl in data.by_code.values():
        values = {f.name: f"{f.label}示例" for f in tpl.fields}
        values["phone"] = "13800138000"
        out = service.render_text(tpl, {
            **values, "subject_name": "惠州市示范建设有限公司", "uscc": b.code(9),
            "department_name": "惠州市住房和城乡建设局", "number": "XYCN2026000001",
            "signed_on": "2026年8月2日", "due_on": "2026年10月8日"})
        assert "惠州市示范建设有限公司" in out and "XYCN2026000001" in out, tpl.code
        assert tpl.legal_basis in out, tpl.code
        assert "{{" not in out and "{%" not in out
    assert [t["code"] for t in service.list_templates(kind="service_address")] == [
        "service_address_qianhai"]
    with pytest.raises(DomainError) as e:
        service.list_templates(kind="approval")
    assert e.value.code == "COMMITMENT_KIND_UNKNOWN"


def test_voluntary_commitment_is_signed_listed_publicly_and_becomes_a_record(
        engine: Engine) -> None:
    w = build(engine)
    with session_scope() as session:
        c = service.sign_new(session, me=w.subject(CLEAN), template="voluntary_public",
                             fields={"matter": "诚信经营、明码标价", "pledges": "客服电话13812345678全天接听"},
                             affirm=True)
        cid, text_, digest, record_id = c.id, c.text, c.text_sha256, c.record_id
    assert digest == hashlib.sha256(text_.encode("utf-8")).hexdigest()
    assert "广州测试1号有限公司" in text_ and "诚信经营、明码标价" in text_
    with session_scope() as session:
        rows, total = service.list_public(session, q=b.code(CLEAN))
        assert total == 1 and rows[0]["id"] == cid
        # personal data typed into a public text is masked in the public view
        pub = service.detail(session, cid, view="public")
        assert "13812345678" not in pub["text"] and "138****5678" in pub["text"]
        assert pub["sha256"] == digest
        own = service.detail(session, cid, view="subject", me=w.subject(CLEAN))
        assert own["text"] == text_
        rec = session.get(CreditRecord, (w.ids[CLEAN], record_id))
        assert rec is not None and rec.record_type == "commitment" and rec.disclosure == "public"
        # by name, too, and nothing for another subject
        assert service.list_public(session, q="广州测试1号")[1] == 1
        assert service.list_public(session, q=b.code(OTHER))[1] == 0


def test_non_public_kinds_are_not_listed_and_phone_is_masked(engine: Engine) -> None:
    w = build(engine)
    cid, _, _ = _request(w)
    _sign(w, cid)
    with session_scope() as session:
        c = service.sign_new(session, me=w.subject(OTHER), template="service_address_qianhai",
                             department="court", affirm=True,
                             fields={"address": "深圳市前海深港合作区南山街道桂湾五路128号",
                                     "recipient": "王五", "phone": "13700001111",
                                     "email": "legal@example.cn"})
        assert c.record_id is None and not c.is_public
        assert "13700001111" in c.text
        assert service.list_public(session)[1] == 0
        with pytest.raises(DomainError) as e:
            service.detail(session, c.id, view="public")
        assert e.value.status == 404


def test_department_request_reminders_around_national_day_then_breach(engine: Engine) -> None:
    w = build(engine, accounts=True)
    # requested on Sunday 2 August 2026: 60 days end on 1 October, a holiday; the deadline
    # moves to the first working day after the National Day week (民法典第二百零三条).
    cid, number, due = _request(w)
    assert due == dt.date(2026, 10, 8)
    with session_scope() as session:
        acc = session.execute(text("SELECT id FROM account WHERE username = 'c-subject'")).scalar()
    _sign(w, cid, account_id=acc)
    sent: dict[str, list[str]] = {}
    # 7 working days before 8 October is Monday 21 September (25 Sep 中秋 and the National
    # Day week are off); 1 working day before is Wednesday 30 September, not during the holiday.
    for day in ("2026-09-20", "2026-09-21", "2026-09-22", "2026-09-29", "2026-09-30",
                "2026-10-01", "2026-10-08", "2026-10-09", "2026-10-10"):
        clock.set_today(dt.date.fromisoformat(day))
        with session_scope() as session:
            out = service.sweep(session)
        sent[day] = [d["event"] for d in out.details]
    assert sent == {
        "2026-09-20": [], "2026-09-21": ["reminder_7"], "2026-09-22": [], "2026-09-29": [],
        "2026-09-30": ["reminder_1"], "2026-10-01": [], "2026-10-08": [],
        "2026-10-09": ["overdue"], "2026-10-10": [],
    }
    with session_scope() as session:
        notes = session.execute(select(Notification.key, Notification.account_id).where(
            Notification.channel == "in_app")).all()
        c = session.get(Commitment, cid)
        assert c is not None and c.status == "signed"  # overdue is not a breach by itself
    keys = {k for k, _ in notes}
    assert {f"commitment:{cid}:reminder:7", f"commitment:{cid}:reminder:1",
            f"commitment:{cid}:overdue", f"commitment:{cid}:requested",
            f"commitment:{cid}:signed"} <= keys
    # each reminder to the subject's account and to the market officer, not to tax
    reminder = [a for k, a in notes if k == f"commitment:{cid}:reminder:7"]
    assert len(reminder) == 2

    # the department decides: breach → a commitment_performance record, re-evaluated at once
    with engine.connect() as conn:
        before = conn.execute(text(
            "SELECT score, grade FROM evaluation_result WHERE model_name = 'gz_general'"
            " AND subject_id = :s"), {"s": w.ids[CLEAN]}).one()
    with session_scope() as session:
        service.decide(session, cid, department_id=w.market, actor="user:market-officer",
                       outcome="breached", note="逾期未补齐施工图设计文件审查合格书")
    with session_scope() as session:
        c = session.get(Commitment, cid)
        assert c is not None and c.status == "breached" and c.performance_record_id
        rec = session.get(CreditRecord, (w.ids[CLEAN], c.performance_record_id))
        assert rec is not None
        assert (rec.record_type, rec.outcome, rec.department_id, rec.source_record_id) == (
            "commitment_performance", "breached", w.market, number)
    with engine.connect() as conn:
        after = conn.execute(text(
            "SELECT score, grade FROM evaluation_result WHERE model_name = 'gz_general'"
            " AND subject_id = :s"), {"s": w.ids[CLEAN]}).one()
        hist = conn.execute(text(
            "SELECT COUNT(*) FROM evaluation_history WHERE model_name = 'gz_general'"
            " AND subject_id = :s AND as_of = :d"),
            {"s": w.ids[CLEAN], "d": clock.today()}).scalar_one()
    assert after.score < before.score and hist == 1
    # and the breach now keeps the subject from the commitment route
    with session_scope() as session:
        res = service.eligibility_for_code(session, b.code(CLEAN), "notify_commit")
    assert res["eligible"] is False and any("违背信用承诺" in r for r in res["reasons"])


def test_fulfilment_is_a_performance_record(engine: Engine) -> None:
    w = build(engine)
    cid, _, _ = _request(w, OTHER)
    _sign(w, cid, OTHER)
    clock.set_today(dt.date(2026, 9, 15))
    with session_scope() as session:
        service.decide(session, cid, department_id=w.market, actor="user:market-officer",
                       outcome="fulfilled", note="已补齐审查合格书")
    with session_scope() as session:
        c = session.get(Commitment, cid)
        assert c is not None and c.status == "fulfilled" and c.decided_on == dt.date(2026, 9, 15)
        rec = session.get(CreditRecord, (w.ids[OTHER], c.performance_record_id))
        assert rec is not None and rec.outcome == "fulfilled"
        kinds = [e.kind for e in session.scalars(select(CommitmentEvent).where(
            CommitmentEvent.commitment_id == cid).order_by(CommitmentEvent.id))]
        assert kinds == ["requested", "signed", "fulfilled"]
        assert service.eligibility_for_code(session, b.code(OTHER), "notify_commit")["eligible"]


def test_eligibility_single_and_batch_agree(engine: Engine) -> None:
    build(engine)
    codes = [b.code(n) for n in (CLEAN, RED, LISTED, OTHER)] + ["91440101MA0000000X", ""]
    with session_scope() as session:
        single = {c: service.eligibility_for_code(session, c, "notify_commit")
                  for c in codes[:4]}
        batch = service.eligibility_by_codes(session.connection(), codes, "notify_commit")
        voluntary = service.eligibility_by_codes(session.connection(), codes[:4], "voluntary")
    assert [r["eligible"] for r in batch] == [True, False, False, True, None, None]
    for r in batch[:4]:
        assert single[r["code"]]["eligible"] == r["eligible"]
        assert single[r["code"]]["reasons"] == r["reasons"]
    red = batch[1]["reasons"]
    assert red == ["该主体“惠信码”为红码（有不良信用记录），不适用信用承诺制"]
    listed = {x["code"] for x in batch[2]["rules"] if x["hit"]}
    assert listed == {"red_code", "serious_dishonesty"}
    assert batch[4]["reasons"] == ["未找到该统一社会信用代码对应的信用主体"]
    # the restrictions are for the approval route: anyone may commit publicly
    assert all(r["eligible"] for r in voluntary)


def test_eligibility_in_bulk_is_set_based(engine: Engine) -> None:
    """A list longer than the inline limit goes through a temporary table: same answers."""
    build(engine)
    codes = [b.code(n) for n in (CLEAN, RED, LISTED, OTHER)] * 200
    with session_scope() as session:
        out = service.eligibility_by_codes(session.connection(), codes, "deficiency_tolerated")
        ids = [r["subject_id"] for r in out[:4]] * 200
        direct = service.eligibility(session.connection(), ids, "deficiency_tolerated")
    assert [r["eligible"] for r in out] == [True, False, False, True] * 200
    assert [r["eligible"] for r in direct] == [True, False, False, True] * 200


def test_a_repaired_list_entry_no_longer_blocks(engine: Engine) -> None:
    w = build(engine)
    from xinyong.records.service import change_record_status

    with session_scope() as session:
        rid = session.scalar(select(CreditRecord.id).where(
            CreditRecord.subject_id == w.ids[LISTED],
            CreditRecord.record_type == "serious_dishonesty_list"))
        change_record_status(session, record_id=rid, status="repaired", actor="test",
                             reason="信用修复")
    with session_scope() as session:
        res = service.eligibility_for_code(session, b.code(LISTED), "notify_commit")
    assert {x["code"] for x in res["rules"] if x["hit"]} == set()
    assert res["eligible"] is True


BAD = [
    ("deadline_past", "COMMITMENT_DEADLINE_PAST"),
    ("unknown_template", "COMMITMENT_TEMPLATE_UNKNOWN"),
    ("missing_department_field", "COMMITMENT_FIELDS_MISSING"),
    ("unknown_field", "COMMITMENT_FIELD_UNKNOWN"),
    ("not_eligible_request", "COMMITMENT_NOT_ELIGIBLE"),
    ("not_eligible_sign", "COMMITMENT_NOT_ELIGIBLE"),
    ("someone_elses_request", "COMMITMENT_NOT_FOUND"),
    ("missing_subject_field", "COMMITMENT_FIELDS_MISSING"),
    ("bad_phone", "COMMITMENT_FIELD_INVALID"),
    ("not_affirmed", "COMMITMENT_NOT_AFFIRMED"),
    ("locked_field", "COMMITMENT_FIELD_LOCKED"),
    ("other_department_decides", "COMMITMENT_NOT_FOUND"),
    ("decide_unsigned", "COMMITMENT_NOT_SIGNED"),
    ("second_decision", "COMMITMENT_ALREADY_DECIDED"),
    ("breach_without_reason", "COMMITMENT_BREACH_DESCRIPTION_REQUIRED"),
    ("not_self_service", "COMMITMENT_TEMPLATE_NOT_SELF_SERVICE"),
    ("department_required", "COMMITMENT_DEPARTMENT_REQUIRED"),
    ("sign_twice", "COMMITMENT_NOT_REQUESTED"),
]


@pytest.mark.parametrize(("case", "code"), BAD, ids=[c for c, _ in BAD])
def test_bad_input_changes_nothing(engine: Engine, case: str, code: str) -> None:
    w = build(engine)
    requested, _, _ = _request(w, OTHER)
    signed, _, _ = _request(w, CLEAN)
    _sign(w, signed)
    decided, _, _ = _request(w, CLEAN)
    _sign(w, decided)
    with session_scope() as session:
        service.decide(session, decided, department_id=w.market, actor="t", outcome="fulfilled")
    before = _counts(engine)
    calls = {
        "deadline_past": lambda s: service.request_commitment(
            s, department_id=w.market, actor="t", code=b.code(CLEAN), template=DEFICIENCY,
            fields=REQUEST_FIELDS, due_on=dt.date(2026, 8, 1)),
        "unknown_template": lambda s: service.request_commitment(
            s, department_id=w.market, actor="t", code=b.code(CLEAN), template="approval",
            fields=REQUEST_FIELDS),
        "missing_department_field": lambda s: service.request_commitment(
            s, department_id=w.market, actor="t", code=b.code(CLEAN), template=DEFICIENCY,
            fields={"matter": "施工许可"}),
        "unknown_field": lambda s: service.request_commitment(
            s, department_id=w.market, actor="t", code=b.code(CLEAN), template=DEFICIENCY,
            fields={**REQUEST_FIELDS, "amount": "1"}),
        "not_eligible_request": lambda s: service.request_commitment(
            s, department_id=w.market, actor="t", code=b.code(RED), template=DEFICIENCY,
            fields=REQUEST_FIELDS),
        "not_eligible_sign": lambda s: service.sign_new(
            s, me=w.subject(LISTED), template="notify_commit_approval", department="market",
            fields={"matter": "食品经营许可"}, affirm=True),
        "someone_elses_request": lambda s: service.sign_request(
            s, requested, me=w.subject(CLEAN), fields=SIGN_FIELDS, affirm=True),
        "missing_subject_field": lambda s: service.sign_request(
            s, requested, me=w.subject(OTHER), fields={"contact": "李工"}, affirm=True),
        "bad_phone": lambda s: service.sign_request(
            s, requested, me=w.subject(OTHER), fields={**SIGN_FIELDS, "phone": "12345"},
            affirm=True),
        "not_affirmed": lambda s: service.sign_request(
            s, requested, me=w.subject(OTHER), fields=SIGN_FIELDS, affirm=False),
        "locked_field": lambda s: service.sign_request(
            s, requested, me=w.subject(OTHER), fields={**SIGN_FIELDS, "document": "无"},
            affirm=True),
        "other_department_decides": lambda s: service.decide(
            s, signed, department_id=w.tax, actor="t", outcome="breached", note="违诺"),
        "decide_unsigned": lambda s: service.decide(
            s, requested, department_id=w.market, actor="t", outcome="fulfilled"),
        "second_decision": lambda s: service.decide(
            s, decided, department_id=w.market, actor="t", outcome="breached", note="违诺"),
        "breach_without_reason": lambda s: service.decide(
            s, signed, department_id=w.market, actor="t", outcome="breached", note=" "),
        "not_self_service": lambda s: service.sign_new(
            s, me=w.subject(CLEAN), template=DEFICIENCY, department="market",
            fields={**REQUEST_FIELDS, **SIGN_FIELDS}, affirm=True),
        "department_required": lambda s: service.sign_new(
            s, me=w.subject(CLEAN), template="notify_commit_approval",
            fields={"matter": "食品经营许可"}, affirm=True),
        "sign_twice": lambda s: service.sign_request(
            s, signed, me=w.subject(CLEAN), fields=SIGN_FIELDS, affirm=True),
    }
    with pytest.raises(DomainError) as e, session_scope() as session:
        calls[case](session)
    assert e.value.code == code, e.value.message
    assert e.value.message and not e.value.message.isascii()
    assert _counts(engine) == before
    with session_scope() as session:
        statuses = dict(session.execute(select(Commitment.id, Commitment.status)).all())
    assert statuses[requested] == "requested" and statuses[signed] == "signed"
    assert statuses[decided] == "fulfilled"


def test_overdue_can_be_configured_as_breach(engine: Engine, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    w = build(engine)
    cid, _, due = _request(w)
    _sign(w, cid)
    rules = service.load_rules()
    from dataclasses import replace

    monkeypatch.setattr(service, "load_rules", lambda: replace(rules, overdue_action="breach"))
    clock.set_today(due + dt.timedelta(days=1))
    with session_scope() as session:
        out = service.sweep(session)
    assert (out.overdue, out.breached) == (1, 1)
    with session_scope() as session:
        c = session.get(Commitment, cid)
        assert c is not None and c.status == "breached" and c.performance_record_id
        n = session.scalar(select(func.count()).select_from(CreditRecord).where(
            CreditRecord.record_type == "commitment_performance"))
        assert n == 1


def test_public_commitment_shows_in_the_public_profile(engine: Engine) -> None:
    from xinyong.records.profile import build_profile
    from xinyong.subjects.models import Subject

    w = build(engine)
    with session_scope() as session:
        service.sign_new(session, me=w.subject(OTHER), template="voluntary_public", affirm=True,
                         fields={"matter": "守合同重信用主动公示"})
    with session_scope() as session:
        subject = session.get(Subject, w.ids[OTHER])
        profile = build_profile(session, subject, "public")
    shown = str(profile)
    assert "守合同重信用主动公示" in shown


def test_seed_demo_creates_commitments(engine: Engine) -> None:
    build(engine)
    with session_scope() as session:
        n = service.seed_demo(session)
    assert n >= 3
    with session_scope() as session:
        statuses = sorted(session.scalars(select(Commitment.status)))
        assert "fulfilled" in statuses and "signed" in statuses
        assert service.seed_demo(session) == 0  # idempotent

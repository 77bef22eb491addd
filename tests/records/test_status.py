"""Record state changes (revoked, repaired, objection pending, reinstated), the class
correction, and the two-table storage staying one row per record, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.records.helpers import HUAWEI, department, penalty, subjects
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.core.errors import DomainError
from xinyong.records import service
from xinyong.records.errors import RecordError
from xinyong.records.ingest import ingest_records
from xinyong.records.models import CreditRecord, CreditRecordDetail, PendingMatch, RecordEvent
from xinyong.records.profile import build_profile
from xinyong.subjects.service import find_subject

TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def record_id(engine: Engine) -> int:
    clock.set_today(TODAY)
    department()
    subjects(engine, [HUAWEI])
    res = ingest_records(
        engine,
        [penalty(decided_on="2026-05-10")],
        record_type="administrative_penalty",
        department="market",
    )
    assert res.inserted == 1, res.errors
    with session_scope() as s:
        return int(s.scalars(select(CreditRecord.id)).one())


def _record(record_id: int) -> CreditRecord:
    with session_scope() as s:
        return s.scalars(select(CreditRecord).where(CreditRecord.id == record_id)).one()


def _public_titles() -> set[str]:
    with session_scope() as s:
        prof = build_profile(s, find_subject(s, HUAWEI[0]), "public", today=TODAY)
    return {r["title"] for c in prof["categories"] for r in c["records"]}


def test_repair_then_reinstate(engine: Engine, record_id: int) -> None:
    assert _record(record_id).status_since is None  # the initial active
    assert "深市监罚〔2026〕1号" in _public_titles()
    with engine.begin() as conn:
        ev = service.change_record_status(
            conn,
            record_id=record_id,
            status="repaired",
            effective_on=dt.date(2026, 5, 1),
            actor="op",
            reason="已完成信用修复",
        )
    rec = _record(record_id)
    assert (rec.status, rec.status_since) == ("repaired", dt.date(2026, 5, 1))
    assert "深市监罚〔2026〕1号" not in _public_titles()
    with session_scope() as s:
        event = s.get(RecordEvent, ev)
        assert event is not None
        assert (event.kind, event.effective_on, event.actor, event.subject_id) == (
            "repaired",
            dt.date(2026, 5, 1),
            "op",
            rec.subject_id,
        )
        assert event.data == {"from": "active", "to": "repaired", "reason": "已完成信用修复"}
        # back to active: a reinstatement, effective today by default; accepts a session too
        service.change_record_status(s, record_id=record_id, status="active", actor="op")
    rec = _record(record_id)
    assert (rec.status, rec.status_since) == ("active", TODAY)
    with session_scope() as s:
        kinds = [h["kind"] for h in service.record_history(s, record_id)]
    assert kinds == ["repaired", "reinstated"]


def test_objection_and_revocation(engine: Engine, record_id: int) -> None:
    with engine.begin() as conn:
        service.change_record_status(conn, record_id=record_id, status="objection_pending")
    # a record under objection stays public until decided
    assert "深市监罚〔2026〕1号" in _public_titles()
    with engine.begin() as conn:
        service.change_record_status(
            conn, record_id=record_id, status="revoked", effective_on=dt.date(2026, 11, 20)
        )
    assert _record(record_id).status == "revoked"
    assert "深市监罚〔2026〕1号" not in _public_titles()


@pytest.mark.parametrize(
    ("status", "code", "http"),
    [
        ("deleted", "RECORD_STATUS_INVALID", 400),
        ("corrected", "RECORD_STATUS_NOT_SETTABLE", 400),
        ("active", "RECORD_STATUS_UNCHANGED", 409),
    ],
)
def test_refused_changes(
    engine: Engine, record_id: int, status: str, code: str, http: int
) -> None:
    with pytest.raises(RecordError) as exc, engine.begin() as conn:
        service.change_record_status(conn, record_id=record_id, status=status)
    assert isinstance(exc.value, DomainError)
    assert (exc.value.code, exc.value.status) == (code, http)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(RecordEvent)) == 0


def test_unknown_and_superseded_records(engine: Engine, record_id: int) -> None:
    with pytest.raises(RecordError) as exc, engine.begin() as conn:
        service.change_record_status(conn, record_id=record_id + 1000, status="revoked")
    assert (exc.value.code, exc.value.status) == ("RECORD_NOT_FOUND", 404)
    # a correction supersedes the record: the old version cannot change any more
    res = ingest_records(
        engine,
        [penalty(decided_on="2026-05-10", fine_amount="8000", content="罚款8000元")],
        record_type="administrative_penalty",
        department="market",
    )
    assert res.corrected == 1
    old = _record(record_id)
    assert (old.status, old.status_since, old.is_current) == ("corrected", TODAY, False)
    with pytest.raises(RecordError) as exc2, engine.begin() as conn:
        service.change_record_status(conn, record_id=record_id, status="revoked")
    assert (exc2.value.code, exc2.value.status) == ("RECORD_NOT_CURRENT", 409)


def test_every_record_has_its_detail(engine: Engine, record_id: int) -> None:
    """Ingest, correction and pending resolution write both tables, one row each."""
    ingest_records(
        engine,
        [
            penalty(fine_amount="9000", content="罚款9000元"),  # a correction
            penalty(doc_number="待匹配1号", uscc=None, subject_name="查无此名有限公司"),
        ],
        record_type="administrative_penalty",
        department="market",
    )
    with session_scope() as s:
        pending = s.scalars(select(PendingMatch)).one()
        subject = find_subject(s, HUAWEI[0])
        assert subject is not None
        service.resolve_pending(s, pending.id, subject.id, actor="op")
    with session_scope() as s:
        keys = {tuple(k) for k in s.execute(select(CreditRecord.subject_id, CreditRecord.id))}
        details = {
            (d.subject_id, d.id): d for d in s.scalars(select(CreditRecordDetail))
        }
        assert len(keys) == 3 and keys == set(details)
        by_title = {
            r.title: details[(r.subject_id, r.id)] for r in s.scalars(select(CreditRecord))
        }
    assert by_title["待匹配1号"].data["doc_number"] == "待匹配1号"
    assert by_title["待匹配1号"].class_reason


def test_class_correction_updates_both_tables(engine: Engine, record_id: int) -> None:
    with session_scope() as s:
        service.correct_class(s, record_id, "serious", actor="op", reason="情节严重，予以更正")
    rec = _record(record_id)
    assert (rec.penalty_class, rec.class_source) == ("serious", "operator")
    assert rec.publicity_until is not None and rec.publicity_until > dt.date(2027, 5, 10)
    with session_scope() as s:
        detail = s.get(CreditRecordDetail, (rec.subject_id, rec.id))
        assert detail is not None and detail.class_reason == "情节严重，予以更正"
        prof = build_profile(s, find_subject(s, HUAWEI[0]), "government", today=TODAY)
        shown = next(r for c in prof["categories"] for r in c["records"])
        assert shown["class_reason"] == "情节严重，予以更正"
        assert [h["kind"] for h in service.record_history(s, record_id)] == ["class_corrected"]

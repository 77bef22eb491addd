""""两书同达": a repair notice is served with every negative record that can ever be
repaired, set-based at ingest; the subject is told, and told again by the daily sweep when the
record becomes repairable."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.evaluation import builders as b
from tests.repair.conftest import S1, S2, World, penalty_row, push
from tests.repair.conftest import record_id as rid_of
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.repair import service


def templates(world: World, subject: int) -> list[str]:
    return [t for (t,) in world.query(
        "SELECT template FROM notification WHERE subject_id = :s AND channel = 'in_app'"
        " ORDER BY id", s=subject)]


def test_notices_served_with_records(world: World) -> None:
    s1, s2 = world.ids["s1"], world.ids["s2"]
    push(world.engine, "administrative_penalty", [
        penalty_row(S1, "穗天税罚〔2026〕告知1号", "2026-08-01"),
        penalty_row(S1, "穗天税罚〔2026〕告知2号", "2026-09-01", "serious"),
        # 轻微 under 36号令: not published, no notice
        penalty_row(S1, "穗天税罚〔2026〕告知3号", "2026-09-01", "minor"),
        # publicity already over (2024 一般: one year): no notice
        penalty_row(S1, "穗天税罚〔2024〕告知4号", "2024-01-10"),
        penalty_row(S2, "穗天税罚〔2026〕告知5号", "2026-08-15"),
    ])
    push(world.engine, "dishonest_judgment_debtor", [{
        "subject_name": f"广州测试{S1}号有限公司", "uscc": b.code(S1),
        "case_number": "（2026）粤0106执告知6号", "court": "广州市天河区人民法院",
        "listed_on": "2026-09-01"}], department="court")
    push(world.engine, "serious_dishonesty_list", [{
        "subject_name": f"广州测试{S1}号有限公司", "uscc": b.code(S1),
        "list_name": "重大税收违法失信主体名单", "reason": "虚开增值税发票",
        "listed_on": "2026-09-10", "authority": "国家税务总局广州市税务局"}])
    rows = world.query("SELECT record_id, rule_id, repairable_from FROM repair_notice"
                       " ORDER BY repairable_from, record_id")
    got = {r[0]: (r[1], str(r[2])) for r in rows}
    assert got == {
        rid_of("穗天税罚〔2026〕告知1号"): ("ndrc-2026-penalty", "2026-11-01"),
        rid_of("穗天税罚〔2026〕告知5号"): ("ndrc-2026-penalty", "2026-11-15"),
        rid_of("穗天税罚〔2026〕告知2号"): ("ndrc-2026-penalty", "2027-09-01"),
        rid_of("重大税收违法失信主体名单"): ("sdl-2026", "2027-09-10"),
    }
    # each subject's accounts are told once per batch
    assert templates(world, s1) == ["repair_notice_issued", "repair_notice_issued"]
    assert templates(world, s2) == ["repair_notice_issued"]
    body = world.query("SELECT body FROM notification WHERE subject_id = :s ORDER BY id",
                       s=s1)[0][0]
    assert "2026-11-01" in body and "信用修复告知书" in body

    # resending the same batch adds nothing; a corrected version gets its own notice
    push(world.engine, "administrative_penalty", [
        penalty_row(S1, "穗天税罚〔2026〕告知1号", "2026-08-01")])
    assert len(world.query("SELECT 1 FROM repair_notice")) == 4
    push(world.engine, "administrative_penalty", [
        penalty_row(S1, "穗天税罚〔2026〕告知1号", "2026-08-01", content="罚款20000元（更正）")])
    assert len(world.query("SELECT 1 FROM repair_notice")) == 5

    # the subject's page lists them; the PDF renders on request
    c = world.client("rp-s1")
    page = c.get("/me/repair", headers={"accept": "text/html"})
    assert "信用修复告知书" in page.text and "2027-09-10" in page.text
    r = c.get("/api/v1/repair/notices").json()
    assert {n["repairable_from"] for n in r["items"]} >= {"2026-11-01", "2027-09-01"}
    first = rid_of("穗天税罚〔2026〕告知2号")
    pdf = c.get(f"/me/repair/notices/{first}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert c.get(f"/api/v1/repair/notices/{first}/pdf").content.startswith(b"%PDF")
    other = rid_of("穗天税罚〔2026〕告知5号")
    assert c.get(f"/me/repair/notices/{other}.pdf").status_code == 404


def test_a_batch_read_back_in_slices_gets_the_same_notices(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook reads a batch's added records a slice of ids at a time (a 5M-row batch must not
    be held in memory at once): with one record per slice, the notices are those of the whole
    batch, and a subject whose records span several slices is told once, of all of them."""
    monkeypatch.setattr(service, "NOTICE_SLICE", 1)
    s1 = world.ids["s1"]
    push(world.engine, "administrative_penalty", [
        penalty_row(S1, "穗天税罚〔2026〕分片1号", "2026-08-01"),
        penalty_row(S2, "穗天税罚〔2026〕分片2号", "2026-08-15"),
        penalty_row(S1, "穗天税罚〔2026〕分片3号", "2026-09-01", "serious"),
        penalty_row(S1, "穗天税罚〔2026〕分片4号", "2026-09-01", "minor"),  # not published
    ])
    rows = world.query("SELECT record_id, rule_id, repairable_from FROM repair_notice")
    assert {r[0]: (r[1], str(r[2])) for r in rows} == {
        rid_of("穗天税罚〔2026〕分片1号"): ("ndrc-2026-penalty", "2026-11-01"),
        rid_of("穗天税罚〔2026〕分片2号"): ("ndrc-2026-penalty", "2026-11-15"),
        rid_of("穗天税罚〔2026〕分片3号"): ("ndrc-2026-penalty", "2027-09-01"),
    }
    assert templates(world, s1) == ["repair_notice_issued"]
    assert world.query("SELECT COUNT(*) FROM repair_notice WHERE subject_id = :s"
                       " AND notified_at IS NOT NULL", s=s1)[0][0] == 2


def test_sweep_tells_when_records_become_repairable(world: World) -> None:
    s1 = world.ids["s1"]
    push(world.engine, "administrative_penalty", [
        penalty_row(S1, "穗天税罚〔2026〕到期1号", "2026-08-01"),
        penalty_row(S1, "穗天税罚〔2026〕到期2号", "2026-08-03"),
        penalty_row(S2, "穗天税罚〔2026〕到期3号", "2026-08-01"),
    ])
    with session_scope() as session:
        r = service.sweep(session, dt.date(2026, 10, 31))
    assert (r.repairable, r.subjects_notified) == (0, 0)
    clock.set_today(dt.date(2026, 11, 1))
    with session_scope() as session:
        r = service.sweep(session)
    # S1's first and S2's are due: both subjects have an account and are told
    assert (r.repairable, r.subjects_notified) == (2, 2)
    assert templates(world, s1).count("repair_now_repairable") == 1
    with session_scope() as session:
        assert service.sweep(session).repairable == 0
    clock.set_today(dt.date(2026, 11, 3))
    with session_scope() as session:
        r = service.sweep(session)
    assert (r.repairable, r.subjects_notified) == (1, 1)
    assert templates(world, s1).count("repair_now_repairable") == 2
    assert world.query("SELECT COUNT(*) FROM repair_notice WHERE due_notified_at IS NULL"
                       )[0][0] == 0

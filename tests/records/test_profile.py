"""The profile (一企一档) in its three views, with publicity decided at chosen dates."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.records.helpers import BYD, HUAWEI, department, penalty, subjects
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.records.ingest import ingest_records
from xinyong.records.models import CreditRecord, CreditRecordDetail
from xinyong.records.profile import build_profile
from xinyong.subjects.service import find_subject


def _profile(key: str, view: str, today: dt.date) -> dict:
    with session_scope() as s:
        return build_profile(s, find_subject(s, key), view, today=today)  # type: ignore[arg-type]


def _titles(profile: dict) -> set[str]:
    return {r["title"] for c in profile["categories"] for r in c["records"]}


def test_views_and_publicity_boundaries(engine: Engine) -> None:
    clock.set_today(dt.date(2026, 11, 22))
    department()
    subjects(engine, [HUAWEI, BYD])
    rows = [
        # general penalty decided 2025-06-10 under the NDRC rules: public for at most 1 year
        penalty(doc_number="G-2025", decided_on="2025-06-10"),
        # serious: licence revoked → 3 years
        penalty(doc_number="S-2024", decided_on="2024-01-15", penalty_kinds="吊销许可证件",
                content="吊销许可证", fine_amount=None),
        # a warning under the simplified procedure after 2026-04-01: minor, not publicised
        penalty(doc_number="M-2026", decided_on="2026-05-01", penalty_kinds="警告",
                content="警告", fine_amount=None, procedure="简易程序"),
    ]
    res = ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert res.inserted == 3, res.errors
    with session_scope() as s:
        recs = {r.title: r for r in s.scalars(select(CreditRecord))}
    assert recs["G-2025"].penalty_class == "general"
    assert recs["G-2025"].publicity_until == dt.date(2026, 6, 10)
    assert recs["S-2024"].penalty_class == "serious"
    assert recs["S-2024"].publicity_until == dt.date(2027, 1, 15)
    assert recs["M-2026"].penalty_class == "minor"
    with session_scope() as s:
        detail = s.get(CreditRecordDetail, (recs["S-2024"].subject_id, recs["S-2024"].id))
        assert detail is not None and "吊销" in (detail.class_reason or "")
        assert detail.data["doc_number"] == "S-2024"

    # on the last day of the period the general penalty is still public; the day after, not
    assert "G-2025" in _titles(_profile(HUAWEI[0], "public", dt.date(2026, 6, 10)))
    assert "G-2025" not in _titles(_profile(HUAWEI[0], "public", dt.date(2026, 6, 11)))
    # serious: public until 2027-01-15 inclusive
    assert "S-2024" in _titles(_profile(HUAWEI[0], "public", dt.date(2027, 1, 15)))
    assert "S-2024" not in _titles(_profile(HUAWEI[0], "public", dt.date(2027, 1, 16)))
    # the minor penalty is never public, but the subject and the government see it
    assert "M-2026" not in _titles(_profile(HUAWEI[0], "public", dt.date(2026, 5, 1)))
    subj = _profile(HUAWEI[0], "subject", dt.date(2026, 11, 22))
    gov = _profile(HUAWEI[0], "government", dt.date(2026, 11, 22))
    assert {"G-2025", "S-2024", "M-2026"} <= _titles(subj)
    assert {"G-2025", "S-2024", "M-2026"} <= _titles(gov)
    states = {r["title"]: r["publicity_state"] for c in gov["categories"] for r in c["records"]}
    assert states == {"G-2025": "ended", "S-2024": "in_publicity", "M-2026": "not_publicised"}
    # every category of the catalog is present, with its count, so "no record" can be said
    cats = {c["code"]: c["count"] for c in gov["categories"]}
    assert cats["administrative"] == 3 and cats["honor"] == 0 and len(cats) >= 12


def test_rule_set_switch_on_2026_04_01(engine: Engine) -> None:
    """The same minor penalty: published as 一般 under the old rules, not under order No. 36."""
    clock.set_today(dt.date(2026, 11, 22))
    department()
    subjects(engine, [HUAWEI])
    minor = {"penalty_kinds": "警告", "content": "警告", "fine_amount": None, "procedure": "简易程序"}
    rows = [penalty(doc_number="before", decided_on="2026-03-31", **minor),
            penalty(doc_number="after", decided_on="2026-04-01", **minor)]
    ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    with session_scope() as s:
        recs = {r.title: r for r in s.scalars(select(CreditRecord))}
    assert recs["before"].publicity_rule.startswith("ndrc-2023")
    assert recs["after"].publicity_rule.startswith("ndrc-2026")
    assert "before" in _titles(_profile(HUAWEI[0], "public", dt.date(2026, 4, 2)))
    assert "after" not in _titles(_profile(HUAWEI[0], "public", dt.date(2026, 4, 2)))


def test_restricted_and_internal_records(engine: Engine) -> None:
    clock.set_today(dt.date(2026, 11, 22))
    department()
    subjects(engine, [HUAWEI])
    contract = {"subject_name": HUAWEI[1], "uscc": HUAWEI[0], "contract_number": "HT-1",
                "contract_name": "政府采购合同", "counterparty": "某局", "outcome": "违约",
                "assessed_on": "2026-09-01"}
    res = ingest_records(engine, [contract], record_type="contract_performance", department="market")
    assert res.inserted == 1, res.errors
    assert "HT-1" not in str(_profile(HUAWEI[0], "public", dt.date(2026, 11, 22)))
    assert _profile(HUAWEI[0], "subject", dt.date(2026, 11, 22))["total"] == 1
    assert _profile(HUAWEI[0], "government", dt.date(2026, 11, 22))["total"] == 1


def test_fast_path_gives_the_same_profile(engine: Engine) -> None:
    """The HTTP fast path (by credit code, no session) and the service give the same answer,
    in every view, on both databases."""
    from xinyong.records.profile import profile_by_code, profile_by_code_async

    clock.set_today(dt.date(2026, 11, 22))
    department()
    subjects(engine, [HUAWEI, BYD])
    rows = [
        penalty(doc_number="G-2025", decided_on="2025-06-10"),
        penalty(doc_number="M-2026", decided_on="2026-05-01", penalty_kinds="警告",
                content="警告", fine_amount=None, procedure="简易程序"),
        penalty(doc_number="B-1", uscc=BYD[0], subject_name=BYD[1]),
    ]
    ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    import polars as pl

    from xinyong.subjects.names import normalize_name
    from xinyong.subjects.service import index_names

    with engine.begin() as conn:  # two former names, shown in the order they were recorded
        sid = conn.exec_driver_sql(
            f"SELECT id FROM subject WHERE uscc = '{HUAWEI[0]}'"
        ).scalar_one()
        names = ["深圳市华为技术有限公司", "华为技术（深圳）有限公司"]
        index_names(
            conn,
            pl.DataFrame(
                {"subject_id": [sid, sid], "name": names,
                 "name_norm": [normalize_name(n) for n in names]}
            ),
            current=False,
        )
    for view in ("public", "subject", "government"):
        for day in (dt.date(2026, 6, 10), dt.date(2026, 6, 11)):
            fast = profile_by_code(HUAWEI[0].lower(), view, today=day)  # type: ignore[arg-type]
            assert fast is not None and fast == _profile(HUAWEI[0], view, day)
            # the event loop's variant (async connections on PostgreSQL) answers the same
            on_loop = asyncio.run(profile_by_code_async(HUAWEI[0], view, today=day))  # type: ignore[arg-type]
            assert on_loop == fast
    fast = profile_by_code(HUAWEI[0], "public")
    assert fast is not None and fast["subject"]["former_names"] == names
    assert profile_by_code("91440300MA5XXXXXX1", "public") is None  # unknown: caller falls back
    assert profile_by_code(HUAWEI[1], "public") is None  # a name is not a code


def test_fast_path_reconnects_after_a_lost_connection(engine: Engine) -> None:
    from xinyong.core.db import run_read
    from xinyong.records.profile import profile_by_code

    clock.set_today(dt.date(2026, 11, 22))
    subjects(engine, [HUAWEI])
    assert profile_by_code(HUAWEI[0], "public") is not None
    if engine.dialect.name != "postgresql":
        return
    pid = run_read(lambda conn, _d: conn.execute("SELECT pg_backend_pid()").fetchone()[0])
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    prof = profile_by_code(HUAWEI[0], "public")
    assert prof is not None and prof["subject"]["name"] == HUAWEI[1]


def test_async_fast_path_replaces_a_lost_connection_and_limits_reads(engine: Engine) -> None:
    """The loop's read connections: one lost in between (server restart) is replaced once;
    no more than ASYNC_READERS reads are in flight, however many requests wait."""
    from xinyong.core import db
    from xinyong.records.profile import profile_by_code_async

    clock.set_today(dt.date(2026, 11, 22))
    subjects(engine, [HUAWEI, BYD])
    if engine.dialect.name != "postgresql":
        assert asyncio.run(profile_by_code_async(BYD[0], "public"))["subject"]["name"] == BYD[1]
        return

    async def scenario() -> None:
        async def backend_pid(conn: Any, _dialect: Any) -> int:
            cur = await conn.execute("SELECT pg_backend_pid()")
            return int((await cur.fetchone())[0])

        pid = await db.run_read_async(backend_pid)
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        prof = await profile_by_code_async(HUAWEI[0], "public")
        assert prof is not None and prof["subject"]["name"] == HUAWEI[1]
        assert await db.run_read_async(backend_pid) != pid

        busy = peak = 0

        async def slow(conn: Any, _dialect: Any) -> None:
            nonlocal busy, peak
            busy += 1
            peak = max(peak, busy)
            await conn.execute("SELECT pg_sleep(0.05)")
            busy -= 1

        await asyncio.gather(*(db.run_read_async(slow) for _ in range(db.ASYNC_READERS + 4)))
        assert peak == db.ASYNC_READERS
        await db.close_async_readers()

    asyncio.run(scenario())

"""Loading the real registrations into the database (both engines)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from xinyong.core.db import session_scope
from xinyong.subjects.models import GramStat, Subject
from xinyong.subjects.search import search_subjects
from xinyong.subjects.service import load_registrations


def test_real_registrations_load_and_reload(engine: Engine, realdata: Path) -> None:
    with engine.begin() as conn:
        result = load_registrations(conn, realdata / "enterprises-2019.csv.gz")
    assert result.inserted == 164_586 and result.updated == 0
    with session_scope() as s:
        assert s.scalar(select(func.count(Subject.id))) == 164_586
        first = s.scalar(select(Subject).where(Subject.uscc == "91310117MA1J3AJ43G"))
        assert first.name == "上海仓祥绿化工程有限公司"
        assert first.registered_capital_fen == 1_000 * 10_000 * 100
        assert first.region_code == "310117" and first.industry_section == "E"
        assert s.scalar(select(func.count()).select_from(GramStat)) > 1000
        hits = search_subjects(s, "仓祥绿化").items
        assert hits[0]["uscc"] == "91310117MA1J3AJ43G"
    # loading again changes nothing
    with engine.begin() as conn:
        again = load_registrations(conn, realdata / "enterprises-2019.csv.gz")
    assert again.inserted == 0 and again.updated == 164_586

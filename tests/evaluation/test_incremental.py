"""Grades follow their records at once, and an incremental history equals a batch from scratch."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.evaluation import builders as b
from xinyong.core import clock
from xinyong.evaluation import service
from xinyong.evaluation.explain import explain
from xinyong.records.service import change_record_status

AS_OF = b.AS_OF


@pytest.fixture
def models(engine: Engine) -> None:
    b.departments()
    with engine.begin() as conn:
        service.sync_builtin_models(conn)


def _grade(engine: Engine, model: str, sid: int) -> dict:
    with engine.connect() as conn:
        return {r["model"]: r for r in service.subject_results(conn, sid, government=True)}[model]


def test_ingest_updates_grades_in_the_same_transaction(engine: Engine, models: None) -> None:
    with clock.frozen(AS_OF):
        sid = b.subject(engine, 11)
        service.evaluate(engine, "gz_general", as_of=AS_OF)
        assert _grade(engine, "gz_general", sid)["grade"] == "A"
        b.penalty(engine, 11, "2026-11-01", cls="serious")
    # No batch run: the push itself re-evaluated the subject under every active model.
    after = _grade(engine, "gz_general", sid)
    assert after["grade"] == "B" and after["score"] == pytest.approx(91.65 - 4.9)
    assert _grade(engine, "huixin_code", sid)["colour"] == "red"
    with engine.connect() as conn:
        kinds = {r["kind"] for r in service.runs(conn, "gz_general")}
        changes = service.grade_changes(conn, "gz_general", since=AS_OF)
    assert kinds == {"batch", "incremental"}
    assert [(c["from"], c["to"]) for c in changes] == [("A", "B")]


def test_repair_ends_the_penalty_from_its_date(engine: Engine, models: None) -> None:
    with clock.frozen(AS_OF):
        sid = b.subject(engine, 12)
        b.penalty(engine, 12, "2026-11-01", cls="serious")
        assert _grade(engine, "gz_general", sid)["grade"] == "B"
        with engine.begin() as conn:
            rid = conn.execute(
                text("SELECT id FROM credit_record WHERE subject_id = :s"), {"s": sid}
            ).scalar_one()
            change_record_status(
                conn,
                record_id=rid,
                status="repaired",
                effective_on=dt.date(2026, 11, 20),
                actor="test",
            )
        # Repaired: no longer counted by the public models (their counting says so) …
        assert _grade(engine, "gz_general", sid)["grade"] == "A"
        assert _grade(engine, "huixin_code", sid)["colour"] == "blue"
        with engine.connect() as conn:
            # … but on a date before the repair it still counted.
            before = explain(conn, sid, "gz_general", as_of=dt.date(2026, 11, 19))
            now = explain(conn, sid, "gz_general")
    assert before["grade"] == "B"
    assert [r["counted_in"] for r in before["records"]] == [
        ["penalties_serious_3y", "negative_3y", "negative_in_publicity"]
    ]
    assert now["grade"] == "A" and now["records"][0]["counted_in"] == []


def test_explanation_adds_up(engine: Engine, models: None) -> None:
    with clock.frozen(AS_OF):
        sid = b.subject(engine, 13)
        b.penalty(engine, 13, "2026-10-10")
        b.honor(engine, 13, "2026-01-05")
        with engine.connect() as conn:
            data = explain(conn, sid, "gz_general")
    total = sum(n["contribution"] for n in data["indicators"])
    assert total == pytest.approx(data["score"], abs=0.01)
    assert len(data["indicators"]) == 5
    assert sum(len(n["children"]) for n in data["indicators"]) == 15
    law = data["indicators"][0]
    assert law["name"] == "遵纪守法" and law["weight"] == 35
    enforcement = law["children"][0]["children"][0]
    assert enforcement["feature"] == "penalties_minor_general_3y" and enforcement["value"] == 1
    assert enforcement["points"] == 75
    counted = {r["label"]: r["counted_in"] for r in data["records"]}
    assert "penalties_minor_general_3y" in counted["行政处罚"]
    assert counted["诚实守信相关荣誉"] == ["honors_3y"]
    assert data["stored_matches"] is True


# --- batch = incremental ----------------------------------------------------------------------

EVENTS = st.lists(
    st.tuples(
        st.integers(0, 2),  # which of the example's subjects
        st.sampled_from(
            [
                "general",
                "serious",
                "minor",
                "honor",
                "violation",
                "compliant",
                "listed",
                "tax_a",
                "tax_b",
            ]
        ),
        st.integers(0, 1500),  # days before AS_OF
    ),
    min_size=1,
    max_size=6,
)
_numbers = itertools.count(100)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=EVENTS, repair=st.booleans())
def test_incremental_equals_batch(engine: Engine, models: None, events: list, repair: bool) -> None:
    with clock.frozen(AS_OF):
        ns = [next(_numbers) for _ in range(3)]
        ids = [
            b.subject(
                engine,
                n,
                industry_division="14" if n % 2 else "72",
                industry_section="C" if n % 2 else "L",
            )
            for n in ns
        ]
        for seq, (who, kind, ago) in enumerate(events):
            n, day = ns[who], (AS_OF - dt.timedelta(days=ago)).isoformat()
            if kind in ("general", "serious", "minor"):
                b.penalty(engine, n, day, cls=kind, seq=seq)
            elif kind == "honor":
                b.honor(engine, n, day)
            elif kind in ("violation", "compliant"):
                b.inspection(engine, n, day, kind, seq=seq)
            elif kind == "listed":
                b.serious_list(engine, n, day)
            else:
                b.tax_rating(engine, n, 2020 + ago % 6, kind[-1].upper())
        if repair:
            with engine.begin() as conn:
                rid = conn.execute(
                    text(
                        "SELECT MIN(id) FROM credit_record WHERE subject_id = :s AND is_current = true"
                    ),
                    {"s": ids[0]},
                ).scalar()
                if rid is not None:
                    change_record_status(
                        conn, record_id=rid, status="repaired", effective_on=AS_OF, actor="test"
                    )
        with engine.connect() as conn:
            for model in service.active_models(conn):
                batch = service.compute(conn, model, AS_OF, ids).sort("subject_id")
                stored = conn.execute(
                    text(
                        "SELECT subject_id, score, grade, colour, tags, vetoes FROM evaluation_result"
                        f" WHERE model_name = :m AND subject_id IN ({', '.join(map(str, ids))})"
                        " ORDER BY subject_id"
                    ),
                    {"m": model.name},
                ).all()
                expected = [
                    (r["subject_id"], r["score"], r["grade"], r["colour"], r["tags"], r["vetoes"])
                    for r in batch.iter_rows(named=True)
                ]
                # Subjects that never had a record were never evaluated incrementally.
                touched = {int(s[0]) for s in stored}
                assert [tuple(s) for s in stored] == [e for e in expected if e[0] in touched]

"""Golden results: handcrafted subjects whose grades are worked out by hand from the model files.

Each expectation says why, in points, so that a change of a model file that moves a grade
shows up here with the arithmetic to check.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from tests.evaluation import builders as b
from xinyong.core import clock
from xinyong.evaluation import service

AS_OF = b.AS_OF


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    b.departments()
    with engine.begin() as conn:
        service.sync_builtin_models(conn)
    with clock.frozen(AS_OF):
        ids = {
            # 1: no records, established 2010, capital 10 million, leasing/business services (L72)
            "clean": b.subject(engine, 1),
            # 2: one general penalty on 2026-10-10 (SAMR short publicity: 3 months, still public)
            "one_penalty": b.subject(engine, 2),
            # 3: on the serious dishonesty list (veto), otherwise clean
            "listed": b.subject(engine, 3),
            # 4: honours and an A tax rating, no bad record
            "honoured": b.subject(engine, 4),
            # 5: a food manufacturer (C14) with one general penalty and one failed inspection
            "food": b.subject(engine, 5, industry_section="C", industry_division="14"),
            # 6: deregistered: out of scope of every model
            "gone": b.subject(engine, 6, status="deregistered"),
            # 7: founded last year, no capital given
            "young": b.subject(engine, 7, established_on=dt.date(2025, 12, 1), capital_yuan=None),
        }
        b.penalty(engine, 2, "2026-10-10")
        b.serious_list(engine, 3, "2026-02-01")
        b.honor(engine, 4, "2025-06-01")
        b.tax_rating(engine, 4, 2025, "A")
        b.penalty(engine, 5, "2026-09-01")
        b.inspection(engine, 5, "2026-06-01", "violation")
    return ids


def _result(engine: Engine, model: str, subject_id: int) -> dict:
    with engine.connect() as conn:
        results = {
            r["model"]: r for r in service.subject_results(conn, subject_id, government=True)
        }
    return results[model]


def test_general_model_grades(engine: Engine, world: dict[str, int]) -> None:
    run = service.evaluate(engine, "gz_general", as_of=AS_OF)
    # 6 in scope: the deregistered subject is excluded (穗发改规字〔2023〕1号).
    assert run.subjects == 6
    clean = _result(engine, "gz_general", world["clean"])
    # 遵纪守法 35 + 履约践诺 20 + 资质荣誉 15×60% + 社会责任 10×82.5% + 监管风险 20×97% = 91.65
    assert clean["score"] == pytest.approx(91.65)
    assert clean["grade"] == "A" and clean["grade_name"] == "优"
    assert [t["code"] for t in clean["tags"]] == ["no_disturb"]
    one = _result(engine, "gz_general", world["one_penalty"])
    # 一般处罚 1 次 → 75 points × (35 × 50% × 40%) = −1.75 → 89.90: B
    assert one["score"] == pytest.approx(89.90)
    assert one["grade"] == "B"
    assert "pending_repair" in [t["code"] for t in one["tags"]]
    listed = _result(engine, "gz_general", world["listed"])
    # Score is high (a list entry is no penalty), but the veto caps the grade at D.
    assert listed["score"] > 85
    assert listed["grade"] == "D"
    assert [v["code"] for v in listed["vetoes"]] == ["serious_dishonesty"]
    assert {"serious_dishonest", "key_attention"} <= {t["code"] for t in listed["tags"]}
    honoured = _result(engine, "gz_general", world["honoured"])
    # 资质荣誉: 30%×60 + 40%×85 + 30%×100 = 82 → +15×(82−60)% = +3.3 → 94.95
    assert honoured["score"] == pytest.approx(94.95)
    young = _result(engine, "gz_general", world["young"])
    # 成立不满1年 → 50; 注册资本缺失 → 50: 监管风险 20×(40+15+15)% = 14 → 86.25
    assert young["score"] == pytest.approx(86.25)
    assert young["grade"] == "B"


def test_food_model_adds_industry_indicators(engine: Engine, world: dict[str, int]) -> None:
    service.evaluate(engine, "gz_general", as_of=AS_OF)
    run = service.evaluate(engine, "food_safety", as_of=AS_OF)
    assert run.subjects == 1  # only the C14 food manufacturer
    general = _result(engine, "gz_general", world["food"])
    food = _result(engine, "food_safety", world["food"])
    # General part: one penalty (−1.75) and one inspection problem (监管风险 40%×60 → −3.2)
    assert general["score"] == pytest.approx(91.65 - 1.75 - 3.2)
    # Food part (30): penalty 1y → 50×40%, inspection 1y → 40×40%, no licence → 40×20% = 44%
    assert food["score"] == pytest.approx(round(0.7 * (91.65 - 1.75 - 3.2) + 0.3 * 44, 2))
    # 0.7 × 86.70 + 0.3 × 44 = 73.89 → C (general model alone: B)
    assert food["grade"] == "C" and general["grade"] == "B"


def test_samr_classification_is_government_only(engine: Engine, world: dict[str, int]) -> None:
    service.evaluate(engine, "samr_risk", as_of=AS_OF)
    gov = _result(engine, "samr_risk", world["clean"])
    assert gov["grade"] == "A" and gov["colour"] == "green"
    assert "low_inspection" in [t["code"] for t in gov["tags"]]
    with engine.connect() as conn:
        public = service.subject_results(conn, world["clean"], government=False)
    assert "samr_risk" not in {r["model"] for r in public}
    listed = _result(engine, "samr_risk", world["listed"])
    assert listed["grade"] == "D" and listed["colour"] == "red"


def test_huixin_code_colours(engine: Engine, world: dict[str, int]) -> None:
    service.evaluate(engine, "huixin_code", as_of=AS_OF)
    colour = {
        k: _result(engine, "huixin_code", v)["colour"] for k, v in world.items() if k != "gone"
    }
    # 绿码: 有荣誉且无不良; 蓝码: 都没有; 红码: 有不良信用记录 (惠州 seeds)
    assert colour == {
        "clean": "blue",
        "one_penalty": "red",
        "listed": "red",
        "honoured": "green",
        "food": "red",
        "young": "blue",
    }
    honoured = _result(engine, "huixin_code", world["honoured"])
    assert honoured["colour_name"] == "绿码"
    assert honoured["score"] is None and honoured["grade"] is None


def test_history_records_grade_changes(engine: Engine, world: dict[str, int]) -> None:
    first = service.evaluate(engine, "gz_general", as_of=AS_OF)
    # The four subjects with records were evaluated when their records arrived (incremental);
    # the batch adds the two without records and changes nothing else.
    assert first.changed == 2
    again = service.evaluate(engine, "gz_general", as_of=AS_OF)
    assert again.changed == 0  # nothing moved: no history rows
    with clock.frozen(AS_OF):
        b.penalty(engine, 1, "2026-11-01", cls="serious", seq=2)
    # The push itself moved the grade (incremental); a later batch finds nothing to change.
    third = service.evaluate(engine, "gz_general", as_of=AS_OF)
    assert third.changed == 0
    with engine.connect() as conn:
        hist = service.history(conn, world["clean"], "gz_general")
        changes = service.grade_changes(conn, "gz_general", since=AS_OF)
    assert [h["grade"] for h in hist] == ["B", "A"]
    assert hist[0]["prev_grade"] == "A"
    assert [(c["subject_id"], c["from"], c["to"]) for c in changes] == [(world["clean"], "A", "B")]


def test_a_batch_writes_only_what_changed(engine: Engine, world: dict[str, int]) -> None:
    from sqlalchemy import text

    service.evaluate(engine, "gz_general", as_of=AS_OF)
    later = AS_OF + dt.timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(text("UPDATE subject SET status = 'deregistered' WHERE id = :i"),
                     {"i": world["young"]})
    run = service.evaluate(engine, "gz_general", as_of=later)
    assert run.subjects == 5 and run.changed == 0
    clean = _result(engine, "gz_general", world["clean"])
    # The result holds since the first evaluation; the latest batch confirmed it.
    assert clean["as_of"] == AS_OF.isoformat() and clean["evaluated_on"] == later.isoformat()
    with engine.connect() as conn:
        gone = service.subject_results(conn, world["young"], government=True)
    assert "gz_general" not in {r["model"] for r in gone}  # left the scope: no stale grade

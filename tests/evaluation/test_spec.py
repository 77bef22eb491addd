"""A malformed model file is rejected with a stable code and a Chinese sentence naming the place."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.catalog.loader import load_catalog
from xinyong.evaluation.scoring import points_expr
from xinyong.evaluation.spec import (
    ModelError,
    Scoring,
    builtin_files,
    parse_model_text,
    resolve,
)

MINIMAL = {
    "name": "tiny",
    "version": "1",
    "title": "测试模型",
    "visibility": "public",
    "citations": [{"title": "测试"}],
    "counting": {
        "past_publicity": "ignore",
        "repaired": "ignore",
        "revoked": "ignore",
        "objection_pending": "count",
    },
    "features": {
        "penalties": {
            "label": "处罚次数",
            "aggregate": "count",
            "where": {"types": ["administrative_penalty"]},
        },
        "age": {"label": "成立年限", "attribute": "years_since_established"},
    },
    "indicators": [
        {
            "code": "law",
            "name": "守法",
            "weight": 60,
            "feature": "penalties",
            "scoring": {"bins": [{"upto": 0, "points": 100}, {"points": 0}]},
        },
        {
            "code": "age",
            "name": "年限",
            "weight": 40,
            "feature": "age",
            "scoring": {"linear": [[0, 0], [10, 100]]},
        },
    ],
    "grades": [{"code": "A", "name": "优", "min_score": 80}, {"code": "D", "name": "差"}],
}


def _load(data: dict) -> object:
    text = yaml.safe_dump(data, allow_unicode=True)
    return resolve(parse_model_text(text), text, catalog=load_catalog())


def _bad(mutate) -> ModelError:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    mutate(data)
    with pytest.raises(ModelError) as err:
        _load(data)
    return err.value


def test_minimal_model_loads() -> None:
    model = _load(MINIMAL)
    assert model.key == "tiny@1"  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", builtin_files(), ids=lambda p: p.stem)
def test_shipped_general_models_parse(path) -> None:  # type: ignore[no-untyped-def]
    mf = parse_model_text(path.read_text(encoding="utf-8"))
    assert mf.citations and mf.title


def test_unknown_field() -> None:
    e = _bad(lambda d: d["indicators"][0].update(wieght=3))
    assert e.code == "MODEL_UNKNOWN_FIELD"
    assert "indicators[0].wieght" in e.message and "未知字段" in e.message


def test_unknown_record_type() -> None:
    e = _bad(lambda d: d["features"]["penalties"]["where"].update(types=["parking_ticket"]))
    assert e.code == "MODEL_UNKNOWN_RECORD_TYPE"
    assert "parking_ticket" in e.message and "features.penalties" in e.message


def test_weights_must_add_up() -> None:
    e = _bad(lambda d: d["indicators"][1].update(weight=30))
    assert e.code == "MODEL_WEIGHTS_SUM"
    assert "90" in e.message


def test_thresholds_in_order() -> None:
    def mutate(d: dict) -> None:
        d["grades"] = [
            {"code": "A", "name": "优", "min_score": 60},
            {"code": "B", "name": "良", "min_score": 80},
            {"code": "D", "name": "差"},
        ]

    e = _bad(mutate)
    assert e.code == "MODEL_GRADE_THRESHOLDS"
    assert "grades[1].min_score" in e.message


def test_counting_must_be_declared() -> None:
    e = _bad(lambda d: d.pop("counting"))
    assert e.code == "MODEL_COUNTING_REQUIRED"


def test_condition_with_unknown_name() -> None:
    def mutate(d: dict) -> None:
        d["tags"] = [{"code": "t", "name": "标签", "when": "penaltys > 0"}]

    e = _bad(mutate)
    assert (
        e.code == "MODEL_UNKNOWN_FEATURE"
        and "penaltys" in e.message
        and "tags[0].when" in e.message
    )


def test_condition_rejects_sql_beyond_the_safe_subset() -> None:
    def mutate(d: dict) -> None:
        d["tags"] = [{"code": "t", "name": "标签", "when": "penalties IN (SELECT 1)"}]

    assert _bad(mutate).code == "MODEL_BAD_CONDITION"


def test_unknown_outcome_value() -> None:
    def mutate(d: dict) -> None:
        d["features"]["penalties"]["where"] = {"types": ["tax_credit_rating"], "outcomes": ["AAA"]}

    e = _bad(mutate)
    assert e.code == "MODEL_UNKNOWN_OUTCOME"


def test_bad_yaml_names_the_line() -> None:
    with pytest.raises(ModelError) as err:
        parse_model_text("name: x\n  bad: [\n")
    assert err.value.code == "MODEL_BAD_YAML" and "行" in err.value.message


def test_veto_to_unknown_grade() -> None:
    def mutate(d: dict) -> None:
        d["vetoes"] = [{"code": "v", "name": "否决", "when": "penalties > 5", "max_grade": "E"}]

    assert _bad(mutate).code == "MODEL_UNKNOWN_GRADE"


# --- scoring functions over whole columns --------------------------------------------------


def _points(s: Scoring, values: list[float | None]) -> list[float]:
    df = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    return df.select(points_expr("x", s).alias("p"))["p"].to_list()


def test_bins_and_missing() -> None:
    s = Scoring(
        bins=({"upto": 0, "points": 100}, {"upto": 2, "points": 50}, {"points": 0}), missing=30
    )  # type: ignore[arg-type]
    assert _points(s, [0, 1, 2, 3, None]) == [100, 50, 50, 0, 30]


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_linear_is_monotone_and_within_bounds(x: float) -> None:
    s = Scoring(linear=((0, 50), (1_000_000, 70), (10_000_000, 90)))
    p, q = _points(s, [x, x + 1])
    assert 50 <= p <= 90 and p <= q + 1e-9


def test_linear_interpolates() -> None:
    s = Scoring(linear=((0, 0), (10, 100)))
    assert _points(s, [-5, 0, 2.5, 10, 99]) == [0, 0, 25, 100, 100]


def test_dates_round_to_whole_years() -> None:
    from xinyong.evaluation.features import attribute_expr
    from xinyong.evaluation.spec import AttributeFeature

    feat = AttributeFeature(label="年限", attribute="years_since_established")
    df = pl.DataFrame(
        {"established_on": [dt.date(2016, 11, 22), dt.date(2016, 11, 23), dt.date(2024, 2, 29)]}
    )
    years = df.select(attribute_expr(feat, dt.date(2026, 11, 22)).alias("y"))["y"].to_list()
    assert years == [10, 9, 2]

"""The plain-Python scoring of a few subjects equals the Polars scoring, to the bit, for every
shipped model, on generated features (including missing values and boundary values)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.catalog.loader import load_catalog
from xinyong.evaluation.scalar import score_row
from xinyong.evaluation.scoring import score_frame
from xinyong.evaluation.spec import (
    AttributeFeature,
    EvalModel,
    builtin_files,
    parse_model_text,
    resolve,
)

OUTPUTS = ("score", "grade", "colour", "tags", "vetoes", "vetoed")


def _models() -> list[EvalModel]:
    texts = {p.stem: p.read_text(encoding="utf-8") for p in builtin_files()}
    catalog = load_catalog()
    general = texts.pop("gz_general-2023.1")
    base = resolve(parse_model_text(general), general, catalog=catalog)
    out = [base]
    for t in texts.values():
        mf = parse_model_text(t)
        out.append(resolve(mf, t, catalog=catalog, base=base if mf.extends else None))
    return out


MODELS = _models()
# Values that sit on and around the shipped models' bin and breakpoint edges.
NUMBERS = st.one_of(
    st.none(), st.integers(0, 6), st.sampled_from([0.0, 1.0, 2.0, 3.0, 10.0, 365.0, 1095.0]),
    st.floats(0, 2e8, allow_nan=False),
)


def _feature_strategy(model: EvalModel) -> st.SearchStrategy[dict]:
    parts = {}
    for name, f in model.features.items():
        if isinstance(f, AttributeFeature):
            if f.attribute in ("industry_section",):
                parts[name] = st.one_of(st.none(), st.sampled_from(list("ACFGHLMZ")))
            else:
                parts[name] = NUMBERS
        elif f.aggregate == "exists":
            parts[name] = st.booleans()
        elif f.aggregate == "count":
            parts[name] = st.integers(0, 6)
        elif f.aggregate == "days_since_latest":
            parts[name] = st.one_of(st.none(), st.integers(0, 4000))
        else:
            parts[name] = st.floats(0, 2e6, allow_nan=False)
    return st.fixed_dictionaries(parts)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_scalar_equals_polars(model: EvalModel) -> None:
    @settings(max_examples=150, deadline=None)
    @given(rows=st.lists(_feature_strategy(model), min_size=1, max_size=8))
    def check(rows: list[dict]) -> None:
        schema = {}
        for name, f in model.features.items():
            if isinstance(f, AttributeFeature) and f.attribute == "industry_section":
                schema[name] = pl.Utf8
            elif isinstance(f, AttributeFeature) or f.aggregate in ("sum_amount", "max_amount"):
                schema[name] = pl.Float64
            elif f.aggregate == "exists":
                schema[name] = pl.Boolean
            else:
                schema[name] = pl.Int64
        frame = score_frame(model, pl.DataFrame(rows, schema=schema, orient="row"))
        for i, row in enumerate(rows):
            expected = {k: frame[k][i] for k in OUTPUTS}
            got = {k: score_row(model, row)[k] for k in OUTPUTS}
            assert got == expected, (row, got, expected)

    check()


def test_score_rounds_half_up() -> None:
    from xinyong.evaluation.scalar import round_score

    assert round_score(89.905) in (89.9, 89.91)  # the float 89.905 is just below or above
    assert round_score(91.65) == 91.65 and round_score(0.005) == 0.01


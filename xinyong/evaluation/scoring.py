"""Vectorised scoring: features → points → score → grade (with vetoes) → colour → tags.

Every step is a Polars expression over whole columns: the batch path, and incremental runs over
many subjects. A few subjects are scored by ``scalar.py``, which repeats these operations in plain
Python (a Polars query costs ~2 ms per model whatever its size) and is tested against this.
"""

from __future__ import annotations

import functools
import itertools
import operator

import polars as pl

from xinyong.evaluation.spec import CENT, EvalModel, Scoring


def points_expr(feature: str, s: Scoring) -> pl.Expr:
    x = pl.col(feature)
    if s.bins is not None:
        chain = None
        for b in s.bins[:-1]:
            cond = x.cast(pl.Float64) <= b.upto
            chain = (
                pl.when(cond).then(pl.lit(b.points))
                if chain is None
                else chain.when(cond).then(pl.lit(b.points))
            )
        last = pl.lit(s.bins[-1].points)
        pts = last if chain is None else chain.otherwise(last)
    elif s.linear is not None:
        xf = x.cast(pl.Float64)
        pairs = s.linear
        chain = pl.when(xf <= pairs[0][0]).then(pl.lit(pairs[0][1]))
        for (x0, p0), (x1, p1) in itertools.pairwise(pairs):
            chain = chain.when(xf <= x1).then(pl.lit(p0) + (xf - x0) * ((p1 - p0) / (x1 - x0)))
        pts = chain.otherwise(pl.lit(pairs[-1][1]))
    else:
        assert s.map is not None
        default = s.default if s.default is not None else s.missing
        pts = x.cast(pl.Utf8).replace_strict(
            {k: float(v) for k, v in s.map.items()}, default=default, return_dtype=pl.Float64
        )
    pts = pl.when(x.is_null()).then(pl.lit(s.missing)).otherwise(pts)
    return pts.cast(pl.Float64).clip(s.min, s.max)


def scoring_stages(model: EvalModel) -> list[list[pl.Expr]]:
    """The scoring as a list of ``with_columns`` stages, built once per model and cached on it:
    an incremental evaluation of one subject then pays only for running them."""
    cached = model.__dict__.get("_stages")
    if cached is not None:
        return cached
    stages: list[list[pl.Expr]] = []
    if model.leaves:
        stages.append(
            [
                points_expr(leaf.feature, leaf.scoring).alias(f"pt_{leaf.code}")
                for leaf in model.leaves
            ]
        )
        # A left-to-right sum and half-up hundredths: ``scalar.py`` repeats the very same
        # floating-point operations, so both paths give the same score to the bit.
        terms = [pl.col(f"pt_{leaf.code}") * (leaf.weight / 100.0) for leaf in model.leaves]
        total = functools.reduce(operator.add, terms)
        stages.append([((total * 100.0 + 0.5).floor() * CENT).alias("score")])
    else:
        stages.append([pl.lit(None, dtype=pl.Float64).alias("score")])
    veto_cols = [f"veto_{v.code}" for v in model.vetoes]
    if model.vetoes:
        stages.append(
            [model.conditions[f"veto:{v.code}"].alias(f"veto_{v.code}") for v in model.vetoes]
        )
        stages.append([pl.any_horizontal(veto_cols).alias("vetoed")])
    else:
        stages.append([pl.lit(False).alias("vetoed")])
    stages.append(
        [
            _grade_expr(model).alias("grade"),
            _codes_of_columns(veto_cols, [v.code for v in model.vetoes]).alias("vetoes"),
        ]
    )
    stages.append([_first_rule(model, "colour").alias("colour")])
    stages.append([_codes(model, "tag", [t.code for t in model.tags]).alias("tags")])
    model.__dict__["_stages"] = stages
    return stages


def score_lazy(model: EvalModel, features: pl.LazyFrame) -> pl.LazyFrame:
    lf = features
    for stage in scoring_stages(model):
        lf = lf.with_columns(stage)
    return lf


def score_frame(model: EvalModel, features: pl.DataFrame) -> pl.DataFrame:
    """Add ``pt_<leaf>`` points, ``score``, ``vetoed``, ``veto_<code>``, ``grade``, ``colour``,
    ``tags``, ``vetoes`` to the feature frame (one lazy query, collected once)."""
    return score_lazy(model, features.lazy()).collect()


def _grade_expr(model: EvalModel) -> pl.Expr:
    if not model.grades or not model.leaves:
        return pl.lit(None, dtype=pl.Utf8)
    codes = model.grade_codes
    # Index of the grade by score: 0 = best.
    chain = None
    for i, g in enumerate(model.grades[:-1]):
        cond = pl.col("score") >= g.min_score
        chain = pl.when(cond).then(pl.lit(i)) if chain is None else chain.when(cond).then(pl.lit(i))
    last = pl.lit(len(codes) - 1)
    idx = last if chain is None else chain.otherwise(last)
    # A veto caps the grade: take the worse of the score's grade and every hit veto's cap.
    caps = [
        pl.when(pl.col(f"veto_{v.code}"))
        .then(pl.lit(codes.index(v.max_grade)))
        .otherwise(pl.lit(0))
        for v in model.vetoes
    ]
    if caps:
        idx = pl.max_horizontal(idx, *caps)
    return idx.cast(pl.Int64).replace_strict(dict(enumerate(codes)), return_dtype=pl.Utf8)


def _first_rule(model: EvalModel, kind: str) -> pl.Expr:
    rules = model.colours
    if not rules:
        return pl.lit(None, dtype=pl.Utf8)
    chain = None
    for r in rules:
        cond = model.conditions[f"{kind}:{r.code}"]
        chain = (
            pl.when(cond).then(pl.lit(r.code))
            if chain is None
            else chain.when(cond).then(pl.lit(r.code))
        )
    assert chain is not None
    return chain.otherwise(pl.lit(None, dtype=pl.Utf8))


def _codes(model: EvalModel, kind: str, codes: list[str]) -> pl.Expr:
    """ ",a,b," for the rules that hold (so that ``LIKE '%,a,%'`` finds a tag in SQL)."""
    if not codes:
        return pl.lit("")
    parts = [
        pl.when(model.conditions[f"{kind}:{c}"]).then(pl.lit(c + ",")).otherwise(pl.lit(""))
        for c in codes
    ]
    joined = pl.concat_str(parts)
    return pl.when(joined == "").then(pl.lit("")).otherwise(pl.lit(",") + joined)


def _codes_of_columns(cols: list[str], codes: list[str]) -> pl.Expr:
    if not cols:
        return pl.lit("")
    parts = [
        pl.when(pl.col(c)).then(pl.lit(code + ",")).otherwise(pl.lit(""))
        for c, code in zip(cols, codes, strict=False)
    ]
    joined = pl.concat_str(parts)
    return pl.when(joined == "").then(pl.lit("")).otherwise(pl.lit(",") + joined)


def split_codes(value: str | None) -> list[str]:
    return [c for c in (value or "").split(",") if c]

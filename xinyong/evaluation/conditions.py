"""Conditions of a model (vetoes, colours, tags): SQL boolean expressions, parsed by sqlglot.

A condition such as ``penalties_3y > 0 AND NOT on_serious_list`` is parsed once with sqlglot
(we do not write an expression language) and translated node by node into a Polars expression
that runs over the whole feature frame at once — the same expression for a million subjects in
a batch and for one subject after an ingest, so both give the same answer by construction.
Only a small, safe part of SQL is accepted: comparisons, AND/OR/NOT, IN, BETWEEN, IS NULL and
arithmetic over the model's feature names and ``score``/``grade``/``vetoed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlglot
from sqlglot import exp

if TYPE_CHECKING:
    from xinyong.evaluation.spec import EvalModel


def _error(code: str, message: str, where: str) -> Exception:
    from xinyong.evaluation.spec import ModelError

    return ModelError(code, message, where=where)


_BINARY: dict[type[exp.Expression], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
    exp.And: lambda a, b: a & b,
    exp.Or: lambda a, b: a | b,
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Div: lambda a, b: a / b,
}


def _literal(node: exp.Literal) -> Any:
    if node.is_string:
        return node.this
    text = node.this
    return float(text) if any(c in text for c in ".eE") else int(text)


def to_polars(text: str, names: set[str], where: str) -> pl.Expr:
    """Translate one condition; raises a ModelError naming ``where`` for anything unsafe."""
    try:
        tree = sqlglot.parse_one(text, read="postgres")
    except sqlglot.errors.ParseError as exc:
        raise _error("MODEL_BAD_CONDITION", f"条件“{text}”无法解析：{exc}", where) from exc

    def walk(node: exp.Expression) -> pl.Expr:
        if isinstance(node, exp.Paren):
            return walk(node.this)
        if isinstance(node, exp.Column):
            if node.table:
                raise _error("MODEL_BAD_CONDITION", f"条件中不能写表名：{node.sql()}", where)
            name = node.name
            if name not in names:
                known = "、".join(sorted(names))
                raise _error(
                    "MODEL_UNKNOWN_FEATURE",
                    f"条件引用了未定义的名称 {name}（可用：{known}）",
                    where,
                )
            return pl.col(name)
        if isinstance(node, exp.Literal):
            return pl.lit(_literal(node))
        if isinstance(node, exp.Boolean):
            return pl.lit(bool(node.this))
        if isinstance(node, exp.Null):
            return pl.lit(None)
        if isinstance(node, exp.Not):
            return ~walk(node.this)
        if isinstance(node, exp.Neg):
            return -walk(node.this)
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise _error("MODEL_BAD_CONDITION", "IS 后只能跟 NULL", where)
            return walk(node.this).is_null()
        if isinstance(node, exp.In):
            if node.args.get("query") is not None:
                raise _error("MODEL_BAD_CONDITION", "条件中不能使用子查询", where)
            values = []
            for item in node.expressions:
                if not isinstance(item, exp.Literal):
                    raise _error("MODEL_BAD_CONDITION", "IN 列表中只能是常量", where)
                values.append(_literal(item))
            return walk(node.this).is_in(values)
        if isinstance(node, exp.Between):
            subject = walk(node.this)
            return (subject >= walk(node.args["low"])) & (subject <= walk(node.args["high"]))
        op = _BINARY.get(type(node))
        if op is not None:
            return op(walk(node.this), walk(node.expression))
        raise _error(
            "MODEL_BAD_CONDITION",
            f"条件中不支持“{node.sql()}”（只支持比较、AND/OR/NOT、IN、BETWEEN、IS NULL 和四则运算）",
            where,
        )

    return walk(tree)


def compile_conditions(model: EvalModel) -> dict[str, pl.Expr]:
    """Every veto, colour and tag condition of the model as a null-safe Polars predicate.

    Keys are ``veto:<code>``, ``colour:<code>``, ``tag:<code>``. Vetoes see the features only;
    colours also see the score, the grade and whether a veto hit; tags see the colour too.
    """
    from xinyong.evaluation.spec import RESULT_NAMES

    feats = set(model.features)
    out: dict[str, pl.Expr] = {}
    for i, v in enumerate(model.vetoes):
        out[f"veto:{v.code}"] = to_polars(v.when, feats, f"vetoes[{i}].when").fill_null(False)
    with_result = feats | set(RESULT_NAMES)
    for i, r in enumerate(model.colours):
        out[f"colour:{r.code}"] = to_polars(r.when, with_result, f"colours[{i}].when").fill_null(
            False
        )
    for i, r in enumerate(model.tags):
        out[f"tag:{r.code}"] = to_polars(
            r.when, with_result | {"colour"}, f"tags[{i}].when"
        ).fill_null(False)
    return out

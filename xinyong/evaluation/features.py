"""Features compiled to SQL: one aggregate pass over the records, grouped by subject.

Every record feature of a model becomes a ``FILTER (WHERE …)`` aggregate of one
``SELECT … FROM credit_record GROUP BY subject_id``; features with the same filter share one
aggregate. The SQL is the portable subset of ``STACK-NOTES.md`` (runs unchanged on SQLite,
PostgreSQL, DuckDB and Spark): cut-off dates are computed here and inlined as literals, no
interval arithmetic, no date differences in SQL (``days_since_latest`` reads ``MAX(decided_on)``
and subtracts in Polars).

The same SQL restricted to some subjects is the incremental path, so a batch and an incremental
evaluation agree by construction.

Which records count, at evaluation date D (the model's ``counting`` says the rest):
* current versions only (a correction replaces its predecessor, also for past dates: it fixed
  an error, it did not change history);
* records decided on or before D (a record dated after D did not exist yet);
* a repaired/revoked/objected record counts as active before its ``status_since`` date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from sqlalchemy import text
from sqlalchemy.engine import Connection

from xinyong.evaluation.spec import CENT, AttributeFeature, EvalModel, RecordFeature, RecordFilter


def sql_literal(value: str) -> str:
    """A text literal for SQL built here from validated model data (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def sql_in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(sql_literal(v) for v in values)})"


def date_lit(dialect: str, day: dt.date) -> str:
    # SQLite stores SQLAlchemy dates as ISO text, so a text literal compares correctly.
    return (
        f"DATE {sql_literal(day.isoformat())}"
        if dialect == "postgresql"
        else sql_literal(day.isoformat())
    )


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def counting_clause(model: EvalModel, dialect: str, as_of: dt.date) -> str:
    d = date_lit(dialect, as_of)
    parts = ["is_current = true", f"(decided_on IS NULL OR decided_on <= {d})"]
    c = model.counting
    for state, policy in (
        ("repaired", c.repaired),
        ("revoked", c.revoked),
        ("objection_pending", c.objection_pending),
    ):
        if policy == "ignore":
            parts.append(f"NOT (status = {sql_literal(state)} AND status_since <= {d})")
    if c.past_publicity == "ignore":
        parts.append(f"(publicity_until IS NULL OR publicity_until >= {d})")
    return " AND ".join(parts)


def filter_clause(
    w: RecordFilter, dialect: str, as_of: dt.date, departments: dict[str, int]
) -> str:
    parts: list[str] = []
    if w.types:
        parts.append(sql_in("record_type", w.types))
    if w.categories:
        parts.append(sql_in("category", w.categories))
    if w.polarity:
        parts.append(f"polarity = {sql_literal(w.polarity)}")
    if w.classes:
        parts.append(sql_in("penalty_class", w.classes))
    if w.outcomes:
        parts.append(sql_in("outcome", w.outcomes))
    if w.departments:
        ids = sorted(departments[d] for d in w.departments if d in departments)
        parts.append(f"department_id IN ({', '.join(map(str, ids))})" if ids else "1 = 0")
    if w.window:
        cutoff = (
            years_before(as_of, w.window.years)
            if w.window.years
            else as_of - dt.timedelta(days=w.window.days or 0)
        )
        # "within the last 3 years" = decided after the same day three years earlier.
        parts.append(f"decided_on > {date_lit(dialect, cutoff)}")
    if w.in_publicity:
        parts.append(f"(publicity_until IS NULL OR publicity_until >= {date_lit(dialect, as_of)})")
    if w.min_amount_yuan is not None:
        parts.append(f"amount_fen >= {round(w.min_amount_yuan * 100)}")
    return " AND ".join(parts) if parts else "1 = 1"


@dataclass(frozen=True)
class Aggregate:
    column: str  # a0, a1, …
    kind: str  # count / sum / max / latest
    predicate: str

    def sql(self, dialect: str) -> str:
        expr = {
            "count": "COUNT(*)",
            "sum": "SUM(amount_fen)",
            "max": "MAX(amount_fen)",
            "latest": "MAX(decided_on)",
        }[self.kind]
        out = f"{expr} FILTER (WHERE {self.predicate})"
        if self.kind == "sum":
            # PostgreSQL sums BIGINT into NUMERIC; money stays integer fen everywhere.
            out = f"CAST({out} AS BIGINT)"
        return f"{out} AS {self.column}"


_AGG_OF = {
    "count": "count",
    "exists": "count",
    "sum_amount": "sum",
    "max_amount": "max",
    "days_since_latest": "latest",
}


@dataclass
class FeaturePlan:
    """The compiled SQL of a model at one date, and how its columns become features."""

    sql: str
    aggregates: list[Aggregate]
    feature_columns: dict[str, str]  # record feature name -> aggregate column
    predicates: dict[str, str]  # record feature name -> full predicate (for explanations)
    counting: str
    as_of: dt.date


def plan(
    model: EvalModel,
    dialect: str,
    as_of: dt.date,
    departments: dict[str, int],
    subject_filter: str | None = None,
) -> FeaturePlan:
    by_key: dict[tuple[str, str], Aggregate] = {}
    feature_columns: dict[str, str] = {}
    predicates: dict[str, str] = {}
    for name, feat in model.features.items():
        if not isinstance(feat, RecordFeature):
            continue
        pred = filter_clause(feat.where, dialect, as_of, departments)
        kind = _AGG_OF[feat.aggregate]
        key = (kind, pred)
        if key not in by_key:
            by_key[key] = Aggregate(f"a{len(by_key)}", kind, pred)
        feature_columns[name] = by_key[key].column
        predicates[name] = pred
    counting = counting_clause(model, dialect, as_of)
    aggs = list(by_key.values())
    where = counting + (f" AND {subject_filter}" if subject_filter else "")
    if aggs:
        select = ",\n  ".join(a.sql(dialect) for a in aggs)
        sql = (
            f"SELECT subject_id,\n  {select}\nFROM credit_record\nWHERE {where}\n"
            "GROUP BY subject_id"
        )
    else:
        sql = ""
    return FeaturePlan(sql, aggs, feature_columns, predicates, counting, as_of)


def scope_clause(model: EvalModel, column: str = "id") -> str:
    """Subjects in the model's scope, as a condition on table ``subject``."""
    s = model.scope
    parts = [sql_in("kind", s.subject_kinds)]
    if s.exclude_statuses:
        parts.append(f"NOT {sql_in('status', s.exclude_statuses)}")
    if s.industry_sections:
        parts.append(sql_in("industry_section", s.industry_sections))
    if s.industry_divisions:
        parts.append(sql_in("industry_division", s.industry_divisions))
    if s.region_prefixes:
        parts.append(
            "("
            + " OR ".join(f"region_code LIKE {sql_literal(p + '%')}" for p in s.region_prefixes)
            + ")"
        )
    return " AND ".join(parts)


def is_narrow_scope(model: EvalModel) -> bool:
    """Industry or region models: restrict the record scan to their subjects."""
    s = model.scope
    return bool(s.industry_sections or s.industry_divisions or s.region_prefixes)


SUBJECT_COLUMNS = (
    "id", "established_on", "registered_capital_fen", "industry_section", "industry_division",
    "kind", "region_code", "size_class", "status",
)  # fmt: skip
SUBJECT_SCHEMA = {
    "subject_id": pl.Int64,
    "established_on": pl.Date,
    "registered_capital_fen": pl.Int64,
    "industry_section": pl.Utf8,
    "industry_division": pl.Utf8,
    "kind": pl.Utf8,
    "region_code": pl.Utf8,
    "size_class": pl.Utf8,
    "status": pl.Utf8,
}


def _frame(rows: Sequence[Sequence[object]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows from either driver into typed columns (SQLite gives dates as ISO text)."""
    if not rows:
        return pl.DataFrame(schema=schema)
    out = []
    for (name, dtype), values in zip(schema.items(), zip(*rows, strict=False), strict=False):
        if dtype == pl.Date and any(isinstance(v, str) for v in values):
            col = (
                pl.Series(name, [v or None for v in values], dtype=pl.Utf8)
                .str.slice(0, 10)
                .str.to_date("%Y-%m-%d")
            )
        else:
            col = pl.Series(name, values, dtype=dtype, strict=False)
        out.append(col)
    return pl.DataFrame(out)


def _fetch(
    conn: Connection, sql: str, params: Sequence[object] | None = None
) -> list[tuple[object, ...]]:
    """All rows as plain tuples from the driver's own cursor, inside the caller's transaction.

    SQLAlchemy's Row objects cost more than the query for a million aggregate rows (measured:
    36 s against 23 s); ADBC would hand over Arrow, but its SQLite driver links its own SQLite,
    and two SQLite libraries in one process break each other's POSIX locks (measured: stale
    reads and "database is locked").
    """
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, params) if params is not None else cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.close()


_ATTRIBUTE_COLUMN = {
    "years_since_established": "established_on",
    "registered_capital_yuan": "registered_capital_fen",
}


def subject_columns(model: EvalModel) -> list[str]:
    """``id`` and the attributes the model's features read: the subject table is wide
    (address, business scope), and a million rows of unused values cost seconds."""
    cols = ["id"]
    for f in model.features.values():
        if isinstance(f, AttributeFeature):
            c = _ATTRIBUTE_COLUMN.get(f.attribute, f.attribute)
            if c not in cols:
                cols.append(c)
    return cols


def read_subjects(conn: Connection, model: EvalModel, restrict: str | None = None) -> pl.DataFrame:
    where = scope_clause(model) + (f" AND {restrict}" if restrict else "")
    cols = subject_columns(model)
    rows = _fetch(conn, f"SELECT {', '.join(cols)} FROM subject WHERE {where} ORDER BY id")
    schema = {
        ("subject_id" if c == "id" else c): SUBJECT_SCHEMA["subject_id" if c == "id" else c]
        for c in cols
    }
    return _frame(rows, schema)


def batch_plan(
    model: EvalModel, dialect: str, as_of: dt.date, departments: dict[str, int]
) -> FeaturePlan:
    restrict = None
    if is_narrow_scope(model):
        restrict = f"subject_id IN (SELECT id FROM subject WHERE {scope_clause(model)})"
    return plan(model, dialect, as_of, departments, restrict)


def read_aggregates(conn: Connection, fp: FeaturePlan) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"subject_id": pl.Int64}
    for a in fp.aggregates:
        schema[a.column] = pl.Date if a.kind == "latest" else pl.Int64
    if not fp.sql:
        return pl.DataFrame(schema=schema)
    return _frame(_fetch(conn, fp.sql), schema)


def assemble(
    model: EvalModel, subjects: pl.LazyFrame, aggregates: pl.LazyFrame, fp: FeaturePlan
) -> pl.LazyFrame:
    """Subjects (the population) left-joined with their aggregates, as named features."""
    df = subjects.join(aggregates, on="subject_id", how="left")
    as_of = fp.as_of
    exprs: list[pl.Expr] = []
    for name, feat in model.features.items():
        if isinstance(feat, RecordFeature):
            col = pl.col(fp.feature_columns[name])
            if feat.aggregate == "count":
                exprs.append(col.fill_null(0).alias(name))
            elif feat.aggregate == "exists":
                exprs.append((col.fill_null(0) > 0).alias(name))
            elif feat.aggregate in ("sum_amount", "max_amount"):
                exprs.append((col.fill_null(0).cast(pl.Float64) * CENT).alias(name))
            else:  # days_since_latest: no record → null (scored with ``missing``)
                exprs.append((pl.lit(as_of) - col).dt.total_days().alias(name))
        else:
            exprs.append(attribute_expr(feat, as_of).alias(name))
    return df.select("subject_id", *exprs)


def attribute_expr(feat: AttributeFeature, as_of: dt.date) -> pl.Expr:
    a = feat.attribute
    if a == "years_since_established":
        est = pl.col("established_on")
        # Whole years completed at the evaluation date (满 N 年).
        before_birthday = (est.dt.month() > as_of.month) | (
            (est.dt.month() == as_of.month) & (est.dt.day() > as_of.day)
        )
        return (pl.lit(as_of.year) - est.dt.year() - before_birthday.cast(pl.Int32)).cast(
            pl.Float64
        )
    if a == "registered_capital_yuan":
        return pl.col("registered_capital_fen").cast(pl.Float64) * CENT
    return pl.col(a)


def features_frame(
    conn: Connection,
    model: EvalModel,
    as_of: dt.date,
    departments: dict[str, int],
    among: str | None = None,
) -> tuple[pl.LazyFrame, FeaturePlan]:
    """The features (a lazy query) of every subject in scope at ``as_of``; ``among`` (an ``IN (…)`` SQL
    fragment: a list of ids or a subquery) restricts it to some subjects — the incremental path,
    which is the batch's own SQL with one more condition."""
    dialect = conn.dialect.name
    restrict_subjects = None
    restrict_records = None
    if among is not None:
        restrict_subjects = f"id {among}"
        restrict_records = f"subject_id {among}"
        fp = plan(model, dialect, as_of, departments, restrict_records)
    else:
        fp = batch_plan(model, dialect, as_of, departments)
    subjects = read_subjects(conn, model, restrict_subjects)
    aggregates = read_aggregates(conn, fp)
    return assemble(model, subjects.lazy(), aggregates.lazy(), fp), fp


def ids_param(dialect: str, ids: Sequence[int]) -> tuple[str, list[object]]:
    """``subject_id {fragment}`` with the ids bound, in the driver's own style: the statement
    text stays the same from one subject to the next, so the database plans it once (PostgreSQL
    spent most of an incremental run parsing and planning the long aggregate anew)."""
    if dialect == "postgresql":
        return "= ANY(%s)", [list(ids)]
    return f"IN ({', '.join('?' * len(ids))})", list(ids)


def ids_in(ids: Sequence[int]) -> str:
    return f"IN ({', '.join(str(int(i)) for i in ids) or 'NULL'})"


def department_ids(conn: Connection) -> dict[str, int]:
    return {code: int(i) for i, code in conn.execute(text("SELECT id, code FROM department"))}

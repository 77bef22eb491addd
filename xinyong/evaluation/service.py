"""The evaluation service: model versions, batch and incremental evaluation, results, history.

The only place that writes evaluation tables. A batch evaluation reads the records once (one
aggregate query), scores all subjects in Polars and rewrites the model's results in bulk; an
incremental evaluation runs the same query restricted to some subjects. Both append a history
row for every subject whose result changed; a history row whose grade differs from its
``prev_grade`` is a grade-change event.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from xinyong.catalog.loader import load_catalog
from xinyong.core import clock, hooks
from xinyong.core.db import bulk_insert
from xinyong.core.errors import DomainError
from xinyong.core.models import allocate_ids
from xinyong.core.sqlutil import drop_temp, temp_table
from xinyong.evaluation.features import (
    _fetch,
    assemble,
    batch_plan,
    department_ids,
    features_frame,
    ids_in,
    ids_param,
    read_aggregates,
    read_subjects,
)
from xinyong.evaluation.models import (
    EvaluationHistory,
    EvaluationModel,
    EvaluationResult,
    EvaluationRun,
)
from xinyong.evaluation.scalar import compute_many
from xinyong.evaluation.scoring import score_lazy, split_codes
from xinyong.evaluation.spec import (
    EvalModel,
    ModelError,
    builtin_files,
    parse_model_text,
    resolve,
)

RESULT_COLUMNS = ("subject_id", "score", "grade", "colour", "tags", "vetoes")
RESULT_SCHEMA = {
    "subject_id": pl.Int64, "score": pl.Float64, "grade": pl.Utf8, "colour": pl.Utf8,
    "tags": pl.Utf8, "vetoes": pl.Utf8,
}  # fmt: skip
HISTORY_COLUMNS = (
    "id", "model_name", "subject_id", "model_version", "as_of", "score", "grade", "colour",
    "tags", "vetoes", "prev_grade", "prev_colour", "run_id",
)  # fmt: skip
CURRENT_COLUMNS = (
    "model_name", "subject_id", "model_version", "as_of", "score", "grade", "colour", "tags",
    "vetoes", "run_id",
)  # fmt: skip
Progress = Callable[[str, int, int], None]


class ModelNotFound(DomainError):
    def __init__(self, name: str, version: str | None = None) -> None:
        what = f"{name}@{version}" if version else name
        super().__init__(
            "MODEL_NOT_FOUND", f"找不到评价模型 {what}（或该模型没有已启用的版本）", status=404
        )


# --------------------------------------------------------------------------------------------
# Model versions


@lru_cache(maxsize=64)
def _resolved(text_: str, base_text: str | None, departments: frozenset[str]) -> EvalModel:
    # Cached by content: a stored version never changes, so its text is its identity.
    mf = parse_model_text(text_)
    base = _resolved(base_text, None, departments) if base_text is not None else None
    return resolve(mf, text_, catalog=load_catalog(), base=base, departments=set(departments))


def _row(conn: Connection, name: str, version: str | None) -> Any:
    stmt = select(EvaluationModel.__table__).where(EvaluationModel.name == name)
    if version:
        stmt = stmt.where(EvaluationModel.version == version)
    else:
        stmt = stmt.where(EvaluationModel.status == "active")
    return conn.execute(stmt).first()


def model_row(conn: Connection, name: str, version: str | None = None) -> Any:
    """The stored row of a model version (the active one when ``version`` is None)."""
    return _row(conn, name, version)


def _dept_codes(conn: Connection) -> frozenset[str]:
    return frozenset(department_ids(conn))


@lru_cache(maxsize=64)
def _parsed(text_: str) -> Any:
    # Read-only here (only ``extends`` is looked at): parsing the YAML was most of the cost of a
    # one-subject read such as a credit code scan or a report (measured ~60 ms of ~90 ms).
    return parse_model_text(text_)


def build_model(conn: Connection, text_: str) -> EvalModel:
    """Parse, check and resolve a model text against the catalog, the departments and, for an
    industry model, the stored version of the general model it extends."""
    mf = _parsed(text_)
    depts = _dept_codes(conn)
    base_text = None
    if mf.extends:
        base_row = _row(conn, mf.extends.model, mf.extends.version)
        if base_row is None:
            raise ModelError(
                "MODEL_UNKNOWN_BASE",
                f"找不到被扩展的模型 {mf.extends.model}@{mf.extends.version}（请先登记通用模型）",
                where="extends",
            )
        base_mf = _parsed(base_row.text)
        if base_mf.extends:
            raise ModelError(
                "MODEL_NESTED_EXTENDS", "只能扩展通用模型，不能扩展另一个行业模型", where="extends"
            )
        base_text = base_row.text
    return _resolved(text_, base_text, depts)


def get_model(conn: Connection, name: str, version: str | None = None) -> EvalModel:
    row = _row(conn, name, version)
    if row is None:
        raise ModelNotFound(name, version)
    return build_model(conn, row.text)


def register_model(
    conn: Connection, text_: str, *, source: str, actor: str | None = None
) -> dict[str, Any]:
    """Store a model file as a draft (validated). An activated version can never change."""
    model = build_model(conn, text_)
    existing = _row(conn, model.name, model.version)
    now = clock.now()
    if existing is not None:
        if existing.sha256 == model.sha256:
            return model_summary(existing)
        if existing.status != "draft":
            raise ModelError(
                "MODEL_VERSION_IMMUTABLE",
                f"模型 {model.key} 已启用或已停用，内容不可更改；修改后请使用新的版本号",
                where="version",
            )
        if existing.source != source:
            raise ModelError(
                "MODEL_OWNER", f"模型 {model.key} 由 {existing.source} 登记，不能覆盖", where="name"
            )
        conn.execute(
            update(EvaluationModel)
            .where(EvaluationModel.id == existing.id)
            .values(
                text=text_,
                sha256=model.sha256,
                title=model.title,
                visibility=model.visibility,
                created_at=now,
                created_by=actor,
                extends=f"{model.extends.model}@{model.extends.version}" if model.extends else None,
            )
        )
        return model_summary(_row(conn, model.name, model.version))
    conn.execute(
        EvaluationModel.__table__.insert().values(
            name=model.name,
            version=model.version,
            title=model.title,
            visibility=model.visibility,
            status="draft",
            source=source,
            extends=f"{model.extends.model}@{model.extends.version}" if model.extends else None,
            text=text_,
            sha256=model.sha256,
            created_at=now,
            created_by=actor,
        )
    )
    _audit(conn, actor, "model.register", model=model.key, source=source)
    return model_summary(_row(conn, model.name, model.version))


def _audit(conn: Connection, actor: str | None, action: str, **detail: Any) -> None:
    from xinyong.audit.service import append

    append(conn, actor=actor or "system", action=action, target=f"model:{detail.get('model')}",
           detail=detail)


def activate_model(
    conn: Connection, name: str, version: str, *, actor: str | None = None
) -> dict[str, Any]:
    row = _row(conn, name, version)
    if row is None:
        raise ModelNotFound(name, version)
    if row.status == "active":
        return model_summary(row)
    build_model(conn, row.text)  # still valid against today's catalog and departments
    conn.execute(
        update(EvaluationModel)
        .where(EvaluationModel.name == name, EvaluationModel.status == "active")
        .values(status="retired")
    )
    conn.execute(
        update(EvaluationModel)
        .where(EvaluationModel.id == row.id)
        .values(status="active", activated_at=clock.now(), activated_by=actor)
    )
    _audit(conn, actor, "model.activate", model=f"{name}@{version}")
    return model_summary(_row(conn, name, version))


def sync_builtin_models(conn: Connection, *, activate: bool = True) -> list[dict[str, Any]]:
    """Register the shipped model files; activate each whose name has no active version yet."""
    texts = [p.read_text(encoding="utf-8") for p in builtin_files()]
    # General models first: an industry model needs its base registered.
    texts.sort(key=lambda t: parse_model_text(t).extends is not None)
    out = []
    for t in texts:
        summary = register_model(conn, t, source="builtin", actor="system")
        if activate and _row(conn, summary["name"], None) is None:
            summary = activate_model(conn, summary["name"], summary["version"], actor="system")
        out.append(summary)
    return out


def model_summary(row: EvaluationModel) -> dict[str, Any]:
    return {
        "name": row.name,
        "version": row.version,
        "title": row.title,
        "visibility": row.visibility,
        "status": row.status,
        "source": row.source,
        "extends": row.extends,
        "sha256": row.sha256,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "activated_at": row.activated_at.isoformat() if row.activated_at else None,
        "activated_by": row.activated_by,
    }


def list_models(conn: Connection, *, include_government: bool = True) -> list[dict[str, Any]]:
    stmt = select(EvaluationModel.__table__).order_by(EvaluationModel.name, EvaluationModel.id)
    if not include_government:
        stmt = stmt.where(EvaluationModel.visibility == "public")
    return [model_summary(r) for r in conn.execute(stmt)]


def active_models(conn: Connection) -> list[EvalModel]:
    rows = conn.execute(
        select(EvaluationModel.__table__)
        .where(EvaluationModel.status == "active")
        .order_by(EvaluationModel.name)
    ).all()
    return [build_model(conn, r.text) for r in rows]


# --------------------------------------------------------------------------------------------
# Evaluation


def compute(
    conn: Connection,
    model: EvalModel,
    as_of: dt.date,
    subject_ids: Sequence[int] | None = None,
    *,
    among: str | None = None,
) -> pl.DataFrame:
    """Features and scores of the subjects in scope (or of ``subject_ids`` / ``among``, an
    ``IN (…)`` fragment), nothing written."""
    if subject_ids is not None:
        among = ids_in(sorted(set(subject_ids)))
    features, _ = features_frame(conn, model, as_of, department_ids(conn), among)
    # For a few subjects the query optimiser costs more than it saves.
    flags = pl.QueryOptFlags.none() if among is not None else pl.QueryOptFlags()
    return score_lazy(model, features).collect(optimizations=flags)


@dataclass
class RunResult:
    run_id: int
    model: str
    version: str
    as_of: dt.date
    subjects: int
    changed: int
    distribution: dict[str, int]
    seconds: float
    phases: dict[str, float] | None = None  # batch: read / score / write seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "model": self.model,
            "version": self.version,
            "as_of": self.as_of.isoformat(),
            "subjects": self.subjects,
            "changed": self.changed,
            "distribution": self.distribution,
            "seconds": round(self.seconds, 3),
            "phases": {k: round(v, 2) for k, v in (self.phases or {}).items()},
        }


def distribution(frame: pl.DataFrame, model: EvalModel) -> dict[str, int]:
    col = "grade" if model.leaves else "colour"
    if frame.height <= SMALL_WRITE:
        pairs: Iterable[tuple[Any, int]] = Counter(frame[col].to_list()).items()
    else:
        pairs = frame.group_by(col).len().iter_rows()
    out = {str(k) if k is not None else "无": int(n) for k, n in pairs}
    order = model.grade_codes if model.leaves else [c.code for c in model.colours]
    return {k: out.get(k, 0) for k in order} | {k: v for k, v in out.items() if k not in order}


def _current(conn: Connection, model: EvalModel, among: str | None) -> pl.DataFrame:
    # The model name is an identifier checked by the schema (^[a-z][a-z0-9_]*$).
    sql = (
        "SELECT subject_id, score, grade, colour, tags, vetoes, model_version FROM evaluation_result"
        f" WHERE model_name = '{model.name}'"
    )
    if among is not None:
        sql += f" AND subject_id {among}"
    rows = _fetch(conn, sql)
    schema = {
        "subject_id": pl.Int64,
        "score": pl.Float64,
        "grade": pl.Utf8,
        "colour": pl.Utf8,
        "tags": pl.Utf8,
        "vetoes": pl.Utf8,
        "model_version": pl.Utf8,
    }
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame([list(r) for r in rows], schema=schema, orient="row")


def _write(
    conn: Connection,
    model: EvalModel,
    as_of: dt.date,
    results: pl.DataFrame,
    among: str | None,
    start_run: Callable[[int], int],
    current: pl.DataFrame | None = None,
) -> tuple[int, int]:
    """Write what changed: a history row and a new current row for each changed result, and
    no current row any more for a subject that left the scope. An unchanged result keeps its
    row, whose ``as_of`` is the date the result was established (a nightly batch over a
    million subjects then writes only the few that moved). Returns (run id, number changed);
    ``start_run(changed)`` writes the run row once its figures are known."""
    new = results.select(RESULT_COLUMNS).with_columns(pl.lit(model.version).alias("model_version"))
    old = current if current is not None else _current(conn, model, among)
    compared = [*RESULT_COLUMNS[1:], "model_version"]
    joined = new.join(old.rename({c: f"old_{c}" for c in compared}), on="subject_id", how="left")
    differs = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"old_{c}")) for c in compared)
    changed = joined.filter(differs)
    removed = old.join(new.select("subject_id"), on="subject_id", how="anti")["subject_id"]
    run_id = start_run(changed.height)
    as_of_value: Any = as_of.isoformat() if conn.dialect.name == "sqlite" else as_of
    if changed.height:
        first = allocate_ids(conn, "evaluation_history", changed.height)
        hist = changed.select(
            (pl.int_range(0, pl.len(), dtype=pl.Int64) + first).alias("id"),
            pl.lit(model.name).alias("model_name"),
            "subject_id",
            pl.lit(model.version).alias("model_version"),
            pl.lit(as_of_value).alias("as_of"),
            *RESULT_COLUMNS[1:],
            pl.col("old_grade").alias("prev_grade"),
            pl.col("old_colour").alias("prev_colour"),
            pl.lit(run_id).alias("run_id"),
        )
        bulk_insert(conn, "evaluation_history", hist.columns, hist)
        _notify(conn, model, run_id)
    stale = pl.concat(
        [changed.filter(pl.col("old_model_version").is_not_null())["subject_id"], removed]
    )
    if stale.len() and stale.len() == old.height:
        conn.execute(text("DELETE FROM evaluation_result WHERE model_name = :m"), {"m": model.name})
    elif stale.len():
        temp_table(conn, "eval_stale", "subject_id INTEGER PRIMARY KEY")
        bulk_insert(conn, "eval_stale", ["subject_id"], stale.sort().to_frame())
        conn.execute(
            text(
                "DELETE FROM evaluation_result WHERE model_name = :m"
                " AND subject_id IN (SELECT subject_id FROM eval_stale)"
            ),
            {"m": model.name},
        )
        drop_temp(conn, "eval_stale")
    rows = changed.sort("subject_id").select(
        pl.lit(model.name).alias("model_name"),
        "subject_id",
        pl.lit(model.version).alias("model_version"),
        pl.lit(as_of_value).alias("as_of"),
        *RESULT_COLUMNS[1:],
        pl.lit(run_id).alias("run_id"),
    )
    bulk_insert(conn, "evaluation_result", rows.columns, rows)
    return run_id, changed.height


# Up to this many subjects an incremental run scores and writes in plain Python (scalar.py):
# a Polars query costs ~2 ms per model whatever its size.
SMALL_WRITE = 64


def _aggregates_apart(engine: Engine, fp: Any) -> pl.DataFrame:
    with engine.connect() as conn:
        return read_aggregates(conn, fp)


def evaluate(
    engine: Engine,
    name: str,
    *,
    as_of: dt.date | None = None,
    version: str | None = None,
    actor: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Batch: evaluate every subject in the model's scope at ``as_of`` and store the results."""
    as_of = as_of or clock.today()
    t0 = time.perf_counter()
    # One transaction: the results written are those of the records read (a record arriving
    # meanwhile waits for the commit, then re-evaluates its subject incrementally).
    with engine.begin() as conn:
        model = get_model(conn, name, version)
        active = _row(conn, name, None)
        if version is not None and active is not None and active.version != version:
            raise ModelError(
                "MODEL_NOT_ACTIVE",
                f"{model.key} 不是已启用版本；未启用的版本请用试运行（dry-run）",
                where="version",
            )
        if progress:
            progress("aggregate", 0, 3)
        fp = batch_plan(model, conn.dialect.name, as_of, department_ids(conn))
        # The aggregate (the long part) runs on a connection of its own while this one reads
        # the subjects and the current results: the drivers release the GIL inside the query.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(_aggregates_apart, engine, fp)
            subjects = read_subjects(conn, model)
            current = _current(conn, model, None)
            aggregates = pending.result()
        t_read = time.perf_counter()
        frame = score_lazy(model, assemble(model, subjects.lazy(), aggregates.lazy(), fp)).collect()
        t_score = time.perf_counter()
        if progress:
            progress("score", 1, 3)
        run_id, changed = _write(
            conn,
            model,
            as_of,
            frame,
            None,
            lambda n: _insert_run(conn, model, as_of, "batch", actor, frame, n, t0),
            current=current,
        )
        if progress:
            progress("write", 2, 3)
        result = _run_result(run_id, model, as_of, frame, changed, t0)
        result.phases = {
            "read": t_read - t0,
            "score": t_score - t_read,
            "write": time.perf_counter() - t_score,
        }
        # The run's time includes the write, known only now.
        conn.execute(
            update(EvaluationRun)
            .where(EvaluationRun.id == run_id)
            .values(seconds=result.seconds, finished_at=clock.now())
        )
    if progress:
        progress("done", 3, 3)
    return result


# Above this many ids, an incremental run reads them from a temporary table instead of an
# inline list (SQLite limits a statement's length; PostgreSQL plans a long IN list slowly).
INLINE_IDS = 2_000


def evaluate_subjects(
    conn: Connection,
    subject_ids: Iterable[int] | None = None,
    *,
    among: str | None = None,
    as_of: dt.date | None = None,
    models: Sequence[EvalModel] | None = None,
    actor: str | None = None,
) -> list[RunResult]:
    """Incremental: re-evaluate some subjects with every active model, inside the caller's
    transaction (a batch of records and the grades it changes commit together).

    The subjects are ``subject_ids`` or ``among``, an ``IN (…)`` fragment such as
    ``IN (SELECT subject_id FROM stage)``: the batch's SQL with one more condition. A few
    subjects are scored in plain Python (``scalar.py``, the same arithmetic), more in Polars.
    """
    chosen = list(models) if models is not None else active_models(conn)
    if not chosen:
        return []
    ids: list[int] | None = None
    if subject_ids is not None:
        ids = sorted({int(i) for i in subject_ids})
    elif among is not None:
        probe = [
            int(r[0])
            for r in _fetch(
                conn, f"SELECT id FROM subject WHERE id {among} ORDER BY id LIMIT {SMALL_WRITE + 1}"
            )
        ]
        if len(probe) <= SMALL_WRITE:
            ids = probe
    else:
        raise ValueError("evaluate_subjects needs subject_ids or among")
    if ids is not None:
        if not ids:
            return []
        if len(ids) <= INLINE_IDS:
            among = ids_in(ids)
        else:
            temp_table(conn, "eval_subjects", "subject_id INTEGER PRIMARY KEY")
            bulk_insert(conn, "eval_subjects", ["subject_id"], [(i,) for i in ids])
            among = "IN (SELECT subject_id FROM eval_subjects)"
    assert among is not None
    as_of = as_of or clock.today()
    depts = department_ids(conn)
    out = []
    if ids is not None and len(ids) <= SMALL_WRITE:
        return _evaluate_few(conn, chosen, ids, as_of, depts, actor)
    t0 = time.perf_counter()
    queries = [score_lazy(m, features_frame(conn, m, as_of, depts, among)[0]) for m in chosen]
    # One engine call for every model: the fixed cost of running a query plan is paid once.
    frames = pl.collect_all(queries)
    for model, frame in zip(chosen, frames, strict=True):
        run_id, changed = _write(
            conn,
            model,
            as_of,
            frame,
            among,
            lambda n, m=model, f=frame, t=t0: _insert_run(
                conn, m, as_of, "incremental", actor, f, n, t
            ),
        )
        out.append(_run_result(run_id, model, as_of, frame, changed, t0))
    return out


def _notify(conn: Connection, model: EvalModel, run_id: int) -> None:
    """Subjects with an account hear of their grade changes (public models only)."""
    if model.visibility == "public":
        from xinyong.accounts.service import notify_grade_changes

        notify_grade_changes(conn, model.name, model.title, run_id)


def _evaluate_few(
    conn: Connection,
    models: list[EvalModel],
    ids: list[int],
    as_of: dt.date,
    depts: dict[str, int],
    actor: str | None,
) -> list[RunResult]:
    """A few subjects under every model with a handful of statements in all (the hot path
    after an ingest or a status change): two reads, one read of the current results, one write
    of each kind for what changed, one run row per model. Same rules as ``_write``."""
    t0 = time.perf_counter()
    scored = compute_many(conn, models, as_of, depts, ids)
    among, params = ids_param(conn.dialect.name, ids)
    names = ", ".join(f"'{m.name}'" for m in models)  # identifiers checked by the schema
    old: dict[tuple[str, int], tuple[Any, ...]] = {
        (r[0], int(r[1])): tuple(r[2:])
        for r in _fetch(
            conn,
            "SELECT model_name, subject_id, score, grade, colour, tags, vetoes, model_version"
            f" FROM evaluation_result WHERE model_name IN ({names}) AND subject_id {among}",
            params,
        )
    }
    as_of_value: Any = as_of.isoformat() if conn.dialect.name == "sqlite" else as_of
    history: list[tuple[Any, ...]] = []
    current: list[tuple[Any, ...]] = []
    stale: list[tuple[str, int]] = []
    notify: list[tuple[EvalModel, int]] = []
    out = []
    for model, rows in zip(models, scored, strict=True):
        values = [tuple(r[c] for c in RESULT_COLUMNS) for r in rows]
        changed = []
        for v in values:
            prev = old.get((model.name, v[0]))
            if prev != (*v[1:], model.version):
                changed.append((v, prev))
                if prev is not None:
                    stale.append((model.name, v[0]))
        seen = {v[0] for v in values}
        stale += [(m, sid) for (m, sid) in old if m == model.name and sid not in seen]
        frame = pl.DataFrame(values, schema=RESULT_SCHEMA, orient="row")
        run_id = _insert_run(conn, model, as_of, "incremental", actor, frame, len(changed), t0)
        for v, prev in changed:
            prev_grade, prev_colour = (prev[1], prev[2]) if prev else (None, None)
            history.append(
                (
                    model.name,
                    v[0],
                    model.version,
                    as_of_value,
                    *v[1:],
                    prev_grade,
                    prev_colour,
                    run_id,
                )
            )
            current.append((model.name, v[0], model.version, as_of_value, *v[1:], run_id))
        if changed:
            notify.append((model, run_id))
        out.append(_run_result(run_id, model, as_of, frame, len(changed), t0))
    if history:
        first = allocate_ids(conn, "evaluation_history", len(history))
        bulk_insert(
            conn,
            "evaluation_history",
            HISTORY_COLUMNS,
            [(first + i, *h) for i, h in enumerate(history)],
        )
        for model, run_id in notify:
            _notify(conn, model, run_id)
    if stale:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        marker = "%s" if conn.dialect.name == "postgresql" else "?"
        cur.executemany(
            f"DELETE FROM evaluation_result WHERE model_name = {marker} AND subject_id = {marker}",
            stale,
        )
        cur.close()
    if current:
        bulk_insert(
            conn, "evaluation_result", CURRENT_COLUMNS, sorted(current, key=lambda c: (c[0], c[1]))
        )
    return out


def on_records_changed(conn: Connection, among: str) -> None:
    """Hook run by the records service when records arrive or change state (see
    ``xinyong.core.hooks``): the grades of those subjects are brought up to date at once."""
    evaluate_subjects(conn, among=among, actor="incremental")


hooks.register_records_changed(on_records_changed)


def daily_job(session: Session, day: dt.date) -> dict[str, int]:
    """The entry of ``xinyong jobs daily`` (core/jobs.py): a batch of every active model at
    ``day``. Pushes re-evaluate their own subjects at once, but a grade also moves with time
    alone: a penalty leaves its publicity period or a three-year window, an honour expires, and
    nobody sends anything. Without this pass a 惠信码 stayed red after the penalty's publicity
    ended until someone ran ``xinyong evaluate --all``. A model whose active version already
    has a batch at ``day`` is left alone, so a second run on one day changes nothing. Returns
    the number of changed results per model."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with engine.connect() as conn:
        todo = [
            m.name for m in active_models(conn)
            if conn.scalar(
                select(func.count()).select_from(EvaluationRun)
                .where(EvaluationRun.model_name == m.name,
                       EvaluationRun.model_version == m.version,
                       EvaluationRun.kind == "batch", EvaluationRun.as_of == day)
            ) == 0
        ]
    return {name: evaluate(engine, name, as_of=day, actor="jobs").changed for name in todo}


def _insert_run(
    conn: Connection,
    model: EvalModel,
    as_of: dt.date,
    kind: str,
    actor: str | None,
    frame: pl.DataFrame,
    changed: int,
    t0: float,
) -> int:
    """One INSERT with the run's figures (an incremental run of one subject is a hot path)."""
    now = clock.now()
    dist = distribution(frame, model)
    res = conn.execute(
        EvaluationRun.__table__.insert().values(
            model_name=model.name,
            model_version=model.version,
            kind=kind,
            as_of=as_of,
            subjects=frame.height,
            changed=changed,
            distribution=dist,
            seconds=time.perf_counter() - t0,
            actor=actor,
            started_at=now,
            finished_at=now,
        )
    )
    return int(res.inserted_primary_key[0])


def _run_result(
    run_id: int, model: EvalModel, as_of: dt.date, frame: pl.DataFrame, changed: int, t0: float
) -> RunResult:
    return RunResult(
        run_id,
        model.name,
        model.version,
        as_of,
        frame.height,
        changed,
        distribution(frame, model),
        time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------------------------
# Dry run


def dry_run(
    engine: Engine,
    *,
    text_: str | None = None,
    name: str | None = None,
    version: str | None = None,
    as_of: dt.date | None = None,
    sample: int | None = 10_000,
    seed: int = 0,
    limit_changes: int = 200,
) -> dict[str, Any]:
    """Evaluate a draft on a sample; show the distribution and the subjects that would change
    grade against the current results of the active version. Writes nothing."""
    as_of = as_of or clock.today()
    with engine.connect() as conn:
        if text_ is not None:
            model = build_model(conn, text_)
        elif name is not None:
            model = get_model(conn, name, version)
        else:
            raise DomainError("DRY_RUN_NO_MODEL", "请提供模型文件或模型名称与版本")
        ids: list[int] | None = None
        if sample is not None:
            total = conn.scalar(text("SELECT COUNT(*) FROM subject")) or 0
            if total > sample:
                # Every k-th subject: a deterministic sample spread over the whole registry.
                step = max(total // sample, 1)
                ids = [
                    int(r[0])
                    for r in conn.execute(
                        text(
                            "SELECT id FROM subject WHERE (id + :s) % :k = 0 ORDER BY id LIMIT :n"
                        ),
                        {"s": seed, "k": step, "n": sample},
                    )
                ]
        frame = compute(conn, model, as_of, ids)
        current = _current(conn, model, ids_in(ids) if ids is not None else None)
    joined = frame.select("subject_id", "score", "grade", "colour").join(
        current.select(
            "subject_id",
            pl.col("grade").alias("current_grade"),
            pl.col("colour").alias("current_colour"),
        ),
        on="subject_id",
        how="left",
    )
    key = "grade" if model.leaves else "colour"
    moved = joined.filter(
        pl.col(key).ne_missing(pl.col(f"current_{key}")) & pl.col(f"current_{key}").is_not_null()
    )
    with engine.connect() as conn:
        names = _names(conn, moved["subject_id"].head(limit_changes).to_list())
    changes = [
        {
            "subject_id": r["subject_id"],
            "name": names.get(r["subject_id"], ("", ""))[0],
            "uscc": names.get(r["subject_id"], ("", ""))[1],
            "score": r["score"],
            "from": r[f"current_{key}"],
            "to": r[key],
        }
        for r in moved.head(limit_changes).iter_rows(named=True)
    ]
    return {
        "model": model.name,
        "version": model.version,
        "as_of": as_of.isoformat(),
        "subjects": frame.height,
        "sampled": ids is not None,
        "distribution": distribution(frame, model),
        "current_compared": current.height,
        "would_change": moved.height,
        "changes": changes,
    }


def _names(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = conn.execute(
        text(
            f"SELECT id, name, uscc FROM subject WHERE id IN ({', '.join(str(int(i)) for i in ids)})"
        )
    ).all()
    return {int(r[0]): (r[1], r[2] or "") for r in rows}


# --------------------------------------------------------------------------------------------
# Reading results


def is_natural_person(conn: Connection, subject_id: int) -> bool:
    from xinyong.subjects.models import Subject

    kind = conn.execute(select(Subject.kind).where(Subject.id == subject_id)).scalar()
    return kind == "natural_person"


def subject_results(
    conn: Connection, subject_id: int, *, government: bool, own: bool = False
) -> list[dict[str, Any]]:
    """The subject's current results under every model the caller may see: public models only
    for outsiders, and nothing at all of a natural person (its records are never public, so
    neither is what is computed from them), except to government and to the person itself."""
    if not (government or own) and is_natural_person(conn, subject_id):
        return []
    stmt = (
        select(
            EvaluationResult.__table__,
            EvaluationModel.title,
            EvaluationModel.visibility,
            EvaluationModel.text,
        )
        .join(
            EvaluationModel,
            (EvaluationModel.name == EvaluationResult.model_name)
            & (EvaluationModel.version == EvaluationResult.model_version),
        )
        .where(EvaluationResult.subject_id == subject_id)
        .order_by(EvaluationResult.model_name)
    )
    if not government:
        stmt = stmt.where(EvaluationModel.visibility == "public")
    out = []
    for row in conn.execute(stmt).all():
        model = build_model(conn, row.text)
        item = result_dict(row, model, title=row.title, visibility=row.visibility)
        last = last_batch(conn, model.name)
        # The result holds since ``as_of``; it was last confirmed by the latest batch.
        item["evaluated_on"] = max(item["as_of"], last) if last else item["as_of"]
        out.append(item)
    return out


def last_batch(conn: Connection, model_name: str) -> str | None:
    day = conn.execute(
        text("SELECT MAX(as_of) FROM evaluation_run WHERE model_name = :m AND kind = 'batch'"),
        {"m": model_name},
    ).scalar()
    return str(day)[:10] if day is not None else None


def result_dict(res: Any, model: EvalModel, **extra: Any) -> dict[str, Any]:
    grade_names = {g.code: g.name for g in model.grades}
    colour_names = {c.code: c.name for c in model.colours}
    tag_names = {t.code: t.name for t in model.tags}
    veto_names = {v.code: v.name for v in model.vetoes}
    as_of = res.as_of if isinstance(res.as_of, dt.date) else dt.date.fromisoformat(str(res.as_of))
    return {
        "model": res.model_name,
        "version": res.model_version,
        "as_of": as_of.isoformat(),
        # Stored in binary floating point (79.85000000000001); shown in hundredths.
        "score": round(res.score, 2) if res.score is not None else None,
        "grade": res.grade,
        "grade_name": grade_names.get(res.grade or ""),
        "colour": res.colour,
        "colour_name": colour_names.get(res.colour or ""),
        "tags": [{"code": c, "name": tag_names.get(c, c)} for c in split_codes(res.tags)],
        "vetoes": [{"code": c, "name": veto_names.get(c, c)} for c in split_codes(res.vetoes)],
        **extra,
    }


def history(
    conn: Connection, subject_id: int, model_name: str, limit: int = 100
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(EvaluationHistory.__table__)
        .where(
            EvaluationHistory.subject_id == subject_id,
            EvaluationHistory.model_name == model_name,
        )
        .order_by(EvaluationHistory.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "as_of": str(r.as_of),
            "version": r.model_version,
            "score": r.score,
            "grade": r.grade,
            "prev_grade": r.prev_grade,
            "colour": r.colour,
            "prev_colour": r.prev_colour,
            "tags": split_codes(r.tags),
            "vetoes": split_codes(r.vetoes),
            "run_id": r.run_id,
        }
        for r in rows
    ]


def grade_changes(
    conn: Connection,
    model_name: str,
    since: dt.date,
    until: dt.date | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Grade-change events of a period (the feed alerts and notifications read)."""
    stmt = (
        select(
            EvaluationHistory.subject_id,
            EvaluationHistory.as_of,
            EvaluationHistory.prev_grade,
            EvaluationHistory.grade,
            EvaluationHistory.score,
        )
        .where(
            EvaluationHistory.model_name == model_name,
            EvaluationHistory.as_of >= since,
            EvaluationHistory.prev_grade.is_not(None),
            EvaluationHistory.prev_grade != EvaluationHistory.grade,
        )
        .order_by(EvaluationHistory.id)
        .limit(limit)
    )
    if until is not None:
        stmt = stmt.where(EvaluationHistory.as_of <= until)
    rows = conn.execute(stmt).all()
    names = _names(conn, [int(r[0]) for r in rows])
    return [
        {
            "subject_id": int(r[0]),
            "name": names.get(int(r[0]), ("", ""))[0],
            "uscc": names.get(int(r[0]), ("", ""))[1],
            "as_of": str(r[1]),
            "from": r[2],
            "to": r[3],
            "score": r[4],
        }
        for r in rows
    ]


def runs(conn: Connection, model_name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    stmt = select(EvaluationRun.__table__).order_by(EvaluationRun.id.desc()).limit(limit)
    if model_name:
        stmt = stmt.where(EvaluationRun.model_name == model_name)
    return [
        {
            "id": r.id,
            "model": r.model_name,
            "version": r.model_version,
            "kind": r.kind,
            "as_of": str(r.as_of),
            "subjects": r.subjects,
            "changed": r.changed,
            "distribution": r.distribution,
            "seconds": r.seconds,
            "actor": r.actor,
            "started_at": r.started_at.isoformat() if r.started_at else None,
        }
        for r in conn.execute(stmt)
    ]


def count_results(conn: Connection, model_name: str) -> int:
    return int(
        conn.scalar(
            select(func.count())
            .select_from(EvaluationResult)
            .where(EvaluationResult.model_name == model_name)
        )
        or 0
    )

"""Ingest (归集): a department's file or API push becomes credit records.

The path of a batch:

1. read the input in chunks (``readers``) and map its columns to the record type's fields with
   a mapping profile (``profiles``);
2. validate each chunk column-wise (``validate``); compute penalty class and publicity per the
   dated rules of the catalog (``catalog.publicity``);
3. write the valid rows of all chunks into a staging table, inside one transaction;
4. set-based SQL over the staging table: match subjects (code, then normalised current or
   former name), drop in-batch duplicates, compare with what the department sent before
   (unchanged → nothing; changed → a new version and a ``corrected`` event; new → a record),
   park unmatched and ambiguous rows in the pending-match queue;
5. commit — or, in strict mode with any bad row, roll back and keep only the error report.

A batch is all-or-nothing: if the process dies, the transaction was never committed. Re-sending
the same rows changes nothing (each record is keyed by department, record type and the
department's own record id, and carries a content hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection, Engine

from xinyong.catalog.loader import load_catalog
from xinyong.catalog.publicity import compute_publicity
from xinyong.catalog.types import Catalog, RecordType
from xinyong.core import clock, hooks
from xinyong.core.config import get_settings
from xinyong.core.db import bulk_insert
from xinyong.core.models import allocate_ids
from xinyong.core.sqlutil import day, json_param, temp_table, ts
from xinyong.departments.models import Department
from xinyong.records.errors import IngestError, row_message
from xinyong.records.models import Batch, BatchError
from xinyong.records.profiles import Profile, default_profile, load_profile
from xinyong.records.readers import ROW, Source, open_source, records_frame
from xinyong.records.validate import ERROR_SCHEMA, validate_chunk
from xinyong.subjects.names import normalize_name_expr

Progress = Callable[[int], None]

# Columns of the staging table, in COPY order.
STAGE_COLUMNS: list[tuple[str, str]] = [
    ("seq", "BIGINT NOT NULL"),
    ("row_number", "BIGINT NOT NULL"),
    ("uscc", "VARCHAR(18)"),
    ("uscc_status", "VARCHAR(12)"),
    ("subject_name", "TEXT"),
    ("name_norm", "TEXT"),
    ("subject_kind", "VARCHAR(24)"),
    ("id_hash", "VARCHAR(64)"),
    ("id_masked", "VARCHAR(32)"),
    ("source_record_id", "TEXT NOT NULL"),
    ("content_hash", "VARCHAR(32) NOT NULL"),
    ("title", "TEXT"),
    ("decided_on", "DATE"),
    ("valid_until", "DATE"),
    ("amount_fen", "BIGINT"),
    ("record_outcome", "VARCHAR(24)"),
    ("penalty_class", "VARCHAR(8)"),
    ("class_source", "VARCHAR(12)"),
    ("publicity_until", "DATE"),
    ("publicity_rule", "VARCHAR(64)"),
]
STAGE_NAMES = [c for c, _ in STAGE_COLUMNS]
# The wide part of each staged row (what goes to credit_record_detail) waits in its own table,
# keyed by seq: the set-based steps update every stage row several times (matching, outcome),
# and rewriting a ~1 KB payload each time was most of their cost.
STAGE_DATA_COLUMNS: list[tuple[str, str]] = [
    ("seq", "BIGINT NOT NULL"),
    ("class_reason", "TEXT"),
    ("data", "TEXT NOT NULL"),
]
STAGE_DATA_NAMES = [c for c, _ in STAGE_DATA_COLUMNS]
EXTRA_STAGE = (
    ", subject_id INTEGER, match_state VARCHAR(12), n_candidates INTEGER, candidates TEXT,"
    " prev_id BIGINT, prev_version INTEGER, prev_hash VARCHAR(32), prev_subject_id INTEGER,"
    " outcome VARCHAR(12)"
)


@dataclass
class BatchResult:
    batch_id: int
    status: str
    rows_total: int = 0
    inserted: int = 0
    corrected: int = 0
    unchanged: int = 0
    pending: int = 0
    rejected: int = 0
    subjects_created: int = 0
    errors: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ERROR_SCHEMA))
    message: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "rows_total": self.rows_total,
            "inserted": self.inserted,
            "corrected": self.corrected,
            "unchanged": self.unchanged,
            "pending": self.pending,
            "rejected": self.rejected,
            "subjects_created": self.subjects_created,
            "message": self.message,
        }


# ---------------------------------------------------------------------------- entry points


def ingest_file(
    engine: Engine,
    path: Path,
    *,
    record_type: str,
    department: str,
    profile: str | None = None,
    strict: bool = False,
    actor: str | None = None,
    progress: Progress | None = None,
    source_name: str | None = None,
) -> BatchResult:
    digest = _sha256(path)
    source = open_source(path)
    return _run(
        engine,
        source,
        record_type=record_type,
        department=department,
        profile=profile,
        strict=strict,
        actor=actor,
        progress=progress,
        source_name=source_name or path.name,
        digest=digest,
    )


def ingest_records(
    engine: Engine,
    items: list[dict[str, Any]],
    *,
    record_type: str,
    department: str,
    profile: str | None = None,
    strict: bool = False,
    actor: str | None = None,
) -> BatchResult:
    """An API push: a list of JSON objects; row numbers are their 1-based positions."""
    if not items:
        raise IngestError("BATCH_EMPTY", "没有可导入的记录")
    numbered = [dict(item, **{ROW: i}) for i, item in enumerate(items, start=1)]
    header = list(dict.fromkeys(k for item in items for k in item))

    def chunks() -> Iterator[pl.DataFrame]:
        for start in range(0, len(numbered), 100_000):
            yield records_frame(numbered[start : start + 100_000])

    source = Source("json", "utf-8", header, chunks())
    return _run(
        engine,
        source,
        record_type=record_type,
        department=department,
        profile=profile,
        strict=strict,
        actor=actor,
        progress=None,
        source_name="api",
        digest=None,
    )


# ---------------------------------------------------------------------------- the batch


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _resolve_setup(
    engine: Engine, record_type: str, department: str, profile: str | None
) -> tuple[Catalog, RecordType, Profile, int]:
    catalog = load_catalog()
    rtype = catalog.type(record_type)
    prof = load_profile(profile) if profile else default_profile(rtype)
    if prof.record_type != rtype.code:
        raise IngestError(
            "PROFILE_TYPE_MISMATCH",
            f"映射方案「{prof.label}」用于「{catalog.type(prof.record_type).label}」，"
            f"不能用于「{rtype.label}」",
        )
    with engine.connect() as conn:
        dept_id = conn.scalar(select(Department.id).where(Department.code == department))
    if dept_id is None:
        raise IngestError(
            "DEPARTMENT_UNKNOWN", f"数据来源单位「{department}」未登记，请先由管理员添加"
        )
    return catalog, rtype, prof, int(dept_id)


def _run(
    engine: Engine,
    source: Source,
    *,
    record_type: str,
    department: str,
    profile: str | None,
    strict: bool,
    actor: str | None,
    progress: Progress | None,
    source_name: str,
    digest: str | None,
) -> BatchResult:
    catalog, rtype, prof, dept_id = _resolve_setup(engine, record_type, department, profile)
    mapping = prof.resolve(source.header, rtype)
    if mapping.missing_required:
        raise IngestError(
            "COLUMNS_MISSING",
            f"文件缺少必需的列：{'、'.join(mapping.missing_required)}。"
            f"请按映射方案「{prof.label}」或目录字段名（中文名亦可）提供这些列",
        )
    record_id_column = _record_id_column(source.header)
    from xinyong.catalog.service import ensure_catalog_version

    # The batch row is committed first and on its own, so that a crash leaves a trace.
    with engine.begin() as conn:
        ensure_catalog_version(conn, catalog)
        batch_id = conn.execute(
            Batch.__table__.insert()
            .values(
                department_id=dept_id,
                record_type=rtype.code,
                profile=prof.name,
                source_name=source_name,
                file_sha256=digest,
                file_format=source.format,
                encoding=source.encoding,
                catalog_version=catalog.version,
                strict=strict,
                status="running",
                actor=actor,
                started_at=clock.now(),
            )
            .returning(Batch.id)
        ).scalar_one()

    result = BatchResult(batch_id=batch_id, status="running")
    try:
        with engine.begin() as conn:
            _execute(
                conn,
                source,
                rtype,
                prof,
                mapping,
                record_id_column,
                dept_id,
                batch_id,
                catalog,
                strict,
                result,
                progress,
            )
            if strict and result.rejected:
                raise _StrictReject()
            _finish(conn, result, "committed", actor, department, rtype.code)
    except _StrictReject:
        result.status = "rejected"
        result.message = (
            f"严格模式：共 {result.rejected} 行有误，整批未导入。请按错误报告修改后重新报送。"
        )
        result.inserted = result.corrected = result.unchanged = result.pending = 0
        with engine.begin() as conn:
            _finish(conn, result, "rejected", actor, department, rtype.code)
    except IngestError as exc:
        result.status = "failed"
        result.message = exc.message
        with engine.begin() as conn:
            _finish(conn, result, "failed", actor, department, rtype.code)
        raise
    except BaseException as exc:
        result.status = "failed"
        result.message = f"导入失败，未写入任何记录：{type(exc).__name__}"
        with engine.begin() as conn:
            _finish(conn, result, "failed", actor, department, rtype.code)
        raise
    return result


class _StrictReject(Exception):
    pass


def _record_id_column(header: list[str]) -> str | None:
    """The column that names each record (its source record id), when the sender gives one."""
    return next((c for c in header if c.strip().lower() in ("record_id", "记录标识")), None)


def _finish(
    conn: Connection, result: BatchResult, status: str, actor: str | None, department: str,
    record_type: str,
) -> None:
    from xinyong.audit.service import append

    result.status = status
    conn.execute(
        update(Batch)
        .where(Batch.id == result.batch_id)
        .values(
            status=status,
            rows_total=result.rows_total,
            rows_inserted=result.inserted,
            rows_corrected=result.corrected,
            rows_unchanged=result.unchanged,
            rows_pending=result.pending,
            rows_rejected=result.rejected,
            message=result.message,
            finished_at=clock.now(),
        )
    )
    if result.errors.height:
        rows = result.errors.select(
            pl.lit(result.batch_id).alias("batch_id"),
            "row_number",
            "field",
            "code",
            "message",
            pl.col("value").str.slice(0, 500),
        ).rows()
        bulk_insert(
            conn,
            BatchError.__tablename__,
            ["batch_id", "row_number", "field", "code", "message", "value"],
            rows,
        )
    # In the batch's own transaction: a committed batch and its audit entry stand or fall
    # together (a failed batch's entry is written with its failure record).
    append(conn, actor=actor or "system", action="ingest.batch", target=f"batch:{result.batch_id}",
           detail={"status": status, "department": department, "record_type": record_type,
                   "rows": result.rows_total, "inserted": result.inserted,
                   "corrected": result.corrected, "unchanged": result.unchanged,
                   "pending": result.pending, "rejected": result.rejected})


def _execute(
    conn: Connection,
    source: Source,
    rtype: RecordType,
    prof: Profile,
    mapping: dict[str, str],
    record_id_column: str | None,
    dept_id: int,
    batch_id: int,
    catalog: Catalog,
    strict: bool,
    result: BatchResult,
    progress: Progress | None,
) -> None:
    today = clock.today()
    settings = get_settings()
    temp_table(conn, "stage", ", ".join(f"{c} {t}" for c, t in STAGE_COLUMNS) + EXTRA_STAGE)
    temp_table(
        conn,
        "stage_data",
        # SQLite: seq is the rowid (appends, and lookups by seq for free)
        "seq INTEGER PRIMARY KEY, class_reason TEXT, data TEXT NOT NULL"
        if conn.dialect.name == "sqlite"
        else ", ".join(f"{c} {t}" for c, t in STAGE_DATA_COLUMNS),
    )
    error_frames: list[pl.DataFrame] = []
    chunks = iter(source.chunks)
    seq = 0

    def prepare(seq0: int) -> tuple[int, pl.DataFrame, pl.DataFrame] | None:
        """Read, map, validate and shape the next chunk: (its rows, errors, staged frame)."""
        chunk = next(chunks, None)
        if chunk is None:
            return None
        errors, staged = _prepare_chunk(
            chunk, rtype, prof, mapping, record_id_column, seq0, settings.secret_key, today
        )
        return chunk.height, errors, staged

    # Two cores, two stages: while this thread writes chunk n into the stage (SQLite steps
    # without the GIL; PostgreSQL works in its own process), a worker reads and validates
    # chunk n + 1 (Polars works without the GIL too). Seq numbers stay in input order because
    # chunk n + 1 is only started once chunk n's staged height is known. At most two chunks
    # exist at a time: the one being written and the one being prepared.
    with ThreadPoolExecutor(1, thread_name_prefix="ingest-prepare") as worker:
        ready = worker.submit(prepare, seq)
        while (got := ready.result()) is not None:
            height, errors, staged = got
            del got
            seq += staged.height
            ready = worker.submit(prepare, seq)
            result.rows_total += height
            _copy_stage(conn, staged)
            del staged
            if errors.height:
                error_frames.append(errors)
            if progress is not None:
                progress(height)

    dup_errors, repeats = _drop_duplicates(conn)
    # The index served the duplicate search only. Left in place, it made every later UPDATE of
    # the stage (matching, outcome) on PostgreSQL write an index entry per row as well.
    conn.exec_driver_sql("DROP INDEX ix_stage_srid")
    if dup_errors.height:
        error_frames.append(dup_errors)
    errors = pl.concat(error_frames) if error_frames else pl.DataFrame(schema=ERROR_SCHEMA)
    result.errors = errors.sort(["row_number", "field"])
    result.rejected = errors.get_column("row_number").n_unique() if errors.height else 0
    if strict and result.rejected:
        return
    _compare_with_existing(conn, dept_id, rtype.code)
    result.subjects_created = _match_subjects(conn, source_label=f"record:{dept_id}")
    _apply(conn, rtype, dept_id, batch_id, catalog, result)
    result.unchanged += repeats
    if result.inserted or result.corrected:
        # Same transaction: the records and the grades they change commit together.
        hooks.records_changed(
            conn,
            "IN (SELECT subject_id FROM stage WHERE outcome IN ('new', 'corrected')"
            " UNION SELECT prev_subject_id FROM stage"
            " WHERE outcome = 'corrected' AND prev_subject_id IS NOT NULL)",
        )
        hooks.records_added(conn, "r.id IN (SELECT id FROM added_record)")


# ---------------------------------------------------------------------------- chunk → stage


def _prepare_chunk(
    chunk: pl.DataFrame,
    rtype: RecordType,
    prof: Profile,
    mapping: dict[str, str],
    record_id_column: str | None,
    seq: int,
    secret: str,
    today: dt.date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Map, validate and shape one chunk for the stage: (row errors, staged frame). Touches no
    database, so it can run beside the writer; its intermediate frames are freed when it
    returns."""
    canonical = map_chunk(chunk, prof, mapping, record_id_column)
    checked = validate_chunk(canonical, rtype, units=prof.units, today=today)
    del canonical
    staged = _stage_frame(checked.rows, rtype, prof, seq, secret)
    return checked.errors, staged


def map_chunk(
    chunk: pl.DataFrame, prof: Profile, mapping: dict[str, str], record_id_column: str | None
) -> pl.DataFrame:
    """A department's columns → the catalog's fields, with the profile's null words, constants
    and keyword derivations applied (all column-wise)."""
    cols = [pl.col(ROW)] + [pl.col(src).alias(field) for field, src in mapping.items()]
    if record_id_column is not None:
        cols.append(pl.col(record_id_column).alias("record_id"))
    df = chunk.select(cols)
    if prof.null_values:
        nulls = pl.Series(prof.null_values, dtype=pl.String).implode()
        df = df.with_columns(
            pl.when(pl.col(f).str.strip_chars().is_in(nulls)).then(None).otherwise(pl.col(f))
            .alias(f)
            for f in mapping
        )
    for field_name, value in prof.constants.items():
        present = pl.col(field_name) if field_name in df.columns else pl.lit(None, pl.String)
        df = df.with_columns(pl.coalesce(present, pl.lit(str(value))).alias(field_name))
    for target, derivation in prof.derive.items():
        if derivation.source not in df.columns:
            continue
        derived = derivation.expr(pl.col(derivation.source))
        if target in df.columns:
            own = pl.col(target)
            derived = pl.when(own.is_null() | (own.str.strip_chars() == "")).then(derived).otherwise(own)
        df = df.with_columns(derived.alias(target))
    return df


def _record_id_expr(prof: Profile, rtype: RecordType, columns: list[str]) -> pl.Expr:
    """The department's own id of each record.

    Priority: an explicit ``record_id`` (记录标识) column; the profile's template (e.g.
    "{doc_number}/{subject_name}"); the record type's key template or key field. A template whose
    value is empty gives null, and such a row is keyed by its content hash instead: re-sending it
    is still idempotent, but a change to it cannot be recognised as a correction (that needs a
    stable id).
    """
    from xinyong.records.profiles import source_record_id_expr, template_fields

    template = prof.source_record_id or rtype.key_template or (
        f"{{{rtype.key_field}}}" if rtype.key_field else None
    )
    if template and all(f in columns for f in template_fields(template)):
        expr = source_record_id_expr(template)
    else:
        expr = pl.lit(None, dtype=pl.String)
    if "record_id" in columns:
        expr = pl.coalesce(pl.col("record_id").cast(pl.String), expr)
    return expr


def _stage_frame(
    rows: pl.DataFrame, rtype: RecordType, prof: Profile, seq0: int, secret: str
) -> pl.DataFrame:
    if rows.height == 0:
        return pl.DataFrame()
    field_names = [f.name for f in rtype.fields if f.name in rows.columns]
    id_fields = [f.name for f in rtype.fields if f.type == "id_number" and f.name in rows.columns]
    rows = _protect_id_numbers(rows, id_fields, secret)
    rows = compute_publicity(rows, rtype, local_rules=get_settings().local_rules or None)

    def col_or_null(name: str | None, dtype: pl.DataType) -> pl.Expr:
        if name and name in rows.columns:
            return pl.col(name)
        return pl.lit(None, dtype=dtype)

    data_cols = [c for c in field_names if c not in id_fields]
    data_cols += [f"{c}_masked" for c in id_fields]
    staged = rows.with_columns(
        pl.struct(data_cols).struct.json_encode().alias("data"),
    ).with_columns(
        pl.int_range(seq0, seq0 + rows.height, dtype=pl.Int64).alias("seq"),
        pl.col(ROW).alias("row_number"),
        col_or_null("uscc", pl.String()).alias("uscc"),
        col_or_null("uscc_status", pl.String()).alias("uscc_status"),
        col_or_null("subject_name", pl.String()).alias("subject_name"),
        normalize_name_expr(col_or_null("subject_name", pl.String())).alias("name_norm"),
        col_or_null("subject_kind", pl.String()).alias("subject_kind"),
        col_or_null("id_number_hash", pl.String()).alias("id_hash"),
        col_or_null("id_number_masked", pl.String()).alias("id_masked"),
        _record_id_expr(prof, rtype, rows.columns).alias("source_record_id"),
        pl.coalesce(
            col_or_null(rtype.title_field, pl.String()).cast(pl.String),
            col_or_null(rtype.key_field, pl.String()).cast(pl.String),
        )
        .cast(pl.String)
        .str.slice(0, 300)
        .alias("title"),
        col_or_null(rtype.date_field, pl.Date()).alias("decided_on"),
        col_or_null(rtype.valid_until_field, pl.Date()).alias("valid_until"),
        col_or_null(rtype.amount_field, pl.Int64()).alias("amount_fen"),
        col_or_null(rtype.outcome_field, pl.String()).cast(pl.String).alias("record_outcome"),
        col_or_null("penalty_class", pl.String()).alias("penalty_class"),
        col_or_null("class_source", pl.String()).alias("class_source"),
        col_or_null("class_reason", pl.String()).alias("class_reason"),
        col_or_null("publicity_until", pl.Date()).alias("publicity_until"),
        col_or_null("publicity_rule", pl.String()).alias("publicity_rule"),
    )
    staged = staged.with_columns(_md5(staged.get_column("data")).alias("content_hash"))
    staged = staged.with_columns(
        pl.coalesce(pl.col("source_record_id"), pl.lit("sha:") + pl.col("content_hash"))
        .str.slice(0, 128)
        .alias("source_record_id")
    )
    return staged.select(*STAGE_NAMES, "class_reason", "data")


def _md5(texts: pl.Series, step: int = 10_000) -> pl.Series:
    """Hex MD5 of each text (the content hash that tells a resent record from a changed one).

    Python's hashlib, slice by slice: only ``step`` values exist as Python strings at a time
    (all of a 100,000-row chunk's payloads as ``str`` objects came to ~150 MB)."""
    md5 = hashlib.md5
    parts = [
        pl.Series(
            texts.name,
            [md5(t.encode()).hexdigest() for t in texts.slice(start, step).to_list()],
            dtype=pl.String,
        )
        for start in range(0, texts.len(), step)
    ]
    return pl.concat(parts) if parts else pl.Series(texts.name, [], dtype=pl.String)


def _protect_id_numbers(rows: pl.DataFrame, id_fields: list[str], secret: str) -> pl.DataFrame:
    """Personal ID numbers: a keyed hash of the subject's own number (for matching) and a masked
    form of each (for display) are kept; the clear numbers leave the frame here, before anything
    is written. Validation already rejected malformed numbers."""
    from xinyong.subjects.idnumbers import hash_id_number, mask_id_number

    for name in id_fields:
        numbers = rows.get_column(name).to_list()
        rows = rows.with_columns(
            pl.Series(
                f"{name}_masked",
                [mask_id_number(n) if n else None for n in numbers],
                dtype=pl.String,
            )
        )
        if name == "id_number":
            rows = rows.with_columns(
                pl.Series(
                    "id_number_hash",
                    [hash_id_number(n, secret) if n else None for n in numbers],
                    dtype=pl.String,
                )
            )
    return rows.drop(id_fields)


def _copy_stage(conn: Connection, staged: pl.DataFrame) -> None:
    if staged.height == 0:
        return
    if conn.dialect.name == "sqlite":
        staged = staged.with_columns(pl.col(pl.Date).cast(pl.String))
    bulk_insert(conn, "stage", STAGE_NAMES, staged.select(STAGE_NAMES))
    bulk_insert(conn, "stage_data", STAGE_DATA_NAMES, staged.select(STAGE_DATA_NAMES))


# ---------------------------------------------------------------------------- set-based steps


def _drop_duplicates(conn: Connection) -> tuple[pl.DataFrame, int]:
    """The same record id twice in one batch: the first row counts. A later row with the same
    content is the same fact listed twice (sources do that) and is dropped silently; a later row
    with different content is reported, since only one version can be the department's word.
    Returns (errors, identical repeats)."""
    conn.exec_driver_sql("CREATE INDEX ix_stage_srid ON stage (source_record_id, seq)")
    dups = conn.exec_driver_sql(
        "SELECT s.row_number, s.source_record_id, f.row_number, s.content_hash = f.content_hash"
        " FROM stage s JOIN ("
        "  SELECT st.source_record_id, st.seq, st.row_number, st.content_hash FROM stage st"
        "  JOIN (SELECT source_record_id, MIN(seq) AS first_seq FROM stage"
        "        GROUP BY source_record_id HAVING COUNT(*) > 1) m"
        "  ON m.source_record_id = st.source_record_id AND m.first_seq = st.seq) f"
        " ON f.source_record_id = s.source_record_id AND s.seq <> f.seq"
    ).all()
    if not dups:
        return pl.DataFrame(schema=ERROR_SCHEMA), 0
    conn.exec_driver_sql(
        "DELETE FROM stage WHERE seq NOT IN (SELECT MIN(seq) FROM stage GROUP BY source_record_id)"
    )
    conflicting = [(r, srid, first) for r, srid, first, same in dups if not same]
    errors = pl.DataFrame(
        [
            (
                int(r),
                "record_id",
                "DUPLICATE_IN_BATCH",
                row_message("DUPLICATE_IN_BATCH", other=first, value=srid),
                srid,
            )
            for r, srid, first in conflicting
        ],
        schema=ERROR_SCHEMA,
        orient="row",
    )
    return errors, len(dups) - len(conflicting)


def _compare_with_existing(conn: Connection, dept_id: int, record_type: str) -> None:
    if conn.dialect.name == "sqlite":
        # Driven from the stage, one lookup per row in ux_credit_record_source. SQLite planned
        # the UPDATE … FROM join the other way round (the department's records outside, a scan
        # of the unindexed stage inside): re-sending 30k rows over 30k took 69 s, now ~1 s.
        conn.execute(
            text(
                "UPDATE stage SET (prev_id, prev_version, prev_hash, prev_subject_id) = ("
                "SELECT r.id, r.version, r.content_hash, r.subject_id FROM credit_record r"
                " WHERE r.department_id = :dept AND r.record_type = :rt"
                " AND r.source_record_id = stage.source_record_id AND r.is_current LIMIT 1)"
            ),
            {"dept": dept_id, "rt": record_type},
        )
        return
    conn.execute(
        text(
            "UPDATE stage SET prev_id = r.id, prev_version = r.version, prev_hash = r.content_hash,"
            " prev_subject_id = r.subject_id FROM credit_record r"
            " WHERE r.department_id = :dept AND r.record_type = :rt"
            " AND r.source_record_id = stage.source_record_id AND r.is_current"
        ),
        {"dept": dept_id, "rt": record_type},
    )


def _match_subjects(conn: Connection, source_label: str) -> int:
    """Find each row's subject: by credit code, by ID-number hash, by the subject the record was
    already attached to, then by normalised current or former name. Returns subjects created."""
    conn.exec_driver_sql(
        "UPDATE stage SET subject_id = s.id, match_state = 'uscc' FROM subject s"
        " WHERE stage.uscc IS NOT NULL AND s.uscc = stage.uscc"
    )
    conn.exec_driver_sql(
        "UPDATE stage SET subject_id = s.id, match_state = 'id_number' FROM subject s"
        " WHERE stage.subject_id IS NULL AND stage.id_hash IS NOT NULL"
        " AND s.id_number_hash = stage.id_hash"
    )
    # A correction of a record an operator already matched keeps that subject.
    conn.exec_driver_sql(
        "UPDATE stage SET subject_id = prev_subject_id, match_state = 'previous'"
        " WHERE subject_id IS NULL AND prev_subject_id IS NOT NULL"
    )
    created = _create_subjects_from_records(conn, source_label)
    conn.exec_driver_sql(
        "UPDATE stage SET n_candidates = h.n, subject_id = CASE WHEN h.n = 1 THEN h.sid END,"
        " match_state = CASE WHEN h.n = 1 THEN 'name' ELSE 'ambiguous' END"
        " FROM (SELECT st.seq AS seq, COUNT(DISTINCT sn.subject_id) AS n,"
        "       MIN(sn.subject_id) AS sid FROM stage st"
        "       JOIN subject_name sn ON sn.name_norm = st.name_norm"
        "       WHERE st.subject_id IS NULL GROUP BY st.seq) h"
        " WHERE stage.seq = h.seq"
    )
    return created


def _create_subjects_from_records(conn: Connection, source_label: str) -> int:
    """A verified credit code names exactly one organisation: a record about an organisation the
    registry does not hold yet (registered in another city, say) creates its subject, so the
    record is not lost. Names alone and unverified codes never create a subject."""
    from xinyong.subjects.service import insert_subjects
    from xinyong.subjects.uscc import default_subject_kind

    rows = conn.exec_driver_sql(
        "SELECT uscc, MIN(subject_name), MIN(subject_kind) FROM stage"
        " WHERE subject_id IS NULL AND uscc IS NOT NULL AND uscc_status = 'verified'"
        " AND subject_name IS NOT NULL GROUP BY uscc"
    ).all()
    if not rows:
        return 0
    frame = pl.DataFrame(
        rows, schema={"uscc": pl.String, "name": pl.String, "kind": pl.String}, orient="row"
    ).with_columns(
        pl.coalesce(
            pl.col("kind"), pl.col("uscc").map_elements(default_subject_kind, pl.String)
        ).alias("kind"),
        normalize_name_expr(pl.col("name")).alias("name_norm"),
        pl.lit("verified").alias("uscc_status"),
        pl.lit(source_label).alias("source"),
    )
    insert_subjects(conn, frame)
    conn.exec_driver_sql(
        "UPDATE stage SET subject_id = s.id, match_state = 'created' FROM subject s"
        " WHERE stage.subject_id IS NULL AND stage.uscc IS NOT NULL AND s.uscc = stage.uscc"
    )
    return frame.height


def _apply(
    conn: Connection,
    rtype: RecordType,
    dept_id: int,
    batch_id: int,
    catalog: Catalog,
    result: BatchResult,
) -> None:
    conn.exec_driver_sql(
        "UPDATE stage SET outcome = CASE"
        " WHEN prev_id IS NOT NULL AND prev_hash = content_hash THEN 'unchanged'"
        " WHEN subject_id IS NULL THEN 'pending'"
        " WHEN prev_id IS NOT NULL THEN 'corrected'"
        " ELSE 'new' END"
    )
    counts = dict(
        conn.exec_driver_sql("SELECT outcome, COUNT(*) FROM stage GROUP BY outcome").all()
    )
    result.inserted = int(counts.get("new", 0))
    result.corrected = int(counts.get("corrected", 0))
    result.unchanged = int(counts.get("unchanged", 0))
    result.pending = int(counts.get("pending", 0))
    total_new = result.inserted + result.corrected
    now = ts(conn, clock.now())
    if total_new:
        first_id = allocate_ids(
            conn,
            "credit_record",
            int(conn.exec_driver_sql("SELECT COALESCE(MAX(seq), 0) + 1 FROM stage").scalar_one()),
        )
        # The same numbering in both statements (seq is unique, so the order is total): each
        # detail row gets the id of its record without a second pass over the stage.
        # (The detail statement spells it with its table alias.)
        new_id = ":first + ROW_NUMBER() OVER (ORDER BY subject_id, seq) - 1"
        conn.execute(
            text(
                "INSERT INTO credit_record (subject_id, id, record_type, category, department_id,"
                " source_record_id, version, content_hash, batch_id, catalog_version, polarity,"
                " disclosure, title, decided_on, valid_until, amount_fen, outcome, created_at,"
                " penalty_class, class_source, publicity_until, publicity_rule,"
                " status, is_current)"
                " SELECT subject_id, " + new_id + ", :rt, :cat, :dept, source_record_id,"
                " COALESCE(prev_version, 0) + 1, content_hash, :batch, :cv, :pol, :disc, title,"
                " decided_on, valid_until, amount_fen, record_outcome, :now,"
                " penalty_class, class_source, publicity_until, publicity_rule,"
                " 'active', true FROM stage WHERE outcome IN ('new', 'corrected')"
                # in the clustered key's order: B-tree appends instead of page splits
                " ORDER BY subject_id, seq"
            ),
            {
                "first": first_id,
                "rt": rtype.code,
                "cat": rtype.category,
                "dept": dept_id,
                "batch": batch_id,
                "cv": catalog.version,
                "pol": rtype.polarity,
                "disc": rtype.disclosure,
                "now": now,
            },
        )
        conn.execute(
            text(
                "INSERT INTO credit_record_detail (subject_id, id, data, class_reason)"
                " SELECT s.subject_id, :first + ROW_NUMBER() OVER (ORDER BY s.subject_id, s.seq) - 1, "
                + json_param(conn, "d.data") + ", d.class_reason"
                " FROM stage s JOIN stage_data d ON d.seq = s.seq"
                " WHERE s.outcome IN ('new', 'corrected') ORDER BY s.subject_id, s.seq"
            ),
            {"first": first_id},
        )
        # The keys of the added rows, for the records_added hook: a small table with a key
        # and (PostgreSQL) statistics, so a hook's read of "the rows just added" is a lookup
        # by id whatever the planner knows of credit_record (a semi-join with the stage was
        # planned as a stage scan per record on a fresh database: 94 s for 20k penalties).
        temp_table(conn, "added_record", "id BIGINT PRIMARY KEY, subject_id INTEGER NOT NULL")
        conn.execute(
            text(
                "INSERT INTO added_record (id, subject_id) SELECT " + new_id + ", subject_id"
                " FROM stage WHERE outcome IN ('new', 'corrected')"
            ),
            {"first": first_id},
        )
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE added_record")
        if result.corrected:
            _record_corrections(conn, dept_id, rtype.code, batch_id, now)
    if result.pending:
        parked = _park_pending(conn, rtype, dept_id, batch_id)
        result.unchanged += result.pending - parked
        result.pending = parked


def _record_corrections(
    conn: Connection, dept_id: int, record_type: str, batch_id: int, now: object
) -> None:
    """The superseded version stops counting; a ``corrected`` event links old and new."""
    conn.execute(
        text(
            "UPDATE credit_record SET is_current = false, status = 'corrected',"
            " status_since = :today WHERE id IN (SELECT prev_id FROM stage"
            " WHERE outcome = 'corrected')"
        ),
        {"today": day(conn, clock.today())},
    )
    n = int(
        conn.exec_driver_sql("SELECT COUNT(*) FROM stage WHERE outcome = 'corrected'").scalar_one()
    )
    first_event = allocate_ids(conn, "record_event", n)
    # the new version, found by its unique key (ids are numbered in clustered order)
    new_id = (
        "(SELECT r.id FROM credit_record r WHERE r.department_id = :dept"
        " AND r.record_type = :rt AND r.source_record_id = stage.source_record_id"
        " AND r.version = stage.prev_version + 1)"
    )
    data_expr = (
        "CAST('{\"new_record_id\": ' || CAST(" + new_id + " AS TEXT) || '}' AS JSON)"
        if conn.dialect.name == "postgresql"
        else "json_object('new_record_id', " + new_id + ")"
    )
    conn.execute(
        text(
            "INSERT INTO record_event (id, record_id, subject_id, kind, effective_on, occurred_at,"
            " batch_id, actor, data)"
            " SELECT :ev + ROW_NUMBER() OVER (ORDER BY seq) - 1, prev_id, prev_subject_id,"
            " 'corrected', :today, :now, :batch, NULL, "
            + data_expr
            + " FROM stage WHERE outcome = 'corrected'"
        ),
        {
            "ev": first_event,
            "dept": dept_id,
            "rt": record_type,
            "today": clock.today(),
            "now": now,
            "batch": batch_id,
        },
    )


def _park_pending(conn: Connection, rtype: RecordType, dept_id: int, batch_id: int) -> int:
    """Unmatched and ambiguous rows wait, complete, for an operator. A row the department sends
    again while it still waits replaces the waiting one rather than queueing twice."""
    import json

    # A row re-sent unchanged while it still waits is the same row: it stays as it is.
    conn.execute(
        text(
            "UPDATE stage SET outcome = 'unchanged' WHERE outcome = 'pending' AND EXISTS ("
            " SELECT 1 FROM pending_match p WHERE p.status = 'pending'"
            " AND p.department_id = :dept AND p.record_type = :rt"
            " AND " + _json_get(conn, "p.payload", "source_record_id") + " = stage.source_record_id"
            " AND " + _json_get(conn, "p.payload", "content_hash") + " = stage.content_hash)"
        ),
        {"dept": dept_id, "rt": rtype.code},
    )
    names = [*STAGE_NAMES, "class_reason", "data", "n_candidates"]
    rows = conn.exec_driver_sql(
        "SELECT " + ", ".join(f"s.{c}" for c in STAGE_NAMES) + ", d.class_reason, d.data,"
        " s.n_candidates FROM stage s JOIN stage_data d ON d.seq = s.seq"
        " WHERE s.outcome = 'pending'"
    ).all()
    if not rows:
        return 0
    items = [dict(zip(names, r, strict=True)) for r in rows]
    ids = [it["source_record_id"] for it in items]
    pending_table = "pending_match"
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        conn.execute(
            text(
                f"UPDATE {pending_table} SET status = 'superseded' WHERE status = 'pending'"
                " AND department_id = :dept AND record_type = :rt"
                " AND " + _json_get(conn, "payload", "source_record_id") + " IN :ids"
            ).bindparams(_expanding("ids")),
            {"dept": dept_id, "rt": rtype.code, "ids": part},
        )
    candidates = _candidates(conn)
    first = allocate_ids(conn, pending_table, len(items))
    now = ts(conn, clock.now())
    out = []
    for i, it in enumerate(items):
        payload = {
            k: (v.isoformat() if isinstance(v, dt.date) else v)
            for k, v in it.items()
            if k not in ("seq", "n_candidates")
        }
        reason = "ambiguous" if (it["n_candidates"] or 0) > 1 else "unmatched"
        out.append(
            (
                first + i,
                batch_id,
                dept_id,
                rtype.code,
                it["row_number"],
                it["subject_name"],
                it["name_norm"],
                it["uscc"],
                reason,
                json.dumps(candidates.get(it["seq"], [])),
                json.dumps(payload, ensure_ascii=False),
                "pending",
                now,
            )
        )
    bulk_insert(
        conn,
        pending_table,
        [
            "id",
            "batch_id",
            "department_id",
            "record_type",
            "row_number",
            "subject_name",
            "name_norm",
            "uscc",
            "reason",
            "candidates",
            "payload",
            "status",
            "created_at",
        ],
        out,
    )
    return len(out)


def _candidates(conn: Connection) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for seq, sid in conn.exec_driver_sql(
        "SELECT DISTINCT st.seq, sn.subject_id FROM stage st JOIN subject_name sn"
        " ON sn.name_norm = st.name_norm WHERE st.outcome = 'pending' ORDER BY 1, 2"
    ):
        found.setdefault(int(seq), []).append(int(sid))
    return found


def _json_get(conn: Connection, column: str, key: str) -> str:
    if conn.dialect.name == "postgresql":
        return f"({column}::jsonb ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


def iter_errors(errors: pl.DataFrame) -> Iterable[dict[str, Any]]:
    return errors.iter_rows(named=True)


def ingest_records_in(
    conn: Connection,
    items: list[dict[str, Any]],
    *,
    record_type: str,
    department: str,
    actor: str | None = None,
    raise_on_reject: bool = True,
) -> BatchResult:
    """A push inside the caller's transaction, for a service that writes its own rows and the
    credit records they imply together (a commitment's breach and its 承诺失信 record, an
    objection's decision and the corrected version): both commit, or neither. Always strict:
    a row that fails validation or matches no subject writes no record and raises
    ``IngestError`` (or, with ``raise_on_reject=False``, comes back in ``result.errors`` /
    ``result.pending`` for the caller to explain, which must then roll back). The batch row,
    its audit entry, the records_changed (re-evaluation) and records_added hooks run in the same
    transaction. A ``record_id`` column names the record, as in every push."""
    if not items:
        raise IngestError("BATCH_EMPTY", "没有可导入的记录")
    from xinyong.catalog.service import ensure_catalog_version

    catalog = load_catalog()
    rtype = catalog.type(record_type)
    prof = default_profile(rtype)
    dept_id = conn.scalar(select(Department.id).where(Department.code == department))
    if dept_id is None:
        raise IngestError(
            "DEPARTMENT_UNKNOWN", f"数据来源单位「{department}」未登记，请先由管理员添加"
        )
    numbered = [dict(item, **{ROW: i}) for i, item in enumerate(items, start=1)]
    header = list(dict.fromkeys(k for item in items for k in item))
    source = Source("json", "utf-8", header, iter([records_frame(numbered)]))
    mapping = prof.resolve(source.header, rtype)
    if mapping.missing_required:
        raise IngestError("COLUMNS_MISSING", f"缺少必需的字段：{'、'.join(mapping.missing_required)}")
    ensure_catalog_version(conn, catalog)
    batch_id = conn.execute(
        Batch.__table__.insert()
        .values(
            department_id=dept_id, record_type=rtype.code, profile=prof.name, source_name="service",
            file_sha256=None, file_format=source.format, encoding=source.encoding,
            catalog_version=catalog.version, strict=True, status="running", actor=actor,
            started_at=clock.now(),
        )
        .returning(Batch.id)
    ).scalar_one()
    result = BatchResult(batch_id=batch_id, status="running")
    try:
        _execute(conn, source, rtype, prof, mapping, _record_id_column(header), int(dept_id),
                 batch_id, catalog, True, result, None)
        if result.rejected or result.pending:
            if not raise_on_reject:
                return result
            first = result.errors.row(0, named=True) if result.errors.height else None
            why = f"{first['field']}：{first['message']}" if first else "未能匹配到信用主体"
            raise IngestError("RECORD_REJECTED", f"信用记录未能写入（{rtype.label}）：{why}")
        _finish(conn, result, "committed", actor, department, rtype.code)
    finally:
        # PostgreSQL drops the staging tables only at commit: a second push in the same
        # transaction must be able to create them again.
        for table in ("stage", "stage_data", "added_record"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    return result

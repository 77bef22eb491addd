"""Writing subjects: bulk loads (registrations, subjects first seen in a record) and lookups.

Bulk paths are set-based: a Polars frame in, ``bulk_insert`` out, no per-subject Python loop.
Every subject's names also go into ``subject_name`` (current and former names, for matching)
and ``subject_name_gram`` (the bigram index behind substring search).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from xinyong.core import clock
from xinyong.core.db import bulk_insert
from xinyong.core.models import allocate_ids
from xinyong.core.sqlutil import temp_table, ts
from xinyong.subjects.models import Subject, SubjectName, SubjectReview

SUBJECT_COLUMNS = [
    "uscc",
    "uscc_status",
    "kind",
    "name",
    "name_norm",
    "enterprise_type",
    "industry_section",
    "industry_division",
    "industry_source",
    "region_code",
    "province",
    "city",
    "registered_capital_fen",
    "capital_currency",
    "capital_raw",
    "established_on",
    "status",
    "address",
    "business_scope",
    "size_class",
    "id_number_hash",
    "id_number_masked",
    "source",
]
INSERT_BATCH = 50_000


def name_grams(frame: pl.DataFrame) -> pl.DataFrame:
    """(gram, subject_id) for every distinct character bigram of each name, vectorised.

    A one-character name is indexed by that character, so a one-character query still finds it.
    """
    chars = (
        frame.select("subject_id", pl.col("name_norm").str.split("").alias("ch"))
        .with_columns(pl.col("ch").list.len().alias("n"))
        .explode("ch")
        .with_columns(pl.col("ch").shift(-1).over("subject_id").alias("nxt"))
    )
    grams = chars.select(
        pl.when(pl.col("n") == 1)
        .then(pl.col("ch"))
        .when(pl.col("nxt").is_not_null())
        .then(pl.col("ch") + pl.col("nxt"))
        .alias("gram"),
        pl.col("subject_id"),
    ).drop_nulls()
    return grams.unique(maintain_order=False)


def _rows(df: pl.DataFrame, columns: list[str]) -> list[tuple]:
    return df.select(columns).rows()


def _bump_gram_stats(conn: Connection, grams: pl.DataFrame) -> None:
    counts = grams.group_by("gram").len("df")
    temp_table(conn, "gram_delta", "gram VARCHAR(8) PRIMARY KEY, df INTEGER NOT NULL")
    bulk_insert(conn, "gram_delta", ["gram", "df"], counts.select("gram", "df"))
    conn.exec_driver_sql(
        "INSERT INTO gram_stat (gram, df) SELECT gram, df FROM gram_delta WHERE true "
        "ON CONFLICT (gram) DO UPDATE SET df = gram_stat.df + excluded.df"
    )
    conn.exec_driver_sql("DROP TABLE gram_delta")


def index_names(
    conn: Connection, names: pl.DataFrame, *, current: bool, fresh_subjects: bool = False
) -> None:
    """Add names (subject_id, name, name_norm) to the name table and the gram index.

    ``fresh_subjects``: the subjects were created just now, so none of their grams is indexed
    yet and the check for existing pairs (needed for former names) can be skipped.
    """
    if names.height == 0:
        return
    bulk_insert(
        conn,
        "subject_name",
        ["subject_id", "name", "name_norm", "is_current"],
        names.select("subject_id", "name", "name_norm", pl.lit(current).alias("c")),
    )
    grams = name_grams(names).select("gram", "subject_id")
    if not fresh_subjects:
        # A former name shares most grams with the current one: index only the missing pairs.
        temp_table(conn, "gram_new", "gram VARCHAR(8) NOT NULL, subject_id INTEGER NOT NULL")
        bulk_insert(conn, "gram_new", ["gram", "subject_id"], grams)
        fresh = conn.exec_driver_sql(
            "SELECT n.gram, n.subject_id FROM gram_new n WHERE NOT EXISTS (SELECT 1 FROM "
            "subject_name_gram g WHERE g.gram = n.gram AND g.subject_id = n.subject_id)"
        ).all()
        conn.exec_driver_sql("DROP TABLE gram_new")
        grams = pl.DataFrame(
            fresh, schema={"gram": pl.String, "subject_id": pl.Int64}, orient="row"
        )
    if conn.dialect.name == "sqlite":
        # The index is clustered by (gram, subject_id): inserting in key order is much faster.
        grams = grams.sort("gram", "subject_id")
    bulk_insert(conn, "subject_name_gram", ["gram", "subject_id"], grams)
    _bump_gram_stats(conn, grams)


def insert_subjects(conn: Connection, frame: pl.DataFrame) -> pl.DataFrame:
    """Insert new subjects; returns the frame with its new ``subject_id`` column."""
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("subject_id"))
    for col in SUBJECT_COLUMNS:
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(col))
    first = allocate_ids(conn, "subject", frame.height)
    now = ts(conn, clock.now())
    frame = frame.with_columns(
        pl.int_range(first, first + frame.height, dtype=pl.Int64).alias("subject_id"),
        pl.col("status").fill_null("active"),
        pl.col("uscc_status").fill_null("none"),
    )
    out = frame.select(
        "subject_id",
        *SUBJECT_COLUMNS,
        pl.lit(now).alias("created_at"),
        pl.lit(now).alias("updated_at"),
    )
    if conn.dialect.name == "sqlite":
        out = out.with_columns(pl.col("established_on").cast(pl.String))
    cols = ["id", *SUBJECT_COLUMNS, "created_at", "updated_at"]
    for start in range(0, out.height, INSERT_BATCH):
        bulk_insert(conn, "subject", cols, out.slice(start, INSERT_BATCH))
    index_names(
        conn, frame.select("subject_id", "name", "name_norm"), current=True, fresh_subjects=True
    )
    _queue_reviews(conn, frame)
    return frame


def _queue_reviews(conn: Connection, frame: pl.DataFrame) -> None:
    """Codes whose check character fails are kept but wait for an operator (GB 32100 pilots)."""
    bad = frame.filter(pl.col("uscc_status") == "unverified")
    if bad.height == 0:
        return
    now = ts(conn, clock.now())
    rows = [
        (
            sid,
            "USCC_CHECKSUM",
            f"统一社会信用代码「{code}」校验位不符，已暂存为“未核验”，请人工核对（早期试点代码可能属于此类）",
            "open",
            now,
        )
        for sid, code in bad.select("subject_id", "uscc").rows()
    ]
    bulk_insert(
        conn, "subject_review", ["subject_id", "code", "message", "status", "created_at"], rows
    )


@dataclass
class LoadResult:
    inserted: int
    updated: int
    rejected: pl.DataFrame


UPDATABLE = [c for c in SUBJECT_COLUMNS if c not in ("uscc", "name", "name_norm", "source")]


def upsert_subjects(conn: Connection, frame: pl.DataFrame) -> tuple[int, int]:
    """Insert subjects whose code is new; refresh the attributes of known ones, keeping a changed
    name as a former name (曾用名). Set-based through a staging table."""
    temp_table(conn, "subject_in", "uscc VARCHAR(18) PRIMARY KEY")
    bulk_insert(conn, "subject_in", ["uscc"], [(u,) for u in frame.get_column("uscc").to_list()])
    known = conn.exec_driver_sql(
        "SELECT s.uscc, s.id, s.name FROM subject s JOIN subject_in i ON i.uscc = s.uscc"
    ).all()
    conn.exec_driver_sql("DROP TABLE subject_in")
    known_df = pl.DataFrame(
        known,
        schema={"uscc": pl.String, "subject_id": pl.Int64, "old_name": pl.String},
        orient="row",
    )
    fresh = frame.join(known_df, on="uscc", how="anti")
    insert_subjects(conn, fresh)
    existing = frame.join(known_df, on="uscc", how="inner")
    if existing.height:
        _update_existing(conn, existing)
    return fresh.height, existing.height


def _update_existing(conn: Connection, existing: pl.DataFrame) -> None:
    now = clock.now()
    renamed = existing.filter(pl.col("name") != pl.col("old_name"))
    if renamed.height:
        # The old current-name row becomes a former name; the new name is indexed.
        ids = renamed.get_column("subject_id").to_list()
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            marks = ", ".join(str(int(i)) for i in part)
            conn.exec_driver_sql(
                f"UPDATE subject_name SET is_current = false, until = '{now.date().isoformat()}' "
                f"WHERE is_current AND subject_id IN ({marks})"
            )
        index_names(conn, renamed.select("subject_id", "name", "name_norm"), current=True)
    # Only the attributes the source provides are refreshed: a partial update never blanks others.
    present = [c for c in UPDATABLE if c in existing.columns]
    cols = [*present, "name", "name_norm"]
    types = {c: _column_sql_type(c) for c in cols}
    temp_table(
        conn,
        "subject_upd",
        "subject_id INTEGER PRIMARY KEY, " + ", ".join(f"{c} {types[c]}" for c in cols),
    )
    upd = existing.select("subject_id", *cols)
    if conn.dialect.name == "sqlite":
        upd = upd.with_columns(pl.col(pl.Date).cast(pl.String))
    bulk_insert(conn, "subject_upd", ["subject_id", *cols], upd)
    assignments = ", ".join(f"{c} = u.{c}" for c in cols)
    conn.execute(
        text(
            f"UPDATE subject SET {assignments}, updated_at = :now FROM subject_upd u"
            " WHERE subject.id = u.subject_id"
        ),
        {"now": ts(conn, now)},
    )
    conn.exec_driver_sql("DROP TABLE subject_upd")


def _column_sql_type(name: str) -> str:
    column = Subject.__table__.c[name]
    return column.type.compile(dialect=None) if name != "established_on" else "DATE"


def load_registrations(conn: Connection, path: Path) -> LoadResult:
    from xinyong.subjects.registrations import read_registrations

    subjects, rejected = read_registrations(path)
    inserted, updated = upsert_subjects(conn, subjects)
    return LoadResult(inserted, updated, rejected)


def rebuild_gram_stats(conn: Connection) -> None:
    conn.exec_driver_sql("DELETE FROM gram_stat")
    conn.exec_driver_sql(
        "INSERT INTO gram_stat (gram, df) SELECT gram, COUNT(*) FROM subject_name_gram GROUP BY gram"
    )


def find_subject(session: Session, key: str) -> Subject | None:
    """By credit code, then by exact (normalised) name, then by numeric id."""
    from xinyong.subjects.names import normalize_name

    key = key.replace("\x00", "").strip()
    subject = session.scalar(select(Subject).where(Subject.uscc == key.upper()))
    if subject is not None:
        return subject
    norm = normalize_name(key)
    matches = session.scalars(
        select(Subject)
        .join(SubjectName, SubjectName.subject_id == Subject.id)
        .where(SubjectName.name_norm == norm)
        .distinct()
        .limit(2)
    ).all()
    if len(matches) == 1:
        return matches[0]
    if key.isdigit():
        return session.get(Subject, int(key))
    return None


def former_names(session: Session, subject_id: int) -> list[str]:
    return list(
        session.scalars(
            select(SubjectName.name)
            .where(SubjectName.subject_id == subject_id, SubjectName.is_current.is_(False))
            .order_by(SubjectName.id)
        )
    )


def open_reviews(session: Session, limit: int = 100, offset: int = 0) -> list[SubjectReview]:
    return list(
        session.scalars(
            select(SubjectReview)
            .where(SubjectReview.status == "open")
            .order_by(SubjectReview.id)
            .limit(limit)
            .offset(offset)
        )
    )

"""Tables of the evaluation engine: model versions, runs, current results and their history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base

MODEL_STATUSES = ("draft", "active", "retired")


class EvaluationModel(Base):
    """One version of one model file. An activated version is immutable: its text and digest are
    kept as they were, and a changed file must carry a new version."""

    __tablename__ = "evaluation_model"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    visibility: Mapped[str] = mapped_column(String(12), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="draft")
    # builtin (shipped data file) or department:<code> (一业一策, uploaded)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    extends: Mapped[str | None] = mapped_column(String(100))  # name@version
    text: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(100))
    activated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    activated_by: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (UniqueConstraint("name", "version", name="ux_evaluation_model_version"),)


class EvaluationRun(Base):
    """One evaluation pass: a batch over the model's scope, an incremental update or a dry run."""

    __tablename__ = "evaluation_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(64), nullable=False)
    model_version: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # batch/incremental/dry_run
    as_of: Mapped[dt.date] = mapped_column(Date, nullable=False)
    subjects: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    changed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    distribution: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    seconds: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # "last evaluated" of a model: the latest batch run (incremental runs add a row per push)
    __table_args__ = (Index("ix_evaluation_run_model_kind", "model_name", "kind", "as_of"),)


class EvaluationResult(Base):
    """The current result of each subject under each model (one row per model and subject).
    ``as_of`` is the date the result was established: a batch that finds the same result leaves
    the row alone; the date of the latest evaluation is that of the model's latest batch run.

    Clustered by (model, subject) so a batch rewrites one contiguous range and a profile reads
    a subject's results by the secondary index.
    """

    __tablename__ = "evaluation_result"
    model_name: Mapped[str] = mapped_column(String(64), nullable=False)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    model_version: Mapped[str] = mapped_column(String(32), nullable=False)
    as_of: Mapped[dt.date] = mapped_column(Date, nullable=False)
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(16))
    colour: Mapped[str | None] = mapped_column(String(16))
    tags: Mapped[str] = mapped_column(Text, nullable=False, default="")  # ",a,b," for LIKE
    vetoes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    __table_args__ = (
        PrimaryKeyConstraint("model_name", "subject_id"),
        Index("ix_evaluation_result_subject", "subject_id"),
        {"sqlite_with_rowid": False},
    )


class EvaluationHistory(Base):
    """Every change of a subject's result, appended: the grade history and the source of
    grade-change events (``prev_grade`` differs from ``grade``) that alerts and notifications
    read."""

    __tablename__ = "evaluation_history"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    model_name: Mapped[str] = mapped_column(String(64), nullable=False)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    model_version: Mapped[str] = mapped_column(String(32), nullable=False)
    as_of: Mapped[dt.date] = mapped_column(Date, nullable=False)
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(16))
    colour: Mapped[str | None] = mapped_column(String(16))
    tags: Mapped[str] = mapped_column(Text, nullable=False, default="")
    vetoes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    prev_grade: Mapped[str | None] = mapped_column(String(16))
    prev_colour: Mapped[str | None] = mapped_column(String(16))
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    __table_args__ = (
        Index("ix_evaluation_history_subject", "subject_id", "model_name", "id"),
        Index("ix_evaluation_history_model_asof", "model_name", "as_of"),
    )

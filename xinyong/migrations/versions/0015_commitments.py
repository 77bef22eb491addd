"""credit commitments (信用承诺) and their events

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commitment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("matter", sa.String(length=300), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("due_provisional", sa.Boolean(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("text_sha256", sa.String(length=64), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("signed_by", sa.String(length=100), nullable=True),
        sa.Column("signer_account_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("performance_record_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_commitment_subject_id_subject")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"],
            name=op.f("fk_commitment_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment")),
        sa.UniqueConstraint("number", name=op.f("uq_commitment_number")),
    )
    op.create_index(op.f("ix_commitment_subject_id"), "commitment", ["subject_id"])
    op.create_index("ix_commitment_status_due", "commitment", ["status", "due_on"])
    op.create_index("ix_commitment_department", "commitment", ["department_id", "status"])
    op.create_index("ix_commitment_public", "commitment", ["is_public", "status", "id"])
    op.create_table(
        "commitment_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_event")),
    )
    op.create_index(
        "ix_commitment_event_commitment", "commitment_event", ["commitment_id", "kind"]
    )


def downgrade() -> None:
    op.drop_index("ix_commitment_event_commitment", table_name="commitment_event")
    op.drop_table("commitment_event")
    op.drop_index("ix_commitment_public", table_name="commitment")
    op.drop_index("ix_commitment_department", table_name="commitment")
    op.drop_index("ix_commitment_status_due", table_name="commitment")
    op.drop_index(op.f("ix_commitment_subject_id"), table_name="commitment")
    op.drop_table("commitment")

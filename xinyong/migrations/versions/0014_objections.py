"""objections (异议处理): cases, their steps, evidence files

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "objection",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("record_type", sa.String(64), nullable=False),
        sa.Column("source_record_id", sa.String(128), nullable=False),
        sa.Column("record_title", sa.String(300)),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("open_record_key", sa.String(220)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(12)),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("claimed_values", sa.JSON()),
        sa.Column("contact", sa.String(100)),
        sa.Column("filed_by", sa.String(100), nullable=False),
        sa.Column("filed_at", TZ, nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date()),
        sa.Column("due_provisional", sa.Boolean(), nullable=False),
        sa.Column("overdue_stage", sa.String(16)),
        sa.Column("assigned_on", sa.Date()),
        sa.Column("platform_error", sa.Boolean(), nullable=False),
        sa.Column("proposal", sa.String(12)),
        sa.Column("proposal_reason", sa.Text()),
        sa.Column("proposal_values", sa.JSON()),
        sa.Column("decision_reason", sa.Text()),
        sa.Column("decided_values", sa.JSON()),
        sa.Column("new_record_id", sa.BigInteger()),
        sa.Column("closed_at", TZ),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection")),
        sa.UniqueConstraint("open_record_key", name="ux_objection_open_record"),
    )
    op.create_index("ix_objection_status_due", "objection", ["status", "due_on"])
    op.create_index("ix_objection_subject", "objection", ["subject_id", "id"])
    op.create_index("ix_objection_department", "objection", ["department_id", "status"])
    op.create_index("ix_objection_record", "objection", ["record_id"])
    op.create_table(
        "objection_step",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("objection_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("due_on", sa.Date()),
        sa.Column("data", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection_step")),
    )
    op.create_index("ix_objection_step_objection", "objection_step", ["objection_id", "id"])
    op.create_table(
        "objection_evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("objection_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection_evidence")),
    )
    op.create_index("ix_objection_evidence_objection", "objection_evidence", ["objection_id"])


def downgrade() -> None:
    op.drop_index("ix_objection_evidence_objection", table_name="objection_evidence")
    op.drop_table("objection_evidence")
    op.drop_index("ix_objection_step_objection", table_name="objection_step")
    op.drop_table("objection_step")
    for name in ("ix_objection_record", "ix_objection_department", "ix_objection_subject",
                 "ix_objection_status_due"):
        op.drop_index(name, table_name="objection")
    op.drop_table("objection")

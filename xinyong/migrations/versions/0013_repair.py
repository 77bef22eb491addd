"""credit repair (信用修复): applications, materials, steps, repair notices

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "repair_application",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("query_code", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("applicant_account_id", sa.Integer(), nullable=True),
        sa.Column("applicant", sa.String(length=100), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("materials_missing", sa.Boolean(), nullable=False),
        sa.Column("complete_by", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("accept_due", sa.Date(), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("review_due", sa.Date(), nullable=True),
        sa.Column("reviewed_on", sa.Date(), nullable=True),
        sa.Column("review_agrees", sa.Boolean(), nullable=True),
        sa.Column("decision_due", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("decision_serial", sa.String(length=32), nullable=True),
        sa.Column("commitment_text", sa.Text(), nullable=False),
        sa.Column("commitment_signer", sa.String(length=100), nullable=False),
        sa.Column("commitment_signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("commitment_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_application")),
        sa.UniqueConstraint("query_code", name=op.f("uq_repair_application_query_code")),
        sa.UniqueConstraint("decision_serial",
                            name=op.f("uq_repair_application_decision_serial")),
    )
    op.create_index(op.f("ix_repair_application_subject_id"), "repair_application",
                    ["subject_id"])
    op.create_index(op.f("ix_repair_application_record_id"), "repair_application",
                    ["record_id"])
    op.create_index(op.f("ix_repair_application_department_id"), "repair_application",
                    ["department_id"])
    op.create_index("ix_repair_application_status", "repair_application",
                    ["status", "submitted_on"])
    op.create_table(
        "repair_material",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("material", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("file_type", sa.String(length=8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_material")),
    )
    op.create_index(op.f("ix_repair_material_application_id"), "repair_material",
                    ["application_id"])
    op.create_table(
        "repair_step",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("on_day", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_step")),
    )
    op.create_index(op.f("ix_repair_step_application_id"), "repair_step", ["application_id"])
    op.create_table(
        "repair_notice",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("repairable_from", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject_id", "record_id", name=op.f("pk_repair_notice")),
        sa.UniqueConstraint("record_id", name=op.f("uq_repair_notice_record_id")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_repair_notice_due", "repair_notice", ["repairable_from"],
        sqlite_where=sa.text("due_notified_at IS NULL"),
        postgresql_where=sa.text("due_notified_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_repair_notice_due", table_name="repair_notice")
    op.drop_table("repair_notice")
    op.drop_index(op.f("ix_repair_step_application_id"), table_name="repair_step")
    op.drop_table("repair_step")
    op.drop_index(op.f("ix_repair_material_application_id"), table_name="repair_material")
    op.drop_table("repair_material")
    op.drop_index("ix_repair_application_status", table_name="repair_application")
    op.drop_index(op.f("ix_repair_application_department_id"), table_name="repair_application")
    op.drop_index(op.f("ix_repair_application_record_id"), table_name="repair_application")
    op.drop_index(op.f("ix_repair_application_subject_id"), table_name="repair_application")
    op.drop_table("repair_application")

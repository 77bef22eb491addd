"""credit reports (信用报告) and their signed files

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_report",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("serial", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("view", sa.String(length=12), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requester_role", sa.String(length=24), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_size", sa.Integer(), nullable=False),
        sa.Column("cert_sha256", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_credit_report_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_report")),
        sa.UniqueConstraint("serial", name=op.f("uq_credit_report_serial")),
    )
    op.create_index(op.f("ix_credit_report_pdf_sha256"), "credit_report", ["pdf_sha256"])
    op.create_index("ix_credit_report_subject", "credit_report", ["subject_id", "issued_at"])
    op.create_table(
        "credit_report_file",
        sa.Column("report_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["credit_report.id"],
            name=op.f("fk_credit_report_file_report_id_credit_report"),
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_credit_report_file")),
    )


def downgrade() -> None:
    op.drop_table("credit_report_file")
    op.drop_index("ix_credit_report_subject", table_name="credit_report")
    op.drop_index(op.f("ix_credit_report_pdf_sha256"), table_name="credit_report")
    op.drop_table("credit_report")

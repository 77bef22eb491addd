"""credit codes (信用码): issued codes and their scans

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_code",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("colour", sa.String(length=16), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_code")),
    )
    op.create_index(
        "ix_credit_code_subject", "credit_code", ["subject_id", "purpose", "status"]
    )
    op.create_table(
        "credit_code_scan",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_code_scan")),
    )
    op.create_index(op.f("ix_credit_code_scan_code_id"), "credit_code_scan", ["code_id"])
    op.create_index(op.f("ix_credit_code_scan_subject_id"), "credit_code_scan", ["subject_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_credit_code_scan_subject_id"), table_name="credit_code_scan")
    op.drop_index(op.f("ix_credit_code_scan_code_id"), table_name="credit_code_scan")
    op.drop_table("credit_code_scan")
    op.drop_index("ix_credit_code_subject", table_name="credit_code")
    op.drop_table("credit_code")

"""supervision libraries (监管企业库)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 18:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supervision_library",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("condition", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"],
            name=op.f("fk_supervision_library_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_library")),
    )
    op.create_index(
        op.f("ix_supervision_library_department_id"), "supervision_library", ["department_id"]
    )
    op.create_table(
        "supervision_member",
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("library_id", "subject_id", name=op.f("pk_supervision_member")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("supervision_member")
    op.drop_index(op.f("ix_supervision_library_department_id"), table_name="supervision_library")
    op.drop_table("supervision_library")

"""evaluation_run: index for a model's latest batch run

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_evaluation_run_model_kind", "evaluation_run", ["model_name", "kind", "as_of"]
    )


def downgrade() -> None:
    op.drop_index("ix_evaluation_run_model_kind", table_name="evaluation_run")

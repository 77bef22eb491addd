"""records: drop the unused (record_type, decided_on) index of credit_record

No query reads credit_record by record type and date: profiles read by subject (the clustered
key), batch evaluation scans everything grouped by subject, ingest looks records up by their
source key. The index still cost every insert a random B-tree write: on SQLite it was ~60 % of
the time of a raw bulk insert of 200,000 penalties (4.7 s with it, 1.95 s without).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_credit_record_type_decided", table_name="credit_record")


def downgrade() -> None:
    op.create_index(
        "ix_credit_record_type_decided", "credit_record", ["record_type", "decided_on"]
    )

"""records storage: the wide payload moves to credit_record_detail; status_since

``credit_record`` keeps the narrow columns that rules and batch evaluation read; ``data`` and
``class_reason`` move to ``credit_record_detail`` (same key, also clustered by subject), so a
scan of every record grouped by subject reads narrow rows. ``status_since`` is the effective date
of the event that last changed a record's status (NULL while it is the initial ``active``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Event kinds that change a record's status (the projection's ``status``).
STATUS_EVENTS = "('corrected', 'revoked', 'repaired', 'objection_pending', 'reinstated')"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "credit_record_detail",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("class_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("subject_id", "id", name=op.f("pk_credit_record_detail")),
        sqlite_with_rowid=False,
    )
    # in the clustered key's order: the B-tree is appended to, never split
    op.execute(
        "INSERT INTO credit_record_detail (subject_id, id, data, class_reason)"
        " SELECT subject_id, id, data, class_reason FROM credit_record ORDER BY subject_id, id"
    )
    if sqlite:
        # SQLite cannot drop a column of a WITHOUT ROWID table with indexes in place: batch mode
        # rebuilds the table; the table options are given again so it stays WITHOUT ROWID.
        with op.batch_alter_table(
            "credit_record", recreate="always", table_kwargs={"sqlite_with_rowid": False}
        ) as batch_op:
            batch_op.drop_column("data")
            batch_op.drop_column("class_reason")
            batch_op.add_column(sa.Column("status_since", sa.Date(), nullable=True))
    else:
        op.drop_column("credit_record", "data")
        op.drop_column("credit_record", "class_reason")
        op.add_column("credit_record", sa.Column("status_since", sa.Date(), nullable=True))
        # Dropped columns stay in PostgreSQL's existing tuples until the table is rewritten;
        # CLUSTER rewrites it without them, in the subject order that profiles and
        # evaluation read (instant on an empty table).
        op.execute("CLUSTER credit_record USING pk_credit_record")
    op.execute(
        "UPDATE credit_record SET status_since = (SELECT MAX(e.effective_on) FROM record_event e"
        f" WHERE e.record_id = credit_record.id AND e.kind IN {STATUS_EVENTS})"
        " WHERE status <> 'active'"
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        with op.batch_alter_table(
            "credit_record", recreate="always", table_kwargs={"sqlite_with_rowid": False}
        ) as batch_op:
            batch_op.drop_column("status_since")
            batch_op.add_column(sa.Column("data", sa.JSON(), nullable=True))
            batch_op.add_column(sa.Column("class_reason", sa.Text(), nullable=True))
    else:
        op.drop_column("credit_record", "status_since")
        op.add_column("credit_record", sa.Column("data", sa.JSON(), nullable=True))
        op.add_column("credit_record", sa.Column("class_reason", sa.Text(), nullable=True))
    op.execute(
        "UPDATE credit_record SET data = (SELECT d.data FROM credit_record_detail d"
        " WHERE d.subject_id = credit_record.subject_id AND d.id = credit_record.id),"
        " class_reason = (SELECT d.class_reason FROM credit_record_detail d"
        " WHERE d.subject_id = credit_record.subject_id AND d.id = credit_record.id)"
    )
    if sqlite:
        with op.batch_alter_table(
            "credit_record", recreate="always", table_kwargs={"sqlite_with_rowid": False}
        ) as batch_op:
            batch_op.alter_column("data", existing_type=sa.JSON(), nullable=False)
    else:
        op.alter_column("credit_record", "data", existing_type=sa.JSON(), nullable=False)
    op.drop_table("credit_record_detail")

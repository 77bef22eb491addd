"""audit log (审计日志): hash-chained entries, the chain head, append-only triggers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

# The head may only move forward one entry at a time (seq + 1, hash kept), then take the hash
# of the entry it now names: anything else (stepping back to hide a removed tail, pointing at a
# hash no entry has) is refused. Written once, used by both engines' triggers.
HEAD_UPDATE_ALLOWED = (
    "NEW.id = OLD.id AND ("
    "(NEW.seq = OLD.seq + 1 AND NEW.hash = OLD.hash) OR "
    "(NEW.seq = OLD.seq AND EXISTS (SELECT 1 FROM audit_log l"
    " WHERE l.seq = NEW.seq AND l.hash = NEW.hash)))"
)

SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN"
    " SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN"
    " SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head BEGIN"
    " SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END",
    f"CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head WHEN NOT ({HEAD_UPDATE_ALLOWED})"
    " BEGIN SELECT RAISE(ABORT, 'audit_head may only move forward to an existing entry'); END",
]

PG_TRIGGERS = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END $$""",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    f"""CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_head cannot be deleted';
    END IF;
    IF {HEAD_UPDATE_ALLOWED} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_head may only move forward to an existing entry';
END $$""",
    "CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head"
    " FOR EACH ROW EXECUTE FUNCTION audit_head_guard()",
]


def _seq() -> sa.types.TypeEngine[int]:
    # INTEGER PRIMARY KEY on SQLite is the rowid: entries stored in chain order.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", _seq(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_actor_seq", "audit_log", ["actor", "seq"])
    op.create_index("ix_audit_log_subject_seq", "audit_log", ["subject_id", "seq"])
    op.create_index("ix_audit_log_action_seq", "audit_log", ["action", "seq"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.execute(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')")
    bind = op.get_bind()
    for statement in PG_TRIGGERS if bind.dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_head_guard ON audit_head")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_head_guard()")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        for name in ("audit_head_forward", "audit_head_no_delete", "audit_log_no_delete",
                     "audit_log_no_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("audit_head")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_action_seq", table_name="audit_log")
    op.drop_index("ix_audit_log_subject_seq", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_seq", table_name="audit_log")
    op.drop_table("audit_log")

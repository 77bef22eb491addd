"""accounts, sessions, API tokens, messages; department keys become tokens of system accounts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey(
            "department.id", name="fk_account_department_id_department"), nullable=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey(
            "subject.id", name="fk_account_subject_id_subject"), nullable=True),
        sa.Column("organisation", sa.String(200)),
        sa.Column("organisation_uscc", sa.String(18)),
        sa.Column("email", sa.String(200)),
        sa.Column("phone_masked", sa.String(20)),
        sa.Column("id_number_hash", sa.String(64)),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", TZ),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("decided_at", TZ),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("last_login_at", TZ),
        sa.PrimaryKeyConstraint("id", name="pk_account"),
        sa.UniqueConstraint("username", name="uq_account_username"),
    )
    op.create_index("ix_account_role_status", "account", ["role", "status"])
    op.create_index("ix_account_subject", "account", ["subject_id"])
    op.create_index("ix_account_department", "account", ["department_id"])
    op.create_table(
        "auth_session",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey(
            "account.id", name="fk_auth_session_account_id_account"), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("client", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_auth_session"),
    )
    op.create_index("ix_auth_session_account", "auth_session", ["account_id"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey(
            "account.id", name="fk_api_token_account_id_account"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(400), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
        sa.Column("last_used_on", sa.Date()),
        sa.Column("is_department_key", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        sa.UniqueConstraint("token_hash", name="uq_api_token_token_hash"),
    )
    op.create_index("ix_api_token_account", "api_token", ["account_id"])
    op.create_table(
        "account_message",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey(
            "account.id", name="fk_account_message_account_id_account"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(400)),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("read_at", TZ),
        sa.PrimaryKeyConstraint("id", name="pk_account_message"),
    )
    op.create_index("ix_account_message_account", "account_message", ["account_id", "id"])

    # Each department key issued before accounts existed keeps working: it becomes the key of
    # the department's system account, valid for a year from the upgrade.
    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    depts = conn.execute(sa.text(
        "SELECT id, code, name, api_key_hash, api_key_prefix FROM department "
        "WHERE api_key_hash IS NOT NULL")).all()
    account = sa.table("account", *(sa.column(c) for c in (
        "username", "display_name", "role", "status", "department_id", "failed_logins",
        "created_at", "decided_at", "decided_by")))
    token = sa.table("api_token", *(sa.column(c) for c in (
        "account_id", "name", "prefix", "token_hash", "scopes", "created_at", "created_by",
        "expires_at", "is_department_key")))
    for d in depts:
        conn.execute(account.insert().values(
            username=f"sys-{d.code}"[:64], display_name=f"{d.name}（系统接口）",
            role="department_system", status="active", department_id=d.id, failed_logins=0,
            created_at=now, decided_at=now, decided_by="migration"))
        account_id = conn.execute(sa.text(
            "SELECT id FROM account WHERE username = :u"), {"u": f"sys-{d.code}"[:64]}).scalar()
        conn.execute(token.insert().values(
            account_id=account_id, name="部门接口密钥", prefix=d.api_key_prefix or "xy_",
            token_hash=d.api_key_hash, scopes="profiles:read records:write supervision",
            created_at=now, created_by="migration", expires_at=now + dt.timedelta(days=365),
            is_department_key=True))
    if conn.dialect.name == "sqlite":
        # SQLite cannot drop a UNIQUE column in place, and rebuilding ``department`` would
        # break the foreign keys of every record pointing at it: the old columns stay, emptied
        # (nothing reads them any more).
        conn.execute(sa.text("UPDATE department SET api_key_hash = NULL, api_key_prefix = NULL"))
    else:
        op.drop_constraint("uq_department_api_key_hash", "department", type_="unique")
        op.drop_column("department", "api_key_hash")
        op.drop_column("department", "api_key_prefix")


def downgrade() -> None:
    # Keys issued as tokens are not copied back: after a downgrade departments need new keys.
    if op.get_bind().dialect.name != "sqlite":
        op.add_column("department", sa.Column("api_key_hash", sa.String(64)))
        op.add_column("department", sa.Column("api_key_prefix", sa.String(12)))
        op.create_unique_constraint("uq_department_api_key_hash", "department", ["api_key_hash"])
    op.drop_table("account_message")
    op.drop_table("api_token")
    op.drop_table("auth_session")
    op.drop_table("account")

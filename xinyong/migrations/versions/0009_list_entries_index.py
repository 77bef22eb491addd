"""records: a partial index for the published lists (公示名单)

The public list pages (records/lists.py) read the entries of one list type in date order and
count those the public may see. No index served that: 0005 dropped (record_type, decided_on)
because every record paid for it on ingest and nothing read it. This one covers only the four
list types (about 3 % of the records at city scale), so penalties, licences and inspections, the
bulk of every ingest, are not in it and pay nothing; and it holds the columns of the public
visibility rule, so a count or a page never reads the table. Measured on 1M subjects / 20M
records: see the note in records/lists.py. Creating it there took 7 s (SQLite) and 9 s
(PostgreSQL); it holds 575,000 entries (53 MB on PostgreSQL).

SQLite uses a partial index only when a query holds one of its predicate's terms as written;
lists.py names each list with such a literal ``record_type = '...'``. A change to the lists
needs a new migration recreating the index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIST_TYPES = (
    "serious_dishonesty_list",
    "dishonest_judgment_debtor",
    "consumption_restriction",
    "abnormal_operations_list",
)
# An OR of equalities rather than IN: SQLite evaluates an IN list for every inserted row by
# building a small table, which made a raw insert of 200,000 penalties 38 % slower (as much as
# a full index); with the OR the penalties' insert time does not move (1.1-1.2 s either way),
# on PostgreSQL neither. List records themselves pay: +40 % (SQLite), +65 % (PostgreSQL COPY).
PREDICATE = " OR ".join(f"record_type = '{t}'" for t in LIST_TYPES)
COLUMNS = [
    "record_type",
    "decided_on",
    "id",
    "subject_id",
    "status",
    "disclosure",
    "is_current",
    "publicity_until",
    "publicity_rule",
]


def upgrade() -> None:
    op.create_index(
        "ix_credit_record_list",
        "credit_record",
        COLUMNS,
        sqlite_where=sa.text(PREDICATE),
        postgresql_where=sa.text(PREDICATE),
    )


def downgrade() -> None:
    op.drop_index("ix_credit_record_list", table_name="credit_record")

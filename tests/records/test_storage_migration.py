"""Migration 0002 (the record payload moves to credit_record_detail) on a database holding
records written under 0001, on SQLite and PostgreSQL; and its downgrade."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import PG_SERVER, _pg_reachable
from xinyong.core.db import make_engine
from xinyong.core.migrate import alembic_config, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def bare(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind, not migrated."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield eng
        eng.dispose()
        return
    problem = _pg_reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    name = f"xinyong_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    eng = make_engine(PG_SERVER.rsplit("/", 1)[0] + "/" + name)
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _downgrade(eng: Engine, revision: str) -> None:
    cfg = alembic_config(eng.url.render_as_string(hide_password=False))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


ROWS = (
    "INSERT INTO credit_record (subject_id, id, record_type, category, department_id,"
    " source_record_id, version, content_hash, catalog_version, polarity, disclosure, data,"
    " created_at, class_reason, status, is_current) VALUES"
    " (7, 5, 'administrative_penalty', 'administrative', 1, 'A', 1, 'h1', 'v', 'negative',"
    "  'public', '{\"doc_number\": \"A\"}', '2026-01-01 00:00:00', '按规则判定为一般',"
    "  'corrected', false),"
    " (7, 6, 'administrative_penalty', 'administrative', 1, 'A', 2, 'h2', 'v', 'negative',"
    "  'public', '{\"doc_number\": \"A\", \"fine_amount\": 500000}', '2026-02-03 00:00:00',"
    "  NULL, 'active', true),"
    " (9, 8, 'honor', 'honor', 1, 'B', 1, 'h3', 'v', 'positive', 'public', '{}',"
    "  '2026-01-01 00:00:00', NULL, 'active', true)"
)


def test_upgrade_moves_the_payload_and_keeps_the_clustered_key(bare: Engine) -> None:
    upgrade(bare, "0001")
    with bare.begin() as conn:
        conn.execute(text(ROWS))
        conn.execute(
            text(
                "INSERT INTO record_event (id, record_id, subject_id, kind, effective_on,"
                " occurred_at) VALUES (1, 5, 7, 'corrected', '2026-02-03', '2026-02-03 00:00:00')"
            )
        )
    upgrade(bare)
    with bare.connect() as conn:
        q = conn.exec_driver_sql
        cols = (
            [r[1] for r in q("PRAGMA table_info(credit_record)")]
            if bare.dialect.name == "sqlite"
            else q(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'credit_record'"
            ).scalars().all()
        )
        assert "data" not in cols and "class_reason" not in cols and "status_since" in cols
        detail = q(
            "SELECT subject_id, id, CAST(data AS TEXT), class_reason FROM credit_record_detail"
            " ORDER BY subject_id, id"
        ).all()
        assert [tuple(r[:2]) for r in detail] == [(7, 5), (7, 6), (9, 8)]
        assert '"fine_amount"' in detail[1][2] and detail[0][3] == "按规则判定为一般"
        since = dict(q("SELECT id, status_since FROM credit_record").all())
        assert str(since[5]) == "2026-02-03" and since[6] is None and since[8] is None
        if bare.dialect.name == "sqlite":
            ddl = dict(
                q("SELECT name, sql FROM sqlite_master WHERE name LIKE 'credit_record%'").all()
            )
            assert "WITHOUT ROWID" in ddl["credit_record"]
            assert "WITHOUT ROWID" in ddl["credit_record_detail"]
            assert "PRIMARY KEY (subject_id, id)" in ddl["credit_record"]
            names = set(
                q("SELECT name FROM sqlite_master WHERE tbl_name = 'credit_record'")
                .scalars()
                .all()
            )
            assert "ux_credit_record_source" in names
    _downgrade(bare, "0001")
    with bare.connect() as conn:
        back = conn.exec_driver_sql(
            "SELECT id, CAST(data AS TEXT), class_reason FROM credit_record ORDER BY id"
        ).all()
    assert [r[0] for r in back] == [5, 6, 8] and back[0][2] == "按规则判定为一般"
    upgrade(bare)  # and up again


def test_migrations_match_the_models(bare: Engine) -> None:
    """What ``alembic check`` checks: the migrated schema is what the models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import xinyong.core.all_models  # noqa: F401
    from xinyong.core.db import Base

    upgrade(bare)
    with bare.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    if bare.dialect.name == "sqlite":
        # 0007 empties, but cannot drop, the department's old key columns on SQLite (a UNIQUE
        # column needs a table rebuild, which the records' foreign keys forbid): known leftovers.
        def leftover(d: object) -> bool:
            text = repr(d)
            return "department" in text and "api_key_" in text

        diff = [d for d in diff if not leftover(d)]
    assert diff == []

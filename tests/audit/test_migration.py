"""Migration 0008 goes down and up again on both databases, triggers included."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from tests.audit.helpers import fill
from xinyong.audit import service
from xinyong.core.migrate import alembic_config, upgrade


def _downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_down_and_up(engine: Engine) -> None:
    fill(engine)
    try:
        _downgrade(engine, "0007")
        assert not {"audit_log", "audit_head"} & set(inspect(engine).get_table_names())
    finally:
        upgrade(engine)
    with engine.begin() as conn:
        assert service.head(conn) == (0, service.GENESIS)
        assert service.append(conn, actor="system", action="account.login") == 1
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log")

"""Engine set-up: what every PostgreSQL session is given."""

from __future__ import annotations

from urllib.parse import quote

from xinyong.core.db import PG_TEMP_BUFFERS, make_engine


def test_postgresql_sessions_get_room_for_staging_tables(pg_database: str) -> None:
    """Ingest stages a batch in temporary tables; the session's buffers for them are sized at
    connect time, and a deployer's own ``options`` in the URL are kept beside it."""
    own = pg_database + "?options=" + quote("-c statement_timeout=60000")
    for url, timeout in ((pg_database, "0"), (own, "1min")):
        eng = make_engine(url)
        try:
            with eng.connect() as conn:
                assert conn.exec_driver_sql("SHOW temp_buffers").scalar() == PG_TEMP_BUFFERS
                assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == timeout
        finally:
            eng.dispose()

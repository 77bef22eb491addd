"""Test harness: every database test runs on SQLite and on PostgreSQL.

SQLite: the schema is migrated once into a template file, copied for each test.
PostgreSQL: one database per test session (created on the server at 127.0.0.1:5432, dropped at
the end), migrated once, and emptied with TRUNCATE between tests. Locally, PostgreSQL tests skip
with a clear message when no server answers; in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

# Rich reads COLUMNS when a module-level Console is made, before a test's CliRunner env applies;
# pytest-xdist workers have no terminal and Rich would use 80 columns, cutting the CLI tables the
# tests read.
os.environ.setdefault("COLUMNS", "240")
# The app freezes the garbage collector's view of its startup heap (XINYONG_GC_FREEZE): right for
# one long-lived server, but a test process starts hundreds of apps, and whatever is frozen and
# later dropped in a reference cycle would never be collected.
os.environ.setdefault("XINYONG_GC_FREEZE", "0")

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from xinyong.core import clock
from xinyong.core.db import Base, make_engine, set_engine
from xinyong.core.migrate import upgrade

PG_SERVER = os.environ.get("XINYONG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REALDATA = Path(
    os.environ.get(
        "XINYONG_REALDATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "realdata"
    )
)


def _pg_reachable() -> str | None:
    try:
        eng = make_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    problem = _pg_reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {problem}")
    name = f"xinyong_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_SERVER.rsplit("/", 1)[0] + "/" + name
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(eng: Engine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each kind, installed as the application's engine."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        eng = make_engine(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("pg_database")
        eng = make_engine(url)
        _truncate_all(eng)
    set_engine(eng)
    try:
        yield eng
    finally:
        set_engine(None)
        eng.dispose()
        clock.set_today(None)


@pytest.fixture
def sqlite_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """SQLite only: for tests about the embedded default itself."""
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "test.db"
    shutil.copy(template, path)
    eng = make_engine(f"sqlite:///{path}")
    set_engine(eng)
    yield eng
    set_engine(None)
    eng.dispose()


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.set_today(None)


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not (REALDATA / "enterprises-2019.csv.gz").exists():
        pytest.skip(f"real data not found in {REALDATA}")
    return REALDATA

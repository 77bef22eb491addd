"""One seeded world per database engine, shared by the whole ``tests/access`` package.

The world is set up like the suite's ``engine`` fixture (``tests/conftest.py``: a copy of the
migrated SQLite template, or the session's PostgreSQL database emptied), but once per package
rather than once per test: the matrix has thousands of cases, and each account of the world
costs an argon2 hash. Both engines, as everywhere.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from tests.access.world import OPERATOR_TOKEN, TODAY, World, build
from tests.conftest import _truncate_all
from xinyong.accounts import service as accounts
from xinyong.core import clock, ratelimit
from xinyong.core.config import get_settings
from xinyong.core.db import make_engine, set_engine


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    patch = pytest.MonkeyPatch()
    data = tmp_path_factory.mktemp(f"access-{request.param}")
    patch.setenv("XINYONG_ADMIN_TOKEN", OPERATOR_TOKEN)
    patch.setenv("XINYONG_DATA_DIR", str(data / "data"))
    # the matrix calls the public search routes far more often than a person would
    patch.setenv("XINYONG_SEARCH_RATE", "off")
    patch.delenv("XINYONG_TODAY", raising=False)
    # Argon2 at its test-suite minimum: the world has a dozen accounts and logins, and what is
    # tested here is who may call what, not the cost of a hash (tests/accounts cover that).
    patch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    get_settings.cache_clear()
    ratelimit.reset()
    if request.param == "sqlite":
        path = data / "access.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        eng = make_engine(f"sqlite:///{path}")
    else:
        eng = make_engine(request.getfixturevalue("pg_database"))
        _truncate_all(eng)
    set_engine(eng)
    w = None
    try:
        w = build(eng, request.param)
        yield w
    finally:
        if w is not None:
            w.close()
        set_engine(None)
        eng.dispose()
        clock.set_today(None)
        patch.undo()
        get_settings.cache_clear()
        ratelimit.reset()


@pytest.fixture(autouse=True)
def _today() -> None:
    """The suite resets the clock after every test; the world lives at its own date."""
    clock.set_today(TODAY)

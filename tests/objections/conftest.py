"""Fixtures: the objection world on each engine, an application with an upload folder of its own,
and logged-in clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.auth import login
from tests.objections import helpers as h
from xinyong.accounts import service as accounts
from xinyong.core.config import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XINYONG_DATA_DIR", str(tmp_path / "data"))
    # what is tested here is objections, not the cost of a password hash
    monkeypatch.setattr(accounts, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.fixture
def world(engine: Engine, data_dir: Path) -> h.World:
    return h.build(engine)


@pytest.fixture
def client_for(world: h.World) -> Iterator[Callable[[str], TestClient]]:
    from xinyong.app import create_app

    app = create_app()
    made: list[TestClient] = []

    def make(username: str) -> TestClient:
        c = TestClient(app, raise_server_exceptions=True)
        made.append(c)
        return login(c, username) if username else c

    yield make
    for c in made:
        c.close()

"""A small world for credit codes: models active, a few subjects, a subject account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.auth import create_user
from tests.evaluation import builders as b
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.evaluation import service as evaluation

TOKEN = "codes-operator-token"
OPERATOR = {"Authorization": f"Bearer {TOKEN}"}
HTML = {"accept": "text/html"}
# Subject numbers: an honoured enterprise (green), a plain one (blue), one never evaluated,
# a natural person.
HONOURED, PLAIN, UNRATED, PERSON = 31, 32, 33, 34


@pytest.fixture
def world(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("XINYONG_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("XINYONG_SECRET_KEY", "codes-test-secret")
    monkeypatch.delenv("XINYONG_CREDIT_CODE_KEYS", raising=False)
    get_settings.cache_clear()
    clock.set_today(b.AS_OF)
    b.departments()
    with engine.begin() as conn:
        evaluation.sync_builtin_models(conn)
    ids = {
        "honoured": b.subject(engine, HONOURED, name="广州守信示范有限公司"),
        "plain": b.subject(engine, PLAIN, name="广州普通贸易有限公司"),
        "person": b.subject(engine, PERSON, name="张三", kind="natural_person"),
    }
    b.honor(engine, HONOURED, "2026-03-01")
    evaluation.evaluate(engine, "huixin_code", as_of=b.AS_OF)
    # Registered after the batch and without records: no result under any model.
    ids["unrated"] = b.subject(engine, UNRATED, name="广州新设科技有限公司")
    create_user("codes-subject", "subject", subject=b.code(HONOURED))
    create_user("codes-person", "subject", subject=b.code(PERSON))
    create_user("codes-provider", "provider")
    create_user("codes-officer", "department_officer", department="market")
    yield ids
    get_settings.cache_clear()


@pytest.fixture
def client(world: dict[str, Any]) -> Iterator[TestClient]:
    from xinyong.app import create_app

    with TestClient(create_app()) as c:
        yield c

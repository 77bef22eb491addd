"""The profile endpoint: the fast path for public profiles by credit code, and the general
path for everything else (a department's key, a name or an id), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.records.helpers import HUAWEI, TENCENT, department, penalty, subjects
from xinyong.app import create_app
from xinyong.core import clock
from xinyong.records.ingest import ingest_records


@pytest.fixture
def client(engine: Engine) -> tuple[TestClient, str]:
    clock.set_today(dt.date(2026, 11, 22))
    key = department()
    subjects(engine, [HUAWEI, TENCENT])
    ingest_records(
        engine,
        [penalty(), penalty(doc_number="M-1", penalty_kinds="警告", content="警告",
                            fine_amount=None, procedure="简易程序")],
        record_type="administrative_penalty",
        department="market",
    )
    return TestClient(create_app()), key


def test_public_profile_by_code(client: tuple[TestClient, str]) -> None:
    c, _ = client
    r = c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["view"] == "public" and body["subject"]["name"] == HUAWEI[1]
    # the minor warning is not publicised; the general penalty is
    assert [x["title"] for cat in body["categories"] for x in cat["records"]] == [
        "深市监罚〔2026〕1号"
    ]
    # by name and by id: the general path, same answer
    by_name = c.get(f"/api/v1/subjects/{HUAWEI[1]}/profile").json()
    by_id = c.get(f"/api/v1/subjects/{body['subject']['id']}/profile").json()
    assert by_name == body == by_id


def test_government_view_needs_a_valid_key(client: tuple[TestClient, str]) -> None:
    c, key = client
    r = c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile?view=government")
    assert r.status_code == 401 and r.json()["code"] == "AUTH_REQUIRED"
    r = c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile", headers={"X-API-Key": "xy_wrong"})
    assert r.status_code == 401 and r.json()["code"] == "AUTH_KEY_INVALID"
    gov = c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile?view=government",
                headers={"X-API-Key": key}).json()
    assert gov["view"] == "government" and gov["total"] == 2
    assert all(x["source_record_id"] for cat in gov["categories"] for x in cat["records"])


def test_unknown_subject(client: tuple[TestClient, str]) -> None:
    c, _ = client
    for code in ("91440300MA5XXXXXX1", "没有这家公司"):
        r = c.get(f"/api/v1/subjects/{code}/profile")
        assert r.status_code == 404 and r.json()["code"] == "SUBJECT_NOT_FOUND"
    r = c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile?view=everything")
    assert r.status_code == 422

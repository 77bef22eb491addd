"""The profile endpoint: the fast path for public profiles by credit code, and the general
path for everything else (a department's key, a name or an id), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.routing import Match

from tests.records.helpers import HUAWEI, TENCENT, department, penalty, subjects
from xinyong.app import create_app
from xinyong.core import clock
from xinyong.records.ingest import ingest_records
from xinyong.subjects.api import PublicProfileRoute


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


def _scope(path: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
           ) -> dict[str, object]:
    return {"type": "http", "method": "GET", "path": path, "root_path": "",
            "query_string": query, "headers": headers or []}


def test_only_anonymous_public_reads_take_the_hot_path() -> None:
    """PublicProfileRoute answers a request only when nothing about it needs the API route:
    credentials, another view or a purpose to validate all fall through to it."""
    route = PublicProfileRoute()
    path = f"/api/v1/subjects/{HUAWEI[0]}/profile"
    hot = [_scope(path), _scope(path, b"view=public"), _scope(path, b"view=auto"),
           _scope(path, headers=[(b"cookie", b"theme=dark")])]
    general = [
        _scope(path, b"view=government"),
        _scope(path, b"purpose=" + b"x" * 101),
        _scope(path, b"view=public&purpose=%E6%A3%80%E6%9F%A5"),
        _scope(path, headers=[(b"x-api-key", b"xy_k")]),
        _scope(path, headers=[(b"authorization", b"Bearer t")]),
        _scope(path, headers=[(b"cookie", b"theme=dark; xinyong_session=abc")]),
        _scope(f"/api/v1/subjects/{HUAWEI[0]}"),
        {**_scope(path), "method": "POST"},
    ]
    assert all(route.matches(s)[0] is Match.FULL for s in hot)
    assert all(route.matches(s)[0] is Match.NONE for s in general)


def test_hot_path_and_api_route_give_the_same_answer(client: tuple[TestClient, str]) -> None:
    c, _ = client
    hot = c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile")
    # a purpose sends the same anonymous request through the documented API route
    general = c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile", params={"purpose": "招投标核查"})
    assert hot.status_code == general.status_code == 200
    assert hot.json() == general.json()
    too_long = c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile", params={"purpose": "查" * 101})
    assert too_long.status_code == 422 and too_long.json()["code"] == "REQUEST_INVALID"


def test_personal_data_in_free_text_is_masked_outside_government(
    engine: Engine, client: tuple[TestClient, str]
) -> None:
    """An ID or mobile number a department wrote into a penalty's facts is masked in the
    public and subject views, whether its digits are ASCII, full-width, or stored as JSON
    escapes; the government view shows it as sent."""
    c, key = client
    facts = ("当事人法定代表人（身份证号440106199001011234）联系电话13812345678，"
             "备用电话１３９１２３４５６７８。")
    ingest_records(engine, [penalty(doc_number="M-2", facts=facts)],
                   record_type="administrative_penalty", department="market")

    def facts_of(body: dict) -> str:
        return next(f["value"] for cat in body["categories"] for x in cat["records"]
                    if x["title"] == "M-2" for f in x["fields"] if f["name"] == "facts")

    def check() -> None:
        public = facts_of(c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile").json())
        assert "4401**********1234" in public and "138****5678" in public
        assert "１３９****５６７８" in public
        for clear in ("440106199001011234", "13812345678", "１３９１２３４５６７８"):
            assert clear not in public
        gov = c.get(f"/api/v1/subjects/{HUAWEI[0]}/profile?view=government",
                    headers={"X-API-Key": key}).json()
        assert facts_of(gov) == facts

    check()
    # the same record as a writer that escapes non-ASCII characters would store it
    with engine.begin() as conn:
        rid, data = conn.execute(text(
            "SELECT d.id, CAST(d.data AS TEXT) FROM credit_record_detail d"
            " JOIN credit_record r ON r.id = d.id WHERE r.title = 'M-2'")).one()
        escaped = json.dumps(json.loads(data), ensure_ascii=True)
        assert "\\uff11" in escaped
        conn.execute(text("UPDATE credit_record_detail SET data = :d WHERE id = :i"),
                     {"d": escaped, "i": rid})
    check()

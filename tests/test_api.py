"""The JSON API: department pushes, batches, errors, subjects, profiles, auth errors."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.records.helpers import HUAWEI, TENCENT, department, penalty, subjects
from xinyong.app import create_app
from xinyong.core import clock


@pytest.fixture
def api(engine: Engine) -> tuple[TestClient, str]:
    clock.set_today(dt.date(2026, 11, 22))
    key = department()
    subjects(engine, [HUAWEI, TENCENT])
    return TestClient(create_app()), key


def test_push_requires_a_valid_key(api: tuple[TestClient, str]) -> None:
    client, _ = api
    r = client.post("/api/v1/records/administrative_penalty", json={"records": [penalty()]})
    assert r.status_code == 401 and r.json()["code"] == "AUTH_KEY_REQUIRED"
    r = client.post("/api/v1/records/administrative_penalty", json={"records": [penalty()]},
                    headers={"X-API-Key": "xy_wrong"})
    assert r.status_code == 401 and "无效" in r.json()["message"]


def test_push_batches_errors_and_profile(api: tuple[TestClient, str]) -> None:
    client, key = api
    h = {"X-API-Key": key}
    r = client.post("/api/v1/records/administrative_penalty", headers=h, json={
        "records": [penalty(), penalty(doc_number="2号", decided_on="2026-13-01")]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["inserted"] == 1 and body["rejected"] == 1
    assert body["errors"][0] == {
        "row_number": 2, "field": "decided_on", "code": "DATE_INVALID",
        "message": body["errors"][0]["message"], "value": "2026-13-01"}
    batch_id = body["batch_id"]
    assert client.get("/api/v1/batches", headers=h).json()["total"] == 1
    detail = client.get(f"/api/v1/batches/{batch_id}", headers=h).json()
    assert detail["rows_rejected"] == 1 and detail["errors"][0]["code"] == "DATE_INVALID"
    csv = client.get(f"/api/v1/batches/{batch_id}/errors.csv", headers=h)
    assert csv.status_code == 200 and "DATE_INVALID" in csv.content.decode("utf-8-sig")
    xlsx = client.get(f"/api/v1/batches/{batch_id}/errors.xlsx", headers=h)
    assert xlsx.content[:2] == b"PK"

    prof = client.get(f"/api/v1/subjects/{HUAWEI[0]}/profile").json()
    assert prof["view"] == "public" and prof["subject"]["name"] == HUAWEI[1]
    assert prof["total"] == 1
    rec = next(r for c in prof["categories"] for r in c["records"])
    assert rec["amount_yuan"] == "5000.00" and rec["source_record_id"] is None
    r = client.get(f"/api/v1/subjects/{HUAWEI[0]}/profile?view=government")
    assert r.status_code == 401
    gov = client.get(f"/api/v1/subjects/{HUAWEI[0]}/profile?view=government", headers=h).json()
    assert gov["view"] == "government"


def test_upload_file_and_unknown_things(api: tuple[TestClient, str]) -> None:
    client, key = api
    h = {"X-API-Key": key}
    csv = ("行政相对人名称,统一社会信用代码,行政处罚决定书文号,违法行为类型,违法事实,处罚依据,处罚类别,"
           "处罚内容,罚款金额（万元）,处罚决定日期,处罚机关\n"
           f"{TENCENT[1]},{TENCENT[0]},罚1号,虚假宣传,事实,依据,罚款,罚款,0.5,2026年9月9日,深圳市某局\n")
    r = client.post("/api/v1/records/administrative_penalty/upload", headers=h,
                    files={"file": ("p.csv", csv.encode("gbk"), "text/csv")},
                    data={"profile": "dual_publicity_penalty"})
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 1
    r = client.post("/api/v1/records/no_such_type", headers=h, json={"records": [penalty()]})
    assert r.status_code == 404 and r.json()["code"] == "CATALOG_UNKNOWN_TYPE"
    r = client.post("/api/v1/records/administrative_penalty/upload", headers=h,
                    files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert r.status_code == 400 and r.json()["code"] == "COLUMNS_MISSING"
    assert "缺少" in r.json()["message"]


def test_subject_search_and_lookup(api: tuple[TestClient, str]) -> None:
    client, _ = api
    r = client.get("/api/v1/subjects", params={"q": "腾讯"}).json()
    assert r["total"] == 1 and r["items"][0]["uscc"] == TENCENT[0]
    assert client.get(f"/api/v1/subjects/{HUAWEI[0]}").json()["name"] == HUAWEI[1]
    r = client.get("/api/v1/subjects/91000000000000000X")
    assert r.status_code == 404 and r.json()["code"] == "SUBJECT_NOT_FOUND"
    assert client.get("/api/v1/catalog").json()["version"]
    assert client.get("/openapi.json").status_code == 200


def test_admin_api_needs_the_operator_token(api: tuple[TestClient, str]) -> None:
    from xinyong.core.security import admin_token

    client, _ = api
    assert client.get("/api/v1/admin/pending").status_code == 401
    r = client.get("/api/v1/admin/pending", headers={"Authorization": f"Bearer {admin_token()}"})
    assert r.status_code == 200 and r.json()["total"] == 0

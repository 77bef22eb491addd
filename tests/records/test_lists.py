"""Published lists (公示名单), on SQLite and PostgreSQL: what the public sees (in publicity, not
after it ends, not when repaired, revoked or restricted, never a natural person), filters,
sorting, paging, the JSON API and the pages, and that every statement can use the list index."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from tests.records.helpers import department
from xinyong.core import clock, ratelimit
from xinyong.core.db import session_scope
from xinyong.records import lists as lists_service
from xinyong.records import service
from xinyong.records.ingest import ingest_records
from xinyong.records.lists import LIST_TYPES, list_entries, published_lists, region_prefix
from xinyong.records.models import CreditRecord
from xinyong.subjects.names import normalize_name
from xinyong.subjects.service import index_names, insert_subjects

TODAY = dt.date(2026, 11, 22)
HTML = {"accept": "text/html,application/xhtml+xml"}

# Real codes (check characters verified); names and places are the test's own.
ALPHA = ("914403001922038216", "深圳市阿尔法科技有限公司", "440305", "广东省", "深圳市")
BETA = ("91440300708461136T", "深圳市贝塔贸易有限公司", "440304", "广东省", "深圳市")
GAMMA = ("91330100799655058B", "杭州伽马餐饮管理有限公司", "330106", "浙江省", "杭州市")
DELTA = ("9144030071526726XG", "深圳市德尔塔物流有限公司", "440306", "广东省", "深圳市")
PERSON = "张某某"
PERSON_ID = "440106199001011235"


@pytest.fixture(autouse=True)
def _no_rate_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # These tests read pages many times from one client; the limit has its own tests.
    monkeypatch.setenv("XINYONG_SEARCH_RATE", "0")
    ratelimit.reset()
    # PostgreSQL tests share one database URL (emptied between tests): no count carries over
    lists_service.forget_counts()
    yield
    ratelimit.reset()


@pytest.fixture(params=["few", "all", "walk"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every way a page is found, as a city-scale list takes them: from the few subjects the
    filters name; from the list's entries, all matching ones sorted here; or by walking an
    index in order (the list's by date, the subjects' by name)."""
    if request.param in ("all", "walk"):
        monkeypatch.setattr(lists_service, "CANDIDATE_CAP", 0)
    if request.param == "walk":
        monkeypatch.setattr(lists_service, "FETCH_ALL_MAX", 0)
        monkeypatch.setattr(lists_service, "NAME_BATCH", 1)  # several batches, even here
    return str(request.param)


def serious(subject: tuple[str, ...] | None, doc: str, **over: str) -> dict[str, str]:
    row = {
        "list_name": "严重违法失信名单",
        "reason": "提交虚假材料取得登记",
        "listing_doc_number": doc,
        "listed_on": "2026-03-01",
        "authority": "深圳市市场监督管理局",
    }
    if subject is not None:
        row |= {"subject_name": subject[1], "uscc": subject[0]}
    return row | over


def abnormal(subject: tuple[str, ...], doc: str, listed_on: str, **over: str) -> dict[str, str]:
    return {
        "subject_name": subject[1], "uscc": subject[0], "reason": "未按规定报送年度报告",
        "listed_on": listed_on, "listing_doc_number": doc, "authority": "深圳市市场监督管理局",
    } | over


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    clock.set_today(TODAY)
    department("market", "深圳市市场监督管理局")
    department("court", "深圳市中级人民法院")
    people = [ALPHA, BETA, GAMMA, DELTA]
    with engine.begin() as conn:
        frame = insert_subjects(conn, pl.DataFrame({
            "uscc": [p[0] for p in people] + [None],
            "uscc_status": ["verified"] * 4 + ["none"],
            "kind": ["legal_person"] * 4 + ["natural_person"],
            "name": [p[1] for p in people] + [PERSON],
            "name_norm": [normalize_name(n) for n in [p[1] for p in people] + [PERSON]],
            "region_code": [p[2] for p in people] + ["440106"],
            "province": [p[3] for p in people] + [None],
            "city": [p[4] for p in people] + [None],
            "id_number_masked": [None] * 4 + ["4401**********1235"],
        }))
        ids = dict(zip(frame["name"].to_list(), frame["subject_id"].to_list(), strict=True))
        # BETA's former name: a list is searched by the name the subject was listed under
        index_names(conn, pl.DataFrame({
            "subject_id": [ids[BETA[1]]], "name": ["深圳市旧贝壳商行"],
            "name_norm": [normalize_name("深圳市旧贝壳商行")],
        }), current=False)
    res = ingest_records(engine, [
        serious(ALPHA, "深市监严〔2026〕1号", listed_on="2026-03-01", valid_until="2029-02-28"),
        serious(BETA, "深市监严〔2025〕7号", listed_on="2025-06-15"),
        serious(GAMMA, "杭市监严〔2024〕3号", listed_on="2024-01-10", reason="拒不履行行政处罚决定"),
        {"subject_name": PERSON, "list_name": "严重违法失信名单", "reason": "个人失信",
         "listing_doc_number": "深市监严〔2026〕9号", "listed_on": "2026-04-01",
         "authority": "深圳市市场监督管理局", "subject_kind": "自然人", "id_number": PERSON_ID},
    ], record_type="serious_dishonesty_list", department="market")
    assert res.inserted == 4, (res.errors, res.pending)
    res = ingest_records(engine, [
        abnormal(ALPHA, "深市监异〔2026〕1号", "2026-01-05"),
        abnormal(DELTA, "深市监异〔2026〕2号", "2026-02-05"),
    ], record_type="abnormal_operations_list", department="market")
    assert res.inserted == 2, res.errors
    res = ingest_records(engine, [
        {"subject_name": DELTA[1], "uscc": DELTA[0], "case_number": "（2026）粤03执123号",
         "court": "深圳市中级人民法院", "listed_on": "2026-05-20", "behaviour": "有履行能力而拒不履行"},
    ], record_type="dishonest_judgment_debtor", department="court")
    assert res.inserted == 1, res.errors
    return ids


def _entries(code: str = "serious_dishonesty_list", **kw: Any) -> tuple[list[dict[str, Any]], int]:
    with session_scope() as s:
        return list_entries(s, code, **kw)


def _names(code: str = "serious_dishonesty_list", **kw: Any) -> list[str]:
    return [e["subject_name"] for e in _entries(code, **kw)[0]]


def _record_id(doc: str) -> int:
    with session_scope() as s:
        return int(s.scalars(select(CreditRecord.id).where(CreditRecord.source_record_id == doc))
                   .one())


def _app() -> FastAPI:
    from xinyong.app import create_app
    from xinyong.records.lists_api import router as api
    from xinyong.records.lists_pages import router as pages

    app = create_app()
    paths = {getattr(r, "path", None) for r in app.routes}
    # until app.py includes them; included once either way
    if "/api/v1/lists" not in paths:
        app.include_router(api)
    if "/lists" not in paths:
        app.include_router(pages)
    return app


@pytest.fixture
def client(world: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(_app()) as c:
        yield c


# ------------------------------------------------------------------------------ the rule


def test_entry_in_publicity_is_listed(world: dict[str, int]) -> None:
    items, total = _entries(sort="date_desc")
    assert total == 3
    first = items[0]
    assert first["subject_name"] == ALPHA[1] and first["uscc"] == ALPHA[0]
    assert first["region_code"] == "440305" and first["region"] == "广东省 深圳市"
    assert first["decided_on"] == "2026-03-01"
    assert first["authority"] == "深圳市市场监督管理局"  # the department that sent it
    assert first["title"] == "严重违法失信名单" and first["reason"] == "提交虚假材料取得登记"
    assert first["publicity_until"] == "2029-02-28"
    assert items[1]["publicity_until"] is None  # on the list until it is removed


def test_hidden_after_publicity_ends(world: dict[str, int]) -> None:
    assert ALPHA[1] in _names()
    assert ALPHA[1] in _names(today=dt.date(2029, 2, 28))  # the last day still counts
    assert ALPHA[1] not in _names(today=dt.date(2029, 3, 1))
    clock.set_today(dt.date(2029, 3, 1))
    assert ALPHA[1] not in _names()
    counts = {x["code"]: x["count"] for x in _published()}
    assert counts["serious_dishonesty_list"] == 2


def _published() -> list[dict[str, Any]]:
    with session_scope() as s:
        return published_lists(s)


@pytest.mark.parametrize("status", ["repaired", "revoked"])
def test_hidden_when_repaired_or_revoked(engine: Engine, world: dict[str, int], status: str) -> None:
    rid = _record_id("深市监严〔2025〕7号")
    with engine.begin() as conn:
        service.change_record_status(conn, record_id=rid, status="objection_pending")
    assert BETA[1] in _names()  # under objection: still shown until decided
    with engine.begin() as conn:
        service.change_record_status(conn, record_id=rid, status=status, actor="op")
    assert BETA[1] not in _names()
    assert {x["code"]: x["count"] for x in _published()}["serious_dishonesty_list"] == 2


def test_hidden_when_restricted(engine: Engine, world: dict[str, int]) -> None:
    # No shipped list type is restricted; a record can still carry that disclosure (a local
    # catalog, a department's own decision), and the rule must hold for it.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE credit_record SET disclosure = 'restricted' WHERE source_record_id = :d"),
            {"d": "杭市监严〔2024〕3号"},
        )
    lists_service.forget_counts()  # written behind the services' back: no hook told the cache
    assert GAMMA[1] not in _names()
    assert _entries()[1] == 2


def test_natural_persons_never_listed(client: TestClient, world: dict[str, int]) -> None:
    with session_scope() as s:
        kinds = s.execute(text(
            "SELECT s.kind FROM credit_record r JOIN subject s ON s.id = r.subject_id"
            " WHERE r.source_record_id = '深市监严〔2026〕9号'")).scalars().all()
    assert kinds == ["natural_person"]  # the record is there, public by type, in publicity
    assert PERSON not in _names()
    assert PERSON not in _names(q="张某")
    assert {x["code"]: x["count"] for x in _published()}["serious_dishonesty_list"] == 3
    for path in ("/api/v1/lists/serious_dishonesty_list", "/lists/serious_dishonesty_list"):
        body = client.get(path, params={"size": 100} if "api" in path else None).text
        assert PERSON not in body and "个人失信" not in body
        assert PERSON_ID not in body and "4401**" not in body


def test_personal_numbers_in_free_text_are_masked(engine: Engine, client: TestClient) -> None:
    res = ingest_records(engine, [serious(
        DELTA, "深市监严〔2026〕5号",
        reason=f"法定代表人（身份证号 {PERSON_ID}，电话 13812345678）提交虚假材料",
    )], record_type="serious_dishonesty_list", department="market")
    assert res.inserted == 1, res.errors
    entry = next(e for e in _entries()[0] if e["subject_name"] == DELTA[1])
    assert entry["reason"] == "法定代表人（身份证号 4401**********1235，电话 138****5678）提交虚假材料"
    for path in ("/api/v1/lists/serious_dishonesty_list", "/lists/serious_dishonesty_list"):
        body = client.get(path, headers=HTML if path.startswith("/lists") else None).text
        assert PERSON_ID not in body and "13812345678" not in body
        assert "138****5678" in body


# ------------------------------------------------------------------------------ filters


def test_filters(world: dict[str, int], plan: str) -> None:
    assert _names(q="阿尔法") == [ALPHA[1]]
    assert _names(q="旧贝壳") == [BETA[1]]  # a former name finds the subject
    assert _names(q="9144030070") == [BETA[1]]  # the start of a credit code
    assert _names(q="91440300708461136t") == [BETA[1]]
    assert _names(q="有限公司", sort="name") == sorted([ALPHA[1], BETA[1], GAMMA[1]])
    assert _names(q="没有这个名字") == []
    assert _names(q="贝塔") == [BETA[1]]  # two characters: one bigram, nothing to verify
    assert _names(q="深圳市贝塔") == [BETA[1]]
    assert sorted(_names(region="4403")) == sorted([ALPHA[1], BETA[1]])
    assert _names(region="440305") == [ALPHA[1]]
    assert _names(region="440300") == sorted([ALPHA[1], BETA[1]], reverse=True)
    assert sorted(_names(region="深圳市")) == sorted([ALPHA[1], BETA[1]])
    assert _names(region="杭州") == [GAMMA[1]]
    assert _names(region="33") == [GAMMA[1]]
    assert _names(year=2025) == [BETA[1]]
    assert _names(year=2023) == []
    assert _names(q="深圳", region="440304", year=2025) == [BETA[1]]
    assert _names(q="深圳", region="4403", sort="name") == sorted([ALPHA[1], BETA[1]])
    assert _entries(q="有限公司", region="33")[1] == 1


def test_too_short_or_too_common(world: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(lists_service.ListError) as exc:
        _entries(q="贝")
    assert exc.value.code == "LIST_QUERY_TOO_SHORT" and "至少输入两个字" in exc.value.message
    monkeypatch.setattr(lists_service, "GRAM_SET_MAX", 2)  # as 有限公司 is at city scale
    with pytest.raises(lists_service.ListError) as exc:
        _entries(q="有限公司")
    assert exc.value.code == "LIST_QUERY_TOO_COMMON" and "更有区分度" in exc.value.message


def test_filter_errors_are_chinese(world: dict[str, int]) -> None:
    for kw, code in (
        ({"region": "火星"}, "LIST_REGION_INVALID"),
        ({"sort": "random"}, "LIST_SORT_INVALID"),
        ({"year": 99}, "LIST_YEAR_INVALID"),
        ({"q": "字" * 101}, "LIST_QUERY_TOO_LONG"),
    ):
        with pytest.raises(lists_service.ListError) as exc:
            _entries(**kw)
        assert exc.value.code == code and exc.value.status == 400
        assert "：请" in exc.value.message


def test_region_prefix() -> None:
    assert region_prefix("440300") == "4403"
    assert region_prefix("440000") == "44"
    assert region_prefix("440305") == "440305"
    assert region_prefix("深圳市") == "4403"
    assert region_prefix("深圳") == "4403"
    assert region_prefix("朝阳区") == "110105"
    with pytest.raises(lists_service.ListError) as exc:
        region_prefix("朝阳")  # 北京市朝阳区 and 辽宁省朝阳市
    assert exc.value.code == "LIST_REGION_AMBIGUOUS"
    assert "110105" in exc.value.message and "211300" in exc.value.message
    with pytest.raises(lists_service.ListError) as exc:
        region_prefix("abc")
    assert exc.value.code == "LIST_REGION_INVALID"


def test_sort_and_paging(world: dict[str, int], plan: str) -> None:
    assert _names(sort="date_desc") == [ALPHA[1], BETA[1], GAMMA[1]]
    assert _names(sort="date_asc") == [GAMMA[1], BETA[1], ALPHA[1]]
    by_name = _names(sort="name")
    assert by_name == sorted(by_name, key=normalize_name)
    page1, total = _entries(limit=2, offset=0)
    page2, total2 = _entries(limit=2, offset=2)
    assert (total, total2) == (3, 3)
    assert [e["subject_name"] for e in page1 + page2] == [ALPHA[1], BETA[1], GAMMA[1]]
    assert _entries(limit=2, offset=10) == ([], 3)
    by_name_pages = [e["subject_name"] for off in (0, 1, 2)
                     for e in _entries(sort="name", limit=1, offset=off)[0]]
    assert by_name_pages == by_name
    assert _names(sort="name", region="44") == sorted([ALPHA[1], BETA[1]], key=normalize_name)
    assert _names(sort="date_asc", region="44") == [BETA[1], ALPHA[1]]


def test_name_order_depth_is_bounded(world: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lists_service, "FETCH_ALL_MAX", 0)
    monkeypatch.setattr(lists_service, "NAME_BATCH", 1)
    monkeypatch.setattr(lists_service, "NAME_WALK_MAX", 2)
    # in name order: 张某某 (a natural person: passed over), then 杭州伽马
    assert [e["subject_name"] for e in _entries(sort="name", limit=1)[0]] == [GAMMA[1]]
    with pytest.raises(lists_service.ListError) as exc:
        _entries(sort="name", limit=1, offset=1)
    assert exc.value.code == "LIST_PAGE_TOO_DEEP" and "按日期排序" in exc.value.message


def test_other_lists(world: dict[str, int]) -> None:
    items, total = _entries("dishonest_judgment_debtor")
    assert total == 1 and items[0]["authority"] == "深圳市中级人民法院"
    assert items[0]["title"] == "（2026）粤03执123号" and items[0]["reason"] == "有履行能力而拒不履行"
    assert _names("abnormal_operations_list") == [DELTA[1], ALPHA[1]]
    assert _entries("consumption_restriction") == ([], 0)
    with pytest.raises(lists_service.ListError) as exc:
        _entries("administrative_penalty")  # in the catalog, but not a list
    assert (exc.value.code, exc.value.status) == ("LIST_UNKNOWN", 404)


def test_published_lists(world: dict[str, int]) -> None:
    got = _published()
    assert [x["code"] for x in got] == list(LIST_TYPES)
    counts = {x["code"]: x["count"] for x in got}
    assert counts == {"serious_dishonesty_list": 3, "dishonest_judgment_debtor": 1,
                      "consumption_restriction": 0, "abnormal_operations_list": 2}
    labels = {x["code"]: x["label"] for x in got}
    assert labels["serious_dishonesty_list"] == "严重失信主体名单"
    assert labels["abnormal_operations_list"] == "经营异常名录"


# ------------------------------------------------------------------------------ HTTP


def test_api(client: TestClient) -> None:
    r = client.get("/api/v1/lists")
    assert r.status_code == 200
    body = r.json()
    assert body["as_of"] == TODAY.isoformat()
    assert {x["code"]: x["count"] for x in body["items"]}["serious_dishonesty_list"] == 3
    r = client.get("/api/v1/lists/serious_dishonesty_list",
                   params={"size": 2, "page": 2, "sort": "date_desc"})
    body = r.json()
    assert r.status_code == 200, body
    assert (body["total"], body["page"], body["size"]) == (3, 2, 2)
    assert [e["subject_name"] for e in body["items"]] == [GAMMA[1]]
    assert body["list"]["label"] == "严重失信主体名单" and body["list"]["date_label"] == "列入日期"
    r = client.get("/api/v1/lists/serious_dishonesty_list", params={"region": "深圳", "year": 2026})
    assert [e["subject_name"] for e in r.json()["items"]] == [ALPHA[1]]


@pytest.mark.parametrize(
    ("params", "code"),
    [({"size": 101}, "LIST_SIZE_INVALID"), ({"page": 0}, "LIST_PAGE_INVALID"),
     ({"sort": "x"}, "LIST_SORT_INVALID"), ({"region": "火星"}, "LIST_REGION_INVALID"),
     ({"year": 12}, "LIST_YEAR_INVALID")],
)
def test_api_refuses_bad_parameters(client: TestClient, params: dict[str, Any], code: str) -> None:
    r = client.get("/api/v1/lists/serious_dishonesty_list", params=params)
    assert r.status_code == 400
    assert r.json()["code"] == code and "请" in r.json()["message"]


def test_unknown_list_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/lists/no_such_list")
    assert r.status_code == 404
    assert r.json()["code"] == "LIST_UNKNOWN"
    assert "严重失信主体名单" in r.json()["message"]  # says which lists there are
    r = client.get("/lists/no_such_list", headers=HTML)
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "没有名为「no_such_list」的公示名单" in r.text and "请从公示名单首页选择" in r.text


def test_pages(client: TestClient) -> None:
    r = client.get("/lists", headers=HTML)
    assert r.status_code == 200
    assert "严重失信主体名单" in r.text and 'href="/lists/serious_dishonesty_list"' in r.text
    assert "<strong>3</strong>" in r.text
    r = client.get("/lists/serious_dishonesty_list", headers=HTML)
    assert r.status_code == 200
    assert ALPHA[1] in r.text and ALPHA[0] in r.text and "深圳市市场监督管理局" in r.text
    assert "列入日期" in r.text and "列入原因" in r.text and "2029-02-28" in r.text
    assert "共 3 条" in r.text and 'name="q"' in r.text and 'method="get"' in r.text
    assert f'href="/subjects/{ALPHA[0]}"' in r.text
    assert 'href="/lists/serious_dishonesty_list?sort=name"' in r.text
    r = client.get("/lists/serious_dishonesty_list", params={"q": "阿尔法", "sort": "name"},
                   headers=HTML)
    assert ALPHA[1] in r.text and BETA[1] not in r.text and "共 1 条" in r.text
    # the sort links keep the filters
    assert "/lists/serious_dishonesty_list?q=%E9%98%BF%E5%B0%94%E6%B3%95&amp;sort=date_asc" in r.text
    r = client.get("/lists/serious_dishonesty_list", params={"q": "没有这个名字"}, headers=HTML)
    assert "没有符合条件的条目" in r.text


def test_page_paging(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import xinyong.records.lists_pages as pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    r = client.get("/lists/serious_dishonesty_list", headers=HTML)
    assert ALPHA[1] in r.text and GAMMA[1] not in r.text and "下一页" in r.text
    r = client.get("/lists/serious_dishonesty_list", params={"page": 2}, headers=HTML)
    assert GAMMA[1] in r.text and ALPHA[1] not in r.text
    r = client.get("/lists/serious_dishonesty_list", params={"page": 9}, headers=HTML)
    assert "回到第一页" in r.text


def test_page_filter_errors(client: TestClient) -> None:
    for params, words in (({"region": "火星"}, "无法识别地区「火星」"), ({"year": "abc"}, "年份"),
                          ({"sort": "x"}, "排序方式无效")):
        r = client.get("/lists/serious_dishonesty_list", params=params, headers=HTML)
        assert r.status_code == 400 and words in r.text
        assert 'name="q"' in r.text  # the form stays, to correct it


def test_list_routes_are_rate_limited(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_SEARCH_RATE", "2/minute")
    ratelimit.reset()
    assert client.get("/api/v1/lists").status_code == 200
    assert client.get("/lists/serious_dishonesty_list", headers=HTML).status_code == 200
    r = client.get("/api/v1/lists/serious_dishonesty_list")
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
    assert int(r.headers["retry-after"]) >= 1


def test_list_page_rate_limited_in_chinese(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_SEARCH_RATE", "1/minute")
    ratelimit.reset()
    assert client.get("/lists", headers=HTML).status_code == 200
    r = client.get("/lists", headers=HTML)
    assert r.status_code == 429 and "text/html" in r.headers["content-type"]
    assert "查询过于频繁：请在" in r.text and "秒后再试" in r.text


def test_list_page_429_says_when_to_retry(client: TestClient,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_SEARCH_RATE", "1/minute")
    ratelimit.reset()
    client.get("/lists", headers=HTML)
    assert client.get("/lists", headers=HTML).headers.get("retry-after") == "60"


# ------------------------------------------------------------------------------ the index


def test_index_predicate_names_the_list_types(engine: Engine) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            ddl = conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_credit_record_list'")).scalar_one()
        else:
            ddl = conn.execute(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_credit_record_list'"
            )).scalar_one()
    quoted = [part for part in ddl.replace("::text", "").replace("::character varying", "")
              .split("'")[1::2]]
    assert quoted == list(LIST_TYPES), ddl


def _plans(engine: Engine, code: str, **kw: Any) -> list[tuple[str, str]]:
    """(statement, plan) of every statement list_entries runs on the list index's entries."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "credit_record.record_type = '" in statement:  # a list named as the index needs
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        _entries(code, **kw)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    plans = []
    with engine.connect() as conn:
        for statement, params in seen:
            if engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                plans.append((statement, "\n".join(str(r[-1]) for r in rows)))
            else:
                # tiny tables are cheaper to scan; what matters is that the index is usable
                conn.exec_driver_sql("SET enable_seqscan = off")
                conn.exec_driver_sql("SET enable_bitmapscan = off")
                rows = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
                plans.append((statement, "\n".join(str(r[0]) for r in rows)))
    return plans


@pytest.mark.parametrize(
    "kw", [{}, {"sort": "date_asc", "year": 2026}, {"region": "4403", "q": "深圳"}]
)
def test_statements_use_the_list_index(engine: Engine, world: dict[str, int],
                                       monkeypatch: pytest.MonkeyPatch, kw: dict[str, Any]) -> None:
    # the plan of a city-scale list: its entries drive, subjects are sets or per-row checks
    monkeypatch.setattr(lists_service, "CANDIDATE_CAP", 0)
    monkeypatch.setattr(lists_service, "FETCH_ALL_MAX", 0)
    plans = _plans(engine, "serious_dishonesty_list", **kw)
    assert len(plans) == 2, plans  # the count and the page's keys
    for _statement, plan in plans:
        assert "ix_credit_record_list" in plan, plan
        if engine.dialect.name == "sqlite":
            # the rows of credit_record are never read for these two
            assert "USING COVERING INDEX ix_credit_record_list" in plan, plan
            assert "SCAN credit_record" not in plan, plan


def test_name_order_walks_the_name_index(engine: Engine, world: dict[str, int],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import event

    monkeypatch.setattr(lists_service, "CANDIDATE_CAP", 0)
    monkeypatch.setattr(lists_service, "FETCH_ALL_MAX", 0)
    monkeypatch.setattr(lists_service, "NAME_BATCH", 2)
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "FROM subject" in statement or "FROM credit_record JOIN subject" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        assert len(_entries(sort="name")[0]) == 3
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    walks = [x for x in seen if "ORDER BY subject.name_norm" in x[0]]
    reads = [x for x in seen if x[0].startswith("SELECT credit_record.subject_id, credit_record.id")]
    assert len(walks) >= 2 and len(reads) >= 2  # a batch at a time
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            def plan(x: tuple[str, Any]) -> str:
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + x[0], x[1]).all()
                return " ".join(str(r[-1]) for r in rows)

            assert all("COVERING INDEX ix_subject_name_norm" in plan(w) for w in walks)
            assert all("credit_record USING PRIMARY KEY (subject_id=?)" in plan(x) for x in reads)


def test_few_subjects_are_read_by_their_key(engine: Engine, world: dict[str, int]) -> None:
    """A filter naming few subjects reads their records by the clustered key."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "credit_record" in statement and "subject.name_norm" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        assert [e["subject_name"] for e in _entries(q="阿尔法")[0]] == [ALPHA[1]]
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert len(seen) == 1
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + seen[0][0], seen[0][1]).all())
        assert "credit_record USING PRIMARY KEY (subject_id=?)" in plan, plan

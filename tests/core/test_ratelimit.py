"""Rate limiting of public search: the token bucket (refill, other clients, memory bound,
threads), the settings, the client address behind trusted proxies, and the FastAPI dependency
(429 with a Chinese message and Retry-After, exempt signed-in callers)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from starlette.requests import Request as StarletteRequest

from xinyong.core import ratelimit
from xinyong.core.ratelimit import (
    TokenBucketLimiter,
    client_key,
    limit_public_search,
    parse_networks,
    parse_rate,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    monkeypatch.setenv("XINYONG_SEARCH_RATE", "3/minute")
    monkeypatch.delenv("XINYONG_SEARCH_BURST", raising=False)
    monkeypatch.delenv("XINYONG_TRUSTED_PROXIES", raising=False)
    fake = FakeClock()
    ratelimit.reset(clock=fake)
    yield fake
    ratelimit.reset()


def _app(principal: object | None = None) -> FastAPI:
    app = FastAPI()

    if principal is not None:
        @app.middleware("http")
        async def sign_in(request: Request, call_next):  # type: ignore[no-untyped-def]
            request.state.principal = principal
            return await call_next(request)

    @app.get("/search", dependencies=[Depends(limit_public_search)])
    def search() -> dict[str, bool]:
        return {"ok": True}

    return app


# ------------------------------------------------------------------------------ the bucket


def test_burst_then_refill() -> None:
    clock = FakeClock()
    lim = TokenBucketLimiter(rate=0.5, burst=3, clock=clock)
    assert [lim.hit("a") for _ in range(3)] == [0, 0, 0]
    assert lim.hit("a") == pytest.approx(2.0)  # one token comes every 2 seconds
    clock.t += 1.0
    assert lim.hit("a") == pytest.approx(1.0)  # a refused request takes nothing
    clock.t += 1.0
    assert lim.hit("a") == 0
    assert lim.hit("a") > 0
    clock.t += 600  # long idle: full again, never more than the burst
    assert [lim.hit("a") for _ in range(4)][-1] > 0


def test_other_client_unaffected() -> None:
    lim = TokenBucketLimiter(rate=1 / 60, burst=1, clock=FakeClock())
    assert lim.hit("10.0.0.1") == 0
    assert lim.hit("10.0.0.1") > 0
    assert lim.hit("10.0.0.2") == 0


def test_memory_is_bounded() -> None:
    clock = FakeClock()
    lim = TokenBucketLimiter(rate=1, burst=5, clock=clock, max_keys=100)
    for i in range(10_000):
        lim.hit(f"198.51.{i // 256}.{i % 256}")
        assert len(lim) <= 100
    # idle buckets (full again) are dropped as traffic goes on, whatever the bound
    clock.t += 10
    lim.hit("203.0.113.1")
    assert len(lim) == 1


def test_eviction_forgets_the_least_recent() -> None:
    lim = TokenBucketLimiter(rate=0.001, burst=1, clock=FakeClock(), max_keys=2)
    lim.hit("a")
    lim.hit("b")
    assert lim.hit("a") > 0  # a is now the most recent
    lim.hit("c")  # b goes
    assert lim.hit("a") > 0
    assert lim.hit("b") == 0  # forgotten: a fresh bucket


def test_thread_safe() -> None:
    lim = TokenBucketLimiter(rate=0.001, burst=50, clock=FakeClock())
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(100):
            ok = lim.hit("same") == 0
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50 and len(allowed) == 800


# ------------------------------------------------------------------------------ settings


def test_parse_rate() -> None:
    assert parse_rate("30/minute") == (30, 60)
    assert parse_rate("5/s") == (5, 1)
    assert parse_rate(" 600 / hour ") == (600, 3600)
    for off in ("0", "off", "", "0/minute"):
        assert parse_rate(off) is None
    with pytest.raises(ValueError, match="无法识别"):
        parse_rate("30 per minute")
    with pytest.raises(ValueError, match="不是 IP 地址或网段"):
        parse_networks("10.0.0.0/8, proxy.local")
    assert len(parse_networks("127.0.0.1, 10.0.0.0/8,::1")) == 3


def test_zero_disables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_SEARCH_RATE", "0")
    ratelimit.reset()
    try:
        client = TestClient(_app())
        assert all(client.get("/search").status_code == 200 for _ in range(100))
    finally:
        ratelimit.reset()


def test_burst_setting(monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock) -> None:
    monkeypatch.setenv("XINYONG_SEARCH_BURST", "1")
    ratelimit.reset(clock=fake_clock)
    client = TestClient(_app())
    assert client.get("/search").status_code == 200
    assert client.get("/search").status_code == 429


# ------------------------------------------------------------------------------ client address


def _request(peer: str, forwarded: list[str] | None = None) -> StarletteRequest:
    headers = [(b"x-forwarded-for", v.encode()) for v in forwarded or []]
    return StarletteRequest(
        {"type": "http", "method": "GET", "path": "/", "headers": headers,
         "client": (peer, 40000), "query_string": b""}
    )


def test_forwarded_for_only_from_trusted_proxies() -> None:
    trusted = parse_networks("10.0.0.0/8")
    # not from a proxy: the header is whatever the client wrote, ignored
    assert client_key(_request("203.0.113.7", ["1.2.3.4"]), trusted) == "203.0.113.7"
    assert client_key(_request("203.0.113.7", ["1.2.3.4"]), ()) == "203.0.113.7"
    # from the proxy: the address it received the request from
    assert client_key(_request("10.0.0.2", ["198.51.100.9"]), trusted) == "198.51.100.9"
    # a forged entry on the left is never believed; the proxies' own hops are skipped
    assert client_key(_request("10.0.0.2", ["6.6.6.6, 198.51.100.9, 10.0.0.5"]), trusted) == (
        "198.51.100.9"
    )
    assert client_key(_request("10.0.0.2", ["6.6.6.6", "198.51.100.9:5123"]), trusted) == (
        "198.51.100.9"
    )
    assert client_key(_request("10.0.0.2", ["[2001:db8::1]:443"]), trusted) == "2001:db8::1"
    assert client_key(_request("10.0.0.2"), trusted) == "10.0.0.2"


# ------------------------------------------------------------------------------ dependency


def test_429_after_burst_with_chinese_message(fake_clock: FakeClock) -> None:
    client = TestClient(_app(), client=("203.0.113.10", 5000))
    assert [client.get("/search").status_code for _ in range(3)] == [200, 200, 200]
    r = client.get("/search")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "20"  # 3 a minute: a token every 20 seconds
    detail = r.json()["detail"]
    assert detail["code"] == "RATE_LIMITED"
    assert detail["message"] == (
        "查询过于频繁：请在 20 秒后再试。如需批量核查，请联系平台管理部门申请接口权限。"
    )
    # another address is unaffected
    other = TestClient(_app(), client=("203.0.113.11", 5000))
    assert other.get("/search").status_code == 200
    # time refills the bucket: no sleeping, the injected clock moves
    fake_clock.t += 19
    r = client.get("/search")
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    fake_clock.t += 1
    assert client.get("/search").status_code == 200


def test_signed_in_callers_are_exempt(fake_clock: FakeClock) -> None:
    client = TestClient(_app(SimpleNamespace(is_anonymous=False)))
    assert all(client.get("/search").status_code == 200 for _ in range(20))
    # the public, and a principal that does not say, are limited
    for principal in (SimpleNamespace(is_anonymous=True), SimpleNamespace()):
        ratelimit.reset(clock=fake_clock)
        client = TestClient(_app(principal))
        codes = [client.get("/search").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]


def test_trusted_proxy_from_settings(monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock) -> None:
    monkeypatch.setenv("XINYONG_TRUSTED_PROXIES", "127.0.0.1")
    ratelimit.reset(clock=fake_clock)
    proxy = TestClient(_app(), client=("127.0.0.1", 5000))
    for i in range(3):
        assert proxy.get("/search", headers={"x-forwarded-for": "198.51.100.1"}).status_code == 200
        assert proxy.get("/search", headers={"x-forwarded-for": f"198.51.100.{i + 2}"}).status_code == 200
    assert proxy.get("/search", headers={"x-forwarded-for": "198.51.100.1"}).status_code == 429
    # without the setting the proxy itself is one client
    monkeypatch.delenv("XINYONG_TRUSTED_PROXIES")
    ratelimit.reset(clock=fake_clock)
    codes = [proxy.get("/search", headers={"x-forwarded-for": f"198.51.100.{i}"}).status_code
             for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_bad_settings_say_what_to_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_SEARCH_RATE", "lots")
    ratelimit.reset()
    try:
        with pytest.raises(ValueError, match="如 30/minute"):
            limit_public_search(_request("203.0.113.1"))
    finally:
        monkeypatch.delenv("XINYONG_SEARCH_RATE")
        ratelimit.reset()

"""Rate limiting of the public search pages and endpoints, against scraping.

Anonymous callers share one budget over every public search and list route (the home page,
``/api/v1/subjects``, ``/lists``, ``/api/v1/lists``): a scraper gains nothing by alternating
between them. Authenticated callers (a department system, the operator) are exempt; their
access is already accountable.

The budget is a token bucket per client address, held in this process: a bucket holds at most
``burst`` tokens, refills at ``rate`` tokens per second, and each request takes one. A person
paging through results never notices; a loop that fires hundreds of queries a minute is told
to wait. With several worker processes each holds its own buckets, so the effective limit is
the configured one times the number of workers — an upper bound an operator can reason about,
without a shared store to run.

Settings (environment, or the ``.env`` file the platform reads):

- ``XINYONG_SEARCH_RATE``: ``"30/minute"`` (default); units ``second``, ``minute``, ``hour``
  (or ``s``, ``m``, ``h``); ``"0"`` or ``"off"`` turns the limit off (benchmarks do).
- ``XINYONG_SEARCH_BURST``: how many requests may come at once (default: the rate's count).
- ``XINYONG_TRUSTED_PROXIES``: comma-separated addresses or networks of the reverse proxies
  in front of the platform. Only a request that arrives from one of them has its
  ``X-Forwarded-For`` read; anyone else could write any address there and get a fresh bucket
  with every request.
"""

from __future__ import annotations

import ipaddress
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from fastapi import HTTPException, Request
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Enough for every client of a city's busiest hour; each bucket is a few hundred bytes, so the
# bound is tens of megabytes at worst.
MAX_CLIENTS = 100_000
UNITS = {"second": 1.0, "s": 1.0, "minute": 60.0, "m": 60.0, "min": 60.0, "hour": 3600.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*([a-z]+)\s*$")
_OFF = {"0", "off", "none", "disabled", ""}


class RateLimitSettings(BaseSettings):
    """The limiter's own settings, read from the same ``XINYONG_`` variables as the platform's
    (``core.config.Settings`` ignores names it does not know, so both can read one file)."""

    model_config = SettingsConfigDict(env_prefix="XINYONG_", env_file=".env", extra="ignore")

    search_rate: str = "30/minute"
    search_burst: int | None = None
    trusted_proxies: str = ""

    @field_validator("search_rate")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        parse_networks(value)
        return value


def parse_rate(text: str) -> tuple[float, float] | None:
    """``"30/minute"`` → (30 requests, 60 seconds); None when the limit is off."""
    value = text.strip().lower()
    if value in _OFF:
        return None
    m = _RATE.match(value)
    if m is None or m.group(2) not in UNITS:
        raise ValueError(
            f"XINYONG_SEARCH_RATE「{text}」无法识别：请写成「次数/单位」，如 30/minute、"
            "5/second、600/hour；写 0 表示不限制。"
        )
    count = float(m.group(1))
    if count <= 0:
        return None
    return count, UNITS[m.group(2)]


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"XINYONG_TRUSTED_PROXIES 中的「{part}」不是 IP 地址或网段：请用逗号分隔，"
                "如 127.0.0.1,10.0.0.0/8。"
            ) from None
    return tuple(out)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float  # when ``tokens`` was last brought up to date


class TokenBucketLimiter:
    """Token buckets keyed by client, thread-safe and bounded in memory.

    Buckets are kept in least-recently-used order. A bucket that has been idle long enough to
    be full again is the same as no bucket, so such buckets are dropped from the old end as
    requests come; and when more than ``max_keys`` clients are active at once, the least
    recently seen one is forgotten (it starts again with a full bucket: under a flood of
    addresses the limit degrades, memory does not).
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_CLIENTS,
    ) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate must be > 0, burst ≥ 1, max_keys ≥ 1")
        self.rate = rate  # tokens per second
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._full_after = self.burst / rate  # seconds an empty bucket takes to fill
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def hit(self, key: str) -> float:
        """Take one token for ``key``: 0 when the request may go ahead, otherwise the seconds
        until a token is available (nothing is taken then)."""
        with self._lock:
            now = self.clock()
            self._drop_idle(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.burst, now)
                while len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                elapsed = max(0.0, now - bucket.stamp)
                bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
                bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _drop_idle(self, now: float) -> None:
        # Oldest first: stop at the first bucket still refilling, so each call costs O(1)
        # amortised (every bucket is dropped at most once).
        buckets = self._buckets
        while buckets:
            key, oldest = next(iter(buckets.items()))
            if now - oldest.stamp < self._full_after:
                break
            del buckets[key]

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


@dataclass(frozen=True)
class _Config:
    limiter: TokenBucketLimiter | None
    trusted: tuple[IPNetwork, ...]


_clock: Callable[[], float] = time.monotonic


@lru_cache(maxsize=1)
def _config() -> _Config:
    settings = RateLimitSettings()
    trusted = parse_networks(settings.trusted_proxies)
    rate = parse_rate(settings.search_rate)
    if rate is None:
        return _Config(None, trusted)
    count, seconds = rate
    burst = settings.search_burst if settings.search_burst is not None else count
    return _Config(TokenBucketLimiter(count / seconds, max(1, burst), clock=_clock), trusted)


def reset(clock: Callable[[], float] | None = None) -> None:
    """Forget every bucket and re-read the settings (tests; a changed environment). ``clock``
    replaces the monotonic clock the buckets refill by, so a test can move time on instead of
    sleeping."""
    global _clock
    if _config.cache_info().currsize and (limiter := _config().limiter) is not None:
        limiter.clear()
    _config.cache_clear()
    _clock = clock or time.monotonic


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = text.strip().strip('"')
    if value.startswith("["):  # "[2001:db8::1]:443"
        value = value[1 : value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:  # "203.0.113.9:51234"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
             networks: tuple[IPNetwork, ...]) -> bool:
    return addr is not None and any(addr in n for n in networks)


def client_key(request: Request, trusted: tuple[IPNetwork, ...] = ()) -> str:
    """The address the limit is counted against.

    The peer address, unless the peer is a trusted proxy: then ``X-Forwarded-For`` is read from
    the right (each proxy appends the address it received the request from) and the first
    address that is not a trusted proxy is the client. Entries further left were written by
    the client itself and are never believed."""
    peer = request.client.host if request.client else ""
    if not trusted or not _trusted(_ip(peer), trusted):
        return peer or "unknown"
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        addr = _ip(hop)
        if not _trusted(addr, trusted):
            return str(addr) if addr is not None else hop[:64]
    # Only proxies in the chain (or no header): the leftmost proxy is the best we know.
    return hops[0][:64] if hops else peer


def _is_exempt(request: Request) -> bool:
    principal = getattr(request.state, "principal", None)
    # Anything we cannot tell to be signed in is anonymous: the safe side is to limit.
    return principal is not None and getattr(principal, "is_anonymous", True) is False


def limit_public_search(request: Request) -> None:
    """FastAPI dependency: 429 with ``Retry-After`` when an anonymous client exceeds the public
    search budget."""
    if _is_exempt(request):
        return
    config = _config()
    if config.limiter is None:
        return
    wait = config.limiter.hit(client_key(request, config.trusted))
    if wait <= 0:
        return
    seconds = max(1, math.ceil(wait))
    raise HTTPException(
        status_code=429,
        detail={
            "code": "RATE_LIMITED",
            "message": f"查询过于频繁：请在 {seconds} 秒后再试。"
            "如需批量核查，请联系平台管理部门申请接口权限。",
        },
        headers={"Retry-After": str(seconds)},
    )

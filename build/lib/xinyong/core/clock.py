"""The injected clock.

Every dated rule (publicity periods, deadlines, repair eligibility) asks this module for
"today" instead of calling ``date.today()``, so tests and demos can run at any date.
Day boundaries are China Standard Time whatever the server's time zone: a penalty decided on
9 September is decided on 9 September for every rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

CST = ZoneInfo("Asia/Shanghai")

_fixed_today: dt.date | None = None
_fixed_now: dt.datetime | None = None


def now() -> dt.datetime:
    """Aware datetime in Asia/Shanghai."""
    if _fixed_now is not None:
        return _fixed_now
    if _fixed_today is not None:
        real = dt.datetime.now(CST)
        return dt.datetime.combine(_fixed_today, real.timetz())
    return dt.datetime.now(CST)


def today() -> dt.date:
    if _fixed_today is not None:
        return _fixed_today
    if _fixed_now is not None:
        return _fixed_now.astimezone(CST).date()
    return dt.datetime.now(CST).date()


def set_today(day: dt.date | None) -> None:
    global _fixed_today, _fixed_now
    _fixed_today = day
    _fixed_now = None


def set_now(moment: dt.datetime | None) -> None:
    global _fixed_today, _fixed_now
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    _fixed_now = moment
    _fixed_today = None


@contextmanager
def frozen(day: dt.date | dt.datetime) -> Iterator[None]:
    """Run a block at a chosen date (or moment); restores the previous clock afterwards."""
    global _fixed_today, _fixed_now
    saved = (_fixed_today, _fixed_now)
    if isinstance(day, dt.datetime):
        set_now(day)
    else:
        set_today(day)
    try:
        yield
    finally:
        _fixed_today, _fixed_now = saved


def configure_from_settings() -> None:
    from xinyong.core.config import get_settings

    fixed = get_settings().today
    if fixed is not None:
        set_today(fixed)

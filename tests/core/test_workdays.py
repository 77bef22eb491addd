"""Working days with official holidays, make-up days and years not yet published."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.core.workdays import WorkingCalendar, calendar_from_db, load_schedule_into_db

D = dt.date


def test_holidays_and_make_up_days() -> None:
    cal = WorkingCalendar()
    # 10 working days from Friday 2026-09-25: the National Day week is skipped and
    # Saturday 2026-10-10 (a make-up working day) counts.
    deadline = cal.add_working_days(D(2026, 9, 25), 10)
    # 28, 29, 30 Sep; 8, 9, 10 (Sat, make-up), 12, 13, 14, 15 Oct
    assert deadline == type(deadline)(D(2026, 10, 15), False)
    assert cal.is_working_day(D(2026, 10, 10)) and not cal.is_working_day(D(2026, 10, 5))
    assert cal.working_days_between(D(2026, 9, 30), D(2026, 10, 9)) == 2


def test_year_end_into_an_unpublished_year_is_provisional() -> None:
    cal = WorkingCalendar()
    deadline = cal.add_working_days(D(2026, 12, 24), 10)
    # Weekends only in 2027 until the State Council's schedule is loaded.
    assert deadline.provisional
    assert deadline.due == D(2027, 1, 7)


def test_loaded_schedule_makes_deadlines_final(engine: Engine) -> None:
    schedule = {
        "year": 2027,
        "source": "国务院办公厅关于2027年部分节假日安排的通知（示例）",
        "holidays": {"2027-01-01": "元旦", "2027-01-04": "元旦调休"},
        "workdays": {"2027-01-09": "调休上班"},
    }
    with session_scope() as s:
        assert load_schedule_into_db(s, schedule) == 365
    with session_scope() as s:
        cal = calendar_from_db(s)
    deadline = cal.add_working_days(D(2026, 12, 31), 5)
    assert not deadline.provisional
    # 1 and 4 January are off, Saturday 9 January is worked
    assert deadline.due == D(2027, 1, 9)  # 5, 6, 7, 8 and Saturday 9 (make-up day)
    assert cal.add_working_days(D(2027, 1, 8), 1).due == D(2027, 1, 9)


@given(st.dates(min_value=D(2005, 1, 1), max_value=D(2026, 11, 30)), st.integers(0, 40))
def test_agrees_with_chinese_calendar(start: dt.date, n: int) -> None:
    cal = WorkingCalendar()
    deadline = cal.add_working_days(start, n)
    if deadline.due.year <= 2026:
        assert not deadline.provisional
        assert deadline.due == start or chinese_calendar.is_workday(deadline.due)
        assert cal.working_days_between(start, deadline.due) == n


def test_clock_is_injected_and_in_china_time() -> None:
    with clock.frozen(D(2026, 4, 1)):
        assert clock.today() == D(2026, 4, 1)
    # 23:30 UTC on 8 September is already 9 September in Beijing
    moment = dt.datetime(2022, 9, 8, 23, 30, tzinfo=dt.UTC)
    with clock.frozen(moment):
        assert clock.today() == D(2022, 9, 9)

"""Deadlines and reminder days against the official calendar (no database)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.commitments import service
from xinyong.core.workdays import shipped_calendar

CAL = shipped_calendar()
TEMPLATE = service.get_template("deficiency_tolerated_document")


@given(start=st.dates(dt.date(2025, 1, 1), dt.date(2026, 10, 31)))
@settings(max_examples=300, deadline=None)
def test_a_deadline_in_days_ends_on_a_working_day(start: dt.date) -> None:
    due, provisional = service.deadline_from(CAL, start, TEMPLATE)
    assert due is not None
    plain = start + dt.timedelta(days=60)
    assert CAL.is_working_day(due)
    # the plain 60th day, or the first working day after it when it falls on a day off
    assert due >= plain
    day = plain
    while day < due:
        assert not CAL.is_working_day(day)
        day += dt.timedelta(days=1)
    assert provisional == (due.year >= 2027)


@given(due=st.dates(dt.date(2025, 1, 10), dt.date(2026, 12, 31)), n=st.integers(1, 15))
@settings(max_examples=300, deadline=None)
def test_reminder_day_is_n_working_days_before(due: dt.date, n: int) -> None:
    day = service.working_days_before(CAL, due, n)
    assert CAL.is_working_day(day)
    # working days in (day, due): n - 1, and due itself when it is one
    assert CAL.working_days_between(day, due) == n - 1 + int(CAL.is_working_day(due))


def test_national_day_examples() -> None:
    due = dt.date(2026, 10, 8)
    assert service.working_days_before(CAL, due, 1) == dt.date(2026, 9, 30)
    assert service.working_days_before(CAL, due, 7) == dt.date(2026, 9, 21)
    assert service.deadline_from(CAL, dt.date(2026, 8, 2), TEMPLATE) == (dt.date(2026, 10, 8),
                                                                         False)
    # across the year end: 2027's holidays are not published, the deadline is provisional
    assert service.deadline_from(CAL, dt.date(2026, 12, 1), TEMPLATE)[1] is True

"""Working days with China's official holidays and make-up working days (调休).

Deadlines in the rules ("within 10 working days of acceptance") are counted here.
``chinese-calendar`` knows the State Council's schedule for a fixed range of years only (2004–2026
for 1.11); the schedule of a new year is announced each November–December. So the calendar is
layered:

1. days an administrator loaded into the ``calendar_day`` table (``xinyong calendar load``), or
   the schedule files shipped in ``core/data/holidays/``;
2. ``chinese-calendar`` for the years it knows;
3. weekends only for a year nobody has published yet: such a deadline is marked *provisional*
   and is recomputed once the year is loaded.

Counting convention (《行政许可法》第八十二条 and common practice for "N个工作日"): the day
of the triggering act does not count; the deadline is the N-th working day after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import chinese_calendar
import yaml

HOLIDAY_DIR = Path(__file__).parent / "data" / "holidays"


@dataclass(frozen=True)
class Deadline:
    due: dt.date
    # True when any day counted lies in a year whose official schedule is not loaded.
    provisional: bool


@dataclass
class WorkingCalendar:
    # date → is it a working day (explicit official schedule entries)
    overrides: dict[dt.date, bool] = field(default_factory=dict)
    # years whose whole schedule is given by ``overrides`` (so weekends follow the file)
    loaded_years: set[int] = field(default_factory=set)

    def is_known(self, day: dt.date) -> bool:
        if day.year in self.loaded_years:
            return True
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return False
        return True

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.loaded_years:
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

    def add_working_days(self, start: dt.date, n: int) -> Deadline:
        """The n-th working day after ``start`` (``start`` itself is not counted)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        day = start
        provisional = False
        counted = 0
        while counted < n:
            day += dt.timedelta(days=1)
            if not self.is_known(day):
                provisional = True
            if self.is_working_day(day):
                counted += 1
        return Deadline(day, provisional)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: how many working days have elapsed since ``start``."""
        if end <= start:
            return 0
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def load_schedule(self, data: dict) -> None:
        """Load one year's official schedule.

        Format (one file per year, as the State Council publishes it)::

            year: 2027
            source: 国务院办公厅关于2027年部分节假日安排的通知
            holidays: {"2027-01-01": 元旦, ...}      # days off, including weekend days in a break
            workdays: {"2027-02-07": 春节调休, ...}  # weekend days that are working days
        """
        year = int(data["year"])
        for day in data.get("holidays") or {}:
            self.overrides[_as_date(day)] = False
        for day in data.get("workdays") or {}:
            self.overrides[_as_date(day)] = True
        self.loaded_years.add(year)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def shipped_calendar() -> WorkingCalendar:
    cal = WorkingCalendar()
    if HOLIDAY_DIR.exists():
        for path in sorted(HOLIDAY_DIR.glob("*.yaml")):
            cal.load_schedule(yaml.safe_load(path.read_text(encoding="utf-8")))
    return cal


def calendar_from_db(session: object) -> WorkingCalendar:
    """The shipped calendar plus every year an administrator loaded into the database."""
    from sqlalchemy import select

    from xinyong.core.models import CalendarDay

    cal = shipped_calendar()
    rows = session.execute(select(CalendarDay.day, CalendarDay.is_working_day)).all()  # type: ignore[attr-defined]
    for day, working in rows:
        cal.overrides[day] = bool(working)
        cal.loaded_years.add(day.year)
    return cal


def load_schedule_into_db(session: object, data: dict) -> int:
    """Store one year's schedule (same format as ``load_schedule``) for every process to use."""
    from sqlalchemy import delete

    from xinyong.core.models import CalendarDay

    year = int(data["year"])
    days: dict[dt.date, tuple[bool, str]] = {}
    for day, name in (data.get("holidays") or {}).items():
        days[_as_date(day)] = (False, str(name))
    for day, name in (data.get("workdays") or {}).items():
        days[_as_date(day)] = (True, str(name))
    if any(d.year != year for d in days):
        from xinyong.core.errors import DomainError

        raise DomainError("CALENDAR_YEAR_MISMATCH", f"文件中的日期不都属于 {year} 年")
    session.execute(  # type: ignore[attr-defined]
        delete(CalendarDay).where(
            CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31)
        )
    )
    # Every day of the year is stored, so the year counts as fully known.
    source = str(data.get("source") or "")
    day = dt.date(year, 1, 1)
    rows = []
    while day.year == year:
        working, name = days.get(day, (day.weekday() < 5, None))  # type: ignore[assignment]
        rows.append(CalendarDay(day=day, is_working_day=working, name=name, source=source))
        day += dt.timedelta(days=1)
    session.add_all(rows)  # type: ignore[attr-defined]
    return len(rows)

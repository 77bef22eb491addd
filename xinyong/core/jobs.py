"""Daily jobs: the sweeps that turn the passing of time into events.

Deadlines and periods are computed from the injected clock whenever a page is read, so nothing
is ever shown wrongly for want of a job. What the jobs add is the part that must *happen* once
when a day arrives: a publicity period's end written into a record's history, a notice that a
record has become repairable, a lapsed repair application, reminders before a commitment's
deadline, objections that became overdue. Each job is set-based and idempotent (running it twice
on one day changes nothing the second time), so a scheduler may retry freely.

``xinyong jobs daily`` runs them all (for cron); ``xinyong serve`` runs them once at start and
then each day after midnight China Standard Time.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xinyong.core import clock

# (name, Chinese label, "module:function"). Each function takes a Session and the day and returns
# something printable (a count or a dict of counts). Listed by path so that core imports no domain.
# Notification e-mails and SMS are not here: the outbox dispatcher sends them within a minute.
DAILY_JOBS: list[tuple[str, str, str]] = [
    ("publicity", "公示期届满记入记录历史", "xinyong.records.service:sweep_publicity"),
    ("repair", "修复容缺申请逾期失效、可修复提醒", "xinyong.repair.service:sweep"),
    ("objections", "异议处理逾期标记与到期提醒", "xinyong.objections.service:sweep"),
    ("commitments", "承诺到期提醒与逾期标记", "xinyong.commitments.service:daily_job"),
    # Last: grades follow what the sweeps above changed, and the records that left a publicity
    # period or a time window today.
    ("evaluation", "全部启用模型按当日批量评价", "xinyong.evaluation.service:daily_job"),
]


@dataclass
class JobResult:
    name: str
    label: str
    ok: bool
    outcome: Any


def _load(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def run_daily(day: dt.date | None = None, only: list[str] | None = None) -> list[JobResult]:
    """Run every daily job, each in its own transaction; one failing does not stop the others."""
    from xinyong.core.db import session_scope

    day = day or clock.today()
    out: list[JobResult] = []
    for name, label, path in DAILY_JOBS:
        if only and name not in only:
            continue
        try:
            with session_scope() as session:
                outcome = _load(path)(session, day)
            out.append(JobResult(name, label, True, outcome))
        except Exception as exc:  # reported, and tomorrow's run tries again
            out.append(JobResult(name, label, False, f"{type(exc).__name__}: {exc}"))
    return out


def start_daily_thread() -> threading.Thread:
    """Run the daily jobs at start, then shortly after each midnight (Asia/Shanghai)."""

    def loop() -> None:
        last: dt.date | None = None
        while True:
            today = clock.today()
            if today != last:
                for r in run_daily(today):
                    if not r.ok:
                        print(f"每日任务「{r.label}」失败：{r.outcome}")
                last = today
            threading.Event().wait(300)

    thread = threading.Thread(target=loop, name="xinyong-daily-jobs", daemon=True)
    thread.start()
    return thread

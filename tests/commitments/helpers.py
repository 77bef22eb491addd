"""A small world for commitment tests: the evaluation builders' departments and subjects, the
built-in models evaluated, a subject account and department officers to receive notices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.auth import create_user
from tests.evaluation import builders as b
from xinyong.accounts.principal import Principal
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.departments.models import Department
from xinyong.evaluation import service as evaluation

CLEAN, RED, LISTED, OTHER = 1, 2, 3, 4  # builders.code(n) of the subjects


@dataclass
class World:
    ids: dict[int, int]  # builders number → subject id
    market: int  # department ids
    tax: int

    def subject(self, n: int, account_id: int | None = None) -> Principal:
        return Principal(role="subject", username=f"s{n}", subject_id=self.ids[n],
                         account_id=account_id, via="session")

    def officer(self, dept: str = "market") -> Principal:
        return Principal(role="department_officer", username=f"{dept}-officer",
                         department_id=self.market if dept == "market" else self.tax,
                         department_code=dept, via="session")


def build(engine: Engine, today: dt.date = dt.date(2026, 8, 2), accounts: bool = False
          ) -> World:
    """CLEAN has nothing against it, RED a penalty (惠信码 red), LISTED a current entry on the
    serious dishonesty list (and so red as well), OTHER is clean too."""
    clock.set_today(today)
    b.departments()
    ids = {n: b.subject(engine, n) for n in (CLEAN, RED, LISTED, OTHER)}
    with engine.begin() as conn:
        evaluation.sync_builtin_models(conn)
    b.penalty(engine, RED, "2026-05-10")
    b.serious_list(engine, LISTED, "2026-03-01")
    for name in ("gz_general", "huixin_code"):
        evaluation.evaluate(engine, name, as_of=today)
    with session_scope() as session:
        depts = {d.code: d.id for d in session.scalars(select(Department))}
    if accounts:
        create_user("c-subject", "subject", subject=b.code(CLEAN))
        create_user("c-market", "department_officer", department="market")
        create_user("c-tax", "department_officer", department="tax")
    return World(ids=ids, market=depts["market"], tax=depts["tax"])

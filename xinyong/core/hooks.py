"""Hooks between domains that must not import each other.

Records are below evaluation: ingest cannot import the evaluation engine, yet a grade must follow
its records at once ("实时动态更新"). The records service calls :func:`records_changed` inside
its own transaction with an ``IN (…)`` SQL fragment naming the subjects whose records arrived or
changed state; whoever registered (the evaluation service) brings those subjects up to date in
the same transaction, so records and grades commit together.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from sqlalchemy.engine import Connection

# The modules that register a reaction to records, by name: a hook must fire in every process
# that changes records, whatever that process happened to import. ``xinyong ingest`` imports the
# records domain and the CLIs only (each CLI imports its service lazily), so before this list a
# batch pushed from the command line left every grade of its subjects as it was and did not
# carry an open objection to a corrected record. Named here rather than imported, so that core
# still imports no domain; loaded once, on the first firing.
SUBSCRIBERS = (
    "xinyong.evaluation.service",  # grades follow their records at once
    "xinyong.records.lists",  # the published lists' cached counts
    "xinyong.repair.models",  # 两书同达: the repair notice served with a penalty
    "xinyong.objections.service",  # an open objection follows a corrected record
)
_loaded = False


def load_subscribers() -> None:
    global _loaded
    if not _loaded:
        for name in SUBSCRIBERS:
            importlib.import_module(name)
        _loaded = True

RecordsChanged = Callable[[Connection, str], None]
_records_changed: list[RecordsChanged] = []


def register_records_changed(fn: RecordsChanged) -> None:
    if fn not in _records_changed:
        _records_changed.append(fn)


def records_changed(conn: Connection, among: str) -> None:
    load_subscribers()
    for fn in list(_records_changed):
        fn(conn, among)


# Records added (a new record or a new version of one): whoever reacts to a record's arrival
# (the repair domain's notice served with a penalty, "两书同达") registers here. The argument
# is a SQL predicate over ``credit_record`` aliased ``r`` that names exactly the added rows
# through an index (ingest: ``r.id IN (SELECT id FROM added_record)``, a keyed temporary table
# of the batch), never a scan of the whole table.
RecordsAdded = Callable[[Connection, str], None]
_records_added: list[RecordsAdded] = []


def register_records_added(fn: RecordsAdded) -> None:
    if fn not in _records_added:
        _records_added.append(fn)


def records_added(conn: Connection, predicate: str) -> None:
    load_subscribers()
    for fn in list(_records_added):
        fn(conn, predicate)

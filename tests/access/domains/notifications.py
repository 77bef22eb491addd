"""Who may call the notification outbox's routes: the administrator only."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from tests.access.routes import ADMINS, case

EXPECTATIONS = {
    ("GET", "/api/v1/admin/notifications"): case(ADMINS),
    ("POST", "/api/v1/admin/notifications/{notification_id}/retry"): case(ADMINS),
    ("POST", "/api/v1/admin/notifications/dispatch"): case(ADMINS),
    ("GET", "/admin/notifications"): case(ADMINS),
    ("POST", "/admin/notifications/{notification_id}/retry"): case(ADMINS),
    ("POST", "/admin/notifications/dispatch"): case(ADMINS),
}
PARAMS = {"notification_id": "notification"}


def seed(engine: Engine, ids: dict[str, Any]) -> None:
    # No message is due in the world: a retry of an unknown one is a 404 past the guard.
    ids["notification"] = 987654

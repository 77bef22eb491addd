"""Every route of the application against every role: allowed, refused, or (for another
department's object) not found.

The cases are generated from ``EXPECTATIONS`` (tests/access/routes.py), and the first tests
check that it names exactly the routes ``create_app()`` has: a new route fails the suite until
someone states who may call it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.access.routes import (
    BODIES,
    DECORATOR,
    EXPECTATIONS,
    Case,
    Route,
    fill,
    is_page,
    path_params,
    route_modules,
    route_table,
)
from tests.access.world import (
    BANK,
    HTML,
    JSON,
    NARROW,
    PUBLIC,
    ROLES,
    SESSION_ROLES,
    SUBJECT_B,
    World,
)
from xinyong.app import create_app

# Product bugs found by this matrix, reported to the lead: (method, path, case label, role).
KNOWN: dict[tuple[str, str, str, str], str] = {}

# Routes that refuse an authenticated caller without the right with 401 instead of 403 (its
# client would then ask for a login or a new key). None left: the evaluation and supervision
# routes that did (their inline government checks) now answer 403.
REFUSED_WITH_401: dict[Route, str] = {}


def test_expectations_cover_exactly_the_route_table() -> None:
    routes = route_table(create_app())
    missing = sorted(routes - EXPECTATIONS.keys())
    stale = sorted(EXPECTATIONS.keys() - routes)
    assert not missing, (
        "routes without a statement of who may call them: add them to EXPECTATIONS in "
        f"tests/access/routes.py: {missing}")
    assert not stale, f"EXPECTATIONS names routes the application no longer has: {stale}"


def test_route_table_matches_the_router_decorators() -> None:
    """The flattened table (included routers are nested objects in this FastAPI) has one entry
    per ``@router.<method>`` decorator of every module that defines routes."""
    modules = route_modules(create_app())
    assert len(modules) >= 10, sorted(modules)
    for name, routes in modules.items():
        if name == "xinyong.app":
            continue
        source = inspect.getsource(importlib.import_module(name))
        assert len(DECORATOR.findall(source)) == len(routes), (name, sorted(routes))
    total = sum(len(r) for r in modules.values())
    assert total == len(route_table(create_app())) >= 100


def _cases() -> Iterator[Any]:
    for (method, path), cases in EXPECTATIONS.items():
        for c in cases:
            for role in ROLES:
                key = (method, path, c.label, role)
                marks = [pytest.mark.xfail(strict=True, reason=KNOWN[key])] if key in KNOWN else []
                label = f"[{c.label}]" if c.label else ""
                yield pytest.param(method, path, c, role, marks=marks,
                                   id=f"{method} {path}{label} as {role}")


def call(world: World, method: str, path: str, c: Case, role: str) -> httpx.Response:
    """Call ``path`` as ``role`` the way its client would: pages ask for HTML, form posts from a
    cookie session carry their CSRF token, token roles send their header."""
    client = world.client(role)
    token = world.csrf.get(role, "")
    if c.fresh and role in SESSION_ROLES:
        client, token = world.fresh_session(role)
    url = fill(path, path_params(world, method, path, c))
    headers = dict(HTML if is_page(path) else JSON)
    headers.update(world.headers.get(role, {}))
    kwargs: dict[str, Any] = BODIES[(method, path)](world) if (method, path) in BODIES else {}
    if method == "POST" and is_page(path):
        kwargs.setdefault("data", {})
        if token:
            kwargs["data"] = {**kwargs["data"], "csrf_token": token}
    r = client.request(method, url, params=dict(c.query), headers=headers,
                       follow_redirects=False, **kwargs)
    if client is not world.client(role):
        client.close()
    return r


def _login_redirect(r: httpx.Response) -> bool:
    return r.status_code == 303 and r.headers.get("location", "").startswith("/login")


def describe(r: httpx.Response) -> str:
    where = f" → {r.headers.get('location')}" if r.is_redirect else ""
    return f"{r.status_code}{where}: {r.text[:300]}"


@pytest.mark.parametrize(("method", "path", "c", "role"), list(_cases()))
def test_route_as_role(world: World, method: str, path: str, c: Case, role: str) -> None:
    r = call(world, method, path, c, role)
    assert r.status_code < 500, describe(r)
    if role in c.allowed:
        assert r.status_code not in (401, 403) and not _login_redirect(r), (
            f"{role} should be let through: {describe(r)}")
    elif role in c.scoped:
        assert r.status_code == c.scoped[role], f"{role}: {describe(r)}"
    else:
        page = is_page(path)
        if role == PUBLIC and page and r.status_code == 303:
            # a page asks the visitor to log in, and comes back afterwards
            assert _login_redirect(r), describe(r)
            assert "next=" in r.headers["location"], describe(r)
            return
        if role == PUBLIC or (method, path) in REFUSED_WITH_401:
            assert r.status_code in (401, 403), f"{role} should be refused: {describe(r)}"
        else:
            # logged in, but not allowed: 403 (a 401 would send it back to log in)
            assert r.status_code == 403, f"{role} should be refused with 403: {describe(r)}"
        if not page:
            # a refusal says why, and nothing else
            assert set(r.json()) == {"code", "message"}, r.text[:300]


@pytest.mark.parametrize(
    ("method", "path"),
    [pytest.param(m, p, marks=pytest.mark.xfail(strict=True, reason=why), id=f"{m} {p}")
     for (m, p), why in REFUSED_WITH_401.items()],
)
def test_refusal_of_a_logged_in_caller_is_403(world: World, method: str, path: str) -> None:
    c = EXPECTATIONS[(method, path)][0]
    statuses = {role: call(world, method, path, c, role).status_code
                for role in (BANK, SUBJECT_B, NARROW) if role not in c.allowed}
    assert set(statuses.values()) == {403}, statuses

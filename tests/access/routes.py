"""The route table of the application, who may call each route, and how to call it.

``EXPECTATIONS`` states, for every (method, path template) of ``create_app()``, which roles the
route lets through; ``tests/access/test_matrix.py`` checks that it names exactly the routes the
application has (a new route fails the suite until someone decides who may call it) and then
calls every route as every role.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tests.access.world import (
    ADMIN,
    BANK,
    DEPT_A,
    DEPT_SPARE,
    NARROW,
    OFFICER,
    OPERATOR,
    PROVIDER,
    PUBLIC,
    ROLES,
    SUBJECT,
    SUBJECT_B,
    SYSTEM,
    SYSTEM_B,
    World,
)

# Framework routes and static files: not the platform's to guard.
SKIPPED_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/healthz"})
SKIPPED_PREFIXES = ("/static", "/vendor")

Route = tuple[str, str]  # (method, path template)


def route_table(app: FastAPI) -> set[Route]:
    """Every (method, path) the application answers, with included routers flattened (this
    FastAPI keeps them as ``_IncludedRouter`` entries of ``app.routes``)."""
    out: set[Route] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or path in SKIPPED_PATHS or path.startswith(SKIPPED_PREFIXES):
            continue
        methods = route.methods
        assert methods, f"a route without methods that is not a skipped mount: {path}"
        out.update((m, path) for m in methods if m != "HEAD")
    return out


def route_modules(app: FastAPI) -> dict[str, set[Route]]:
    """The routes of each module that defines endpoints (by the endpoint's module)."""
    out: dict[str, set[Route]] = {}
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or path in SKIPPED_PATHS or path.startswith(SKIPPED_PREFIXES):
            continue
        module = route.endpoint.__module__
        out.setdefault(module, set()).update((m, path) for m in route.methods if m != "HEAD")
    return out


DECORATOR = re.compile(r"^@router\.(get|post|put|patch|delete)\(", re.MULTILINE)

# ------------------------------------------------------------------------------ role groups

EVERYONE = frozenset(ROLES)
LOGGED_IN = EVERYONE - {PUBLIC}
ADMINS = frozenset({ADMIN, OPERATOR})
DEPARTMENTS = frozenset({OFFICER, SYSTEM, SYSTEM_B})
GOVERNMENT = ADMINS | DEPARTMENTS
DEPT_A_ONLY = frozenset({OFFICER, SYSTEM})
SUBJECTS = frozenset({SUBJECT, SUBJECT_B})
OUTSIDERS = frozenset({PUBLIC, BANK, PROVIDER})  # the roles that get the public view
assert OUTSIDERS | {SUBJECT, SUBJECT_B, NARROW} | GOVERNMENT == EVERYONE


@dataclass(frozen=True)
class Case:
    """One way to call a route and who it lets through.

    ``allowed``: the roles the route serves (any answer but 401/403, a login redirect or a
    server error). ``scoped``: roles the route lets in but for whom the object in the path does
    not exist (another department's batch: exactly this status). Every other role is refused.
    ``refs``/``params``: path parameters (world ids by name, or literal values) over the
    defaults; ``query``: the query string; ``fresh``: call with a new login (the call ends
    the session)."""

    allowed: frozenset[str]
    label: str = ""
    scoped: Mapping[str, int] = field(default_factory=dict)
    refs: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    fresh: bool = False


def case(allowed: frozenset[str], **kw: Any) -> tuple[Case, ...]:
    return (Case(allowed, **kw),)


GRADE_QUERY = {"model": "gz_general", "since": "2026-01-01"}
SAMR = {"model": "samr_risk"}

# Who may call what. Admin routes: the administrator (session) and the operator token.
# Department routes: a department's officer or system, acting for its own department
# (another department's object: 404). Government routes: both. Subject-scoped views are checked
# for content in test_views.py and test_leaks.py; here they are "allowed" to everyone.
EXPECTATIONS: dict[Route, tuple[Case, ...]] = {
    # --- accounts: API
    ("GET", "/api/v1/me"): case(EVERYONE),
    ("GET", "/api/v1/me/messages"): case(LOGGED_IN),
    ("POST", "/api/v1/register"): case(EVERYONE),
    ("GET", "/api/v1/admin/accounts"): case(ADMINS),
    ("POST", "/api/v1/admin/accounts"): case(ADMINS),
    ("GET", "/api/v1/admin/accounts/{account_id}"): case(ADMINS),
    ("POST", "/api/v1/admin/accounts/{account_id}/decision"): case(
        ADMINS, refs={"account_id": "pending_account"}),
    ("POST", "/api/v1/admin/accounts/{account_id}/status"): case(ADMINS),
    ("POST", "/api/v1/admin/accounts/{account_id}/unlock"): case(ADMINS),
    ("POST", "/api/v1/admin/accounts/{account_id}/tokens"): case(ADMINS),
    ("DELETE", "/api/v1/admin/tokens/{token_id}"): case(ADMINS),
    ("GET", "/api/v1/admin/departments"): case(ADMINS),
    ("POST", "/api/v1/admin/departments"): case(ADMINS),
    ("POST", "/api/v1/admin/departments/{code}/key"): case(ADMINS),
    ("DELETE", "/api/v1/admin/departments/{code}/key"): case(ADMINS),
    # --- accounts: pages
    ("GET", "/login"): case(EVERYONE),
    ("POST", "/login"): case(EVERYONE),
    ("POST", "/logout"): case(LOGGED_IN, fresh=True),
    ("GET", "/register"): case(EVERYONE),
    ("POST", "/register"): case(EVERYONE),
    ("GET", "/account/password"): case(LOGGED_IN),
    ("POST", "/account/password"): case(LOGGED_IN),
    ("GET", "/me"): case(SUBJECTS),
    ("GET", "/me/messages"): case(LOGGED_IN),
    ("POST", "/me/messages/read"): case(LOGGED_IN),
    ("GET", "/admin/accounts"): case(ADMINS),
    ("GET", "/admin/accounts/new"): case(ADMINS),
    ("POST", "/admin/accounts/new"): case(ADMINS),
    ("GET", "/admin/accounts/{account_id}"): case(ADMINS),
    ("POST", "/admin/accounts/{account_id}/{action}"): case(ADMINS),
    ("POST", "/admin/accounts/{account_id}/tokens/new"): case(ADMINS),
    ("POST", "/admin/tokens/{token_id}/revoke"): case(ADMINS),
    ("GET", "/admin/departments"): case(ADMINS),
    ("POST", "/admin/departments"): case(ADMINS),
    ("POST", "/admin/departments/{code}/key"): case(ADMINS),
    ("POST", "/admin/departments/{code}/key/revoke"): case(ADMINS),
    # --- audit log
    ("GET", "/api/v1/admin/audit"): case(ADMINS),
    ("GET", "/api/v1/admin/audit/verify"): case(ADMINS),
    ("GET", "/admin/audit"): case(ADMINS),
    ("GET", "/admin/audit/export.csv"): case(ADMINS),
    # --- subjects
    ("GET", "/api/v1/subjects"): case(EVERYONE, query={"q": "广州测试1号有限公司"}),
    ("GET", "/api/v1/subjects/{code}"): (
        Case(EVERYONE),
        Case(EVERYONE, label="natural_person", refs={"code": "person_code"}),
    ),
    ("GET", "/api/v1/subjects/{code}/profile"): (
        Case(EVERYONE),
        Case(EVERYONE, label="natural_person", refs={"code": "person_code"}),
        Case(GOVERNMENT | {SUBJECT}, label="view=subject", query={"view": "subject"}),
        Case(GOVERNMENT, label="view=government", query={"view": "government"}),
    ),
    # --- records
    ("POST", "/api/v1/records/{record_type}"): case(DEPARTMENTS),
    ("POST", "/api/v1/records/{record_type}/upload"): case(DEPARTMENTS),
    ("GET", "/api/v1/batches"): case(DEPARTMENTS),
    ("GET", "/api/v1/batches/{batch_id}"): case(DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
    ("GET", "/api/v1/batches/{batch_id}/errors.{fmt}"): case(
        DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
    ("GET", "/api/v1/admin/batches"): case(ADMINS),
    ("GET", "/api/v1/admin/pending"): case(ADMINS),
    ("POST", "/api/v1/admin/pending/{pending_id}/resolve"): case(ADMINS),
    ("POST", "/api/v1/admin/records/{record_id}/class"): case(ADMINS),
    # --- catalog
    ("GET", "/api/v1/catalog"): case(EVERYONE),
    ("GET", "/api/v1/catalog/{record_type}"): case(EVERYONE),
    # --- evaluation: API
    ("GET", "/api/v1/evaluation/models"): case(EVERYONE),
    ("GET", "/api/v1/evaluation/models/{name}"): (
        Case(EVERYONE),
        Case(GOVERNMENT, label="samr_risk", params={"name": "samr_risk"}),
    ),
    ("POST", "/api/v1/evaluation/models"): case(GOVERNMENT),
    ("POST", "/api/v1/evaluation/models/{name}/versions/{version}/dry-run"): case(GOVERNMENT),
    ("POST", "/api/v1/evaluation/models/{name}/versions/{version}/activate"): case(ADMINS),
    ("POST", "/api/v1/evaluation/models/{name}/evaluate"): case(ADMINS),
    ("GET", "/api/v1/evaluation/runs"): case(ADMINS),
    ("GET", "/api/v1/evaluation/grade-changes"): case(GOVERNMENT, query=GRADE_QUERY),
    ("GET", "/api/v1/subjects/{code}/evaluations"): case(EVERYONE),
    ("GET", "/api/v1/subjects/{code}/evaluations/{model}/explain"): (
        Case(EVERYONE),
        Case(GOVERNMENT, label="samr_risk", params=SAMR),
    ),
    ("GET", "/api/v1/subjects/{code}/evaluations/{model}/history"): (
        Case(EVERYONE),
        Case(GOVERNMENT, label="samr_risk", params=SAMR),
    ),
    ("GET", "/api/v1/evaluation/dashboard"): case(GOVERNMENT, query={"model": "gz_general"}),
    ("GET", "/api/v1/evaluation/dashboard.xlsx"): case(GOVERNMENT, query={"model": "gz_general"}),
    # --- public pages
    ("GET", "/"): case(EVERYONE, query={"q": "广州测试"}),
    ("GET", "/subjects/{code}"): (
        Case(EVERYONE),
        Case(EVERYONE, label="natural_person", refs={"code": "person_code"}),
        # asking for more than allowed shows the allowed view with a notice
        Case(EVERYONE, label="view=government", query={"view": "government"}),
    ),
    ("GET", "/catalog"): case(EVERYONE),
    ("GET", "/catalog/{code}"): case(EVERYONE),
    # --- published lists (公示名单)
    ("GET", "/api/v1/lists"): case(EVERYONE),
    ("GET", "/api/v1/lists/{list_type}"): case(EVERYONE),
    ("GET", "/lists"): case(EVERYONE),
    ("GET", "/lists/{list_type}"): case(EVERYONE),
    ("GET", "/subjects/{code}/evaluations/{model}"): (
        Case(EVERYONE),
        Case(GOVERNMENT, label="samr_risk", params=SAMR),
    ),
    # --- portals: the administrator's and a department's
    ("GET", "/admin"): case(ADMINS),
    ("GET", "/dept"): case(DEPARTMENTS),
    ("GET", "/admin/batches"): case(ADMINS),
    ("GET", "/dept/batches"): case(DEPARTMENTS),
    ("GET", "/admin/batches/{batch_id}"): case(ADMINS),
    ("GET", "/dept/batches/{batch_id}"): case(DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
    ("GET", "/admin/batches/{batch_id}/errors.{fmt}"): case(ADMINS),
    ("GET", "/dept/batches/{batch_id}/errors.{fmt}"): case(DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
    ("GET", "/admin/upload"): case(ADMINS),
    ("GET", "/dept/upload"): case(DEPARTMENTS),
    ("POST", "/admin/upload"): case(ADMINS),
    ("POST", "/dept/upload"): case(DEPARTMENTS),
    ("GET", "/admin/pending"): case(ADMINS),
    ("GET", "/admin/pending/{pending_id}"): case(ADMINS),
    ("POST", "/admin/pending/{pending_id}/resolve"): case(ADMINS),
    # --- evaluation: operator pages
    ("GET", "/admin/models"): case(ADMINS),
    ("POST", "/admin/models"): case(ADMINS),
    ("GET", "/admin/models/{name}/{version}"): case(ADMINS),
    ("POST", "/admin/models/{name}/{version}/dry-run"): case(ADMINS),
    ("POST", "/admin/models/{name}/{version}/activate"): case(ADMINS),
    ("POST", "/admin/models/{name}/{version}/evaluate"): case(ADMINS),
    ("GET", "/admin/dashboard"): case(ADMINS),
    # --- supervision libraries (another department's library: refused)
    ("POST", "/api/v1/supervision/libraries"): case(GOVERNMENT),
    ("GET", "/api/v1/supervision/libraries"): case(GOVERNMENT),
    ("GET", "/api/v1/supervision/libraries/{library_id}"): case(ADMINS | DEPT_A_ONLY),
    ("GET", "/admin/supervision"): case(ADMINS),
    ("POST", "/admin/supervision"): case(ADMINS),
    ("GET", "/admin/supervision/{library_id}"): case(ADMINS),
    ("GET", "/dept/supervision"): case(DEPARTMENTS),
    ("POST", "/dept/supervision"): case(DEPARTMENTS),
    ("GET", "/dept/supervision/{library_id}"): case(DEPT_A_ONLY),
}


# The domains' own statements (tests/access/domains/*.py) join the table.
from tests.access import domains as _domains  # noqa: E402

for _m in _domains.modules():
    _extra = getattr(_m, "EXPECTATIONS", {})
    _clash = EXPECTATIONS.keys() & _extra.keys()
    assert not _clash, f"{_m.__name__} restates routes: {sorted(_clash)}"
    EXPECTATIONS.update(_extra)


# ------------------------------------------------------------------------------ requests


def is_page(path: str) -> bool:
    return not path.startswith("/api/")


def path_params(world: World, method: str, path: str, c: Case) -> dict[str, str]:
    ids = world.ids
    values: dict[str, Any] = {
        "account_id": ids["spare_account"],
        "token_id": ids["spare_token"],
        "code": ids["s1_code"],
        "record_type": "administrative_penalty",
        "batch_id": ids["batch_a"],
        "fmt": "csv",
        "pending_id": ids["pending"],
        "record_id": ids["spare_record"],
        "name": "gz_general",
        "version": "2023.1",
        "model": "gz_general",
        "library_id": ids["library"],
        "action": "unlock",
        "list_type": "serious_dishonesty_list",
    }
    for m in _domains.modules():
        for name, key in getattr(m, "PARAMS", {}).items():
            values[name] = ids[key]
    if "/departments/{code}" in path:
        values["code"] = DEPT_SPARE  # the spare department: its key may come and go
    elif path.startswith("/catalog/"):
        values["code"] = "administrative_penalty"
    values.update({k: ids[v] for k, v in c.refs.items()})
    values.update(c.params)
    return {k: str(v) for k, v in values.items()}


def fill(path: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


Body = Callable[[World], dict[str, Any]]
_PASSWORD = "Xinyong2026"

# A minimal body for each state-changing call: valid where that is cheap, otherwise one the
# route refuses after its guard (400/422), which shows the guard let the caller through.
BODIES: dict[Route, Body] = {
    ("POST", "/api/v1/register"): lambda w: {"json": {
        "role": "bank", "username": w.unique("reg-api-"), "password": _PASSWORD,
        "display_name": "注册测试银行"}},
    ("POST", "/api/v1/admin/accounts"): lambda w: {"json": {
        "username": w.unique("new-api-"), "display_name": "新开账号", "role": "bank",
        "password": _PASSWORD}},
    ("POST", "/api/v1/admin/accounts/{account_id}/decision"): lambda w: {
        "json": {"approve": True}},
    ("POST", "/api/v1/admin/accounts/{account_id}/status"): lambda w: {
        "json": {"status": "active"}},
    ("POST", "/api/v1/admin/accounts/{account_id}/tokens"): lambda w: {
        "json": {"name": "矩阵", "scopes": ["public:read"], "days": 1}},
    ("POST", "/api/v1/admin/departments"): lambda w: {
        "json": {"code": w.unique("dept-"), "name": "矩阵测试部门"}},
    ("POST", "/login"): lambda w: {"data": {"username": "", "password": ""}},
    ("POST", "/register"): lambda w: {"data": {
        "role": "bank", "username": "reg-page", "password": "a", "password2": "b"}},
    ("POST", "/account/password"): lambda w: {"data": {"current": "", "new": "a", "new2": "b"}},
    ("POST", "/admin/accounts/{account_id}/tokens/new"): lambda w: {
        "data": {"name": "矩阵", "scope": "public:read", "days": "1"}},
    ("POST", "/api/v1/records/{record_type}"): lambda w: {"json": {"records": []}},
    ("POST", "/api/v1/records/{record_type}/upload"): lambda w: {
        "files": {"file": ("empty.csv", b"", "text/csv")}},
    ("POST", "/api/v1/admin/pending/{pending_id}/resolve"): lambda w: {
        "json": {"subject_id": w.ids["spare_subject"]}},
    ("POST", "/api/v1/admin/records/{record_id}/class"): lambda w: {
        "json": {"penalty_class": "serious", "reason": "矩阵测试更正"}},
    ("POST", "/api/v1/evaluation/models"): lambda w: {"json": {"source": "name: [未闭合"}},
    ("POST", "/api/v1/evaluation/models/{name}/versions/{version}/dry-run"): lambda w: {
        "json": {"sample": 10}},
    ("POST", "/api/v1/evaluation/models/{name}/evaluate"): lambda w: {"json": {}},
    ("POST", "/admin/models/{name}/{version}/dry-run"): lambda w: {"data": {"sample": "10"}},
    ("POST", "/api/v1/supervision/libraries"): lambda w: {"json": {
        "name": w.unique("矩阵监管库"), "codes": [w.ids["s1_code"]], "department": DEPT_A}},
}

for _m in _domains.modules():
    BODIES.update(getattr(_m, "BODIES", {}))

"""No leak: every GET route (API and page), called with real parameters by each role, must not
show that role any sentinel it may not see (tests/access/world.py seeds them).

- outsiders (the public, a bank, an incentive provider, another subject's account, a token
  with only ``public:read``) get the public view: no restricted, internal, expired,
  not-published, repaired, revoked or superseded record, nothing of a natural person, no
  unmasked personal number in free text, nothing of the government-only SAMR classification;
- the subject's own account sees its restricted records in every state, but nothing internal,
  nothing of the SAMR classification and nothing of other subjects beyond the public view;
- nobody, government included, ever gets a clear ID number back: the platform keeps only a
  keyed hash and a masked form.

Each role's responses are fetched once per world and shared by its checks.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.access.routes import EXPECTATIONS, fill, is_page, path_params
from tests.access.world import (
    ADMIN,
    BANK,
    CONTROL_DOC,
    FREE_PHONE,
    HTML,
    ID_NUMBER,
    JSON,
    NARROW,
    PERSON_NAME,
    PERSON_PHONE,
    PROVIDER,
    PUBLIC,
    RESTRICTED_CASE,
    SENTINELS,
    SUBJECT,
    SUBJECT_B,
    SYSTEM,
    World,
)

try:  # the published lists (helpers are adding them; list_type paths use every list)
    from xinyong.records.lists import LIST_TYPES
except ImportError:  # pragma: no cover
    LIST_TYPES = ("serious_dishonesty_list",)

ALL_GROUPS = frozenset(SENTINELS)
OUTSIDE = (PUBLIC, BANK, PROVIDER, SUBJECT_B, NARROW)
# What each scanned role must never be shown.
FORBIDDEN: dict[str, frozenset[str]] = {
    **{role: ALL_GROUPS for role in OUTSIDE},
    SUBJECT: frozenset({"internal", "samr_risk", "natural_person", "free_text_pii",
                        "id_never_stored"}),
    # the administrator's pages (pending queue, rejected rows) and a department's
    ADMIN: frozenset({"id_never_stored"}),
    SYSTEM: frozenset({"id_never_stored"}),
}

# Leaks found by these scans and not fixed yet: (role, sentinel group) → the report. The
# scan leaves the group out for that role, and test_known_leak expects its targeted check to
# fail. (The free-text ID and mobile numbers of public records were one; they are masked now.)
KNOWN: dict[tuple[str, str], str] = {}

MODELS = (("gz_general", "2023.1"), ("samr_risk", "2022.1"))
VIEWS = ("", "public", "subject", "government")
SEARCHES = ("广州测试", PERSON_NAME, ID_NUMBER, PERSON_PHONE, FREE_PHONE, RESTRICTED_CASE)


@dataclass(frozen=True)
class Fetched:
    what: str
    status: int
    text: str


def _requests(world: World) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(route, URL, query) for every GET route, with each subject, model and list in turn."""
    ids = world.ids
    for (method, path), cases in EXPECTATIONS.items():
        if method != "GET":
            continue
        base = path_params(world, method, path, cases[0])
        codes = [base["code"]]
        if "{code}" in path and base["code"] == ids["s1_code"]:
            codes = [ids["s1_code"], ids["person_code"], ids["pii_code"]]
        models = MODELS if "{model}" in path or "{name}" in path else MODELS[:1]
        lists = LIST_TYPES if "{list_type}" in path else LIST_TYPES[:1]
        queries: list[dict[str, str]] = [dict(cases[0].query)]
        if path.endswith("/profile") or path == "/subjects/{code}":
            queries = [{"view": v} if v else {} for v in VIEWS]
        elif path in ("/", "/api/v1/subjects") or "lists" in path:
            queries = [{}, *({"q": q} for q in SEARCHES)]
        elif "model" in cases[0].query or path == "/admin/dashboard":
            queries = [{**cases[0].query, "model": m, "since": "2026-01-01"} for m, _ in MODELS]
        for code, (model, version), list_type in itertools.product(codes, models, lists):
            values = {**base, "code": code, "model": model, "name": model, "version": version,
                      "list_type": list_type}
            for query in queries:
                yield path, fill(path, values), query


def _text(content: bytes) -> str:
    if content[:2] == b"PK":  # an XLSX: its strings are in the zipped XML parts
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return content.decode("utf-8", "replace")


def fetched(world: World, role: str) -> list[Fetched]:
    key = f"scan:{role}"
    if key not in world.cache:
        client = world.client(role)
        out = []
        for path, url, query in _requests(world):
            headers = {**(HTML if is_page(path) else JSON), **world.headers.get(role, {})}
            r = client.get(url, params=query, headers=headers, follow_redirects=False)
            assert r.status_code < 500, (url, query, r.text[:300])
            what = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            body = _text(r.content)
            if "q" in query:  # a search repeats what was typed: that is no leak
                body = body.replace(query["q"], "")
            out.append(Fetched(f"{what} → {r.status_code}", r.status_code, body))
        world.cache[key] = out
    return world.cache[key]  # type: ignore[no-any-return]


def leaks(world: World, role: str, groups: frozenset[str]) -> list[str]:
    return [
        f"[{group}] {sentinel!r} in {f.what}"
        for f in fetched(world, role)
        for group in sorted(groups)
        for sentinel in SENTINELS[group]
        if sentinel in f.text
    ]


@pytest.mark.parametrize("role", list(FORBIDDEN))
def test_no_response_shows_what_the_role_may_not_see(world: World, role: str) -> None:
    groups = FORBIDDEN[role] - {g for r, g in KNOWN if r == role}
    found = leaks(world, role, groups)
    assert not found, f"{len(found)} leaks to {role}:\n" + "\n".join(found[:40])
    # not vacuous: the public record is there to be seen, by API and page
    seen = [f.what for f in fetched(world, role) if CONTROL_DOC in f.text]
    assert any("/api/v1/subjects/" in w for w in seen) and any(
        w.startswith("/subjects/") for w in seen), seen


@pytest.mark.parametrize(
    ("role", "group"),
    [pytest.param(r, g, marks=pytest.mark.xfail(strict=True, reason=why), id=f"{r}-{g}")
     for (r, g), why in KNOWN.items()],
)
def test_known_leak(world: World, role: str, group: str) -> None:
    """The reported leaks, on the routes they were found on (the full scan skips them)."""
    code = world.ids["pii_code"]
    headers = world.headers.get(role, {})
    client = world.client(role)
    bodies = [client.get(url, headers={**(JSON if url.startswith("/api/") else HTML), **headers}
                         ).text
              for url in (f"/api/v1/subjects/{code}/profile", f"/subjects/{code}",
                          "/api/v1/lists/serious_dishonesty_list",
                          "/lists/serious_dishonesty_list")]
    found = [s for s in SENTINELS[group] for body in bodies if s in body]
    assert not found, found

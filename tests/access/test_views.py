"""What each role's response contains: the view it is given, its own data and only its own.

The matrix (test_matrix.py) says who is let in; the scans (test_leaks.py) say what nobody may be
shown. These say what each one does see: the subject its own restricted records, the
government everything, a department only its own batches and libraries.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.access.routes import ADMINS, EVERYONE, GOVERNMENT
from tests.access.world import (
    ADMIN,
    BANK,
    CONTROL_DOC,
    CONTROL_LIST_REASON,
    DEPT_A,
    EXPIRED_DOC,
    HTML,
    ID_MASKED,
    INTERNAL_DOC,
    JSON,
    NARROW,
    OFFICER,
    OPERATOR,
    PERSON_DOC,
    PROVIDER,
    PUBLIC,
    REPAIRED_DOC,
    RESTRICTED_ACCOUNT,
    RESTRICTED_CASE,
    REVOKED_DOC,
    REVOKED_LIST_REASON,
    ROLES,
    SUBJECT,
    SUBJECT_B,
    SYSTEM,
    SYSTEM_B,
    World,
)

# The view of subject S1's profile each role gets by default.
VIEWS = {role: "government" for role in GOVERNMENT} | {SUBJECT: "subject"} | {
    role: "public" for role in (PUBLIC, BANK, PROVIDER, SUBJECT_B, NARROW)}
assert set(VIEWS) == EVERYONE

ME = {
    PUBLIC: ("public", "anonymous"), ADMIN: ("admin", "session"), OPERATOR: ("admin", "operator"),
    OFFICER: ("department_officer", "session"), SYSTEM: ("department_system", "token"),
    SYSTEM_B: ("department_system", "token"), SUBJECT: ("subject", "session"),
    SUBJECT_B: ("subject", "session"), BANK: ("bank", "session"),
    PROVIDER: ("provider", "session"), NARROW: ("department_system", "token"),
}

def get(world: World, role: str, url: str, page: bool = False, **params: str) -> Any:
    headers = {**(HTML if page else JSON), **world.headers.get(role, {})}
    r = world.client(role).get(url, params=params, headers=headers, follow_redirects=False)
    assert r.status_code == 200, (role, url, r.status_code, r.text[:300])
    return r.text if page else r.json()


def titles(profile: dict[str, Any]) -> set[str]:
    return {rec["title"] for c in profile["categories"] for rec in c["records"]}


@pytest.mark.parametrize("role", ROLES)
def test_me_says_who_is_calling(world: World, role: str) -> None:
    me = get(world, role, "/api/v1/me")
    assert (me["role"], me["via"]) == ME[role]
    if role == NARROW:
        assert me["scopes"] == ["public:read"]
    if role in (OFFICER, SYSTEM, NARROW):
        assert me["department"] == DEPT_A


@pytest.mark.parametrize("role", ROLES)
def test_profile_view_follows_the_role(world: World, role: str) -> None:
    s1 = world.ids["s1_code"]
    profile = get(world, role, f"/api/v1/subjects/{s1}/profile")
    assert profile["view"] == VIEWS[role]
    shown = titles(profile)
    assert CONTROL_DOC in shown
    if VIEWS[role] == "public":
        assert shown.isdisjoint({RESTRICTED_CASE, INTERNAL_DOC, EXPIRED_DOC, REPAIRED_DOC,
                                 REVOKED_DOC})
    # the page shows the same view
    page = get(world, role, f"/subjects/{s1}", page=True)
    assert CONTROL_DOC in page
    assert (RESTRICTED_CASE in page) == (VIEWS[role] != "public")


def test_subject_sees_its_own_restricted_records(world: World) -> None:
    s1 = world.ids["s1_code"]
    profile = get(world, SUBJECT, f"/api/v1/subjects/{s1}/profile")
    shown = titles(profile)
    # restricted records, and its records in every state (the subject view)
    assert {RESTRICTED_CASE, REPAIRED_DOC, REVOKED_DOC, EXPIRED_DOC} <= shown
    assert any(f["value"] == RESTRICTED_ACCOUNT for c in profile["categories"]
               for rec in c["records"] for f in rec["fields"])
    assert INTERNAL_DOC not in shown  # internal stays with the government
    page = get(world, SUBJECT, f"/subjects/{s1}", page=True)
    assert RESTRICTED_CASE in page and "主体视图" in page
    # its portal entry leads to its own profile
    r = world.client(SUBJECT).get("/me", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/subjects/{s1}"
    # another subject's account gets the public view of S1, and cannot ask for more
    assert get(world, SUBJECT_B, f"/api/v1/subjects/{s1}/profile")["view"] == "public"
    r = world.client(SUBJECT_B).get(f"/api/v1/subjects/{s1}/profile",
                                    params={"view": "subject"}, headers=JSON)
    assert r.status_code == 403 and r.json()["code"] == "VIEW_FORBIDDEN"


@pytest.mark.parametrize("role", [ADMIN, OPERATOR, OFFICER, SYSTEM, SYSTEM_B])
def test_government_sees_everything(world: World, role: str) -> None:
    s1 = world.ids["s1_code"]
    shown = titles(get(world, role, f"/api/v1/subjects/{s1}/profile"))
    assert {CONTROL_DOC, RESTRICTED_CASE, INTERNAL_DOC, EXPIRED_DOC, REPAIRED_DOC,
            REVOKED_DOC} <= shown
    person = get(world, role, f"/api/v1/subjects/{world.ids['person_code']}/profile")
    assert person["subject"]["id_number_masked"] == ID_MASKED
    assert PERSON_DOC in titles(person)
    models = {r["model"]: r for r in get(world, role, f"/api/v1/subjects/{s1}/evaluations")}
    assert models["samr_risk"]["grade"] in {"A", "B", "C", "D"}
    page = get(world, role, f"/subjects/{s1}", page=True)
    assert INTERNAL_DOC in page and "政务视图" in page


@pytest.mark.parametrize("role", ROLES)
def test_government_only_models_and_results(world: World, role: str) -> None:
    government = role in GOVERNMENT
    listed = {m["name"] for m in get(world, role, "/api/v1/evaluation/models")}
    assert ("samr_risk" in listed) == government
    assert {"gz_general", "huixin_code"} <= listed
    results = {r["model"] for r in get(
        world, role, f"/api/v1/subjects/{world.ids['s1_code']}/evaluations")}
    assert ("samr_risk" in results) == government
    assert "gz_general" in results


@pytest.mark.parametrize("role", [r for r in ROLES if VIEWS[r] == "public"])
def test_outsiders_get_no_evaluation_of_a_natural_person(world: World, role: str) -> None:
    """A public model's result is computed from all of a subject's records; for a natural
    person (whose records are never public) outsiders get none (found by this suite, fixed in
    541ab0c)."""
    person = world.ids["person_code"]
    assert get(world, role, f"/api/v1/subjects/{person}/evaluations") == []
    for what in ("explain", "history"):
        r = world.client(role).get(
            f"/api/v1/subjects/{person}/evaluations/huixin_code/{what}",
            headers={**JSON, **world.headers.get(role, {})})
        assert r.status_code in (403, 404) or not r.json(), (what, r.text[:300])
    assert "红码" not in get(world, role, f"/subjects/{person}", page=True)
    r = world.client(role).get(f"/subjects/{person}/evaluations/huixin_code",
                               headers={**HTML, **world.headers.get(role, {})})
    assert r.status_code in (403, 404) or "红码" not in r.text, r.text[:300]
    # the government still sees it
    assert [m["model"] for m in get(world, OFFICER, f"/api/v1/subjects/{person}/evaluations")
            ] == ["huixin_code"]


@pytest.mark.parametrize("role", ROLES)
def test_published_lists_show_the_public_entries(world: World, role: str) -> None:
    api = get(world, role, "/api/v1/lists/serious_dishonesty_list")
    assert CONTROL_LIST_REASON in str(api["items"])
    assert REVOKED_LIST_REASON not in str(api["items"])  # a revoked entry is not published
    assert CONTROL_LIST_REASON in get(world, role, "/lists/serious_dishonesty_list", page=True)
    # a natural person is never on a published list
    assert get(world, role, "/api/v1/lists/dishonest_judgment_debtor")["total"] == 0


@pytest.mark.parametrize("role", [OFFICER, SYSTEM, SYSTEM_B])
def test_a_department_sees_only_its_own_batches_and_libraries(world: World, role: str) -> None:
    own = role != SYSTEM_B
    batches = {b["id"] for b in get(world, role, "/api/v1/batches")["items"]}
    assert (world.ids["batch_a"] in batches) == own
    libraries = {lib["id"] for lib in get(world, role, "/api/v1/supervision/libraries")}
    assert (world.ids["library"] in libraries) == own
    page = get(world, role, "/dept/batches", page=True)
    assert (f"/dept/batches/{world.ids['batch_a']}" in page) == own
    page = get(world, role, "/dept/supervision", page=True)
    assert ("哨兵监管库" in page) == own


@pytest.mark.parametrize("role", sorted(ADMINS))
def test_administrators_see_every_department(world: World, role: str) -> None:
    batches = {b["id"] for b in get(world, role, "/api/v1/admin/batches")["items"]}
    assert world.ids["batch_a"] in batches
    libraries = {lib["id"] for lib in get(world, role, "/api/v1/supervision/libraries")}
    assert world.ids["library"] in libraries


@pytest.mark.parametrize("role", [PUBLIC, BANK, SUBJECT])
def test_asking_for_a_richer_view_is_refused_not_downgraded(world: World, role: str) -> None:
    r = world.client(role).get(f"/api/v1/subjects/{world.ids['s1_code']}/profile",
                               params={"view": "government"}, headers=JSON)
    assert r.status_code == (401 if role == PUBLIC else 403)
    assert set(r.json()) == {"code", "message"}

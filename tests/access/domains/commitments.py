"""Who may call the credit commitment routes (xinyong/commitments).

The seeded objects: a public 告知承诺 that subject S2 made to department A (signed), and a
容缺受理 request department A sent to S2 (not signed yet). S1's account finds neither of S2's
(404); department B finds neither of department A's (404)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from tests.evaluation import builders as b

S2_CODE = b.code(2)


def seed(engine: Engine, ids: dict[str, Any]) -> None:
    from xinyong.accounts.principal import Principal
    from xinyong.commitments import service
    from xinyong.core.db import session_scope
    from xinyong.departments.models import Department

    s2 = Principal(role="subject", username="acc-subject2", subject_id=ids["s2"], via="session")
    with session_scope() as session:
        public = service.sign_new(session, me=s2, template="notify_commit_approval",
                                  department="market", affirm=True,
                                  fields={"matter": "食品经营许可（矩阵）"})
        dept_a = session.query(Department).filter_by(code="market").one()
        requested = service.request_commitment(
            session, department_id=dept_a.id, actor="test", code=S2_CODE,
            template="deficiency_tolerated_document",
            fields={"matter": "建设工程施工许可（矩阵）", "document": "施工图设计文件审查合格书"})
        ids["commitment_public"] = public.id
        ids["commitment_requested"] = requested.id


def _routes() -> dict[tuple[str, str], tuple[Any, ...]]:
    from tests.access.routes import (
        ADMINS,
        DEPARTMENTS,
        DEPT_A_ONLY,
        EVERYONE,
        GOVERNMENT,
        SUBJECT,
        SUBJECT_B,
        SUBJECTS,
        SYSTEM_B,
        case,
    )

    own = frozenset({SUBJECT_B})
    req = {"commitment_id": "commitment_requested"}
    return {
        # --- API
        ("GET", "/api/v1/commitments/templates"): case(EVERYONE),
        ("GET", "/api/v1/commitments/eligibility"): case(GOVERNMENT, query={"code": S2_CODE}),
        ("POST", "/api/v1/commitments/eligibility"): case(GOVERNMENT),
        ("GET", "/api/v1/commitments"): case(EVERYONE),
        ("GET", "/api/v1/commitments/{commitment_id}"): case(EVERYONE),
        ("GET", "/api/v1/me/commitments"): case(SUBJECTS),
        ("POST", "/api/v1/me/commitments"): case(SUBJECTS),
        ("GET", "/api/v1/me/commitments/{commitment_id}"): case(own, scoped={SUBJECT: 404}),
        ("POST", "/api/v1/me/commitments/{commitment_id}/sign"): case(
            own, scoped={SUBJECT: 404}, refs=req),
        ("GET", "/api/v1/dept/commitments"): case(DEPARTMENTS),
        ("POST", "/api/v1/dept/commitments"): case(DEPARTMENTS),
        ("GET", "/api/v1/dept/commitments/{commitment_id}"): case(
            DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
        ("POST", "/api/v1/dept/commitments/{commitment_id}/decision"): case(
            DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
        ("POST", "/api/v1/dept/commitments/{commitment_id}/cancel"): case(
            DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
        ("GET", "/api/v1/admin/commitments"): case(ADMINS),
        ("POST", "/api/v1/admin/commitments/sweep"): case(ADMINS),
        # --- pages
        ("GET", "/commitments"): case(EVERYONE, query={"q": "广州测试"}),
        ("GET", "/commitments/{commitment_id}"): case(EVERYONE),
        ("GET", "/me/commitments"): case(SUBJECTS),
        ("GET", "/me/commitments/new"): case(SUBJECTS, query={"template": "voluntary_public"}),
        ("POST", "/me/commitments/new"): case(SUBJECTS),
        ("GET", "/me/commitments/{commitment_id}"): case(own, scoped={SUBJECT: 404}),
        ("POST", "/me/commitments/{commitment_id}/sign"): case(
            own, scoped={SUBJECT: 404}, refs=req),
        ("GET", "/dept/commitments"): case(DEPARTMENTS),
        ("GET", "/dept/commitments/new"): case(
            DEPARTMENTS, query={"template": "deficiency_tolerated_document"}),
        ("POST", "/dept/commitments/new"): case(DEPARTMENTS),
        ("GET", "/dept/commitments/{commitment_id}"): case(DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
        ("POST", "/dept/commitments/{commitment_id}/decision"): case(
            DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
        ("GET", "/admin/commitments"): case(ADMINS),
        ("GET", "/admin/commitments/{commitment_id}"): case(ADMINS),
        ("POST", "/admin/commitments/sweep"): case(ADMINS),
    }


EXPECTATIONS = _routes()
PARAMS = {"commitment_id": "commitment_public"}

# Bodies the routes refuse after their guard (nothing changes): no affirmation, an unknown
# template, an invalid outcome, an empty reason.
BODIES = {
    ("POST", "/api/v1/commitments/eligibility"): lambda w: {"json": {
        "kind": "notify_commit", "codes": [S2_CODE, b.code(1)]}},
    ("POST", "/api/v1/me/commitments"): lambda w: {"json": {
        "template": "voluntary_public", "fields": {"matter": "矩阵"}, "affirm": False}},
    ("POST", "/api/v1/me/commitments/{commitment_id}/sign"): lambda w: {"json": {
        "fields": {}, "affirm": False}},
    ("POST", "/api/v1/dept/commitments"): lambda w: {"json": {
        "code": S2_CODE, "template": "矩阵无此模板", "fields": {}}},
    ("POST", "/api/v1/dept/commitments/{commitment_id}/decision"): lambda w: {"json": {
        "outcome": "矩阵"}},
    ("POST", "/api/v1/dept/commitments/{commitment_id}/cancel"): lambda w: {"json": {
        "reason": ""}},
    ("POST", "/me/commitments/new"): lambda w: {"data": {
        "template": "voluntary_public", "f_matter": "矩阵"}},
    ("POST", "/me/commitments/{commitment_id}/sign"): lambda w: {"data": {}},
    ("POST", "/dept/commitments/new"): lambda w: {"data": {"template": "矩阵无此模板"}},
    ("POST", "/dept/commitments/{commitment_id}/decision"): lambda w: {"data": {
        "outcome": "矩阵"}},
}

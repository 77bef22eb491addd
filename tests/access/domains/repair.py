"""Who may call the credit repair routes (xinyong/repair/api.py and pages.py).

The seeded application is subject S1's, about a penalty department A sent; every
state-changing call here is one the route refuses after its guard (no reasons given, or out of
order), so the world does not change whatever order the cases run in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.access.routes import (
    ADMINS,
    DEPARTMENTS,
    DEPT_A_ONLY,
    EVERYONE,
    GOVERNMENT,
    SUBJECTS,
    Case,
    case,
)
from tests.access.world import BANK, CONTROL_DOC, SUBJECT, SUBJECT_B, SYSTEM_B

PARAMS = {
    "repair_id": "repair_application",
    "repair_record_id": "repair_record",
    "repair_material_id": "repair_material",
    "query_code": "repair_query_code",
}
OWN = ADMINS | DEPT_A_ONLY | {SUBJECT}
OTHERS_404 = {SYSTEM_B: 404, SUBJECT_B: 404}

EXPECTATIONS = {
    # --- API
    ("GET", "/api/v1/repair/eligibility"): (
        Case(SUBJECTS | GOVERNMENT),
        # S1's own code: S1's account and government; S2's account asks for another's
        Case(GOVERNMENT | {SUBJECT}, label="code", query={"code": "91440101MA0000001Q"}),
    ),
    ("GET", "/api/v1/repair/notices"): case(SUBJECTS),
    ("GET", "/api/v1/repair/notices/{repair_record_id}/pdf"): case(SUBJECTS),
    ("POST", "/api/v1/repair/applications"): case(SUBJECTS),
    ("GET", "/api/v1/repair/applications"): case(GOVERNMENT | SUBJECTS),
    ("GET", "/api/v1/repair/applications/{repair_id}"): case(OWN, scoped=OTHERS_404),
    ("POST", "/api/v1/repair/applications/{repair_id}/materials"): case(
        frozenset({SUBJECT}), scoped={SUBJECT_B: 404}),
    ("POST", "/api/v1/repair/applications/{repair_id}/accept"): case(ADMINS),
    ("POST", "/api/v1/repair/applications/{repair_id}/review"): case(
        DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
    ("POST", "/api/v1/repair/applications/{repair_id}/decide"): case(ADMINS),
    ("GET", "/api/v1/repair/applications/{repair_id}/decision.pdf"): case(
        OWN, scoped=OTHERS_404),
    ("GET", "/api/v1/repair/results"): case(GOVERNMENT | {BANK}, query={"since": "2026-01-01"}),
    ("GET", "/api/v1/repair/progress/{query_code}"): case(EVERYONE),
    # --- pages: the subject's
    ("GET", "/me/repair"): case(SUBJECTS),
    ("GET", "/me/repair/records/{repair_record_id}"): case(SUBJECTS),
    ("POST", "/me/repair/records/{repair_record_id}"): case(SUBJECTS),
    ("GET", "/me/repair/notices/{repair_record_id}.pdf"): case(SUBJECTS),
    ("GET", "/me/repair/{repair_id}"): case(frozenset({SUBJECT}), scoped={SUBJECT_B: 404}),
    ("POST", "/me/repair/{repair_id}/materials"): case(
        frozenset({SUBJECT}), scoped={SUBJECT_B: 404}),
    ("GET", "/me/repair/{repair_id}/decision.pdf"): case(
        frozenset({SUBJECT}), scoped={SUBJECT_B: 404}),
    # --- pages: the office's and the departments'
    ("GET", "/admin/repair"): case(ADMINS),
    ("GET", "/admin/repair/{repair_id}"): case(ADMINS),
    ("POST", "/admin/repair/{repair_id}/accept"): case(ADMINS),
    ("POST", "/admin/repair/{repair_id}/decide"): case(ADMINS),
    ("GET", "/dept/repair"): case(DEPARTMENTS),
    ("GET", "/dept/repair/{repair_id}"): case(DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
    ("POST", "/dept/repair/{repair_id}/review"): case(DEPT_A_ONLY, scoped={SYSTEM_B: 404}),
    ("GET", "/repair/materials/{repair_material_id}"): case(OWN, scoped=OTHERS_404),
    # --- public
    ("GET", "/repair/progress"): (
        Case(EVERYONE),
        Case(EVERYONE, label="code", query={"code": "ABCDEFGHJKMN"}),
    ),
}

BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/repair/applications"): lambda w: {
        "data": {"record_id": str(w.ids["repair_record"])}},
    ("POST", "/api/v1/repair/applications/{repair_id}/materials"): lambda w: {
        "files": [("files", ("x.txt", b"not a pdf", "text/plain"))],
        "data": {"kinds": "performance_proof"}},
    ("POST", "/api/v1/repair/applications/{repair_id}/accept"): lambda w: {
        "json": {"accept": False}},
    ("POST", "/api/v1/repair/applications/{repair_id}/review"): lambda w: {
        "json": {"agree": False}},
    ("POST", "/api/v1/repair/applications/{repair_id}/decide"): lambda w: {
        "json": {"approve": False}},
    ("POST", "/admin/repair/{repair_id}/accept"): lambda w: {"data": {"outcome": "reject"}},
    ("POST", "/admin/repair/{repair_id}/decide"): lambda w: {"data": {"outcome": "reject"}},
    ("POST", "/dept/repair/{repair_id}/review"): lambda w: {"data": {"outcome": "disagree"}},
    ("POST", "/me/repair/{repair_id}/materials"): lambda w: {"data": {}},
}


def seed(engine: Engine, ids: dict[str, Any]) -> None:
    """An application of S1 about department A's public penalty, with one material row, written
    directly (the penalty is not repairable yet on the world's date: the matrix is about who
    may call, the workflow is tested in tests/repair)."""
    from xinyong.core import clock
    from xinyong.core.db import session_scope
    from xinyong.records.models import CreditRecord
    from xinyong.repair.models import RepairApplication, RepairMaterial

    with session_scope() as session:
        rec = session.scalars(select(CreditRecord).where(
            CreditRecord.title == CONTROL_DOC, CreditRecord.is_current.is_(True))).one()
        now, today = clock.now(), clock.today()
        app = RepairApplication(
            subject_id=rec.subject_id, record_id=rec.id, record_type=rec.record_type,
            department_id=rec.department_id, rule_id="samr-2021-penalty",
            query_code="MATRIX2345AB", status="submitted", applicant="user:acc-subject1",
            submitted_at=now, submitted_on=today, materials_missing=False,
            accept_due=today, provisional=False, commitment_text="矩阵测试承诺书",
            commitment_signer="user:acc-subject1", commitment_signed_at=now,
            commitment_sha256="0" * 64,
        )
        session.add(app)
        session.flush()
        mat = RepairMaterial(application_id=app.id, material="performance_proof",
                             filename="缴款凭证.pdf", file_type="pdf", size=10, sha256="0" * 64,
                             path="uploads/repair/matrix/none.pdf", uploaded_at=now,
                             uploaded_by="user:acc-subject1")
        session.add(mat)
        session.flush()
        ids.update(repair_application=app.id, repair_record=rec.id, repair_material=mat.id,
                   repair_query_code=app.query_code)

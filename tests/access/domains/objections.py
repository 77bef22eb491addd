"""Who may call the objection routes: a subject files and follows its own cases; the credit
office sees every case and alone accepts, checks, assigns and decides; the department that sent
the record sees the cases sent to it and answers them (another department's: 404)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from tests.access.routes import (
    ADMINS,
    DEPARTMENTS,
    DEPT_A_ONLY,
    SUBJECTS,
    case,
)
from tests.access.world import SUBJECT, SUBJECT_B, SYSTEM_B

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# S1's own case on a record department A sent: S2's account and department B get a 404.
OWN = {SUBJECT_B: 404}
SENT_TO_A = {SYSTEM_B: 404}
ADMIN_STEPS = ("accept", "refuse", "check", "assign", "decide")

EXPECTATIONS = {
    ("POST", "/api/v1/objections"): case(SUBJECTS | ADMINS),
    ("GET", "/api/v1/objections"): case(ADMINS | DEPARTMENTS | SUBJECTS),
    ("GET", "/api/v1/objections/{objection_id}"): case(
        ADMINS | DEPT_A_ONLY | {SUBJECT}, scoped={**OWN, **SENT_TO_A}),
    ("POST", "/api/v1/objections/{objection_id}/evidence"): case(
        ADMINS | {SUBJECT}, scoped=OWN),
    ("GET", "/api/v1/objections/{objection_id}/evidence/{evidence_id}"): case(
        ADMINS | DEPT_A_ONLY | {SUBJECT}, scoped={**OWN, **SENT_TO_A}),
    **{("POST", f"/api/v1/objections/{{objection_id}}/{s}"): case(ADMINS) for s in ADMIN_STEPS},
    ("POST", "/api/v1/objections/{objection_id}/answer"): case(DEPT_A_ONLY, scoped=SENT_TO_A),
    # pages
    ("GET", "/me/objections"): case(SUBJECTS),
    ("POST", "/me/objections"): case(SUBJECTS),
    ("GET", "/me/objections/{objection_id}"): case({SUBJECT}, scoped=OWN),
    ("POST", "/me/objections/{objection_id}/evidence"): case({SUBJECT}, scoped=OWN),
    ("GET", "/admin/objections"): case(ADMINS),
    ("POST", "/admin/objections"): case(ADMINS),
    ("GET", "/admin/objections/{objection_id}"): case(ADMINS),
    **{("POST", f"/admin/objections/{{objection_id}}/{s}"): case(ADMINS) for s in ADMIN_STEPS},
    ("GET", "/dept/objections"): case(DEPARTMENTS),
    ("GET", "/dept/objections/{objection_id}"): case(DEPT_A_ONLY, scoped=SENT_TO_A),
    ("POST", "/dept/objections/{objection_id}/answer"): case(DEPT_A_ONLY, scoped=SENT_TO_A),
}
PARAMS = {"objection_id": "objection", "evidence_id": "objection_evidence"}

# Bodies the guards let through and the service then refuses (the seeded case is assigned to
# department A and must stay so): a missing reason, an unknown code, a step out of order.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/objections"): lambda w: {"json": {"record_id": w.ids["spare_record"],
                                                        "reason": ""}},
    ("POST", "/api/v1/objections/{objection_id}/evidence"): lambda w: {
        "files": [("files", ("not-a-pdf.pdf", b"MZ\x90\x00", "application/pdf"))]},
    ("POST", "/api/v1/objections/{objection_id}/accept"): lambda w: {"json": {}},
    ("POST", "/api/v1/objections/{objection_id}/refuse"): lambda w: {
        "json": {"code": "bogus", "reason": "矩阵"}},
    ("POST", "/api/v1/objections/{objection_id}/check"): lambda w: {
        "json": {"finding": "bogus", "note": "矩阵"}},
    ("POST", "/api/v1/objections/{objection_id}/assign"): lambda w: {"json": {}},
    ("POST", "/api/v1/objections/{objection_id}/decide"): lambda w: {
        "json": {"outcome": "upheld", "reason": "矩阵"}},
    ("POST", "/api/v1/objections/{objection_id}/answer"): lambda w: {
        "json": {"proposal": "bogus", "reason": "矩阵"}},
    ("POST", "/me/objections"): lambda w: {"data": {"record_id": "", "reason": ""}},
    ("POST", "/admin/objections"): lambda w: {"data": {"record_id": "", "reason": ""}},
    ("POST", "/admin/objections/{objection_id}/refuse"): lambda w: {
        "data": {"code": "bogus", "reason": "矩阵"}},
    ("POST", "/admin/objections/{objection_id}/check"): lambda w: {
        "data": {"finding": "bogus", "note": "矩阵"}},
    ("POST", "/admin/objections/{objection_id}/decide"): lambda w: {
        "data": {"outcome": "upheld", "reason": "矩阵"}},
    ("POST", "/dept/objections/{objection_id}/answer"): lambda w: {
        "data": {"proposal": "bogus", "reason": "矩阵"}},
}


def seed(engine: Engine, ids: dict[str, Any]) -> None:
    """S1's objection on a record department A sent (its simple-procedure penalty, never
    public, so the 异议处理中 mark changes no public view), with one evidence file, accepted
    and assigned to department A."""
    from sqlalchemy import select

    from tests.access.world import NOT_PUBLISHED_DOC
    from xinyong.core.db import session_scope
    from xinyong.objections import service
    from xinyong.objections.models import ObjectionEvidence
    from xinyong.records.models import CreditRecord

    with session_scope() as session:
        rid = session.scalar(select(CreditRecord.id).where(
            CreditRecord.title == NOT_PUBLISHED_DOC, CreditRecord.is_current.is_(True)))
        oid = service.file_objection(
            session, actor="test", record_id=int(rid), subject_id=ids["s1"],
            reason="矩阵：处罚决定已撤销。", uploads=[service.Upload("决定书.pdf", PDF)])
        service.accept(session, oid, actor="test")
        service.assign(session, oid, actor="test")
        ids["objection"] = oid
        ids["objection_evidence"] = session.scalar(select(ObjectionEvidence.id).where(
            ObjectionEvidence.objection_id == oid))

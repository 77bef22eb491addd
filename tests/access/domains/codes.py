"""Who may call the credit code routes: anyone verifies (providers scan, the public checks);
a subject's account issues and shows its own code; government issues codes for printing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from tests.access.routes import EVERYONE, GOVERNMENT, SUBJECTS, case

EXPECTATIONS = {
    # verification: public
    ("GET", "/api/v1/credit-codes/{token}"): case(EVERYONE),
    ("POST", "/api/v1/credit-codes/verify"): case(EVERYONE),
    ("GET", "/api/v1/credit-codes/{token}/qr.png"): case(EVERYONE),
    ("GET", "/code"): case(EVERYONE),
    ("GET", "/code/{token}"): case(EVERYONE),
    # issuing for any subject (a printed code): government
    ("POST", "/api/v1/credit-codes"): case(GOVERNMENT),
    # the subject's own code
    ("GET", "/api/v1/me/credit-code"): case(SUBJECTS),
    ("POST", "/api/v1/me/credit-code"): case(SUBJECTS),
    ("GET", "/api/v1/me/credit-code.png"): case(SUBJECTS),
    ("GET", "/api/v1/me/credit-code.svg"): case(SUBJECTS),
    ("GET", "/me/code"): case(SUBJECTS),
    ("POST", "/me/code/refresh"): case(SUBJECTS),
    ("GET", "/me/code.png"): case(SUBJECTS),
}
PARAMS = {"token": "credit_code_token"}
BODIES = {
    ("POST", "/api/v1/credit-codes/verify"): lambda w: {
        "json": {"token": w.ids["credit_code_token"]}},
    ("POST", "/api/v1/credit-codes"): lambda w: {"json": {"code": w.ids["s1_code"]}},
}


def seed(engine: Engine, ids: dict[str, Any]) -> None:
    # A printed code of S1 (a year's validity): the subjects' own refreshes never replace it.
    from xinyong.core.db import session_scope
    from xinyong.reports import codes

    with session_scope() as session:
        ids["credit_code_token"] = codes.issue_code(
            session, ids["s1"], actor="test", purpose="print")["token"]

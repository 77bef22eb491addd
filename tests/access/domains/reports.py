"""Who may call the credit report routes: a subject's account issues its own reports,
government issues for any subject; the signed file goes to the subject itself and to
government; anyone verifies a report by its serial or by uploading the file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from tests.access.routes import ADMINS, EVERYONE, GOVERNMENT, SUBJECTS, case
from tests.access.world import SUBJECT

EXPECTATIONS = {
    # issuing: a subject for itself (the body names no subject: its own), government for any
    # (the body names none: 422 after the guard)
    ("POST", "/api/v1/reports"): case(GOVERNMENT | SUBJECTS),
    # verification by serial and by upload: public
    ("GET", "/api/v1/reports/{serial}"): case(EVERYONE),
    ("POST", "/api/v1/reports/verify"): case(EVERYONE),
    ("GET", "/verify"): case(EVERYONE),
    ("POST", "/verify"): case(EVERYONE),
    ("GET", "/verify/{serial}"): case(EVERYONE),
    # the signed file of S1's report: S1's account and government only
    ("GET", "/api/v1/reports/{serial}/pdf"): case(GOVERNMENT | {SUBJECT}),
    # portals
    ("GET", "/me/reports"): case(SUBJECTS),
    ("POST", "/me/reports"): case(SUBJECTS),
    ("GET", "/admin/reports"): case(ADMINS),
    ("POST", "/admin/reports"): case(ADMINS),
}
PARAMS = {"serial": "report_serial"}
BODIES = {
    ("POST", "/api/v1/reports"): lambda w: {"json": {"view": "public", "purpose": "访问矩阵测试"}},
    ("POST", "/api/v1/reports/verify"): lambda w: {
        "files": {"file": ("not-a-report.txt", b"hello", "text/plain")}},
    ("POST", "/verify"): lambda w: {
        "files": {"file": ("not-a-report.txt", b"hello", "text/plain")}},
    ("POST", "/me/reports"): lambda w: {"data": {"view": "public", "purpose": "访问矩阵测试"}},
    # no subject: refused after the guard (422), so the matrix issues nothing here
    ("POST", "/admin/reports"): lambda w: {"data": {"view": "public", "purpose": "访问矩阵测试"}},
}


def seed(engine: Engine, ids: dict[str, Any]) -> None:
    # A subject-view report of S1 (restricted records inside): only S1 and government may
    # download it. The demo key goes to a temporary directory, never the repository's data.
    from xinyong.accounts.principal import CLI
    from xinyong.core.db import session_scope
    from xinyong.reports import service
    from xinyong.reports.config import ReportSettings, report_settings, use_settings

    if report_settings().signing_key is None and report_settings().signing_dir is None:
        use_settings(ReportSettings(signing_dir=Path(tempfile.mkdtemp(prefix="xy-sign-"))))
    with session_scope() as session:
        ids["report_serial"] = service.issue_report(
            session, subject=ids["s1_code"], view="subject", purpose="访问矩阵测试",
            principal=CLI).serial

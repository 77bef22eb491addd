"""Fixtures of the report tests: a signing key made once per run (never the repository's data
dir), and a small world of subjects with records of several kinds and states."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from stdnum.cn import ric

from tests.evaluation import builders as b
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.records.models import CreditRecord
from xinyong.records.service import change_record_status
from xinyong.reports.config import ReportSettings, use_settings

TODAY = b.AS_OF  # 2026-11-22
PUBLIC_URL = "https://credit.example.gov.cn"

S1, S2 = 1, 2
CONTROL_DOC = "穗市监罚〔2026〕报告公开1号"
EXPIRED_DOC = "穗市监罚〔2020〕报告过期2号"
REPAIRED_DOC = "穗市监罚〔2026〕报告修复3号"
OBJECTION_DOC = "穗市监罚〔2026〕报告异议4号"
RESTRICTED_CASE = "（2026）粤0106民初报告7301号"
PERSON_DOC = "穗市监罚〔2026〕报告个人5号"
PERSON_NAME = "报告测试自然人王五"
FREE_ID_FIRST17 = "44010519920202567"
FREE_ID = FREE_ID_FIRST17 + ric.calc_check_digit(FREE_ID_FIRST17 + "0")
ID_FIRST17 = "44010619900101123"
ID_NUMBER = ID_FIRST17 + ric.calc_check_digit(ID_FIRST17 + "0")


@pytest.fixture(scope="session")
def report_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signing")


@pytest.fixture(autouse=True)
def _report_settings(report_keys: Path) -> Iterator[ReportSettings]:
    settings = ReportSettings(signing_dir=report_keys, public_url=PUBLIC_URL)
    use_settings(settings)
    yield settings
    use_settings(None)


penalty_row = b.penalty_row


def record_id(title: str) -> int:
    with session_scope() as session:
        rid = session.scalar(
            select(CreditRecord.id).where(
                CreditRecord.title == title, CreditRecord.is_current.is_(True)
            )
        )
        assert rid is not None, title
        return int(rid)


@dataclass
class World:
    engine: Engine
    s1: int
    s2: int
    person: int
    s1_code: str
    s2_code: str


def build_world(engine: Engine) -> World:
    import polars as pl

    from xinyong.core.config import get_settings
    from xinyong.subjects.idnumbers import hash_id_number, mask_id_number
    from xinyong.subjects.names import normalize_name
    from xinyong.subjects.service import insert_subjects

    clock.set_today(TODAY)
    b.departments()
    s1 = b.subject(engine, S1)
    s2 = b.subject(engine, S2, name="广州报告对照有限公司")
    frame = pl.DataFrame(
        {
            "uscc": [None], "uscc_status": ["none"], "kind": ["natural_person"],
            "name": [PERSON_NAME], "name_norm": [normalize_name(PERSON_NAME)],
            "id_number_hash": [hash_id_number(ID_NUMBER, get_settings().secret_key)],
            "id_number_masked": [mask_id_number(ID_NUMBER)],
        },
        schema_overrides={"uscc": pl.String},
    )
    with engine.begin() as conn:
        person = int(insert_subjects(conn, frame)["subject_id"][0])
    b.push(engine, "administrative_penalty", "market", [
        penalty_row(S1, CONTROL_DOC, "2026-06-01",
                    facts=f"经查，当事人发布虚假宣传内容，经办人身份证号{FREE_ID}。"),
        penalty_row(S1, EXPIRED_DOC, "2020-03-02", penalty_kinds="警告、罚款"),
        penalty_row(S1, REPAIRED_DOC, "2026-06-04"),
        penalty_row(S1, OBJECTION_DOC, "2026-06-05"),
    ])
    b.push(engine, "judicial_ruling", "court", [{
        "subject_name": f"广州测试{S1}号有限公司", "uscc": b.code(S1),
        "case_number": RESTRICTED_CASE, "court": "广州市天河区人民法院", "case_type": "civil",
        "cause": "买卖合同纠纷", "judgment": "驳回诉讼请求", "ruled_on": "2026-05-20",
    }])
    b.push(engine, "administrative_penalty", "market", [{
        "subject_name": PERSON_NAME, "subject_kind": "自然人", "id_number": ID_NUMBER,
        "doc_number": PERSON_DOC, "violation_type": "无照经营",
        "facts": "当事人无照经营。", "penalty_kinds": "罚款", "content": "罚款2000元",
        "fine_amount": "2000", "penalty_class": "general", "procedure": "ordinary",
        "decided_on": "2026-06-09", "authority": "广州市市场监督管理局",
    }])
    with session_scope() as session:
        change_record_status(session, record_id=record_id(REPAIRED_DOC), status="repaired",
                             actor="test", reason="信用修复")
    with session_scope() as session:
        change_record_status(session, record_id=record_id(OBJECTION_DOC),
                             status="objection_pending", actor="test", reason="主体提出异议")
    # Models after the records (else every ingest re-evaluates under each active model);
    # samr_risk is government-only: no report may show it.
    from xinyong.evaluation import service as evaluation

    with engine.begin() as conn:
        evaluation.sync_builtin_models(conn)
    for name in ("gz_general", "samr_risk"):
        evaluation.evaluate(engine, name, as_of=TODAY)
    return World(engine, s1, s2, person, b.code(S1), b.code(S2))


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


def pdf_text(data: bytes, tmp: Path) -> str:
    """The text of a PDF as poppler extracts it (``-raw``: content-stream order, so a table
    cell's lines stay together), with all whitespace removed (lines wrap inside cells)."""
    import re
    import subprocess

    path = tmp / f"r{abs(hash(data))}.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"],
                         check=True, capture_output=True).stdout.decode()
    return re.sub(r"\s+", "", out)


def pdfsig(data: bytes, tmp: Path) -> str:
    """pdfsig's report. It exits 0 even on a digest mismatch: callers read the output."""
    import subprocess

    path = tmp / f"s{abs(hash(data))}.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdfsig", str(path)], capture_output=True)
    return done.stdout.decode() + done.stderr.decode()


def issue(code: str | int, view: str = "public", purpose: str = "招投标", principal=None):
    """Issue as the credit office; returns (serial, pdf bytes)."""
    from xinyong.accounts.principal import CLI
    from xinyong.reports import service

    who = principal or CLI
    with session_scope() as session:
        serial = service.issue_report(session, subject=code, view=view, purpose=purpose,
                                      principal=who).serial
    with session_scope() as session:
        _, data = service.report_pdf(session, serial, CLI)
    return serial, data

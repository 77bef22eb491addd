"""Fixtures of the repair tests: departments, two enterprises with accounts, penalties sent the
way departments send them (ingest), the app, a signing key and a data folder of their own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from tests.auth import create_user, login
from tests.evaluation import builders as b
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import session_scope
from xinyong.departments.service import add_department, issue_api_key
from xinyong.records.ingest import ingest_records
from xinyong.records.models import CreditRecord
from xinyong.reports.config import ReportSettings, use_settings

S1, S2 = 51, 52
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
TOKEN = "repair-operator-token"
HTML = {"accept": "text/html"}


def penalty_row(n: int, doc: str, decided_on: str, cls: str = "general", **over: Any
                ) -> dict[str, Any]:
    """A tax penalty (NDRC rules: class-based periods)."""
    row = {
        "subject_name": f"广州测试{n}号有限公司",
        "uscc": b.code(n),
        "doc_number": doc,
        "violation_type": "未按规定期限办理纳税申报",
        "facts": "经查，当事人未按规定期限办理2025年度企业所得税纳税申报。",
        "penalty_kinds": "罚款",
        "content": "罚款20000元",
        "fine_amount": "20000",
        "penalty_class": cls,
        "procedure": "ordinary",
        "decided_on": decided_on,
        "authority": "国家税务总局广州市天河区税务局",
    }
    row.update(over)
    return row


def push(engine: Engine, record_type: str, rows: list[dict[str, Any]],
         department: str = "tax") -> None:
    result = ingest_records(engine, rows, record_type=record_type, department=department,
                            strict=True, actor="test")
    assert result.rejected == 0 and result.pending == 0, result.errors.to_dicts()


def record_id(title: str) -> int:
    with session_scope() as session:
        rid = session.scalar(select(CreditRecord.id).where(
            CreditRecord.title == title, CreditRecord.is_current.is_(True)))
        assert rid is not None, title
        return int(rid)


@dataclass
class World:
    engine: Engine
    app: Any
    ids: dict[str, Any] = field(default_factory=dict)
    clients: list[TestClient] = field(default_factory=list)

    def client(self, username: str | None = None) -> TestClient:
        c = TestClient(self.app, raise_server_exceptions=True)
        self.clients.append(c)
        if username:
            login(c, username)
        return c

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())


@pytest.fixture(scope="session")
def repair_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("repair-signing")


@pytest.fixture
def world(engine: Engine, tmp_path: Path, repair_keys: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("XINYONG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XINYONG_ADMIN_TOKEN", TOKEN)
    get_settings.cache_clear()
    use_settings(ReportSettings(signing_dir=repair_keys, public_url="https://credit.example.gov.cn"))
    clock.set_today(dt.date(2026, 9, 29))
    import xinyong.evaluation.service  # noqa: F401  (its hook re-evaluates on status changes)

    with session_scope() as session:
        for code, name in (("market", "市场监督管理局"), ("tax", "税务局"),
                           ("housing", "住房和城乡建设局"), ("court", "中级人民法院")):
            add_department(session, code, name)
        key_tax = issue_api_key(session, "tax")
        key_housing = issue_api_key(session, "housing")
    ids: dict[str, Any] = {"key_tax": key_tax, "key_housing": key_housing}
    ids["s1"] = b.subject(engine, S1)
    ids["s2"] = b.subject(engine, S2)
    create_user("rp-admin", "admin")
    create_user("rp-tax", "department_officer", department="tax")
    create_user("rp-housing", "department_officer", department="housing")
    create_user("rp-s1", "subject", subject=b.code(S1))
    create_user("rp-s2", "subject", subject=b.code(S2))
    create_user("rp-bank", "bank")
    from xinyong.app import create_app

    w = World(engine=engine, app=create_app(), ids=ids)
    try:
        yield w
    finally:
        for c in w.clients:
            c.close()
        use_settings(None)
        get_settings.cache_clear()

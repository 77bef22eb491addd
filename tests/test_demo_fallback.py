"""Without the real registrations (a clone away from ../shared), the demo still loads, on the
scale generator's synthetic subjects, and evaluates them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from xinyong.core.config import get_settings
from xinyong.demo import SYNTHETIC_SUBJECTS, load_demo


def test_demo_without_real_data(sqlite_engine: Engine, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_REALDATA_DIR", str(tmp_path / "missing"))
    get_settings.cache_clear()
    try:
        summary = load_demo(sqlite_engine, seed=20261122)
    finally:
        get_settings.cache_clear()
    assert summary["subjects_inserted"] == SYNTHETIC_SUBJECTS
    assert summary["batches"]["administrative_penalty"]["inserted"] > 0
    assert summary["evaluations"]["gz_general"]["subjects"] > 0
    # the subject services' demo cases, on an operating enterprise (a cancelled one can have
    # no credit code)
    services = summary["services"]
    assert services["信用报告"] == "2" and int(services["信用码"]) >= 1
    assert all(int(v) >= 1 for v in services.values()), services
    from sqlalchemy import text

    with sqlite_engine.connect() as conn:
        status = conn.execute(text(
            "SELECT s.status FROM account a JOIN subject s ON s.id = a.subject_id"
            " WHERE a.username = 'enterprise'")).scalar_one()
    assert status == "active"

"""The command line, as an operator uses it."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.records.helpers import HUAWEI, subjects
from xinyong.cli import app

runner = CliRunner()


def test_departments_ingest_profile_and_pending(engine: Engine, tmp_path: Path) -> None:
    r = runner.invoke(app, ["departments", "add", "market", "市场监督管理局"])
    assert r.exit_code == 0, r.output
    assert "接口密钥" in r.output
    subjects(engine, [HUAWEI])
    path = tmp_path / "p.csv"
    path.write_text(
        "subject_name,uscc,doc_number,violation_type,facts,basis,penalty_kinds,content,"
        "fine_amount,decided_on,authority\n"
        f"{HUAWEI[1]},{HUAWEI[0]},罚1号,虚假宣传,事实,依据,罚款,罚款,5000,2026-09-09,某局\n"
        "无名公司,,罚2号,虚假宣传,事实,依据,罚款,罚款,5000,2026-09-09,某局\n"
        f"{HUAWEI[1]},{HUAWEI[0]},罚3号,虚假宣传,事实,依据,罚款,罚款,abc,2026-09-09,某局\n",
        encoding="utf-8",
    )
    report = tmp_path / "errors.xlsx"
    r = runner.invoke(app, ["--today", "2026-11-22", "ingest", str(path), "--type",
                            "administrative_penalty", "--department", "market",
                            "--errors", str(report)])
    assert r.exit_code == 0, r.output
    assert "MONEY_INVALID" in r.output and report.read_bytes()[:2] == b"PK"
    r = runner.invoke(app, ["--today", "2026-11-22", "profile", HUAWEI[0], "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["total"] == 1 and data["subject"]["uscc"] == HUAWEI[0]
    r = runner.invoke(app, ["profile", HUAWEI[1], "--view", "public"])
    assert r.exit_code == 0 and "罚1号" in r.output
    r = runner.invoke(app, ["pending", "list"])
    assert "无名公司" in r.output
    r = runner.invoke(app, ["pending", "resolve", "1", "--subject", HUAWEI[0]])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--today", "2026-11-22", "profile", HUAWEI[0], "--json"])
    assert json.loads(r.stdout)["total"] == 2
    r = runner.invoke(app, ["batches"])
    assert r.exit_code == 0 and "归集批次（共 1）" in r.output


def test_strict_ingest_fails_with_exit_code(engine: Engine, tmp_path: Path) -> None:
    runner.invoke(app, ["departments", "add", "market", "市场监督管理局"])
    path = tmp_path / "p.csv"
    path.write_text("subject_name,doc_number\n某公司,1号\n", encoding="utf-8")
    r = runner.invoke(app, ["ingest", str(path), "--type", "administrative_penalty",
                            "--department", "market", "--strict"])
    assert r.exit_code == 2 and "COLUMNS_MISSING" in r.output


def test_search_and_calendar(engine: Engine, tmp_path: Path) -> None:
    subjects(engine, [HUAWEI])
    r = runner.invoke(app, ["subjects", "search", "华为"])
    assert r.exit_code == 0 and HUAWEI[0] in r.output
    r = runner.invoke(app, ["calendar", "add-days", "2026-09-30", "1"])
    assert "2026-10-08" in r.output  # 1–7 October 2026 are the National Day holiday
    sched = tmp_path / "2027.yaml"
    sched.write_text("year: 2027\nsource: 测试\nholidays: {'2027-01-01': 元旦}\n"
                     "workdays: {}\n", encoding="utf-8")
    r = runner.invoke(app, ["calendar", "load", str(sched)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["calendar", "add-days", "2026-12-31", "1"])
    assert "2027-01-04" in r.output and "暂定" not in r.output

"""Searching and exporting the log (service level, both databases)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy.engine import Engine

from tests.audit.helpers import fill
from tests.evaluation import builders as b
from xinyong.audit import service
from xinyong.core.errors import DomainError


@pytest.fixture
def log(engine: Engine) -> dict:
    sid = b.subject(engine, 41)
    fill(engine, subject_id=sid)
    return {"engine": engine, "sid": sid, "code": b.code(41)}


def _seqs(rows: list[dict]) -> list[int]:
    return [r["seq"] for r in rows]


def test_filters(log: dict) -> None:
    with log["engine"].connect() as conn:
        rows, total = service.search(conn)
        assert total == 6 and _seqs(rows) == [6, 5, 4, 3, 2, 1]
        rows, _ = service.search(conn, sort="asc", limit=2, offset=2)
        assert _seqs(rows) == [3, 4]
        # A bare account name finds the user's entries; a qualified one only itself.
        assert _seqs(service.search(conn, actor="zhangsan")[0]) == [2]
        assert _seqs(service.search(conn, actor="market")[0]) == [1]
        assert service.search(conn, actor="user:market")[1] == 0
        # Subject by credit code (any case) or id.
        by_code, n = service.search(conn, subject=log["code"].lower())
        assert n == 3 and _seqs(by_code) == [4, 3, 2]
        assert by_code[0]["subject_uscc"] == log["code"]
        assert by_code[0]["subject_name"] == "广州测试41号有限公司"
        assert service.search(conn, subject=str(log["sid"]))[1] == 3
        # Action by code or dotted prefix; LIKE wildcards in the input are literal.
        assert _seqs(service.search(conn, action="record")[0]) == [4, 3, 2]
        assert _seqs(service.search(conn, action="model.activate")[0]) == [5]
        assert service.search(conn, action="record%")[1] == 0
        assert service.search(conn, action="rec_rd")[1] == 0
        # Days are China Standard Time days, both ends included.
        day = dt.date(2026, 11, 21)
        assert _seqs(service.search(conn, since=day, until=day)[0]) == [4, 3]
        assert _seqs(service.search(conn, since=dt.date(2026, 11, 22))[0]) == [6, 5]
        assert _seqs(service.search(conn, until=dt.date(2026, 11, 20))[0]) == [2, 1]
        rows, n = service.search(
            conn, actor="operator", subject=log["sid"], action="record", since=day
        )
        assert n == 1 and rows[0]["detail"] == {"from": "一般", "reason": "复核", "to": "严重"}
        assert rows[0]["action_label"] == "更正处罚类别"


def test_bad_filters(log: dict) -> None:
    with log["engine"].connect() as conn:
        with pytest.raises(DomainError) as e:
            service.search(conn, subject="91440101MA0009999X")
        assert (e.value.code, e.value.status) == ("AUDIT_SUBJECT_NOT_FOUND", 404)
        with pytest.raises(DomainError) as e:
            service.search(conn, since=dt.date(2026, 11, 22), until=dt.date(2026, 11, 21))
        assert e.value.code == "AUDIT_BAD_RANGE"
        with pytest.raises(DomainError) as e:
            service.search(conn, sort="sideways")  # type: ignore[arg-type]
        assert e.value.code == "AUDIT_BAD_SORT"


def _read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # BOM: Excel and WPS read it as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("sort", ["asc", "desc"])
def test_export_streams_in_chunks(log: dict, sort: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "EXPORT_CHUNK", 2)  # six entries: three chunks and an empty one
    with log["engine"].connect() as conn:
        chunks = list(service.export_csv(conn, sort=sort))  # type: ignore[arg-type]
        only_reads = b"".join(service.export_csv(conn, action="record.read"))
    assert len(chunks) == 4
    rows = _read_csv(b"".join(chunks))
    assert rows[0] == list(service.CSV_HEADER)
    seqs = [int(r[0]) for r in rows[1:]]
    assert seqs == ([1, 2, 3, 4, 5, 6] if sort == "asc" else [6, 5, 4, 3, 2, 1])
    second = next(r for r in rows[1:] if r[0] == "2")
    assert second[2] == "user:zhangsan" and second[4] == "查阅有限公开信息"
    assert second[7] == log["code"] and second[9] == "行政审批前信用核查"
    assert [int(r[0]) for r in _read_csv(only_reads)[1:]] == [2, 4]


def test_export_checks_filters_before_streaming(log: dict) -> None:
    with log["engine"].connect() as conn, pytest.raises(DomainError):
        service.export_csv(conn, subject="NOSUCHCODE")


def test_export_defuses_spreadsheet_formulas(engine: Engine) -> None:
    with engine.begin() as conn:
        service.append(
            conn,
            actor="user:x",
            action="record.read_restricted",
            purpose='=HYPERLINK("http://evil")',
        )
    with engine.connect() as conn:
        rows = _read_csv(b"".join(service.export_csv(conn)))
    assert rows[1][9] == '\'=HYPERLINK("http://evil")'

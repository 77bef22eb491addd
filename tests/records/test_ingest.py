"""Ingest through its public entry points, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from tests.records.helpers import BYD, HUAWEI, TENCENT, department, penalty, subjects
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.records import ingest as ingest_mod
from xinyong.records import service
from xinyong.records.errors import IngestError
from xinyong.records.ingest import ingest_file, ingest_records
from xinyong.records.models import Batch, BatchError, CreditRecord, PendingMatch, RecordEvent

DUAL_HEADER = [
    "行政相对人名称",
    "统一社会信用代码",
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "处罚决定日期",
    "处罚机关",
    "数据来源单位",
]


def _dual_row(
    name: str, code: str, doc: str, date: str, fine: str = "0.5", kinds: str = "罚款"
) -> list[str]:
    return [
        name,
        code,
        doc,
        "虚假宣传",
        "发布虚假广告",
        "《反不正当竞争法》第二十条",
        kinds,
        f"罚款{fine}万元",
        fine,
        date,
        "深圳市生态环境局",
        "深圳市生态环境局",
    ]


def _write_csv(
    path: Path, rows: list[list[str]], encoding: str = "utf-8", header: list[str] = DUAL_HEADER
) -> Path:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    clock.set_today(dt.date(2026, 11, 22))
    department()
    return subjects(engine, [HUAWEI, TENCENT, BYD])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_dual_publicity_csv_in_every_encoding(
    engine: Engine, world: dict[str, int], tmp_path: Path, encoding: str
) -> None:
    path = _write_csv(
        tmp_path / "p.csv",
        [
            _dual_row(HUAWEI[1], HUAWEI[0], "深环罚〔2026〕1号", "2026年3月5日", "0.2"),
            _dual_row(TENCENT[1], TENCENT[0], "深环罚〔2026〕2号", "2026/4/1", "1453.59248"),
        ],
        encoding=encoding,
    )
    result = ingest_file(
        engine,
        path,
        record_type="administrative_penalty",
        department="market",
        profile="dual_publicity_penalty",
    )
    assert result.status == "committed", result.errors
    assert (result.inserted, result.rejected, result.pending) == (2, 0, 0)
    with session_scope() as s:
        recs = {r.title: r for r in s.scalars(select(CreditRecord))}
    first = recs["深环罚〔2026〕1号"]
    assert first.subject_id == world[HUAWEI[1]]
    assert first.amount_fen == 200_000  # 0.2 万元 = 2,000 元 = 200,000 分
    assert first.decided_on == dt.date(2026, 3, 5)
    assert recs["深环罚〔2026〕2号"].amount_fen == 1_453_592_480
    assert first.penalty_class == "general"
    assert first.publicity_until is not None and first.publicity_until > first.decided_on
    assert first.catalog_version and first.batch_id == result.batch_id


def test_resend_is_idempotent_and_change_is_a_correction(
    engine: Engine, world: dict[str, int]
) -> None:
    rows = [penalty(), penalty(doc_number="深市监罚〔2026〕2号", uscc=BYD[0], subject_name=BYD[1])]
    first = ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert first.inserted == 2
    again = ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert (again.inserted, again.unchanged, again.corrected) == (0, 2, 0)
    assert _count(engine, CreditRecord) == 2

    changed = [penalty(fine_amount="8000", content="罚款8000元")]
    third = ingest_records(
        engine, changed, record_type="administrative_penalty", department="market"
    )
    assert (third.inserted, third.corrected) == (0, 1)
    with session_scope() as s:
        versions = s.scalars(
            select(CreditRecord)
            .where(CreditRecord.source_record_id == "深市监罚〔2026〕1号")
            .order_by(CreditRecord.version)
        ).all()
        assert [(v.version, v.is_current, v.status) for v in versions] == [
            (1, False, "corrected"),
            (2, True, "active"),
        ]
        assert versions[1].amount_fen == 800_000
        events = s.scalars(select(RecordEvent)).all()
        assert [(e.kind, e.record_id, e.data["new_record_id"]) for e in events] == [
            ("corrected", versions[0].id, versions[1].id)
        ]
        # the profile counts the current version only
        from xinyong.records.profile import build_profile
        from xinyong.subjects.service import find_subject

        prof = build_profile(s, find_subject(s, HUAWEI[0]), "government")
    admin = next(c for c in prof["categories"] if c["code"] == "administrative")
    assert any(r["version"] == 2 and r["is_current"] for r in admin["records"])


def test_bad_rows_are_reported_and_valid_rows_commit(engine: Engine, world: dict[str, int]) -> None:
    rows = [
        penalty(),
        penalty(doc_number="2号", decided_on="2026-02-30"),
        penalty(doc_number="3号", fine_amount="三千"),
        penalty(doc_number="4号", uscc="91350100M000100Y4I"),
        penalty(doc_number="5号", facts=None),
        penalty(doc_number="6号", decided_on="20260909"),
    ]
    result = ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert result.status == "committed"
    assert result.inserted == 2 and result.rejected == 4
    errs = {(e["row_number"], e["field"], e["code"]) for e in result.errors.to_dicts()}
    assert errs == {
        (2, "decided_on", "DATE_INVALID"),
        (3, "fine_amount", "MONEY_INVALID"),
        (4, "uscc", "USCC_CHARSET"),
        (5, "facts", "FIELD_REQUIRED"),
    }
    messages = {e["code"]: e["message"] for e in result.errors.to_dicts()}
    assert "2026-02-30" in messages["DATE_INVALID"] and "处罚决定日期" in messages["DATE_INVALID"]
    assert "违法事实" in messages["FIELD_REQUIRED"]
    with session_scope() as s:
        stored = s.scalars(select(BatchError).where(BatchError.batch_id == result.batch_id)).all()
        assert len(stored) == 4
        csv_report = service.error_report_csv(s, result.batch_id).decode("utf-8-sig")
        xlsx_report = service.error_report_xlsx(s, result.batch_id)
    assert csv_report.splitlines()[0] == "行号,字段,错误代码,错误说明,原始值"
    assert "DATE_INVALID" in csv_report and xlsx_report[:2] == b"PK"


def test_strict_mode_changes_nothing(engine: Engine, world: dict[str, int]) -> None:
    rows = [penalty(), penalty(doc_number="2号", decided_on="not a date")]
    result = ingest_records(
        engine, rows, record_type="administrative_penalty", department="market", strict=True
    )
    assert result.status == "rejected" and result.rejected == 1
    assert _count(engine, CreditRecord) == 0
    with session_scope() as s:
        batch = s.get(Batch, result.batch_id)
        assert batch.status == "rejected" and "严格模式" in (batch.message or "")
        assert len(service.batch_errors(s, result.batch_id)) == 1


def test_a_crash_leaves_no_partial_batch(
    engine: Engine, world: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_mod, "_park_pending", boom)
    rows = [penalty(), penalty(doc_number="2号", uscc=None, subject_name="不存在的公司")]
    with pytest.raises(RuntimeError):
        ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert _count(engine, CreditRecord) == 0
    with session_scope() as s:
        batch = s.scalars(select(Batch)).one()
        assert batch.status == "failed"


def test_name_matching_pending_and_resolution(engine: Engine, world: dict[str, int]) -> None:
    subjects(engine, [(None, "同名商行"), (None, "同名商行")])
    rows = [
        # full-width vs half-width brackets and spaces do not matter
        penalty(uscc=None, subject_name="腾讯科技(深圳) 有限公司", doc_number="a"),
        penalty(uscc=None, subject_name="查无此名有限公司", doc_number="b"),
        penalty(uscc=None, subject_name="同名商行", doc_number="c"),
        penalty(uscc=None, subject_name="查无此名有限公司", doc_number="d"),
    ]
    result = ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert (result.inserted, result.pending) == (1, 3)
    with session_scope() as s:
        rec = s.scalars(select(CreditRecord)).one()
        assert rec.subject_id == world[TENCENT[1]]
        pend = {p.subject_name: p for p in s.scalars(select(PendingMatch))}
        assert pend["同名商行"].reason == "ambiguous" and len(pend["同名商行"].candidates) == 2
        assert pend["查无此名有限公司"].reason == "unmatched"
        # the operator names the subject for one row and all rows of the same name
        ids = service.resolve_pending(
            s, pend["查无此名有限公司"].id, world[BYD[1]], actor="op", same_name=True
        )
        assert len(ids) == 2
    # re-sending the batch: the records now exist, nothing is duplicated or queued again
    again = ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert again.unchanged == 4 and again.inserted == 0 and again.pending == 0
    assert _count(engine, CreditRecord) == 3
    with session_scope() as s:
        waiting = s.scalars(select(PendingMatch).where(PendingMatch.status == "pending")).all()
        assert [p.subject_name for p in waiting] == ["同名商行"]


def test_verified_code_unknown_to_registry_creates_subject(
    engine: Engine, world: dict[str, int]
) -> None:
    rows = [penalty(uscc="91330100799655058B", subject_name="阿里巴巴（中国）有限公司")]
    result = ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert result.inserted == 1 and result.subjects_created == 1


def test_duplicate_ids_in_one_batch(engine: Engine, world: dict[str, int]) -> None:
    rows = [penalty(), penalty(fine_amount="9000")]
    result = ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert result.inserted == 1
    assert result.errors.to_dicts()[0]["code"] == "DUPLICATE_IN_BATCH"
    assert "第 1 行" in result.errors.to_dicts()[0]["message"]
    # the same fact listed twice is not an error: it is simply one record
    again = ingest_records(
        engine, [penalty(doc_number="r"), penalty(doc_number="r")],
        record_type="administrative_penalty", department="market",
    )
    assert (again.inserted, again.unchanged, again.rejected) == (1, 1, 0)


def test_xlsx_and_jsonl_inputs(engine: Engine, world: dict[str, int], tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "licences.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    header = [
        "行政相对人名称",
        "统一社会信用代码",
        "行政许可决定文书名称",
        "行政许可决定文书号",
        "许可类别",
        "许可内容",
        "许可决定日期",
        "有效期自",
        "许可机关",
    ]
    ws.write_row(0, 0, header)
    ws.write_row(
        1,
        0,
        [
            HUAWEI[1],
            HUAWEI[0],
            "准予许可决定书",
            "许准〔2026〕1号",
            "普通",
            "食品经营",
            "2026-01-05",
            "2026-01-05",
            "深圳市市场监督管理局",
        ],
    )
    ws.write_datetime(2, 6, dt.datetime(2026, 2, 1), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_row(2, 0, [BYD[1], BYD[0], "准予许可决定书", "许准〔2026〕2号", "普通", "排污"])
    ws.write(2, 7, "2026/2/1")
    ws.write(2, 8, "深圳市生态环境局")
    wb.close()
    res = ingest_file(engine, path, record_type="administrative_license", department="market")
    assert res.status == "committed" and res.inserted == 2, res.errors

    jl = tmp_path / "p.jsonl"
    jl.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [penalty(), penalty(doc_number="x", decided_on="bad")]
        )
        + "\n",
        encoding="utf-8",
    )
    res = ingest_file(engine, jl, record_type="administrative_penalty", department="market")
    assert res.inserted == 1 and res.errors.to_dicts()[0]["row_number"] == 2


def test_unknown_type_and_department_are_clear_errors(
    engine: Engine, world: dict[str, int]
) -> None:
    from xinyong.catalog.types import CatalogError

    with pytest.raises(CatalogError) as exc:
        ingest_records(engine, [penalty()], record_type="no_such_type", department="market")
    assert exc.value.code == "CATALOG_UNKNOWN_TYPE"
    with pytest.raises(IngestError) as exc2:
        ingest_records(
            engine, [penalty()], record_type="administrative_penalty", department="nobody"
        )
    assert exc2.value.code == "DEPARTMENT_UNKNOWN" and "未登记" in exc2.value.message
    assert _count(engine, CreditRecord) == 0


def test_personal_id_numbers_are_never_stored_in_clear(
    engine: Engine, world: dict[str, int]
) -> None:
    clear = "440106199001011234"
    from stdnum.cn import ric

    clear = clear[:17] + ric.calc_check_digit(clear)  # stdnum drops the last char itself
    rows = [
        penalty(
            uscc=None,
            subject_name="张三",
            subject_kind="自然人",
            id_number=clear,
            doc_number="个人1号",
        )
    ]
    result = ingest_records(engine, rows, record_type="administrative_penalty", department="market")
    assert result.pending == 1
    with engine.connect() as conn:
        for table in ("credit_record", "pending_match", "batch_error", "stage_check"):
            if table == "stage_check":
                continue
            dump = " ".join(str(r) for r in conn.execute(text(f"SELECT * FROM {table}")).all())
            assert clear not in dump
    with session_scope() as s:
        p = s.scalars(select(PendingMatch)).one()
        assert "**********" in json.dumps(p.payload, ensure_ascii=False)


def test_pboc_real_file(engine: Engine, realdata: Path) -> None:
    clock.set_today(dt.date(2026, 11, 22))
    department("pboc", "中国人民银行")
    subjects(engine, [(None, "裕福支付有限公司"), (None, "北京畅捷通支付技术有限公司")])
    res = ingest_file(
        engine,
        realdata / "pboc-payment-penalties.csv",
        record_type="administrative_penalty",
        department="pboc",
        profile="pboc_payment_penalties",
    )
    assert res.status == "committed"
    assert res.rows_total == 1155
    # every row is accounted for: stored, waiting for a subject, repeated, or reported
    assert res.inserted + res.pending + res.rejected + res.unchanged == res.rows_total
    assert res.inserted >= 2
    with session_scope() as s:
        recs = s.scalars(
            select(CreditRecord).where(CreditRecord.title == "银管罚〔2020〕27号")
        ).all()
        # one decision, one record per violation (11 rows in the file); 1453.59248 万元 → exact fen
        assert len(recs) == 11 and 1_453_592_480 in {r.amount_fen for r in recs}
        assert all(r.penalty_class in ("general", "serious") for r in recs)

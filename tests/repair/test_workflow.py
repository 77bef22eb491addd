"""The closed loop through the API and the pages: apply → accept → department review →
approve → the record is repaired, hidden from the public, the grade re-evaluated, the decision
PDF signed and the result shared; deadlines around the National Day week and the year end;
承诺容缺 and its lapse; every refusal with its code and nothing changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import chinese_calendar
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.evaluation import builders as b
from tests.repair.conftest import EXE, JPG, PDF, PNG, S1, S2, TOKEN, World, penalty_row, push
from tests.repair.conftest import record_id as rid_of
from xinyong.core import clock
from xinyong.core.db import session_scope
from xinyong.records.models import CreditRecord
from xinyong.repair import service

DOC = "穗天税罚〔2026〕修复1号"
NATIONAL_DAY = dt.date(2026, 9, 29)


def working_days_after(start: dt.date, n: int) -> dt.date:
    """Reference: the n-th official working day after ``start`` (chinese_calendar)."""
    day, counted = start, 0
    while counted < n:
        day += dt.timedelta(days=1)
        if chinese_calendar.is_workday(day):
            counted += 1
    return day


def files(*items: tuple[str, str, bytes]) -> dict[str, Any]:
    return {
        "files": [("files", (name, data, "application/octet-stream")) for _, name, data in items],
        "kinds": [k for k, _, _ in items],
    }


def apply(client: TestClient, record_id: int, *items: tuple[str, str, bytes],
          affirm: bool = True, defer: bool = False, statement: str = "罚款已缴清，已按期申报。"
          ) -> Any:
    f = files(*items)
    data: dict[str, Any] = {"record_id": str(record_id), "statement": statement,
                            "kinds": f["kinds"]}
    if affirm:
        data["affirm"] = "true"
    if defer:
        data["defer_missing"] = "true"
    return client.post("/api/v1/repair/applications", data=data, files=f["files"])


def counts(world: World) -> tuple[int, int, int, int]:
    def n(table: str) -> int:
        return int(world.query(f"SELECT COUNT(*) FROM {table}")[0][0])

    return n("repair_application"), n("repair_material"), n("repair_step"), n("audit_log")


def setup_penalty(world: World, decided: str = "2026-06-01", cls: str = "general",
                  doc: str = DOC, n: int = S1) -> int:
    push(world.engine, "administrative_penalty", [penalty_row(n, doc, decided, cls)])
    return rid_of(doc)


def test_full_loop_national_day(world: World) -> None:
    from xinyong.evaluation import service as evaluation

    with world.engine.begin() as conn:
        evaluation.sync_builtin_models(conn)
    rid = setup_penalty(world)
    evaluation.evaluate(world.engine, "gz_general", as_of=NATIONAL_DAY)
    before = world.query("SELECT score FROM evaluation_result WHERE subject_id = :s"
                         " AND model_name = 'gz_general'", s=world.ids["s1"])[0][0]
    s1 = world.client("rp-s1")

    # eligibility: 一般 3 months from 2026-06-01, under 36号令
    e = s1.get("/api/v1/repair/eligibility").json()
    item = next(r for r in e["records"] if r["record_id"] == rid)
    assert item["can_apply"] and item["repairable_from"] == "2026-09-01"
    assert item["rule"]["id"] == "ndrc-2026-penalty"
    assert [m["code"] for m in item["materials"]] == ["performance_proof"]
    page = s1.get("/me/repair", headers={"accept": "text/html"})
    assert page.status_code == 200 and "在线申请修复" in page.text and DOC in page.text

    r = apply(s1, rid, ("performance_proof", "缴款凭证.pdf", PDF),
              ("performance_proof", "现场照片.png", PNG))
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["status"] == "submitted" and not a["materials_missing"]
    code = a["query_code"]
    assert len(code) == 12 and not set(code) & set("0O1IL")
    # acceptance within 3 working days: 09-30, (10-01..10-07 off), 10-08, 10-09
    assert a["accept_due"] == "2026-10-09" == working_days_after(NATIONAL_DAY, 3).isoformat()
    assert a["decision_due"] == working_days_after(NATIONAL_DAY, 10).isoformat() == "2026-10-19"
    assert a["commitment"]["text"].startswith("本单位（人）广州测试51号有限公司")
    assert len(a["commitment"]["sha256"]) == 64 and a["commitment"]["signer"] == "user:rp-s1"
    assert [m["file_type"] for m in a["materials"]] == ["pdf", "png"]
    stored = world.query("SELECT path, sha256 FROM repair_material ORDER BY id")
    import hashlib

    from xinyong.core.config import get_settings

    assert (get_settings().data_dir / stored[0][0]).read_bytes() == PDF
    assert stored[0][1] == hashlib.sha256(PDF).hexdigest()

    # the public progress: status and steps, no names
    p = TestClient(world.app).get(f"/api/v1/repair/progress/{code}").json()
    assert p["status"] == "submitted" and p["steps"][0]["step"] == "submit"
    assert "广州测试" not in str(p) and "actor" not in p["steps"][0]

    # out of order: no review before acceptance, no decision before review
    tax = world.client("rp-tax")
    r = tax.post(f"/api/v1/repair/applications/{a['id']}/review", json={"agree": True})
    assert r.status_code == 409 and r.json()["code"] == "REPAIR_OUT_OF_ORDER"
    admin = world.client("rp-admin")
    r = admin.post(f"/api/v1/repair/applications/{a['id']}/decide", json={"approve": True})
    assert r.status_code == 409 and r.json()["code"] == "REPAIR_OUT_OF_ORDER"
    # a department may not accept or decide; a subject neither
    r = tax.post(f"/api/v1/repair/applications/{a['id']}/accept", json={"accept": True})
    assert r.status_code == 403 and r.json()["code"] == "REPAIR_ROLE_FORBIDDEN"

    r = admin.post(f"/api/v1/repair/applications/{a['id']}/accept", json={"accept": True})
    assert r.status_code == 200, r.text
    acc = r.json()
    assert acc["status"] == "accepted" and acc["accepted_on"] == "2026-09-29"
    # 5 working days: 09-30, 10-08, 10-09, 10-10 (make-up Saturday), 10-12
    assert acc["review_due"] == "2026-10-12" == working_days_after(NATIONAL_DAY, 5).isoformat()
    # the department's officer got its task, the subject its notice
    notes = world.query("SELECT template FROM notification WHERE channel = 'in_app'"
                        " ORDER BY id")
    assert ("repair_review_due",) in notes and ("repair_accepted",) in notes

    for who, status in (("rp-housing", 404), ("rp-s2", 404)):
        r = world.client(who).get(f"/api/v1/repair/applications/{a['id']}")
        assert r.status_code == status, (who, r.text)
    r = world.client("rp-housing").post(f"/api/v1/repair/applications/{a['id']}/review",
                                        json={"agree": True})
    assert r.status_code == 404
    r = s1.post(f"/api/v1/repair/applications/{a['id']}/decide", json={"approve": True})
    assert r.status_code == 403 and r.json()["code"] == "REPAIR_ROLE_FORBIDDEN"

    clock.set_today(dt.date(2026, 10, 9))
    # sessions expire with the clock: log in again on the later day
    tax, admin, s1 = world.client("rp-tax"), world.client("rp-admin"), world.client("rp-s1")
    r = tax.post(f"/api/v1/repair/applications/{a['id']}/review",
                 json={"agree": True, "reason": "罚款已入库，申报已补正"})
    assert r.status_code == 200 and r.json()["status"] == "reviewed"
    r = admin.post(f"/api/v1/repair/applications/{a['id']}/decide", json={"approve": False})
    assert r.status_code == 400 and r.json()["code"] == "REPAIR_REASON_REQUIRED"
    r = admin.post(f"/api/v1/repair/applications/{a['id']}/decide", json={"approve": True})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "approved" and done["decision_serial"].startswith("XF20261009")
    steps = [(s["step"], s["outcome"], s["actor"]) for s in done["steps"]]
    assert steps == [("submit", "submitted", "user:rp-s1"), ("accept", "accepted", "user:rp-admin"),
                     ("review", "agree", "user:rp-tax"), ("decide", "approved", "user:rp-admin")]

    # the record is repaired: an event, hidden from the public, the grade re-evaluated
    with session_scope() as session:
        rec = session.scalar(select(CreditRecord).where(CreditRecord.id == rid))
        assert rec is not None and rec.status == "repaired"
    events = world.query("SELECT kind, actor FROM record_event WHERE record_id = :r", r=rid)
    assert ("repaired", "user:rp-admin") in events
    public = TestClient(world.app).get(f"/api/v1/subjects/{b.code(S1)}/profile").json()
    assert DOC not in str(public)
    after = world.query("SELECT score FROM evaluation_result WHERE subject_id = :s"
                        " AND model_name = 'gz_general'", s=world.ids["s1"])[0][0]
    assert after != before
    hist = world.query("SELECT COUNT(*) FROM evaluation_history WHERE subject_id = :s"
                       " AND model_name = 'gz_general'", s=world.ids["s1"])[0][0]
    assert hist >= 2

    # the decision PDF, signed by the platform
    from xinyong.reports.signing import verify_pdf

    r = s1.get(f"/api/v1/repair/applications/{a['id']}/decision.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert verify_pdf(r.content).ok
    tampered = r.content.replace(b"/Title", b"/Titl3", 1)
    assert not verify_pdf(tampered).ok
    page = s1.get(f"/me/repair/{a['id']}/decision.pdf")
    assert page.content == r.content  # issued once, the same file every time

    # the shared result: government and banks read it, the subject not
    feed = admin.get("/api/v1/repair/results", params={"since": "2026-10-01"}).json()
    assert feed["count"] == 1 and feed["items"][0]["record_id"] == rid
    assert feed["items"][0]["repaired_on"] == "2026-10-09"
    assert world.client("rp-bank").get("/api/v1/repair/results",
                                       params={"since": "2026-10-01"}).status_code == 200
    r = s1.get("/api/v1/repair/results", params={"since": "2026-10-01"})
    assert r.status_code == 403 and r.json()["code"] == "REPAIR_RESULTS_FORBIDDEN"
    assert admin.get("/api/v1/repair/results",
                     params={"since": "2026-10-10"}).json()["count"] == 0

    # the subject sees 已修复; a second application is refused
    page = s1.get("/me/repair", headers={"accept": "text/html"})
    assert "已修复" in page.text
    before_counts = counts(world)
    r = apply(s1, rid, ("performance_proof", "a.pdf", PDF))
    assert r.status_code == 409 and r.json()["code"] == "REPAIR_ALREADY_REPAIRED"
    assert counts(world) == before_counts
    assert ("repair_approved",) in world.query(
        "SELECT template FROM notification WHERE subject_id = :s", s=world.ids["s1"])


def test_year_end_deadline_is_provisional(world: World) -> None:
    rid = setup_penalty(world)
    clock.set_today(dt.date(2026, 12, 28))
    s1 = world.client("rp-s1")
    a = apply(s1, rid, ("performance_proof", "缴款凭证.pdf", PDF)).json()
    # 12-29, 12-30, 12-31 (2026, official), then 2027: weekends only, provisional
    assert a["accept_due"] == "2026-12-31"
    assert a["decision_due"] == "2027-01-11" and a["provisional"] is True
    html = world.client("rp-admin").get("/admin/repair", headers={"accept": "text/html"}).text
    assert "（暂定）" in html


def test_deferred_materials_lapse_after_five_working_days(world: World) -> None:
    rid = setup_penalty(world)
    s1 = world.client("rp-s1")
    # missing material without 容缺: refused, nothing written
    before = counts(world)
    r = apply(s1, rid)
    assert r.status_code == 400 and r.json()["code"] == "REPAIR_MATERIALS_MISSING"
    assert "已履行法定义务的证明" in r.json()["message"]
    assert counts(world) == before
    a = apply(s1, rid, defer=True).json()
    assert a["materials_missing"] and a["decision_due"] is None
    # 5 working days from 09-29 across the holiday: 09-30, 10-08, 10-09, 10-10, 10-12
    assert a["complete_by"] == "2026-10-12"
    admin = world.client("rp-admin")
    admin.post(f"/api/v1/repair/applications/{a['id']}/accept", json={"accept": True})
    with session_scope() as session:
        assert service.sweep(session, dt.date(2026, 10, 12)).lapsed == 0
    clock.set_today(dt.date(2026, 10, 13))
    s1 = world.client("rp-s1")
    assert world.client("rp-admin").get(
        "/api/v1/repair/applications", params={"overdue": "true"}).json()["items"][0]["id"] == a["id"]
    from typer.testing import CliRunner

    from xinyong.cli import app as cli

    out = CliRunner().invoke(cli, ["repair", "list", "--overdue"], env={"COLUMNS": "300"})
    assert out.exit_code == 0 and a["query_code"] in out.stdout and "容缺材料逾期" in out.stdout
    out = CliRunner().invoke(cli, ["repair", "sweep"], env={"COLUMNS": "300"})
    assert out.exit_code == 0, out.stdout
    assert "容缺逾期失效 1 件" in out.stdout
    d = s1.get(f"/api/v1/repair/applications/{a['id']}").json()
    assert d["status"] == "lapsed" and d["steps"][-1]["step"] == "lapse"
    assert ("repair_lapsed",) in world.query(
        "SELECT template FROM notification WHERE subject_id = :s", s=world.ids["s1"])
    # lapsed: the record may be applied for again
    assert s1.get("/api/v1/repair/eligibility").json()["records"][0]["can_apply"]


def test_deferred_materials_completed_in_time(world: World) -> None:
    rid = setup_penalty(world)
    s1 = world.client("rp-s1")
    a = apply(s1, rid, defer=True).json()
    clock.set_today(dt.date(2026, 10, 9))
    s1 = world.client("rp-s1")
    f = files(("performance_proof", "缴款凭证.jpg", JPG))
    r = s1.post(f"/api/v1/repair/applications/{a['id']}/materials",
                data={"kinds": f["kinds"]}, files=f["files"])
    assert r.status_code == 200, r.text
    d = r.json()
    assert not d["materials_missing"] and d["required"][0]["provided"]
    # 10 working days from completion (10-09): 10-10, 12..16, 19..22
    assert d["decision_due"] == working_days_after(dt.date(2026, 10, 9), 10).isoformat()
    with session_scope() as session:
        assert service.sweep(session, dt.date(2026, 10, 20)).lapsed == 0


def test_bad_input_changes_nothing(world: World) -> None:
    rid = setup_penalty(world)
    early = setup_penalty(world, decided="2026-08-01", doc="穗天税罚〔2026〕修复2号")
    serious = setup_penalty(world, decided="2026-06-01", cls="serious", doc="穗天税罚〔2026〕修复3号")
    other = setup_penalty(world, n=S2, doc="穗天税罚〔2026〕他人4号")
    s1 = world.client("rp-s1")
    before = counts(world)
    cases = [
        (apply(s1, early, ("performance_proof", "a.pdf", PDF)), 422, "REPAIR_TOO_EARLY",
         "2026-11-01"),
        (apply(s1, serious, ("performance_proof", "a.pdf", PDF)), 422, "REPAIR_TOO_EARLY",
         "2027-06-01"),
        (apply(s1, other, ("performance_proof", "a.pdf", PDF)), 404, "REPAIR_RECORD_NOT_FOUND",
         "本主体"),
        (apply(s1, rid, ("performance_proof", "setup.pdf", EXE)), 415, "REPAIR_FILE_TYPE",
         "setup.pdf"),
        (apply(s1, rid, ("performance_proof", "photo.pdf", PNG)), 415,
         "REPAIR_FILE_TYPE_MISMATCH", "扩展名"),
        (apply(s1, rid, ("performance_proof", "big.pdf", PDF + b"0" * (10 * 1024 * 1024))),
         413, "REPAIR_FILE_TOO_LARGE", "10 MB"),
        (apply(s1, rid, ("performance_proof", "a.pdf", PDF), affirm=False), 400,
         "REPAIR_COMMITMENT_REQUIRED", "承诺书"),
        (apply(s1, rid, ("no_such_material", "a.pdf", PDF)), 400, "REPAIR_MATERIAL_UNKNOWN",
         "材料类别"),
        (apply(s1, rid, *[("performance_proof", f"{i}.pdf", PDF) for i in range(11)]), 400,
         "REPAIR_TOO_MANY_FILES", "10"),
    ]
    for r, status, code, fragment in cases:
        assert r.status_code == status, (code, r.text)
        body = r.json()
        assert body["code"] == code and fragment in body["message"], body
    assert counts(world) == before
    assert not list((world.engine and __import__("xinyong.core.config", fromlist=["x"])
                     .get_settings().data_dir).glob("uploads/repair/*/*"))

    # under application: a second one refused; the bank may not apply
    a = apply(s1, rid, ("performance_proof", "a.pdf", PDF)).json()
    r = apply(s1, rid, ("performance_proof", "a.pdf", PDF))
    assert r.status_code == 409 and r.json()["code"] == "REPAIR_IN_PROGRESS"
    r = apply(world.client("rp-bank"), rid, ("performance_proof", "a.pdf", PDF))
    assert r.status_code == 403 and r.json()["code"] == "REPAIR_SUBJECT_ONLY"
    admin = world.client("rp-admin")
    r = admin.post(f"/api/v1/repair/applications/{a['id']}/accept",
                   json={"accept": False, "reason": "  "})
    assert r.status_code == 400 and r.json()["code"] == "REPAIR_REASON_REQUIRED"
    r = TestClient(world.app).post(f"/api/v1/repair/applications/{a['id']}/decide",
                                   json={"approve": True})
    assert r.status_code == 401
    r = TestClient(world.app).post(f"/api/v1/repair/applications/{a['id']}/accept",
                                   json={"accept": True},
                                   headers={"X-API-Key": world.ids["key_tax"]})
    assert r.status_code == 403 and r.json()["code"] == "REPAIR_ROLE_FORBIDDEN"
    r = TestClient(world.app).get("/api/v1/repair/progress/NOPE")
    assert r.status_code == 400 and r.json()["code"] == "REPAIR_QUERY_CODE_INVALID"
    r = TestClient(world.app).get("/api/v1/repair/progress/ABCDEFGHJKMN")
    assert r.status_code == 404 and r.json()["code"] == "REPAIR_QUERY_CODE_UNKNOWN"
    # rejection with reasons is final and says why
    r = admin.post(f"/api/v1/repair/applications/{a['id']}/accept",
                   json={"accept": False, "reason": "申请事项不属于本平台受理范围"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["reasons"] == "申请事项不属于本平台受理范围"
    assert world.query("SELECT status FROM credit_record WHERE id = :r", r=rid)[0][0] == "active"


def test_department_reviews_through_its_portal(world: World) -> None:
    rid = setup_penalty(world)
    s1 = world.client("rp-s1")
    a = apply(s1, rid, ("performance_proof", "a.pdf", PDF)).json()
    admin = world.client("rp-admin")
    page = admin.get("/admin/repair", headers=HTML_ACCEPT)
    assert a["query_code"] in page.text
    tok = _csrf(admin.get(f"/admin/repair/{a['id']}", headers=HTML_ACCEPT).text)
    r = admin.post(f"/admin/repair/{a['id']}/accept", data={"outcome": "accept",
                                                            "csrf_token": tok},
                   headers=HTML_ACCEPT, follow_redirects=False)
    assert r.status_code == 303
    tax = world.client("rp-tax")
    q = tax.get("/dept/repair", headers=HTML_ACCEPT)
    assert a["query_code"] in q.text
    assert a["query_code"] not in world.client("rp-housing").get(
        "/dept/repair", headers=HTML_ACCEPT).text
    tok = _csrf(tax.get(f"/dept/repair/{a['id']}", headers=HTML_ACCEPT).text)
    r = tax.post(f"/dept/repair/{a['id']}/review",
                 data={"outcome": "disagree", "reason": "", "csrf_token": tok},
                 headers=HTML_ACCEPT, follow_redirects=False)
    assert r.status_code == 400 and "REPAIR_REASON_REQUIRED" in r.text
    r = tax.post(f"/dept/repair/{a['id']}/review",
                 data={"outcome": "disagree", "reason": "罚款尚未缴纳", "csrf_token": tok},
                 headers=HTML_ACCEPT, follow_redirects=False)
    assert r.status_code == 303
    # overdue flags: the decision is due 2026-10-19; on 10-20 the queue flags it
    clock.set_today(dt.date(2026, 10, 20))
    admin, tax = world.client("rp-admin"), world.client("rp-tax")
    page = admin.get("/admin/repair?overdue=1", headers=HTML_ACCEPT)
    assert "决定超期" in page.text and a["query_code"] in page.text
    material = world.query("SELECT id FROM repair_material")[0][0]
    assert tax.get(f"/repair/materials/{material}").content == PDF
    assert world.client("rp-housing").get(f"/repair/materials/{material}").status_code == 404
    progress = TestClient(world.app).get(f"/repair/progress?code={a['query_code']}",
                                         headers=HTML_ACCEPT)
    assert "部门核实" in progress.text and "广州测试" not in progress.text


HTML_ACCEPT = {"accept": "text/html"}


def _csrf(html: str) -> str:
    from tests.auth import csrf

    return csrf(html)


def test_operator_token_and_cli_eligibility(world: World) -> None:
    setup_penalty(world)
    r = TestClient(world.app).get("/api/v1/repair/eligibility",
                                  params={"code": b.code(S1)},
                                  headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["records"][0]["can_apply"]
    from typer.testing import CliRunner

    from xinyong.cli import app as cli

    out = CliRunner().invoke(cli, ["repair", "eligibility", b.code(S1)], env={"COLUMNS": "300"})
    assert out.exit_code == 0, out.stdout
    assert "2026-09-01" in out.stdout and "是" in out.stdout
    out = CliRunner().invoke(cli, ["repair", "eligibility", b.code(99)], env={"COLUMNS": "300"})
    assert out.exit_code == 2


def test_local_limits_block_repeated_repair(world: World) -> None:
    from xinyong.accounts.principal import CLI, Principal
    from xinyong.repair.eligibility import load_rules

    limited = load_rules("limited")
    first = setup_penalty(world)
    second = setup_penalty(world, doc="穗天税罚〔2026〕修复5号")
    with session_scope() as session:
        acct = session.execute(text("SELECT id FROM account WHERE username = 'rp-s1'")).scalar()
        who = Principal(role="subject", account_id=acct, username="rp-s1",
                        subject_id=world.ids["s1"], via="session")
        app = service.apply(session, who, first, uploads=[service.Upload(
            "performance_proof", "a.pdf", PDF)], affirm=True, rules=limited)
        service.accept(session, CLI, app.id, rules=limited)
        clock.set_today(dt.date(2026, 10, 30))  # department review overdue: the office decides
        service.decide(session, CLI, app.id, approve=True, rules=limited)
        item = service.record_eligibility(session, world.ids["s1"], second, rules=limited)
        assert not item["can_apply"] and item["code"] == "REPAIR_LOCAL_INTERVAL"
        assert item["repairable_from"] == "2027-10-30"
        national = service.record_eligibility(session, world.ids["s1"], second)
        assert national["can_apply"]


def test_seed_demo_runs_the_loop_once(world: World) -> None:
    first = setup_penalty(world)
    second = setup_penalty(world, decided="2026-05-20", doc="穗天税罚〔2026〕演示6号")
    with session_scope() as session:
        assert service.seed_demo(session) == 2
    with session_scope() as session:
        assert service.seed_demo(session) == 0
    statuses = dict(world.query("SELECT record_id, status FROM repair_application"))
    repaired = [r for r in (first, second) if statuses[r] == "approved"]
    assert len(repaired) == 1 and "submitted" in statuses.values()
    assert world.query("SELECT status FROM credit_record WHERE id = :r",
                       r=repaired[0])[0][0] == "repaired"

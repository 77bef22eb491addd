"""The portals' pages: a subject files from its portal (with evidence), the office works the
queue, the department answers; a refused form shows why and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.auth import csrf
from tests.evaluation import builders as b
from tests.objections import helpers as h

HTML = {"accept": "text/html"}
Clients = Callable[[str], TestClient]


def _count(world: h.World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM objection")).scalar_one())


def test_portal_flow(world: h.World, client_for: Clients) -> None:
    s1, admin, market = (client_for(u) for u in ("obj-s1", "obj-admin", "obj-market"))
    # the profile links each disputable record to the form
    profile = s1.get(f"/subjects/{b.code(h.S1)}", headers=HTML).text
    assert f'/me/objections?record_id={world.record}#file' in profile
    page = s1.get(f"/me/objections?record_id={world.record}", headers=HTML)
    assert page.status_code == 200 and "提出异议" in page.text and "罚款金额" in page.text
    token = csrf(page.text)
    # a file that is not what its name says: the page says why, nothing is filed
    bad = s1.post("/me/objections", headers=HTML, follow_redirects=False,
                  data={"csrf_token": token, "record_id": str(world.record), "reason": "金额有误"},
                  files=[("files", ("决定书.pdf", b"<html>not a pdf</html>", "application/pdf"))])
    assert bad.status_code == 415 and "OBJECTION_FILE_TYPE" in bad.text
    assert "金额有误" in bad.text  # what was typed is kept
    assert _count(world) == 0
    r = s1.post("/me/objections", headers=HTML, follow_redirects=False,
                data={"csrf_token": token, "record_id": str(world.record),
                      "reason": "罚款金额录入有误。", "value__fine_amount": "20000",
                      "contact": "王经理"},
                files=[("files", ("决定书.jpg", h.JPG, "image/jpeg"))])
    assert r.status_code == 303, r.text[:300]
    oid = int(re.search(r"/me/objections/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    case = s1.get(r.headers["location"], headers=HTML).text
    assert "待受理" in case and "决定书.jpg" in case and "20000" in case and "2026-10-09" in case

    queue = admin.get("/admin/objections", headers=HTML).text
    assert f"/admin/objections/{oid}" in queue and "广州测试1号有限公司" in queue
    token = csrf(admin.get(f"/admin/objections/{oid}", headers=HTML).text)
    for step, data in (("accept", {"note": "材料齐全"}), ("assign", {"note": "请核实"})):
        r = admin.post(f"/admin/objections/{oid}/{step}", headers=HTML, follow_redirects=False,
                       data={"csrf_token": token, **data})
        assert r.status_code == 303, r.text[:300]
    assert "异议处理中" in client_for("").get(f"/subjects/{b.code(h.S1)}", headers=HTML).text

    dept = market.get("/dept/objections", headers=HTML).text
    assert f"/dept/objections/{oid}" in dept
    token = csrf(market.get(f"/dept/objections/{oid}", headers=HTML).text)
    # corrected without values: refused on the page
    r = market.post(f"/dept/objections/{oid}/answer", headers=HTML,
                    data={"csrf_token": token, "proposal": "corrected", "reason": "更正"})
    assert r.status_code == 422 and "OBJECTION_VALUES_REQUIRED" in r.text
    r = market.post(f"/dept/objections/{oid}/answer", headers=HTML, follow_redirects=False,
                    data={"csrf_token": token, "proposal": "revoked",
                          "reason": "经核实，处罚决定已被撤销。"})
    assert r.status_code == 303
    token = csrf(admin.get(f"/admin/objections/{oid}", headers=HTML).text)
    r = admin.post(f"/admin/objections/{oid}/decide", headers=HTML, follow_redirects=False,
                   data={"csrf_token": token, "outcome": "revoked", "reason": "撤销该记录。"})
    assert r.status_code == 303
    mine = s1.get(f"/me/objections/{oid}", headers=HTML).text
    assert "已办结" in mine and "撤销记录" in mine and "已撤销" in mine
    assert "异议处理中" not in client_for("").get(f"/subjects/{b.code(h.S1)}", headers=HTML).text


def test_pages_refuse_other_parties(world: h.World, client_for: Clients) -> None:
    s1, s2, tax = (client_for(u) for u in ("obj-s1", "obj-s2", "obj-tax"))
    token = csrf(s1.get("/me/objections", headers=HTML).text)
    r = s1.post("/me/objections", headers=HTML, follow_redirects=False,
                data={"csrf_token": token, "record_id": str(world.record), "reason": "有误"})
    oid = int(re.search(r"/me/objections/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    assert s2.get(f"/me/objections/{oid}", headers=HTML).status_code == 404
    # S2 may not dispute S1's record through its own form
    token2 = csrf(s2.get("/me/objections", headers=HTML).text)
    r = s2.post("/me/objections", headers=HTML,
                data={"csrf_token": token2, "record_id": str(world.record), "reason": "有误"})
    assert r.status_code == 404 and "OBJECTION_RECORD_NOT_FOUND" in r.text
    assert tax.get(f"/dept/objections/{oid}", headers=HTML).status_code == 404
    assert s1.get("/admin/objections", headers=HTML).status_code == 403
    assert _count(world) == 1

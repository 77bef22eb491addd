"""Credit repair in the browser: an enterprise applies with its materials and the signed
commitment, the credit office accepts, the department that listed it agrees, the office
approves, and the enterprise sees 已修复; anyone follows the progress by the query code."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.auth import PASSWORD
from tests.browser import data
from tests.browser.conftest import LiveServer
from tests.browser.steps import Page, expect, log_in, submit

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
LISTING = "深市监异〔2026〕浏览器1号"
USERNAME = "dongfang-repair"


def _seed_listing(server: LiveServer) -> None:
    """DONGFANG (no records, no account in the shared world) gets an account and an entry in
    the abnormal operations list sent by the market department: repairable at once."""
    from xinyong.accounts import service as accounts
    from xinyong.accounts.principal import CLI
    from xinyong.core import clock
    from xinyong.core.db import make_engine, session_scope, set_engine
    from xinyong.records.ingest import ingest_records

    engine = make_engine(f"sqlite:///{server.data_dir / 'xinyong.db'}")
    set_engine(engine)
    try:
        with clock.frozen(data.TODAY):
            result = ingest_records(engine, [{
                "subject_name": data.DONGFANG.name, "uscc": data.DONGFANG.uscc,
                "reason": "通过登记的住所或者经营场所无法联系", "listed_on": "2026-03-10",
                "listing_doc_number": LISTING, "authority": "深圳市市场监督管理局",
            }], record_type="abnormal_operations_list", department="market", actor="test")
            assert result.inserted == 1, result.summary()
            with session_scope() as session:
                accounts.create_account(session, username=USERNAME, display_name="东方物流",
                                        role="subject", by=CLI, password=PASSWORD,
                                        subject=data.DONGFANG.uscc)
    finally:
        set_engine(None)
        engine.dispose()


def test_enterprise_repairs_a_listing(new_context: Callable[..., Page],
                                      live_server: LiveServer) -> None:
    _seed_listing(live_server)
    firm = new_context()
    log_in(firm, USERNAME)
    firm.goto("/me/repair")
    row = firm.locator("#repair-eligibility tr", has_text="经营异常名录")
    expect(row).to_contain_text("已满足申请条件")
    with firm.expect_navigation():
        row.get_by_role("link", name="在线申请修复").click()
    expect(firm.get_by_role("heading", name="申请信用修复")).to_be_visible()
    for label in ("信用修复申请书", "列入经营异常名录事由已消除的证明", "营业执照复印件"):
        firm.get_by_label(label).set_input_files(files=[{
            "name": f"{label}.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    firm.get_by_label("履行义务、纠正失信行为的情况说明").fill("已变更住所并恢复联系。")
    # without the commitment: refused, with the reason, nothing submitted
    submit(firm, firm.get_by_role("button", name="提交申请"))
    expect(firm.locator(".alert-error")).to_contain_text("信用修复承诺书")
    for label in ("信用修复申请书", "列入经营异常名录事由已消除的证明", "营业执照复印件"):
        firm.get_by_label(label).set_input_files(files=[{
            "name": f"{label}.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    firm.locator("#affirm").check()
    submit(firm, firm.get_by_role("button", name="提交申请"))
    assert re.search(r"/me/repair/\d+\?submitted=1$", firm.url), firm.url
    code = firm.locator("#query-code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{12}", code), code
    repair_id = re.search(r"/me/repair/(\d+)", firm.url).group(1)  # type: ignore[union-attr]

    office = new_context()
    log_in(office, data.ADMIN.username)
    office.goto("/admin/repair")
    with office.expect_navigation():
        office.locator("#repair-queue").get_by_role("link", name=code).click()
    submit(office, office.locator("#repair-accept").get_by_role("button", name="提交"))
    expect(office.locator("#repair-status")).to_contain_text("已受理，待部门核实")

    officer = new_context()
    log_in(officer, data.OFFICER.username)
    officer.goto("/dept/repair")
    expect(officer.locator("#repair-queue")).to_contain_text(code)
    officer.goto(f"/dept/repair/{repair_id}")
    officer.get_by_label("核实意见（不同意时必填）").fill("经核查，企业已在新住所恢复联系。")
    submit(officer, officer.get_by_role("button", name="提交核实意见"))
    expect(officer.locator("#repair-status")).to_contain_text("部门已核实，待决定")

    office.goto(f"/admin/repair/{repair_id}")
    submit(office, office.get_by_role("button", name="作出决定"))
    expect(office.locator("#repair-status")).to_contain_text("已修复")
    expect(office.locator("#repair-steps tbody tr")).to_have_count(4)

    firm.goto("/me/repair")
    expect(firm.locator("#repair-applications")).to_contain_text("已修复")
    firm.goto(f"/me/repair/{repair_id}")
    expect(firm.locator("#repair-status")).to_contain_text("信用修复决定书")

    public = new_context()
    public.goto(f"/repair/progress?code={code}")
    expect(public.locator("#repair-progress")).to_contain_text("已修复")
    expect(public.locator("main")).not_to_contain_text(data.DONGFANG.name)
    public.goto(f"/subjects/{data.DONGFANG.uscc}")
    expect(public.locator("main")).not_to_contain_text(LISTING)

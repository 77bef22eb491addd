"""Objections in the browser: the enterprise disputes a penalty from its own profile with a
PDF, the office accepts it and sends it to the market regulator, the regulator answers in its
portal, the office decides; the record shows 异议处理中 meanwhile."""

from __future__ import annotations

from collections.abc import Callable

from tests.browser import data
from tests.browser.steps import Page, expect, log_in, submit

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _record(page: Page, doc: str):  # type: ignore[no-untyped-def]
    return page.locator("article.record").filter(has_text=doc)


def test_subject_files_department_answers_office_decides(
    page: Page, new_context: Callable[..., Page]
) -> None:
    company = data.ENTERPRISE.subject
    assert company is not None
    log_in(page, data.ENTERPRISE.username)
    page.goto(f"/subjects/{company.uscc}")
    with page.expect_navigation():
        _record(page, data.HUANAN_PENALTY).get_by_role("link", name="提出异议").click()
    form = page.locator("#file-form")
    expect(form).to_be_visible()
    form.get_by_label("异议理由（必填）").fill("该处罚决定已被行政复议撤销，附复议决定书。")
    form.get_by_label("罚款金额").fill("3000")
    form.get_by_label("证明材料", exact=False).set_input_files(
        files=[{"name": "复议决定书.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    submit(page, form.get_by_role("button", name="提交异议"))
    expect(page.locator("#case-status")).to_have_text("待受理")
    expect(page.locator("main")).to_contain_text("复议决定书.pdf")
    case_path = page.url.split("?")[0].removeprefix(page.url.split("/me/")[0])
    oid = case_path.rsplit("/", 1)[1]

    office = new_context()
    log_in(office, data.ADMIN.username)
    office.goto("/admin/objections")
    with office.expect_navigation():
        office.locator("main table").get_by_role("link", name=oid, exact=True).click()
    submit(office, office.locator("#accept-form").get_by_role("button", name="受理"))
    expect(office.locator("#case-status")).to_have_text("平台核查中")
    submit(office, office.locator("#assign-form").get_by_role("button", name="转数据提供单位核实"))
    expect(office.locator("#case-status")).to_have_text("数据提供单位核实中")

    # the public profile marks the record while the case is open
    visitor = new_context()
    visitor.goto(f"/subjects/{company.uscc}")
    expect(_record(visitor, data.HUANAN_PENALTY)).to_contain_text("异议处理中")

    officer = new_context()
    log_in(officer, data.OFFICER.username)
    officer.goto("/dept/objections")
    with officer.expect_navigation():
        officer.locator("main table").get_by_role("link", name=oid, exact=True).click()
    answer = officer.locator("#answer-form")
    answer.get_by_label("核实结论").select_option("upheld")
    answer.get_by_label("核实意见（必填）").fill("经核实，复议决定维持原处罚，处罚有效。")
    submit(officer, answer.get_by_role("button", name="提交答复"))
    expect(officer.locator("#case-status")).to_have_text("待作出决定")

    office.reload()
    decide = office.locator("#decide-form")
    expect(decide.get_by_label("处理结果")).to_have_value("upheld")
    submit(office, decide.get_by_role("button", name="作出决定"))
    expect(office.locator("#case-status")).to_have_text("已办结：维持原记录")

    page.goto(f"/me/objections/{oid}")
    expect(page.locator("#case-status")).to_have_text("已办结：维持原记录")
    expect(page.locator("main")).to_contain_text("经核实，复议决定维持原处罚")
    visitor.reload()
    expect(_record(visitor, data.HUANAN_PENALTY)).not_to_contain_text("异议处理中")

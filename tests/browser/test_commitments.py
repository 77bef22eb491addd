"""A 容缺受理 commitment end to end in the browser: the department asks, the enterprise signs in
its portal, the department confirms fulfilment."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from tests.browser import data
from tests.browser.steps import Page, expect, log_in, submit


def test_department_requests_subject_signs_department_confirms(
        new_context: Callable[..., Page]) -> None:
    matter = f"建设工程施工许可（华南精密四期厂房 {uuid.uuid4().hex[:6]}）"
    officer = new_context()
    log_in(officer, data.OFFICER.username)
    officer.goto("/dept/commitments")
    expect(officer.get_by_role("heading", level=1)).to_contain_text("承诺履约")
    officer.get_by_role("link", name="容缺受理信用承诺书").click()
    officer.get_by_label("承诺主体统一社会信用代码").fill(data.HUANAN.uscc)
    officer.get_by_label("容缺办理事项").fill(matter)
    officer.get_by_label("容缺（后补）材料").fill("施工图设计文件审查合格书")
    submit(officer, officer.get_by_role("button", name="发送给承诺主体"))
    assert re.search(r"/dept/commitments/\d+\?requested=1$", officer.url), officer.url
    expect(officer.locator("main")).to_contain_text("待签署")
    number = officer.locator("dd.code").first.inner_text()
    # 60 days from 2026-04-01 end on Sunday 31 May: the deadline moves to Monday 1 June
    expect(officer.locator("main")).to_contain_text("2026-06-01")
    detail = officer.url.split("?")[0]

    enterprise = new_context()
    log_in(enterprise, data.ENTERPRISE.username)
    enterprise.goto("/me/commitments")
    expect(enterprise.locator("main")).to_contain_text("待签署")
    enterprise.get_by_role("link", name=number).click()
    expect(enterprise.locator("main")).to_contain_text("施工图设计文件审查合格书")
    enterprise.get_by_label("联系人").fill("陈工")
    enterprise.get_by_label("联系电话").fill("13812345678")
    # without the affirmation nothing is signed
    submit(enterprise, enterprise.get_by_role("button", name="签署承诺书"))
    expect(enterprise.locator(".alert-error")).to_contain_text("自愿作出上述承诺")
    enterprise.get_by_label("联系电话").fill("13812345678")
    enterprise.get_by_label("本单位已阅读并自愿作出上述承诺").check()
    submit(enterprise, enterprise.get_by_role("button", name="签署承诺书"), stale_text="待签署")
    expect(enterprise.locator(".alert-info")).to_contain_text("承诺书已签署")
    expect(enterprise.locator("pre.commitment-text")).to_contain_text("2026年6月1日（含当日）前补齐")
    expect(enterprise.locator("main")).to_contain_text(re.compile(r"[0-9a-f]{64}"))

    officer.goto(detail)
    expect(officer.locator("main")).to_contain_text("13812345678")
    officer.get_by_label("履约（已按承诺履行）").check()
    officer.get_by_label("说明（违诺时填写违诺情形）").fill("已补齐施工图设计文件审查合格书")
    submit(officer, officer.get_by_role("button", name="保存认定"), stale_text="已签署")
    expect(officer.locator(".alert-info")).to_contain_text("已保存认定结果")
    expect(officer.locator("main .badge-positive")).to_have_text("已履约")

    enterprise.goto("/me/commitments")
    expect(enterprise.locator("tr", has_text=number)).to_contain_text("已履约")

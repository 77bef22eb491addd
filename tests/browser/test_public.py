"""What the public sees: search from the home page, a profile with its penalty, a phone-sized
screen, and the limits of the public view."""

from __future__ import annotations

from collections.abc import Callable

from tests.browser import data
from tests.browser.steps import Page, expect, log_in, overflow

PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


def test_search_by_partial_name_then_profile_on_a_phone(new_context: Callable[..., Page]) -> None:
    page = new_context(**PHONE)
    page.goto("/")
    expect(page.get_by_role("heading", name="信用信息查询")).to_be_visible()
    assert overflow(page) <= 0, "the home page scrolls sideways on a 375 px phone"

    page.get_by_label("统一社会信用代码或名称").fill("华南精密")
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()
    expect(page.locator(".results-summary")).to_contain_text("共 1 个结果")
    result = page.get_by_role("link", name=data.HUANAN.name)
    expect(result).to_be_visible()
    expect(page.get_by_text(data.PENGCHENG.name)).to_have_count(0)
    assert overflow(page) <= 0, "the results page scrolls sideways on a 375 px phone"

    with page.expect_navigation():
        result.click()
    assert page.url.endswith(f"/subjects/{data.HUANAN.uscc}")
    expect(page.get_by_role("heading", level=1)).to_have_text(data.HUANAN.name)
    expect(page.locator(".profile-title .badge")).to_have_text("公开视图")
    record = page.locator("article.record", has_text=data.HUANAN_PENALTY)
    expect(record.locator(".record-type")).to_have_text("行政处罚")
    expect(record).to_contain_text("30,000.00 元")
    expect(record).to_contain_text("深圳市市场监督管理局")
    assert overflow(page) <= 0, "the profile scrolls sideways on a 375 px phone"
    # Every field of the record, opened: the long texts wrap too.
    record.locator("summary", has_text="查看全部信息项").click()
    expect(record.locator(".record-fields")).to_contain_text("生产销售不符合保障人体健康")
    assert overflow(page) <= 0, "the opened record scrolls sideways on a 375 px phone"


def test_public_does_not_see_restricted_record(page: Page) -> None:
    page.goto(f"/subjects/{data.HUANAN.uscc}")
    expect(page.locator(".profile-title .badge")).to_have_text("公开视图")
    expect(page.locator("article.record", has_text=data.HUANAN_PENALTY)).to_have_count(1)
    expect(page.locator("article.record", has_text="拖欠公共事业费用")).to_have_count(0)
    expect(page.get_by_text(data.HUANAN_ARREARS_SUPPLIER)).to_have_count(0)
    expect(page.get_by_text("公开视图不展示有限公开及不公开信息")).to_be_visible()

    # Asking for the subject's view by URL is not enough: a notice, still the public view.
    page.goto(f"/subjects/{data.HUANAN.uscc}?view=subject")
    expect(page.locator(".profile-title .badge")).to_have_text("公开视图")
    expect(page.get_by_text("主体视图仅向该主体本人的账号开放")).to_be_visible()
    expect(page.locator("article.record", has_text="拖欠公共事业费用")).to_have_count(0)


def test_subject_sees_own_profile_with_restricted_record(page: Page) -> None:
    log_in(page, data.ENTERPRISE.username)
    page.goto("/me")
    assert page.url.endswith(f"/subjects/{data.HUANAN.uscc}")
    expect(page.get_by_role("heading", level=1)).to_have_text(data.HUANAN.name)
    expect(page.locator(".profile-title .badge")).to_have_text("主体视图")
    arrears = page.locator("article.record", has_text="拖欠公共事业费用")
    expect(arrears).to_have_count(1)
    expect(arrears).to_contain_text("12,800.50 元")
    expect(arrears).to_contain_text("深圳市水务局")
    expect(page.locator("article.record", has_text=data.HUANAN_PENALTY)).to_have_count(1)
    # "我的信用" is the current page in the navigation.
    expect(page.locator(".site-nav a[aria-current=page]")).to_have_text("我的信用")

    # Another enterprise's profile stays public for this account.
    page.goto(f"/subjects/{data.PENGCHENG.uscc}")
    expect(page.locator(".profile-title .badge")).to_have_text("公开视图")

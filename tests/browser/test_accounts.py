"""Accounts in the browser: each role logs in through the form and sees its own navigation,
the lock-out after five wrong passwords, and a registration from the form to the office's
approval and the approval message."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest

from tests.auth import PASSWORD
from tests.browser import data
from tests.browser.steps import Page, expect, log_in, log_out, main_nav, submit

PORTALS = ("管理端", "部门端", "我的信用")


@pytest.mark.parametrize(("user", "landing", "heading", "portals"), [
    (data.ADMIN, r"/admin/batches$", "归集批次", {"管理端"}),
    (data.OFFICER, r"/dept/batches$", "归集批次", {"部门端"}),
    (data.ENTERPRISE, rf"/subjects/{data.HUANAN.uscc}$", data.HUANAN.name, {"我的信用"}),
    (data.BANK, r"/$", "信用信息查询", set()),
    (data.PROVIDER, r"/$", "信用信息查询", set()),
], ids=["admin", "department_officer", "subject", "bank", "provider"])
def test_each_role_logs_in_to_its_home(
    page: Page, user: data.User, landing: str, heading: str, portals: set[str]
) -> None:
    log_in(page, user.username)
    assert re.search(landing, page.url), page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    nav = main_nav(page)
    for entry in PORTALS:
        expect(nav.get_by_role("link", name=entry, exact=True)).to_have_count(
            1 if entry in portals else 0)
    account = page.locator(".account-box")
    expect(account.get_by_role("link", name=user.display_name)).to_be_visible()
    expect(account.get_by_role("link", name="登录")).to_have_count(0)

    log_out(page)
    expect(page.get_by_text("您已退出")).to_be_visible()
    expect(page.locator(".account-box").get_by_role("link", name="登录")).to_be_visible()
    for entry in PORTALS:
        expect(main_nav(page).get_by_role("link", name=entry, exact=True)).to_have_count(0)


def test_five_wrong_passwords_lock_the_account(page: Page) -> None:
    for attempt in range(1, 5):
        log_in(page, data.LOCKED.username, f"Wrong-passw0rd-{attempt}")
        expect(page.locator("main .alert")).to_contain_text("用户名或密码不正确")
        expect(page.locator("main .alert")).to_contain_text("连续输错 5 次将锁定 15 分钟")
    log_in(page, data.LOCKED.username, "Wrong-passw0rd-5")
    expect(page.locator("main .alert")).to_contain_text("锁定")
    # Locked now: even the right password is refused, with the time it ends.
    log_in(page, data.LOCKED.username, PASSWORD)
    assert "/login" in page.url
    expect(page.locator("main .alert")).to_contain_text(
        re.compile(r"登录失败次数过多，账号已锁定至 \d\d:\d\d"))
    expect(page.locator(".account-box").get_by_role("link", name="登录")).to_be_visible()


def test_pending_registration_cannot_log_in(page: Page) -> None:
    log_in(page, data.PENDING.username)
    expect(page.locator("main .alert")).to_contain_text("账号正在审核中")


def test_registration_approved_by_admin(new_context: Callable[..., Page]) -> None:
    username = f"boyuan-{uuid.uuid4().hex[:6]}"
    applicant = new_context()
    applicant.goto("/register")
    expect(applicant.get_by_role("heading", name="注册账号")).to_be_visible()
    applicant.get_by_label("账号类型").select_option("subject")
    applicant.get_by_label("单位名称").fill(data.BOYUAN.name)
    applicant.get_by_label("统一社会信用代码（企业必填）").fill(data.BOYUAN.uscc)
    applicant.get_by_label("用户名").fill(username)
    # The labels carry a "*" for required fields: the inputs by their ids.
    applicant.locator("#password").fill(PASSWORD)
    applicant.locator("#password2").fill(PASSWORD)
    applicant.get_by_label("电子邮箱").fill("credit@boyuan.example.cn")
    with applicant.expect_navigation():
        applicant.get_by_role("button", name="提交注册").click()
    expect(applicant.get_by_role("heading", name="注册已提交")).to_be_visible()
    expect(applicant.locator("main")).to_contain_text(f"账号「{username}」的注册申请已提交")
    log_in(applicant, username)
    expect(applicant.locator("main .alert")).to_contain_text("账号正在审核中")

    office = new_context()
    log_in(office, data.ADMIN.username)
    office.goto("/admin/accounts?status=pending")
    row = office.locator("tr", has_text=username)
    expect(row).to_contain_text("待审核")
    with office.expect_navigation():
        row.get_by_role("link", name=username).click()
    assert re.search(r"/admin/accounts/\d+$", office.url), office.url
    expect(office.get_by_role("heading", level=1)).to_contain_text(data.BOYUAN.name)
    expect(office.locator("main")).to_contain_text(data.BOYUAN.uscc)
    submit(office, office.get_by_role("button", name="审核通过"), stale_text="待审核")
    expect(office.locator("h1 .badge")).to_have_text("正常")

    log_in(applicant, username)
    assert applicant.url.endswith(f"/subjects/{data.BOYUAN.uscc}"), applicant.url
    expect(applicant.locator(".profile-title .badge")).to_have_text("主体视图")
    expect(applicant.locator(".account-box .badge-unread")).to_have_text("1")
    applicant.goto("/me/messages")
    expect(applicant.get_by_role("heading", name=re.compile("消息中心"))).to_be_visible()
    message = applicant.locator("ul.messages li").first
    expect(message).to_contain_text("账号审核通过")
    expect(message).to_contain_text("您的账号已通过平台审核，现在可以登录使用。")

"""The department's upload with a bad row, and who may open which portal page."""

from __future__ import annotations

import re
import uuid

from tests.browser import data
from tests.browser.steps import Page, expect, log_in, send_login_form


def _csv(*rows: dict[str, str]) -> bytes:
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(row[h] for h in header) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_officer_uploads_csv_and_sees_rejected_row(page: Page) -> None:
    tag = uuid.uuid4().hex[:6]
    good = data.penalty(data.XIHU, f"深市监罚〔2026〕{tag}-1号", "深圳市市场监督管理局")
    bad = data.penalty(data.DONGFANG, f"深市监罚〔2026〕{tag}-2号", "深圳市市场监督管理局",
                       decided_on="2026-13-45")
    log_in(page, data.OFFICER.username)
    page.goto("/dept/upload")
    expect(page.get_by_role("heading", name="上传信用信息")).to_be_visible()
    expect(page.get_by_label("信息类别")).to_have_value("administrative_penalty")
    expect(page.get_by_label("数据来源单位")).to_have_value("market")
    page.locator("#file").set_input_files(files=[{
        "name": "penalties.csv", "mimeType": "text/csv", "buffer": _csv(good, bad)}])
    with page.expect_navigation():
        page.get_by_role("button", name="上传并归集").click()

    assert re.search(r"/dept/batches/\d+\?uploaded=1$", page.url), page.url
    expect(page.locator("main")).to_contain_text("文件已处理完毕，有效记录已入库。被拒收的行见下表")
    counts = page.locator("ul.counts")
    expect(counts.locator("li", has_text="新增")).to_contain_text("1")
    expect(counts.locator("li", has_text="拒收")).to_contain_text("1")
    errors = page.locator("table.errors tbody tr")
    expect(errors).to_have_count(1)
    cells = errors.first.locator("td")
    expect(cells.nth(0)).to_have_text("3")  # the header is row 1, the good row 2
    expect(cells.nth(1)).to_contain_text("处罚决定日期")
    expect(cells.nth(2)).to_contain_text(re.compile(r"[\u4e00-\u9fff]{4,}"))
    expect(cells.nth(3)).to_have_text("2026-13-45")

    # The good row reached the enterprise's public profile.
    page.goto(f"/subjects/{data.XIHU.uscc}")
    expect(page.locator("article.record", has_text=good["doc_number"])).to_have_count(1)


def test_subject_account_gets_403_on_admin_page(page: Page) -> None:
    log_in(page, data.ENTERPRISE.username)
    response = page.goto("/admin/accounts")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("无权操作")
    expect(page.locator(".error-message")).to_contain_text("仅限平台管理员")
    expect(page.get_by_role("link", name="回到首页")).to_be_visible()


def test_public_is_sent_to_login(page: Page) -> None:
    page.goto("/admin/batches")
    assert page.url.endswith("/login?next=/admin/batches"), page.url
    expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()
    # Logging in there goes back to the page asked for.
    send_login_form(page, data.ADMIN.username)
    assert page.url.endswith("/admin/batches"), page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text("归集批次")


def test_officer_gets_403_on_admin_accounts(page: Page) -> None:
    log_in(page, data.OFFICER.username)
    response = page.goto("/admin/accounts")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("无权操作")
    expect(page.locator(".error-message")).to_contain_text("仅限平台管理员")
    # The officer's own portal is still there.
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="部门端")
           ).to_be_visible()

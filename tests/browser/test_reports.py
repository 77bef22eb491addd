"""Credit reports in the browser: the enterprise requests a report and downloads it; a member
of the public (another browser) verifies it by its serial and by uploading the file."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.browser import data
from tests.browser.steps import Page, expect, log_in, submit

SERIAL = re.compile(r"XY-\d{4}-\d{6}-[0-9A-Z]{4}")


def test_subject_downloads_a_report_and_the_public_verifies_it(
    page: Page, new_context: Callable[..., Page], tmp_path: Path
) -> None:
    log_in(page, data.ENTERPRISE.username)
    page.goto("/me/reports")
    expect(page.get_by_role("heading", name=re.compile("^信用报告"))).to_be_visible()
    page.get_by_label("主体完整版", exact=False).check()
    page.get_by_label("报告用途").fill("参加政府采购投标")
    submit(page, page.locator("main").get_by_role("button", name="出具报告"))
    notice = page.locator("main .alert-info")
    expect(notice).to_contain_text("报告已出具")
    serial_match = SERIAL.search(notice.inner_text())
    assert serial_match, notice.inner_text()
    serial = serial_match.group(0)
    expect(page.locator("main table")).to_contain_text("参加政府采购投标")

    with page.expect_download() as info:
        notice.get_by_role("link", name="下载 PDF").click()
    download = info.value
    assert download.suggested_filename == f"{serial}.pdf"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")

    # Someone the report was handed to: not logged in, another browser.
    public = new_context()
    public.goto("/verify")
    expect(public.get_by_role("heading", name="信用报告核验")).to_be_visible()
    public.get_by_label("报告编号").fill(serial)
    submit(public, public.locator("main").get_by_role("button", name="核验", exact=True))
    expect(public.get_by_role("heading", name=re.compile(serial))).to_be_visible()
    main = public.locator("main")
    expect(main).to_contain_text(data.ENTERPRISE.subject.name)
    expect(main).to_contain_text("主体完整版")
    expect(main.locator("#changes")).to_contain_text("未发生变化")
    expect(main).not_to_contain_text("参加政府采购投标")  # the purpose is the subject's own

    public.goto("/verify")
    public.get_by_label("报告 PDF 文件").set_input_files(str(path))
    submit(public, public.locator("main").get_by_role("button", name="上传核验"))
    expect(public.locator("#upload-result")).to_contain_text("核验通过")
    expect(public.locator("#upload-result")).to_contain_text(serial)

    tampered = tmp_path / "tampered.pdf"
    raw = bytearray(path.read_bytes())
    raw[raw.find(b"stream\n", 200) + 40] ^= 1
    tampered.write_bytes(bytes(raw))
    public.goto("/verify")
    public.get_by_label("报告 PDF 文件").set_input_files(str(tampered))
    submit(public, public.locator("main").get_by_role("button", name="上传核验"))
    expect(public.locator("#upload-result")).to_contain_text("核验未通过")

"""What a person does in the browser, shared by the tests: log in through the form, log out
with the header's button, measure horizontal overflow.

KNOWN PRODUCT RACE: ``xinyong.core.deps.get_session`` is a yield dependency of FastAPI's
default "request" scope, so its ``commit()`` runs after the response has been sent. A browser
that follows a POST's 303 at once can be served by a request that does not see that POST's
transaction yet: logged in, but bounced to the login page; logged out, but still shown as
logged in; an approval redirected to a page that still says 待审核. ``log_in``, ``log_out``
and ``submit`` reload such a page once, so that each test checks what it is about. Once
``get_session`` commits before responding (``Depends(get_session, scope="function")``), the
reloads never happen and can go.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.auth import PASSWORD

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError as exc:  # pragma: no cover - depends on the machine
    if os.environ.get("CI"):
        raise
    pytest.skip(f"browser tests skipped: the playwright package is missing ({exc})",
                allow_module_level=True)

__all__ = ["Page", "expect", "log_in", "log_out", "main_nav", "overflow", "submit"]


def settle(page: Page, stale: Locator) -> None:
    """Reload the page once if ``stale`` shows it was rendered before the POST committed."""
    if stale.count():
        page.reload()


def submit(page: Page, button: Locator, stale_text: str | None = None) -> None:
    """Click a form's button and wait for the page it leads to (after any redirect);
    ``stale_text`` in <main> marks a page rendered before the POST committed."""
    with page.expect_navigation():
        button.click()
    if stale_text is not None:
        settle(page, page.locator("main").get_by_text(stale_text, exact=True))


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill and send the /login form; returns once the next page has loaded."""
    page.goto("/login")
    expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name="登录").click()
    if page.locator("main .alert").count():
        return  # refused: the form again, with the reason
    if page.locator(".account-box").get_by_role("link", name="登录").count():
        # Logged in, but the landing page did not see the new session yet (see above):
        # bounced to the login page, or a public page rendered for the public.
        url = urlsplit(page.url)
        if url.path == "/login":
            page.goto(parse_qs(url.query).get("next", ["/"])[0])
        else:
            page.reload()


def log_out(page: Page) -> None:
    with page.expect_navigation():
        page.locator(".account-box").get_by_role("button", name="退出").click()
    settle(page, page.locator(".account-box").get_by_role("button", name="退出"))


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="主导航")


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scrolling)."""
    return int(page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"))

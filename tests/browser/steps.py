"""What a person does in the browser, shared by the tests: log in through the form, log out
with the header's button, measure horizontal overflow.

KNOWN PRODUCT RACE: ``xinyong.core.deps.get_session`` is a yield dependency of FastAPI's
default "request" scope, so its ``commit()`` runs after the response has been sent. A browser
that follows a POST's 303 at once can be served by a request that does not see that POST's
transaction yet: logged in, but bounced to the login page; logged out, but still shown as
logged in; an approval redirected to a page that still says 待审核. ``log_in``, ``log_out``
and ``submit`` ask for such a page again (for a few seconds at most), so that each test checks
what it is about. Once ``get_session`` commits before responding
(``Depends(get_session, scope="function")``), they never need to and ``settle`` can go.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
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

__all__ = ["Page", "expect", "log_in", "log_out", "main_nav", "overflow", "send_login_form",
           "submit"]


SETTLE_SECONDS = 5.0


def settle(page: Page, stale: Callable[[], bool], again: Callable[[], object] | None = None
           ) -> None:
    """While ``stale()`` says the page was rendered before the POST committed, ask again
    (``again``, by default a reload) after a short pause — for a few seconds at most."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while stale() and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        (again or page.reload)()


def submit(page: Page, button: Locator, stale_text: str | None = None) -> None:
    """Click a form's button and wait for the page it leads to (after any redirect);
    ``stale_text`` in <main> marks a page rendered before the POST committed."""
    with page.expect_navigation():
        button.click()
    if stale_text is not None:
        settle(page, page.locator("main").get_by_text(stale_text, exact=True).count)


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Open /login and send its form; returns once the next page has loaded."""
    page.goto("/login")
    send_login_form(page, username, password)


def send_login_form(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill and send the login form the page shows."""
    expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name="登录").click()
    if urlsplit(page.url).query == "" and page.locator("main .alert").count():
        return  # refused: the form again (answered at /login), with the reason
    # Logged in, but the landing page may not have seen the new session yet (see above):
    # bounced to /login?next=…, or a public page rendered for the public.
    url = urlsplit(page.url)
    target = parse_qs(url.query).get("next", ["/"])[0] if url.path == "/login" else page.url
    anonymous = page.locator(".account-box").get_by_role("link", name="登录")
    settle(page, lambda: urlsplit(page.url).path == "/login" or anonymous.count() > 0,
           lambda: page.goto(target))


def log_out(page: Page) -> None:
    with page.expect_navigation():
        page.locator(".account-box").get_by_role("button", name="退出").click()
    settle(page, page.locator(".account-box").get_by_role("button", name="退出").count)


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="主导航")


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scrolling)."""
    return int(page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"))

"""Credit codes in the browser: the enterprise opens its code, a provider's phone (an
anonymous browser) opens the scan address and sees the colour."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text

from tests.browser import data
from tests.browser.conftest import LiveServer
from tests.browser.steps import Page, expect, log_in
from xinyong.core.db import make_engine

COLOURS = re.compile(r"^(绿码|蓝码|红码)$")


def _evaluate_huixin_code(server: LiveServer) -> None:
    """The seeded server has no active model; activate only huixin_code and run it once
    (through the evaluation service, on the server's own database file)."""
    from xinyong.evaluation import service as evaluation
    from xinyong.evaluation.spec import builtin_files

    engine = make_engine(f"sqlite:///{server.data_dir / 'xinyong.db'}")
    try:
        source = next(p for p in builtin_files() if p.name.startswith("huixin_code"))
        with engine.begin() as conn:
            model = evaluation.register_model(conn, source.read_text(encoding="utf-8"),
                                              source="builtin", actor="test")
            evaluation.activate_model(conn, model["name"], model["version"], actor="test")
        evaluation.evaluate(engine, "huixin_code", as_of=data.TODAY)
    finally:
        engine.dispose()


@pytest.fixture
def huixin_code(live_server: LiveServer) -> Iterator[None]:
    """The model and its results for this test only: the shared server's later tests (a
    commitment request for the same enterprise) must not meet its red code."""
    _evaluate_huixin_code(live_server)
    yield
    engine = make_engine(f"sqlite:///{live_server.data_dir / 'xinyong.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "UPDATE evaluation_model SET status = 'retired' WHERE name = 'huixin_code'"))
            conn.execute(text("DELETE FROM evaluation_result WHERE model_name = 'huixin_code'"))
    finally:
        engine.dispose()


@pytest.mark.usefixtures("huixin_code")
def test_subject_shows_code_and_a_provider_scans_it(
    page: Page, new_context: Callable[..., Page], live_server: LiveServer
) -> None:
    log_in(page, data.ENTERPRISE.username)
    page.goto("/me/code")
    expect(page.get_by_role("heading", name="我的信用码")).to_be_visible()
    expect(page.locator("main svg.credit-code-qr")).to_be_visible()
    badge = page.locator("main .credit-code-badge")
    expect(badge).to_have_text(COLOURS)
    colour = badge.inner_text().strip()
    scan_url = page.get_by_role("link", name="打开核验页面").get_attribute("href")
    assert scan_url and re.search(r"/code/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$", scan_url)

    # The provider's phone: another browser, not logged in.
    phone = new_context(viewport={"width": 390, "height": 844})
    response = phone.goto(scan_url)
    assert response is not None and response.status == 200
    expect(phone.get_by_role("heading", name="信用码核验")).to_be_visible()
    expect(phone.locator("main")).to_contain_text("信用码有效")
    expect(phone.get_by_role("heading", name=data.ENTERPRISE.subject.name)).to_be_visible()
    expect(phone.locator("main .credit-code-badge")).to_have_text(colour)
    expect(phone.locator("main")).to_contain_text(data.ENTERPRISE.subject.uscc)
    expect(phone.get_by_role("link", name="查看该主体的公开信用档案")).to_have_attribute(
        "href", f"/subjects/{data.ENTERPRISE.subject.uscc}")

    # The enterprise refreshes: the old address is refused on the phone, with the reason.
    with page.expect_navigation():
        page.get_by_role("button", name="刷新信用码").click()
    expect(page.locator("main")).to_contain_text("已生成新的信用码")
    response = phone.goto(scan_url)
    assert response is not None and response.status == 410
    expect(phone.locator("main .alert-error")).to_contain_text("已被主体刷新作废")

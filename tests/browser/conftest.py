"""The browser tests' harness: one live server per test session (per xdist worker), a seeded
SQLite database behind it, one chromium for the session and a fresh context per test.

The server is the real thing — ``xinyong serve`` in a subprocess on a free port — so the tests
see what a person sees: templates, cookies, redirects, CSRF tokens, static files.

Chromium is Debian's (``/usr/bin/chromium``), never one downloaded by ``playwright install``.
Without it (or without the playwright package) the tests skip locally and fail in CI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest

from tests.auth import PASSWORD
from tests.browser import data
from xinyong.core import clock
from xinyong.core.db import make_engine, session_scope, set_engine
from xinyong.core.migrate import upgrade

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path(os.environ.get("XINYONG_TEST_CHROMIUM", "/usr/bin/chromium"))
XINYONG = Path(sys.executable).with_name("xinyong")
STARTUP_SECONDS = 30
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    """Fail in CI, skip locally: a CI run must not pass by testing nothing."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


# ------------------------------------------------------------------------------ the server


@dataclass(frozen=True)
class LiveServer:
    url: str
    data_dir: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(db: Path) -> None:
    """Migrate and fill the database through the public services, as an office would."""
    from xinyong.accounts import service as accounts
    from xinyong.accounts.principal import CLI
    from xinyong.departments.service import add_department
    from xinyong.records.ingest import ingest_records
    from xinyong.subjects.names import normalize_name
    from xinyong.subjects.service import insert_subjects

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    set_engine(engine)
    try:
        with clock.frozen(data.TODAY):
            with session_scope() as session:
                for code, name in data.DEPARTMENTS:
                    add_department(session, code, name)
            with engine.begin() as conn:
                insert_subjects(conn, pl.DataFrame({
                    "uscc": [c.uscc for c in data.COMPANIES],
                    "uscc_status": ["verified"] * len(data.COMPANIES),
                    "kind": ["legal_person"] * len(data.COMPANIES),
                    "name": [c.name for c in data.COMPANIES],
                    "name_norm": [normalize_name(c.name) for c in data.COMPANIES],
                    "enterprise_type": ["有限责任公司"] * len(data.COMPANIES),
                    "address": [c.address for c in data.COMPANIES],
                }))
            market = "深圳市市场监督管理局"
            ingest_records(engine, [
                data.penalty(data.HUANAN, data.HUANAN_PENALTY, market),
                data.penalty(data.PENGCHENG, data.PENGCHENG_PENALTY, market,
                             violation_type="食品安全违法", fine_amount="5000",
                             facts="经营超过保质期的食品原料",
                             basis="《中华人民共和国食品安全法》第一百二十四条",
                             content="没收违法所得，并处罚款人民币伍仟元整"),
            ], record_type="administrative_penalty", department="market")
            ingest_records(engine, [
                data.penalty(data.JINSUI, data.JINSUI_PENALTY, "国家税务总局深圳市税务局",
                             penalty_kinds="罚款", fine_amount="2000", violation_type="税务违法",
                             facts="未按照规定期限办理纳税申报和报送纳税资料",
                             basis="《中华人民共和国税收征收管理法》第六十二条",
                             content="罚款人民币贰仟元整"),
            ], record_type="administrative_penalty", department="tax")
            ingest_records(engine, [{
                "subject_name": data.HUANAN.name, "uscc": data.HUANAN.uscc,
                "account_number": "SZW-0012345", "utility_kind": "water",
                "amount": "12800.50", "since": "2026-01-15",
                "supplier": data.HUANAN_ARREARS_SUPPLIER,
            }], record_type="utility_arrears", department="water")
            with session_scope() as session:
                for user in data.USERS:
                    accounts.create_account(
                        session, username=user.username, display_name=user.display_name,
                        role=user.role, by=CLI, password=PASSWORD, department=user.department,
                        subject=user.subject.uscc if user.subject else None,
                        organisation=user.display_name if user.role in ("bank", "provider")
                        else None)
                assert data.PENDING.subject is not None
                accounts.register(session, role="subject", username=data.PENDING.username,
                                  password=PASSWORD, display_name=data.PENDING.display_name,
                                  uscc=data.PENDING.subject.uscc)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        set_engine(None)
        engine.dispose()


def _server_env(data_dir: Path, db: Path) -> dict[str, str]:
    # Nothing of the developer's own configuration (a PostgreSQL URL, local rules) leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update({
        "XINYONG_DATA_DIR": str(data_dir),
        "XINYONG_DATABASE_URL": f"sqlite:///{db}",
        "XINYONG_TODAY": data.TODAY.isoformat(),
        "XINYONG_SECRET_KEY": "browser-tests-secret",
        "XINYONG_SEARCH_RATE": "0",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"xinyong serve exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"xinyong serve did not answer in {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("browser-data")
    db = data_dir / "xinyong.db"
    _seed(db)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "server.log"
    with log.open("wb") as out:
        # The data directory as working directory: a developer's .env is not read.
        proc = subprocess.Popen(
            [str(XINYONG), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
            env=_server_env(data_dir, db), cwd=data_dir, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, proc, log)
        yield LiveServer(url, data_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------ the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"the playwright package is not installed ({exc})")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh context (its own cookies: another person); closed after the
    test. Keyword arguments go to ``Browser.new_context`` (e.g. a phone's viewport)."""
    contexts: list[BrowserContext] = []

    def open_page(**options: object) -> Page:
        options.setdefault("locale", "zh-CN")
        ctx = browser.new_context(base_url=live_server.url, **options)  # type: ignore[arg-type]
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    yield open_page
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_context: Callable[..., Page]) -> Page:
    """A page in a fresh context: a visitor who is not logged in."""
    return new_context()

"""Browser tests: Playwright driving Debian's Chromium against apps served on loopback.

Fixtures (all on the session event loop, which every async test in this folder runs on, because
one Chromium is shared by the whole session and Playwright objects are bound to their loop):

- `chromium_browser`: the session's `playwright.async_api.Browser`.
- `browser_page`: a fresh context (1280×800, zh-CN, Asia/Shanghai) and its `Page`; uncaught
  JavaScript errors and Content-Security-Policy violations on the page fail the test. It
  closes before the `live_server` servers do.
- `live_server`: `await live_server(app)` serves an `aiohttp.web.Application` on 127.0.0.1 and
  returns its root URL without the trailing slash; servers close when the test ends.

Without /usr/bin/chromium the tests are skipped, unless JIJIAO_REQUIRE_BROWSER=1 (CI), then they
fail.
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
# `playwright install` cannot download its own browser here; Debian's works with these flags.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
HERE = Path(__file__).resolve().parent

LiveServer = Callable[[web.Application], Awaitable[str]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if HERE in item.path.resolve().parents and pytest_asyncio.is_async_test(item):
            item.add_marker(session_loop, append=False)


def _collect_csp_violation(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        errors.append(message.text)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install chromium"
    if os.environ.get("JIJIAO_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium_browser() -> AsyncIterator[Browser]:
    _require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def live_server() -> AsyncIterator[LiveServer]:
    servers: list[TestServer] = []

    async def serve(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/")).rstrip("/")

    try:
        yield serve
    finally:
        for server in reversed(servers):
            await server.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser_page(chromium_browser: Browser, live_server: LiveServer) -> AsyncIterator[Page]:
    # Depending on live_server makes the page close first: a page still long-polling a server
    # that shuts down would hold the shutdown for the whole poll.
    context = await chromium_browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: _collect_csp_violation(message, errors))
    try:
        yield page
    finally:
        try:
            await context.close()
        except Error:
            pass
    assert not errors, f"JavaScript errors on the page: {errors}"

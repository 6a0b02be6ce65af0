"""The WeChat stand-in's phone page in Chromium (a WeChat user's phone, 390×844), as the WeChat
browser tests drive it: open it as one openid, type into the chat, read the account's messages.
Screenshots of WeChat journeys go to var/screenshots/wechat/."""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page

from tests.support.witness import SCREENSHOTS

SHOTS = SCREENSHOTS / "wechat"


async def open_phone(
    browser: Browser, base_url: str, openid: str, errors: list[str], *, timeout: float = 20_000
) -> Page:
    """The phone page for `openid` in a fresh context; JavaScript errors go to `errors`."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = await context.new_page()
    page.set_default_timeout(timeout)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{base_url}/_local/wechat/phone?openid={openid}")
    return page


async def say(page: Page, text: str) -> None:
    box = page.locator("#text")
    if not await box.is_visible():
        await page.locator("#toggle").click()
    await box.fill(text)
    await page.locator("#send").click()


def last_from_account(page: Page) -> Locator:
    return page.locator(".row.account .bubble").last

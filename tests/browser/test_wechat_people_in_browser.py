"""The people the WeChat channel serves, walked in Chromium on the WeChat stand-in's phone page
with the real product behind it: an English-speaking trainee (language, enrolment by ID number,
pay, study, all in English), an enterprise contact (credit code, phone proved by SMS, roster), an
applicant (the fill-and-sign page from the chat, staff's decision back in the chat) and a second
person on the same phone's browser (their own data, never the first's). Screenshots in
var/screenshots/wechat/people-*."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from jijiao.app import Runtime
from tests.browser.wechat_phone import SHOTS, last_from_account, open_phone, say
from tests.support import registry
from tests.support.app import local_settings, running
from tests.support.clock import days_from_today

pytestmark = pytest.mark.browser

HAN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
CODES = re.compile(r"\w+\|\w+|\b[a-z]+(?:_[a-z]+)+\b|\b[A-Z]+(?:_[A-Z]+)+\b")


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    async with running(local_settings(tmp_path, monkeypatch)) as runtime:
        yield runtime


async def sms_code(base: str, phone: str) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/_local/api/sms/messages", params={"phone": phone}) as r:
            return str((await r.json())["messages"][-1]["code"])


async def bubbles(page: Page) -> list[str]:
    return await page.locator(".row.account .bubble").all_inner_texts()


def english_only(shown: str) -> str:
    """What an English reader was shown, with Chinese or an internal code in it; "" if none.
    The language picker names 简体中文 and the web view's switch 中文 and brand 继教 in their own
    script: those may stay."""
    words = shown.replace("简体中文", "").replace("中文", "").replace("继教", "")
    return shown if HAN.search(words) or CODES.search(words) else ""


async def web_text(page: Page) -> str:
    return await page.frame_locator("#browser-frame").locator("body").inner_text()


async def test_an_english_trainee_enrols_pays_and_studies_in_english(
    chromium_browser: Browser, product: Runtime
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=20_000)
    person = await registry.person(81, "Wang Lei", "13800000081")
    await registry.certificate(person, "53B202600081", "safety_b", days_from_today(100))
    base = product.settings.base_url
    errors: list[str] = []
    page = await open_phone(chromium_browser, base, "o-people-en", errors)
    await page.get_by_role("button", name="关注公众号").click()
    await expect(last_from_account(page)).to_contain_text("报名")
    await say(page, "/language")
    await page.get_by_role("button", name="English").last.click()
    await expect(last_from_account(page)).to_contain_text("Main menu")
    start = len(await bubbles(page)) - 2  # "Done: … in English", then the menu
    await page.screenshot(path=str(SHOTS / "people-en-language.png"))
    shown: list[str] = []

    await say(page, "/start")
    await expect(last_from_account(page)).to_contain_text("Hello, WeChat user!")
    await say(page, "/enrol")
    await page.get_by_role("button", name="Myself").last.click()
    await expect(last_from_account(page)).to_contain_text("ID number")
    await say(page, registry.id_number(81))
    await expect(last_from_account(page)).to_contain_text("full name")
    await say(page, "Wang Lei")
    await expect(last_from_account(page)).to_contain_text("6-digit code")
    await say(page, "13800000081")
    await expect(last_from_account(page)).to_contain_text("138****0081")
    await say(page, await sms_code(base, "13800000081"))
    await page.get_by_role("button", name="Enrol selected").last.click()
    await expect(last_from_account(page)).to_contain_text("Enrolled for continuing education")
    await page.screenshot(path=str(SHOTS / "people-en-enrolled.png"))

    await say(page, "/pay")
    await page.get_by_role("button", name="Invoice details").last.click()
    await page.get_by_role("button", name="Wang Lei").last.click()
    await page.get_by_role("button", name="Skip").last.click()
    await expect(last_from_account(page)).to_contain_text("mail")
    await page.get_by_role("button", name="Skip").last.click()
    await page.get_by_role("button", name="Confirm and pay").last.click()
    pay_link = page.locator(".row.account .bubble a", has_text="Open the payment page").last
    await expect(pay_link).to_be_visible()
    await page.screenshot(path=str(SHOTS / "people-en-order.png"))
    await pay_link.click()
    frame = page.frame_locator("#browser-frame")
    await expect(frame.locator(".amount")).to_contain_text("300.00", timeout=30_000)
    await expect(frame.locator("#wechat-pay")).to_contain_text("Pay with WeChat Pay")
    shown.append(await web_text(page))
    await page.screenshot(path=str(SHOTS / "people-en-pay-page.png"))
    # The checkout sheet is WeChat's own (the stand-in's), not the product's words.
    await frame.locator("#wechat-pay").click()
    await page.locator("#checkout-pay").click()
    await expect(frame.locator("#state")).to_contain_text("Paid.")
    shown.append(await web_text(page))
    await page.screenshot(path=str(SHOTS / "people-en-paid.png"))
    await page.locator("#browser-close").click()
    await expect(last_from_account(page)).to_contain_text("Payment of ¥300.00 received")

    # Study, from the payment's message: the web view's study page, in English.
    await page.locator(".row.account .bubble a", has_text="Start studying").last.click()
    await expect(frame.locator("#greeting")).to_have_text("Hello, WeChat user")
    await expect(frame.locator("#study-link")).to_be_visible()
    shown.append(await web_text(page))
    await frame.locator("#study-link").click()
    await expect(frame.locator("#consent-accept")).to_be_visible()
    shown.append(await web_text(page))
    await page.screenshot(path=str(SHOTS / "people-en-study.png"))

    shown.extend((await bubbles(page))[start:])
    assert [text for text in shown if english_only(text)] == []
    assert errors == []

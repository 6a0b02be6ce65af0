"""Support from both channels in the staff console, in Chromium: a WeChat user on the stand-in's
phone page and a Telegram trainee write to staff; a desk member at a desktop answers both from
"对话", sees the WeChat answer arrive on the phone, keeps an answer WeChat no longer takes (48
hours later) and sees it delivered when the person writes again; then the same pages in
English. Every page is read for internal codes and the wrong language; screenshots in
var/screenshots/desk-console/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from infra.db import models
from jijiao.app import Runtime
from tests.browser.journeys import staff_sign_in_link
from tests.browser.wechat_phone import last_from_account, open_phone, say
from tests.support.app import local_settings, running
from tests.support.localchat_client import LocalChatClient, eventually
from tests.support.witness import Witness

pytestmark = pytest.mark.browser

OPENID = "o-browser-desk-sun"
QUESTION = "证书快到期了，怎么续期？"
TELEGRAM_USER = 100873
TELEGRAM_WORDS = "学习进度不动了"
FIRST_ANSWER = "您好，可在有效期前三个月申请续期。"
LATE_ANSWER = "请把身份证照片发到网页里。"


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    async with running(local_settings(tmp_path, monkeypatch)) as runtime:
        yield runtime


async def _sign_in(page: Page, product: Runtime) -> None:
    async with aiohttp.ClientSession() as http:
        link = await staff_sign_in_link(LocalChatClient(product.settings.base_url, http))
    await page.goto(link)


async def test_a_desk_member_answers_wechat_and_telegram_from_the_console(
    browser_page: Page, chromium_browser: Browser, product: Runtime
) -> None:
    expect.set_options(timeout=20_000)  # each WeChat answer is a signed round trip
    typed = {
        QUESTION,
        TELEGRAM_WORDS,
        FIRST_ANSWER,
        LATE_ANSWER,
        "我回来了",
        "请退出后重新进入课程。",
    }
    names = {*typed, "客服小李 (demo staff)", "孙八"}
    zh = Witness("desk-console", "desk-zh", "zh", names=names)
    phone_errors: list[str] = []

    # A WeChat user asks for staff on the phone; a Telegram trainee writes in the chat.
    phone = await open_phone(chromium_browser, product.settings.base_url, OPENID, phone_errors)
    await phone.get_by_role("button", name="关注公众号").click()
    await expect(last_from_account(phone)).to_contain_text("报名")
    await say(phone, "/support")
    await expect(last_from_account(phone)).to_contain_text("客服")
    await say(phone, QUESTION)
    account = await eventually(
        lambda: models.ChatUser.get_or_none(channel="wechat", external_id=OPENID)
    )
    await eventually(lambda: models.SupportMessage.get_or_none(chat_user_id=account.id))
    async with aiohttp.ClientSession() as http:
        chat = LocalChatClient(product.settings.base_url, http)
        await chat.send(TELEGRAM_USER, "/support", first_name="孙八", language_code="zh-hans")
        await chat.reply(TELEGRAM_USER)
        await chat.send(TELEGRAM_USER, TELEGRAM_WORDS)
        await eventually(lambda: models.SupportMessage.get_or_none(chat_user_id=TELEGRAM_USER))

    # The desk member at a desktop: both conversations under 对话, the longest waiting first.
    page = browser_page
    await _sign_in(page, product)
    await page.get_by_role("link", name="对话", exact=True).click()
    await expect(page.locator("h1")).to_contain_text("对话")
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("微信")
    await expect(rows.nth(0)).to_contain_text(QUESTION)
    await expect(rows.nth(1)).to_contain_text("Telegram")
    await zh.saw_page(page, "conversations")

    await rows.nth(0).get_by_role("link", name="打开").click()
    await expect(page.locator(".conversation")).to_contain_text(QUESTION)
    await page.get_by_label("您的回复").fill(FIRST_ANSWER)
    await page.get_by_role("button", name="发送回复").click()
    await expect(page.locator(".flash")).to_contain_text("已发送")
    await zh.saw_page(page, "answered-wechat")
    # It reaches the phone, labelled as staff's.
    await expect(last_from_account(phone)).to_contain_text(f"客服：{FIRST_ANSWER}")
    await zh.screenshot(phone, "phone-answered")

    # The Telegram trainee is answered from the same console, in their chat.
    await page.get_by_role("link", name="对话", exact=True).click()
    await page.locator(f"tr[data-account='{TELEGRAM_USER}']").get_by_role("link").click()
    await page.get_by_label("您的回复").fill("请退出后重新进入课程。")
    await page.get_by_role("button", name="发送回复").click()
    await expect(page.locator(".flash")).to_contain_text("已发送")
    async with aiohttp.ClientSession() as http:
        chat = LocalChatClient(product.settings.base_url, http)
        assert (await chat.reply(TELEGRAM_USER))["text"] == "客服：请退出后重新进入课程。"

    # Two days later WeChat takes no customer-service message: the answer is kept, and the
    # desk member is told why, on the page, beside the answer.
    product.clock.advance(hours=49)
    await _sign_in(page, product)
    await page.goto(f"{product.settings.base_url}/staff/conversations/{account.id}")
    await page.get_by_label("您的回复").fill(LATE_ANSWER)
    await page.get_by_role("button", name="发送回复").click()
    await expect(page.locator(".flash.warn")).to_contain_text("48 小时")
    await expect(page.locator("[data-undelivered]")).to_have_count(1)
    await zh.saw_page(page, "kept-not-delivered")

    # The person writes again: the kept answer arrives first, and the console shows it sent.
    await say(phone, "我回来了")
    await expect(phone.locator(".row.account .bubble", has_text=LATE_ANSWER)).to_be_visible()
    await zh.screenshot(phone, "phone-kept-answer-arrives")
    await page.reload()
    await expect(page.locator("[data-undelivered]")).to_have_count(0)
    await zh.saw_page(page, "kept-answer-delivered")

    # The same console in English.
    en = Witness("desk-console", "desk-en", "en", names=names)
    await page.get_by_role("link", name="EN").click()
    await expect(page.locator(".conversation")).to_contain_text(LATE_ANSWER)
    await en.saw_page(page, "conversation")
    await page.get_by_role("link", name="Conversations").first.click()
    await expect(page.locator("h1")).to_contain_text("Conversations")
    await expect(page.locator("tbody tr").first).to_contain_text("WeChat")
    await en.saw_page(page, "conversations")

    assert zh.problems() == []
    assert en.problems() == []
    assert phone_errors == []

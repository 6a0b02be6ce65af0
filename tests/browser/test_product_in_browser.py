"""The real product in a real browser: the local chat page, the bot, and the Mini App."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from jijiao.app import Runtime
from tests.browser.test_localchat_page import bot_bubble, bot_row, create_trainee, send
from tests.support.app import local_settings, running


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    settings = local_settings(
        tmp_path,
        monkeypatch,
        app={"demo_data": True},
    )
    async with running(settings) as runtime:
        yield runtime


async def test_a_trainee_meets_the_bot_switches_language_and_opens_the_study_page(
    browser_page: Page, product: Runtime
) -> None:
    page = browser_page
    await page.goto(product.local_url)
    await expect(page.locator("body.ready")).to_be_attached()
    await create_trainee(page, "张三")

    await send(page, "/start")
    await expect(bot_bubble(page, "张三，您好！")).to_be_visible()

    await bot_row(page, "张三，您好！").get_by_role("button", name="语言").click()
    await bot_row(page, "请选择语言").get_by_role("button", name="English").click()
    await expect(bot_bubble(page, "I will talk to you in English")).to_be_visible()

    await bot_row(page, "Main menu").last.get_by_role("button", name="Study").click()
    mini_app = page.frame_locator("#webapp-frame")
    await expect(mini_app.locator("#greeting")).to_have_text("Hello, 张三")


async def test_a_demo_trainee_confirms_identity_with_the_phone_dialog_and_enrols(
    browser_page: Page, product: Runtime
) -> None:
    page = browser_page
    await page.goto(product.local_url)
    await expect(page.locator("body.ready")).to_be_attached()
    await create_trainee(page, "李明")

    await send(page, "/enrol")
    await bot_row(page, "您要为谁报名").get_by_role("button", name="本人报名").click()
    await expect(bot_bubble(page, "18 位身份证号")).to_be_visible()
    await send(page, "530102198501010011")
    await expect(bot_bubble(page, "姓名")).to_be_visible()
    await send(page, "李明")
    await page.locator("#reply-keyboard").get_by_role("button", name="分享我的手机号").click()
    await page.locator("#contact-phone").fill("13900000001")
    await page.locator("#contact-share").click()

    await expect(bot_bubble(page, "身份已确认：李*")).to_be_visible()
    await bot_row(page, "登记库中您的证书").get_by_role("button", name="报名所选").click()
    await expect(bot_bubble(page, "已报名继续教育（1 本）")).to_be_visible()

"""A WeChat user in Chromium, on the WeChat stand-in's phone page, with the real product behind
it (as `make run` serves them): follows, enrols proving the phone by the SMS code, and opens the
web view from the chat, signed in by WeChat's OAuth as that person. Screenshots in
var/screenshots/wechat/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from infra.db import models
from jijiao.app import Runtime
from tests.browser.wechat_phone import SHOTS, last_from_account, open_phone, say
from tests.support import registry
from tests.support.app import local_settings, running
from tests.support.clock import days_from_today

pytestmark = pytest.mark.browser

OPENID = "o-browser-zhao"
PHONE = "13800000071"


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    async with running(local_settings(tmp_path, monkeypatch)) as runtime:
        yield runtime


async def test_a_wechat_user_enrols_and_opens_the_web_view_in_chromium(
    chromium_browser: Browser, product: Runtime
):
    person = await registry.person(71, "赵七", PHONE)
    await registry.certificate(person, "云建安B(2024)0007171", "safety_b", days_from_today(100))
    errors: list[str] = []
    page = await open_phone(chromium_browser, product.settings.base_url, OPENID, errors)
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=20_000)  # each answer is a signed round trip through the stand-in

    await page.get_by_role("button", name="关注公众号").click()
    await expect(last_from_account(page)).to_contain_text("报名")

    await say(page, "/enrol")
    await page.get_by_role("button", name="本人").last.click()
    await expect(last_from_account(page)).to_contain_text("身份证号")
    await say(page, registry.id_number(71))
    await expect(last_from_account(page)).to_contain_text("姓名")
    await say(page, "赵七")
    await expect(last_from_account(page)).to_contain_text("短信验证码")
    await say(page, PHONE)
    await expect(last_from_account(page)).to_contain_text("138****0071")
    await page.screenshot(path=str(SHOTS / "journey-sms-code.png"))

    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{product.settings.base_url}/_local/api/sms/messages", params={"phone": PHONE}
        ) as response:
            code = (await response.json())["messages"][-1]["code"]
    await say(page, code)
    await expect(page.locator(".row.account .bubble", has_text="身份已确认")).to_be_visible()
    await page.get_by_role("button", name="报名所选").last.click()
    await expect(last_from_account(page)).to_contain_text("已报名继续教育（1 本）")
    await page.screenshot(path=str(SHOTS / "journey-enrolled.png"))
    for bubble in await page.locator(".row.account .bubble").all_inner_texts():
        assert PHONE not in bubble and registry.id_number(71) not in bubble

    # The web view from the chat: a link through WeChat's OAuth, signed in as this person.
    await say(page, "/web")
    link = last_from_account(page).get_by_role("link").last
    await expect(link).to_be_visible()
    await link.click()
    frame = page.frame_locator("#browser-frame")
    await expect(frame.locator("body")).to_contain_text("您好，微信用户", timeout=30_000)
    await page.screenshot(path=str(SHOTS / "journey-web-view.png"))
    # Signed in as this person: their records show their certificate, masked.
    await frame.locator("#records-link").click()
    await expect(frame.locator("body")).to_contain_text("云建安B(2024)0007171")
    await expect(frame.locator("body")).to_contain_text("已报名，待缴费")
    await page.screenshot(path=str(SHOTS / "journey-records.png"))

    account = await models.ChatUser.get(channel="wechat", external_id=OPENID)
    assert await models.Binding.filter(person=person, chat_user_id=account.id).exists()
    assert errors == []

"""A WeChat user pays in Chromium, on the WeChat stand-in's phone page with the real product
behind it: the order's link opens the pay page in the in-phone browser (signed in by OAuth), the
stand-in's WeixinJSBridge opens the sandbox checkout, and "paid" shows only once the product has
the sandbox's notification; the chat then says so. Screenshots in var/screenshots/wechat/pay-*."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from infra.db import models
from jijiao.app import Runtime
from tests.browser import test_wechat_journey_in_browser as journey
from tests.browser.test_wechat_journey_in_browser import OPENID
from tests.browser.wechat_phone import SHOTS, last_from_account, open_phone, say
from tests.support import registry
from tests.support.clock import days_from_today

pytestmark = pytest.mark.browser

PAYER = "钱八"
product = journey.product  # the same app fixture as the WeChat journey


async def to_an_order(page: Page, seq: int) -> int:
    """Following the account, bound to a person with one enrolment to pay, through the chat to
    the order's messages; the account's id."""
    await page.get_by_role("button", name="关注公众号").click()
    await expect(last_from_account(page)).to_contain_text("报名")
    account = await models.ChatUser.get(channel="wechat", external_id="o-browser-zhao")
    person = await registry.person(seq, PAYER, f"138000000{seq}")
    cert = await registry.certificate(
        person, f"云建安B(2024)00{seq}{seq}", "safety_b", days_from_today(90)
    )
    await models.Binding.create(chat_user_id=account.id, person=person)
    await registry.enrolment(cert, account.id, "enrolled")
    await say(page, "/pay")
    await page.get_by_role("button", name="开票信息").last.click()
    await page.get_by_role("button", name=PAYER).last.click()
    await page.get_by_role("button", name="跳过").last.click()
    await expect(last_from_account(page)).to_contain_text("邮箱")
    await page.get_by_role("button", name="跳过").last.click()
    await page.get_by_role("button", name="确认并支付").last.click()
    return account.id


async def test_a_wechat_user_pays_in_the_pay_page_and_the_chat_confirms(
    chromium_browser: Browser, product: Runtime
):
    errors: list[str] = []
    page = await open_phone(chromium_browser, product.settings.base_url, OPENID, errors)
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=20_000)
    account = await to_an_order(page, 72)
    pay_link = page.locator(".row.account .bubble a", has_text="打开支付页面").last
    await expect(pay_link).to_be_visible()
    await page.screenshot(path=str(SHOTS / "pay-order.png"))

    await pay_link.click()
    frame = page.frame_locator("#browser-frame")
    await expect(frame.locator(".amount")).to_contain_text("300.00", timeout=30_000)
    # In WeChat's browser the page offers WeChat Pay's checkout instead of the QR code.
    await expect(frame.locator("#wechat-pay")).to_be_visible()
    await expect(frame.locator("#qr-code")).to_be_hidden()
    await page.screenshot(path=str(SHOTS / "pay-page.png"))

    await frame.locator("#wechat-pay").click()
    await expect(page.locator("#checkout")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "pay-confirm.png"))
    await page.locator("#checkout-pay").click()
    await expect(frame.locator("#state")).to_contain_text("已支付")
    await page.screenshot(path=str(SHOTS / "pay-paid.png"))

    await page.locator("#browser-close").click()
    await expect(page.locator(".row.account .bubble", has_text="已收到订单")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "pay-chat.png"))
    order = await models.Order.get(payer_chat_user_id=account)
    assert order.status == "paid"
    for bubble in await page.locator(".row.account .bubble").all_inner_texts():
        assert registry.id_number(72) not in bubble and "13800000072" not in bubble
    assert errors == []


async def test_a_cancelled_checkout_leaves_the_order_unpaid(
    chromium_browser: Browser, product: Runtime
):
    errors: list[str] = []
    page = await open_phone(chromium_browser, product.settings.base_url, OPENID, errors)
    account = await to_an_order(page, 73)
    await page.locator(".row.account .bubble a", has_text="打开支付页面").last.click()
    frame = page.frame_locator("#browser-frame")
    await frame.locator("#wechat-pay").click()
    await page.locator("#checkout-cancel").click()
    await expect(frame.locator("#state")).not_to_contain_text("已支付")
    await expect(frame.locator("#wechat-pay")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "pay-cancelled.png"))
    assert (await models.Order.get(payer_chat_user_id=account)).status == "pending"
    assert errors == []

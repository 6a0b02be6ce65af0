"""The people the WeChat channel serves, walked in Chromium on the WeChat stand-in's phone page
with the real product behind it: an English-speaking trainee (language, enrolment by ID number,
pay, study, all in English), an enterprise contact (credit code, phone proved by SMS, roster), an
applicant (the fill-and-sign page from the chat, staff's decision back in the chat) and a second
person on the same phone's browser (their own data, never the first's). Screenshots in
var/screenshots/wechat/people-*."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, expect

from domain.masking import mask_id_number
from infra.db import models
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


async def sign(page: Page, pad: Locator) -> None:
    """A signature drawn with the pointer (as a finger) across the pad."""
    box = await pad.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"] + box["height"] / 2
    await page.mouse.move(x + 20, y)
    await page.mouse.down()
    for step in range(1, 20):
        await page.mouse.move(x + 20 + step * 10, y + (15 if step % 2 else -15), steps=2)
    await page.mouse.up()


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
    # Their records and status, from the chat's menu: in English too.
    await page.locator("#browser-close").click()
    await say(page, "/status")
    await expect(last_from_account(page)).to_contain_text("53B2****0081")
    await say(page, "/menu")
    await last_from_account(page).get_by_role("link", name="🗂 My records").click()
    await expect(frame.locator("body")).to_contain_text("53B202600081")
    shown.append(await web_text(page))
    await page.screenshot(path=str(SHOTS / "people-en-records.png"))
    await frame.get_by_role("link", name="Orders and invoices").click()
    await expect(frame.locator("body")).to_contain_text("300.00")
    shown.append(await web_text(page))
    await page.screenshot(path=str(SHOTS / "people-en-orders.png"))

    shown.extend((await bubbles(page))[start:])
    assert [text for text in shown if english_only(text)] == []
    assert errors == []


async def test_an_enterprise_contact_enrols_the_roster_on_the_phone(
    chromium_browser: Browser, product: Runtime
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=20_000)
    company = await registry.enterprise(88, "云南浏览器建设有限公司", "13900000088")
    for n in (881, 882):
        worker = await registry.person(n, f"员工{n}", f"1370000{n:04d}")
        await registry.certificate(
            worker, f"云建安C(2024)000{n}", "safety_c", days_from_today(60), employer=company
        )
    base = product.settings.base_url
    errors: list[str] = []
    page = await open_phone(chromium_browser, base, "o-people-boss", errors)
    await page.get_by_role("button", name="关注公众号").click()
    await expect(last_from_account(page)).to_contain_text("报名")
    await say(page, "/enrol")
    await page.get_by_role("button", name="本单位员工").last.click()
    await expect(last_from_account(page)).to_contain_text("统一社会信用代码")
    await say(page, registry.credit_code(88))
    await expect(last_from_account(page)).to_contain_text("短信验证码")
    await say(page, "13900000088")
    await expect(last_from_account(page)).to_contain_text("139****0088")
    await say(page, await sms_code(base, "13900000088"))
    await expect(page.locator(".row.account .bubble", has_text="登记联系人")).to_be_visible()
    roster = last_from_account(page)
    await expect(roster).to_contain_text("员工881")
    await expect(roster).to_contain_text("员工882")
    await expect(roster).to_contain_text("已选 2 / 2")
    await page.screenshot(path=str(SHOTS / "people-boss-roster.png"))
    await page.get_by_role("button", name="报名所选").last.click()
    await expect(last_from_account(page)).to_contain_text("已报名")
    await expect(last_from_account(page)).to_contain_text("下一步：缴费")
    await page.screenshot(path=str(SHOTS / "people-boss-enrolled.png"))
    # The next step: the company's order for both.
    await page.get_by_role("button", name="💳 缴费").last.click()
    await expect(last_from_account(page)).to_contain_text("合计：¥600.00")
    await page.screenshot(path=str(SHOTS / "people-boss-pay.png"))
    for bubble in await bubbles(page):
        assert "13900000088" not in bubble and registry.credit_code(88) not in bubble
    account = await models.ChatUser.get(channel="wechat", external_id="o-people-boss")
    assert await models.EnterpriseContact.filter(chat_user_id=account.id).exists()
    assert await models.Enrolment.filter(channel="enterprise").count() == 2
    assert errors == []


async def test_an_english_applicant_fills_and_signs_the_page_and_hears_the_decision(
    chromium_browser: Browser, product: Runtime
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=20_000)
    person = await registry.person(83, "Li Na", "13800000083")
    cert = await registry.certificate(person, "53B202600083", "safety_b", days_from_today(100))
    base = product.settings.base_url
    errors: list[str] = []
    page = await open_phone(chromium_browser, base, "o-people-applicant", errors)
    await page.get_by_role("button", name="关注公众号").click()
    await expect(last_from_account(page)).to_contain_text("报名")
    await say(page, "/language")
    await page.get_by_role("button", name="English").last.click()
    await expect(last_from_account(page)).to_contain_text("Main menu")
    start = len(await bubbles(page)) - 2
    account = await models.ChatUser.get(channel="wechat", external_id="o-people-applicant")
    await models.Binding.create(chat_user_id=account.id, person=person, channel="wechat")
    now = product.clock.now()
    enrolment = await registry.enrolment(
        cert,
        account.id,
        "overdue",
        paid_at=now - timedelta(days=31),
        study_deadline=now - timedelta(days=1),
    )

    await say(page, "/apply")
    await page.get_by_role("button", name="Apply for an extension").last.click()
    await expect(last_from_account(page)).to_contain_text("fill in and sign")
    await page.screenshot(path=str(SHOTS / "people-apply-link.png"))
    await last_from_account(page).get_by_role("link", name="Fill in and sign").click()
    frame = page.frame_locator("#browser-frame")
    await expect(frame.locator("#fact-name")).to_have_text("Li Na", timeout=30_000)
    await expect(frame.locator("#fact-id")).to_have_text(mask_id_number(registry.id_number(83)))
    await frame.locator("#reason").fill("I was in hospital for two weeks.")
    await frame.locator("#apply-send").click()
    await expect(frame.locator("#signature-error")).to_contain_text("sign")
    await sign(page, frame.locator("#signature"))
    await page.screenshot(path=str(SHOTS / "people-apply-signed.png"))
    await frame.locator("#apply-send").click()
    await expect(frame.locator("#apply-done-text")).to_contain_text("application #")
    shown = [await web_text(page)]
    await page.screenshot(path=str(SHOTS / "people-apply-sent.png"))
    await page.locator("#browser-close").click()

    [application] = await models.Application.filter(enrolment_id=enrolment.id)
    assert application.status == "pending" and application.kind == "extension"
    decided = await product.services.handlers["applications"].decide(
        application.id,
        approved=True,
        staff_id=900001,
        staff_name="客服小李",
        reason=None,
        desk=product.services.handlers["desk"],
    )
    assert decided
    await expect(last_from_account(page)).to_contain_text("approved")
    await page.screenshot(path=str(SHOTS / "people-apply-decided.png"))
    shown.extend((await bubbles(page))[start:])
    assert [text for text in shown if english_only(text)] == []
    assert errors == []


async def follow_bound(page: Page, openid: str, person: models.Person) -> int:
    await page.get_by_role("button", name="关注公众号").click()
    await expect(last_from_account(page)).to_contain_text("报名")
    account = await models.ChatUser.get(channel="wechat", external_id=openid)
    await models.Binding.create(chat_user_id=account.id, person=person, channel="wechat")
    return account.id


async def test_a_second_person_on_the_same_phone_sees_only_their_own_data(
    chromium_browser: Browser, product: Runtime
):
    """Person A used the web view from WeChat (the OAuth session cookie is in this browser);
    person B, another WeChat account on the same phone's browser, opens a link from their own
    chat: B's name and enrolments, never A's."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=20_000)
    base = product.settings.base_url
    a = await registry.person(84, "孙甲", "13800000084")
    a_cert = await registry.certificate(a, "53B202600084", "safety_b", days_from_today(100))
    b = await registry.person(85, "周乙", "13800000085")
    b_cert = await registry.certificate(b, "53C202600085", "safety_c", days_from_today(100))
    errors: list[str] = []
    page = await open_phone(chromium_browser, base, "o-people-a", errors)
    a_id = await follow_bound(page, "o-people-a", a)
    await registry.enrolment(a_cert, a_id, "enrolled")
    await say(page, "/menu")
    await last_from_account(page).get_by_role("link", name="🗂 学习记录").click()
    frame = page.frame_locator("#browser-frame")
    await expect(frame.locator("body")).to_contain_text("53B202600084", timeout=30_000)
    await page.screenshot(path=str(SHOTS / "people-shared-a.png"))
    await page.locator("#browser-close").click()

    # The same browser (its cookies), now WeChat signed in as B.
    await page.goto(f"{base}/_local/wechat/phone?openid=o-people-b")
    b_id = await follow_bound(page, "o-people-b", b)
    await registry.enrolment(b_cert, b_id, "enrolled")
    await say(page, "/menu")
    await last_from_account(page).get_by_role("link", name="🗂 学习记录").click()
    await expect(frame.locator("body")).to_contain_text("53C202600085", timeout=30_000)
    await page.screenshot(path=str(SHOTS / "people-shared-b.png"))
    body = await web_text(page)
    assert "53B202600084" not in body and "孙甲" not in body
    # And the session is B's for every page now, A's enrolment nowhere.
    async with aiohttp.ClientSession(cookies=await cookies_of(page, base)) as http:
        async with http.get(f"{base}/app/api/me") as response:
            assert (await response.json())["user_id"] == b_id
    assert errors == []


async def cookies_of(page: Page, base: str) -> dict[str, str]:
    return {c["name"]: c["value"] for c in await page.context.cookies(base) if "name" in c}

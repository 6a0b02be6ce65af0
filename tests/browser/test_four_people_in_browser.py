"""The whole product walked as four people, in their own language, through the local chat and
Chromium: a Chinese trainee and an English trainee (enrol → pay → study with face checks →
exam → receipt → verify), an enterprise contact (enrol employees, pay, ask in their own words)
and staff (topic, card, reply, decisions, /stats, /exam, export; an English trainee's
extension approved and another refused).

At every step the next one must be a button on the message that names it (`Person.tap` fails
otherwise). Every message and page each person met is scanned for internal codes and for text
in the wrong language (`tests/support/witness.py`), and screenshots are saved under
var/screenshots/four-people/ to look at.

A fake camera repeats one frame and the same picture twice is refused as a replay, so a
trainee uses three phones, each camera showing another picture of the same person.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import zxingcpp
from PIL import Image
from playwright.async_api import Browser, Page, expect

from infra.db import models
from infra.db.exam_models import ExamAttempt, Receipt
from infra.settings import load_settings
from jijiao.app import Runtime
from tests.browser.journeys import Person
from tests.browser.test_journey_in_browser import shifted
from tests.browser.test_study_in_browser import FACE, OTHER_FACE, _free_port, chromium_with_camera
from tests.support import registry
from tests.support.app import running
from tests.support.clock import days_from_today
from tests.support.localchat_client import LocalChatClient
from tests.support.witness import Witness

JOURNEY = "four-people"
QUESTIONS = 5


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "WEB_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(
        app={"data_dir": tmp_path / "var", "demo_data": False},
        security={"secret_key": registry.SECRET},
        web={"host": "127.0.0.1", "port": _free_port()},
        # 20-minute lessons take 3 s; a beat every second; no head turn for a still camera.
        study={"minutes_scale": 0.0025, "heartbeat_seconds": 1, "head_turn": False},
        exam={"questions": QUESTIONS},
    )
    async with running(settings) as runtime:
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture(loop_scope="session")
async def phones(tmp_path: Path) -> AsyncIterator[list[Browser]]:
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(chromium_with_camera(photo, tmp_path))
            for photo in (FACE, OTHER_FACE, shifted(OTHER_FACE, tmp_path))
        ]


async def enrol_myself(person: Person, sequence: int, name: str, phone: str) -> dict:
    """From /start to the enrolment's confirmation, by the buttons each message offers."""
    menu = await person.say("/start")
    who = await person.tap(menu, "📝 Enrol")
    ask_id = await person.tap(who, "👤 Myself")
    assert registry.id_number(sequence)[:2] not in ask_id["text"]
    await person.say(registry.id_number(sequence))
    await person.say(name)
    _confirmed, listing = await person.share_phone(phone)
    return await person.tap(listing, "✅ Enrol selected ({count})", count=1)


async def pay_by_qr(person: Person, message: dict, http: aiohttp.ClientSession, base: str) -> str:
    """💳 → invoice details → confirm → the QR code, paid on the sandbox's page; the reply."""
    bill = await person.tap(message, "💳 Pay")
    ask_title = await person.tap(bill, "🧾 Invoice details")
    payer_is_title = ask_title["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await person.chat.click(person.user, ask_title["message_id"], payer_is_title)
    ask_taxpayer = await person.reply()
    ask_email = await person.tap(ask_taxpayer, "Skip")
    bill = await person.tap(ask_email, "Skip")
    order = await person.tap(bill, "✅ Confirm and pay")
    assert order.get("photo"), order
    async with http.get(base + order["photo"]["url"]) as response:
        image = Image.open(io.BytesIO(await response.read()))
    [decoded] = zxingcpp.read_barcodes(image)
    return decoded.text


async def take_the_check(page: Page) -> None:
    await expect(page.locator("#check")).to_be_visible()
    await page.wait_for_function("() => document.getElementById('camera')?.videoWidth > 0")
    await page.locator("#check-take").click()
    await expect(page.locator("#check")).to_be_hidden(timeout=30_000)


@pytest.mark.parametrize(
    ("language", "user", "sequence", "name"),
    [("zh", 100081, 81, "张建国"), ("en", 100082, 82, "王小英")],
    ids=["chinese-trainee", "english-trainee"],
)
async def test_a_trainee_enrols_pays_studies_passes_and_the_receipt_verifies(
    product: Runtime,
    phones: list[Browser],
    http: aiohttp.ClientSession,
    language: str,
    user: int,
    sequence: int,
    name: str,
) -> None:
    base = product.settings.base_url
    number = f"云建安B(2022)00{sequence}"
    holder = await registry.person(sequence, name, f"1380000{sequence:04d}")
    await registry.certificate(holder, number, "safety_b", days_from_today(124))
    names = {name, name[0], number, "云建安B"}  # the masked number starts so
    witness = Witness(JOURNEY, f"{language}-trainee", language, names=names)
    trainee = Person(LocalChatClient(base, http), user, name, witness)

    enrolled = await enrol_myself(trainee, sequence, name, f"1380000{sequence:04d}")
    pay_url = await pay_by_qr(trainee, enrolled, http, base)

    # The sandbox's checkout page, paid in a browser as a phone's wallet would.
    checkout = await trainee.open(phones[0], pay_url)
    await witness.saw_page(checkout, "checkout")
    await checkout.locator("button[type=submit], #pay").first.click()
    paid = await trainee.reply()
    assert trainee.link(paid, "📖 Start studying")  # the next step: study, one tap away
    await checkout.context.close()

    # Phone 1: consent and the enrolment photo.
    page = await trainee.open_signed(phones[0])
    await witness.saw_page(page, "home")
    await page.locator("#study-link").click()
    await witness.saw_page(page, "consent")
    await page.locator("#consent-accept").click()
    await page.wait_for_function("() => document.getElementById('camera')?.videoWidth > 0")
    await page.locator("#photo-take").click()
    await expect(page.locator("#course")).to_be_visible(timeout=30_000)
    await witness.saw_page(page, "course")
    await page.context.close()

    # Phone 2: every lesson, the first opening with a face check; each names the next step.
    page = await trainee.open_signed(phones[1])
    await page.locator("#study-link").click()
    lessons = await page.locator("ol.lessons li").evaluate_all(
        "items => items.map(item => item.dataset.lesson)"
    )
    for n, lesson in enumerate(lessons):
        await page.locator(f'li[data-lesson="{lesson}"] a').click()
        if n == 0:
            await take_the_check(page)
        await expect(page.locator("#lesson-percent")).to_have_text("100%", timeout=30_000)
        following = "/app/exam?" if n == len(lessons) - 1 else f"/lesson/{lessons[n + 1]}?"
        await expect(page.locator("#next a")).to_have_attribute(
            "href", re.compile(re.escape(following))
        )
        if n == 0:
            await witness.saw_page(page, "lesson")
        await page.locator("#back").click()
    await expect(page.locator("#all-done")).to_be_visible()
    await page.locator("#take-exam").click()
    await expect(page.locator("#exam-start")).to_be_visible()
    await witness.saw_page(page, "exam-home")
    await page.context.close()

    # Phone 3: the exam, answered right, and the receipt in the chat.
    page = await trainee.open_signed(phones[2])
    await page.goto(f"{base}/app/exam")
    await page.locator("#exam-start").click()
    await take_the_check(page)
    await expect(page).to_have_url(re.compile(r"/app/exam/attempt/\d+$"))
    await witness.saw_page(page, "exam")
    attempt = await ExamAttempt.get(enrolment__certificate__number=number)
    exams = product.services.exams
    for item in attempt.draw:
        for option in sorted(exams.questions[item["q"]].rule.correct):
            await page.locator(
                f'fieldset[data-question="{item["q"]}"] input[value="{option}"]'
            ).check()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    for _ in range(50):  # every answer on the server before submitting
        if len((await ExamAttempt.get(id=attempt.id)).answers) == QUESTIONS:
            break
        await asyncio.sleep(0.1)
    await page.locator("#submit").click()
    await expect(page.locator("#result")).to_have_attribute("data-passed", "yes")
    await witness.saw_page(page, "result")

    receipt = await Receipt.get(enrolment__certificate__number=number)
    messages = await trainee.replies(count=2, wait=20)
    photo = next(m for m in messages if m.get("photo"))
    assert receipt.number in photo["caption"]
    witness.names.add(receipt.number)
    async with http.get(base + photo["photo"]["url"]) as response:
        image = Image.open(io.BytesIO(await response.read()))
    [code] = zxingcpp.read_barcodes(image)
    await page.goto(code.text)
    await expect(page.locator("#verification")).to_have_attribute("data-status", "genuine")
    await witness.saw_page(page, "verify")
    await page.context.close()

    # The conversation as the trainee saw it, in the local chat page.
    chat_page = await trainee.open(phones[0], product.local_url)
    await chat_page.locator("#user-list li", has_text=name).click()
    await expect(chat_page.locator(".msg.in").last).to_be_visible()
    witness.seen.append(("chat page", await chat_page.locator("#messages-inner").inner_text()))
    await witness.screenshot(chat_page, "chat")
    await chat_page.context.close()

    enrolment = await models.Enrolment.get(certificate__number=number)
    assert enrolment.state == "passed"
    witness.assert_clean()
    assert not trainee.errors, f"JavaScript errors or CSP violations: {trainee.errors}"

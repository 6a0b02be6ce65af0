"""The whole journey through the local chat and a real Chromium with a fake camera: pay by QR
code in the chat, consent and the enrolment photo in the Mini App, every lesson to 100 % with a
face check, the exam passed, the receipt in the chat, and its QR code verified as genuine.

A fake camera repeats one frame and the same picture twice is refused as a replay, so the
trainee uses three phones, each camera showing another picture of the same person."""

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
from jijiao.app import Runtime
from tests.browser.conftest import VIEWPORT, _collect_csp_violation
from tests.browser.test_study_in_browser import FACE, OTHER_FACE, chromium_with_camera
from tests.e2e.test_payment_e2e import _enrolled_trainee, _order_qr
from tests.support.app import local_settings, running
from tests.support.localchat_client import LocalChatClient

TRAINEE = 100071
QUESTIONS = 5


def shifted(photo: Path, folder: Path) -> Path:
    """The same person's photo moved sideways in the frame: a third, different picture."""
    image = Image.open(photo).convert("RGB")
    canvas = Image.new("RGB", (image.width + image.width // 4, image.height), (128, 128, 128))
    canvas.paste(image, (image.width // 4, 0))
    target = folder / "person_b_2_shifted.jpg"
    canvas.save(target, quality=92)
    return target


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    settings = local_settings(
        tmp_path,
        monkeypatch,
        # 20-minute lessons take 3 s; a beat every second; no head turn for a still camera.
        study={"minutes_scale": 0.0025, "heartbeat_seconds": 1, "head_turn": False},
        exam={"questions": QUESTIONS},
    )
    async with running(settings) as runtime:
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def phones(tmp_path: Path) -> AsyncIterator[list[Browser]]:
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(chromium_with_camera(photo, tmp_path))
            for photo in (FACE, OTHER_FACE, shifted(OTHER_FACE, tmp_path))
        ]


async def sign_in(chat: LocalChatClient, phone: Browser, errors: list[str]) -> Page:
    """/web in the chat hands out a signed link; the phone's browser opens it."""
    await chat.send(TRAINEE, "/web", first_name="付款人", language_code="zh-hans")
    reply = await chat.reply(TRAINEE)
    url = reply["reply_markup"]["inline_keyboard"][0][0]["url"]
    context = await phone.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = await context.new_page()
    page.set_default_timeout(20_000)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("console", lambda message: _collect_csp_violation(message, errors))
    await page.goto(url)
    return page


async def take_the_check(page: Page) -> None:
    await expect(page.locator("#check")).to_be_visible()
    await page.wait_for_function("() => document.getElementById('camera')?.videoWidth > 0")
    await page.locator("#check-take").click()
    await expect(page.locator("#check")).to_be_hidden(timeout=30_000)


async def test_pay_study_pass_and_verify_the_receipt(
    product: Runtime, phones: list[Browser]
) -> None:
    base = product.settings.base_url
    errors: list[str] = []
    async with aiohttp.ClientSession() as http:
        chat = LocalChatClient(base, http)

        # Pay in the chat: the QR code's link opens the sandbox checkout.
        await _enrolled_trainee(chat, TRAINEE, 71)
        _, pay_url = await _order_qr(chat, TRAINEE)
        checkout, token = pay_url.split("?")
        async with http.post(f"{checkout}/pay?{token}") as paid:
            assert paid.status == 200
        confirmation = await chat.reply(TRAINEE)
        assert "已收到订单" in confirmation["text"]

        # Phone 1: consent and the enrolment photo.
        page = await sign_in(chat, phones[0], errors)
        await page.locator("#study-link").click()
        await page.locator("#consent-accept").click()
        await page.wait_for_function("() => document.getElementById('camera')?.videoWidth > 0")
        await page.locator("#photo-take").click()
        await expect(page.locator("#course")).to_be_visible(timeout=30_000)
        await page.context.close()

        # Phone 2: every lesson, the first one opening with a face check.
        page = await sign_in(chat, phones[1], errors)
        await page.locator("#study-link").click()
        lessons = await page.locator("ol.lessons li").evaluate_all(
            "items => items.map(item => item.dataset.lesson)"
        )
        assert len(lessons) >= 2
        for n, lesson in enumerate(lessons):
            await page.locator(f'li[data-lesson="{lesson}"] a').click()
            if n == 0:
                await take_the_check(page)
            await expect(page.locator("#lesson-percent")).to_have_text("100%", timeout=30_000)
            # A finished lesson names the next step with a button: the next lesson, then the exam.
            following = "/app/exam?" if n == len(lessons) - 1 else f"/lesson/{lessons[n + 1]}?"
            await expect(page.locator("#next a")).to_have_attribute(
                "href", re.compile(re.escape(following))
            )
            await page.locator("#back").click()
        await expect(page.locator("#all-done")).to_be_visible()
        # The next step is one tap away: the exam page for this enrolment.
        await page.locator("#take-exam").click()
        await expect(page.locator("#exam-start")).to_be_visible()
        await page.context.close()

        # Phone 3: the exam, answered right, and the receipt.
        page = await sign_in(chat, phones[2], errors)
        await page.goto(f"{base}/app/exam")
        await page.locator("#exam-start").click()
        await take_the_check(page)  # on the exam home: the questions come after it passed
        await expect(page).to_have_url(re.compile(r"/app/exam/attempt/\d+$"))
        attempt = await ExamAttempt.get(enrolment__certificate__number="云建安B-P71")
        exams = product.services.exams
        for item in attempt.draw:
            for option in sorted(exams.questions[item["q"]].rule.correct):
                box = page.locator(f'fieldset[data-question="{item["q"]}"] input[value="{option}"]')
                await box.check()
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        for _ in range(50):  # every answer on the server before submitting
            if len((await ExamAttempt.get(id=attempt.id)).answers) == QUESTIONS:
                break
            await asyncio.sleep(0.1)
        await page.locator("#submit").click()
        await expect(page.locator("#result")).to_have_attribute("data-passed", "yes")

        receipt = await Receipt.get(enrolment__certificate__number="云建安B-P71")
        messages = await chat.replies(TRAINEE, count=2, wait=20)
        photo = next(m for m in messages if m.get("photo"))
        assert receipt.number in photo["caption"]
        assert any(
            (m.get("document") or {}).get("file_name", "").endswith(".pdf") for m in messages
        )
        async with http.get(base + photo["photo"]["url"]) as response:
            image = Image.open(io.BytesIO(await response.read()))
        [code] = zxingcpp.read_barcodes(image)
        assert code.text.startswith(f"{base}/verify/")
        await page.goto(code.text)
        await expect(page.locator("#verification")).to_have_attribute("data-status", "genuine")
        await page.context.close()

    enrolment = await models.Enrolment.get(certificate__number="云建安B-P71")
    assert enrolment.state == "passed"
    assert not errors, f"JavaScript errors or CSP violations: {errors}"

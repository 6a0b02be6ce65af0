"""The person who sits the exam is the person enrolled (issue 15, item 3), in real browsers
against the whole product: a colleague's face opens no attempt; the trainee opens it and hands
the phone over, a check during the attempt fails, and the pass is held for staff, who see the
photos in the trainee's topic and clear it: only then does the receipt go out."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from infra.db.exam_models import ExamAttempt, Receipt
from infra.db.study_models import FaceCheck, FaceReview
from infra.settings import LOCAL_STAFF_GROUP_ID
from jijiao.app import LOCAL_STAFF, Runtime, running
from tests.browser.conftest import VIEWPORT
from tests.browser.test_exam_in_browser import Browsing, bot_messages, question_set, right
from tests.browser.test_study_in_browser import FACE, OTHER_FACE, chromium_with_camera
from tests.study.conftest import seed_enrolment
from tests.support.app import local_settings
from tests.support.study import finish_lessons
from webview.auth import Viewer

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
TRAINEE = 555_401
QUESTIONS = 4
CSRF = {"X-Requested-With": "jijiao"}
ATTEMPT_URL = re.compile(r"/app/exam/attempt/(\d+)$")


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    settings = local_settings(
        tmp_path,
        monkeypatch,
        exam={"questions": QUESTIONS, "time_limit_minutes": 30},
        # A fake camera repeats one frame: it cannot turn (the head turn has its own test).
        study={"head_turn": False},
    )
    async with running(settings) as runtime:
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def colleagues_phone(tmp_path: Path) -> AsyncIterator[Browser]:
    async with chromium_with_camera(PHOTOS / "impostor_1.jpg", tmp_path) as browser:
        yield browser


@pytest_asyncio.fixture(loop_scope="session")
async def colleagues_other_phone(tmp_path: Path) -> AsyncIterator[Browser]:
    """A fake camera repeats one frame, and a picture seen before is refused as a replay: the
    colleague's second try is on another phone, another picture of them."""
    async with chromium_with_camera(PHOTOS / "impostor_2.jpg", tmp_path) as browser:
        yield browser


@pytest_asyncio.fixture(loop_scope="session")
async def trainees_phone(tmp_path: Path) -> AsyncIterator[Browser]:
    async with chromium_with_camera(OTHER_FACE, tmp_path) as browser:
        yield browser


async def signed_in(product: Runtime, phone: Browser) -> Browsing:
    """The trainee's sign-in link opened on `phone`: whoever holds the phone is "them"."""
    context = await phone.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    browsing = Browsing(context)
    page = await browsing.open()
    now = product.services.handlers["clock"].now()
    token = product.services.handlers["sessions"].link_token(
        Viewer(TRAINEE, "冯十三", "zh-hans"), now
    )
    await page.goto(f"{product.settings.base_url}/app/login?token={token}")
    await page.close()
    return browsing


async def take_the_check(page: Page) -> None:
    await expect(page.locator("#check")).to_be_visible()
    await page.wait_for_function("() => document.getElementById('camera')?.videoWidth > 0")
    await page.locator("#check-take").click()


async def group_messages(product: Runtime) -> list[dict]:
    assert product.localchat is not None
    return product.localchat.messages(LOCAL_STAFF_GROUP_ID, include_user=True)["messages"]


async def test_a_colleague_opens_no_attempt_and_a_pass_with_a_failed_check_waits_for_staff(
    product: Runtime,
    colleagues_phone: Browser,
    colleagues_other_phone: Browser,
    trainees_phone: Browser,
) -> None:
    base = product.settings.base_url
    now = product.services.handlers["clock"].now()
    enrolment_id = await seed_enrolment(TRAINEE, "C-WHO-1", now - timedelta(days=1))
    colleague = await signed_in(product, colleagues_phone)
    page = await colleague.open()
    await page.goto(f"{base}/app")
    assert (await page.request.post(f"{base}/app/api/study/consent", headers=CSRF)).ok
    enrolled = await page.request.post(
        f"{base}/app/api/study/photo",
        data=FACE.read_bytes(),
        headers={**CSRF, "Content-Type": "image/jpeg"},
    )
    assert enrolled.ok, await enrolled.text()
    await finish_lessons(product.services.study, TRAINEE, enrolment_id)
    assert product.localchat is not None
    product.localchat.send_text(TRAINEE, "/start")  # the bot may write to them

    # A colleague sits the exam for the trainee: the check opening it fails, no question comes.
    await page.goto(f"{base}/app/exam?enrolment={enrolment_id}")
    await page.locator("#exam-start").click()
    await take_the_check(page)
    await expect(page.locator("#start-error")).to_be_visible(timeout=30_000)
    await expect(page.locator("#check")).to_be_hidden()
    await expect(page.locator("fieldset.question")).to_have_count(0)
    assert "/attempt/" not in page.url and await ExamAttempt.all().count() == 0
    [refused] = await FaceCheck.filter(chat_user_id=TRAINEE, kind="exam")
    assert (refused.result, refused.reason) == ("failed", "no_match")

    # The trainee opens it on their own phone; the questions come once the check passed.
    trainee = await signed_in(product, trainees_phone)
    mine = await trainee.open()
    await mine.goto(f"{base}/app/exam?enrolment={enrolment_id}")
    await mine.locator("#exam-start").click()
    await take_the_check(mine)
    await expect(mine).to_have_url(ATTEMPT_URL, timeout=30_000)
    match = ATTEMPT_URL.search(mine.url)
    assert match is not None
    attempt_id = int(match.group(1))
    await expect(mine.locator("fieldset.question")).to_have_count(QUESTIONS)

    # ... and lets the colleague go on (the same attempt, on the colleague's phone), who meets
    # the next random check with their own face and answers everything right.
    await FaceCheck.filter(chat_user_id=TRAINEE, kind="exam", result="passed").update(
        next_due_at=product.services.handlers["clock"].now()
    )
    colleague_again = await signed_in(product, colleagues_other_phone)
    page = await colleague_again.open()
    await page.goto(f"{base}/app/exam/attempt/{attempt_id}")
    await take_the_check(page)  # the random check, due as the page opens
    await expect(page.locator("#check")).to_be_hidden(timeout=30_000)
    [random_check] = await FaceCheck.filter(chat_user_id=TRAINEE, kind="random")
    assert (random_check.result, random_check.reason) == ("failed", "no_match")
    draw = [item["q"] for item in (await ExamAttempt.get(id=attempt_id)).draw]
    for question in draw:
        for option in right(product, question):
            await question_set(page, question).locator(f'input[value="{option}"]').check()
    for _ in range(50):
        if len((await ExamAttempt.get(id=attempt_id)).answers) == QUESTIONS:
            break
        await asyncio.sleep(0.1)
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.locator("#submit").click()

    # Full marks, but no pass on record and no receipt: staff decide first.
    await expect(page).to_have_url(re.compile(rf"/attempt/{attempt_id}/review$"))
    await expect(page.locator("#held")).to_be_visible()
    await expect(page.locator("#receipt-png")).to_have_count(0)
    row = await ExamAttempt.get(id=attempt_id)
    assert (row.score, row.identity) == (100, "held") and not await Receipt.exists()
    told = await bot_messages(
        product, TRAINEE, lambda ms: any("工作人员" in (m["text"] or "") for m in ms)
    )
    assert not any(m["photo"] for m in told), "no receipt before staff decide"

    # In the trainee's topic: the enrolment photo and the failed selfies, the card, buttons.
    [review] = await FaceReview.filter(kind="exam", attempt_id=attempt_id)
    clear_data = f"frv:ok:{review.id}"
    for _ in range(100):
        topic = await group_messages(product)
        card = next((m for m in topic if clear_data in str(m["reply_markup"])), None)
        if card is not None:
            break
        await asyncio.sleep(0.1)
    assert card is not None, topic
    thread = card["message_thread_id"]
    photos = [m for m in topic if m["photo"] and m["message_thread_id"] == thread]
    assert len(photos) == 2  # the enrolment photo and the colleague's selfie
    clear = card["reply_markup"]["inline_keyboard"][0][0]
    staff_click = {
        "from_user_id": LOCAL_STAFF[0][0],
        "message_id": card["message_id"],
        "data": clear["callback_data"],
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base}/_local/api/chats/{LOCAL_STAFF_GROUP_ID}/click", json=staff_click
        ) as response,
    ):
        assert response.status == 200, await response.text()

    # Cleared: the receipt goes out to the trainee, image and PDF.
    def receipt_sent(messages: list[dict]) -> bool:
        return any(m["photo"] for m in messages) and any(m["document"] for m in messages)

    messages = await bot_messages(product, TRAINEE, receipt_sent)
    receipt = await Receipt.get(enrolment_id=enrolment_id)
    assert any(receipt.number in (m["caption"] or "") for m in messages if m["photo"])
    await mine.goto(f"{base}/app/exam?enrolment={enrolment_id}")
    await expect(mine.locator("#receipt-png")).to_be_visible()

    for browsing in (colleague, colleague_again, trainee):
        await browsing.context.close()
        assert not browsing.errors, f"JavaScript errors on the page: {browsing.errors}"

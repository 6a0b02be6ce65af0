"""The exam in a real browser with a fake camera, against the whole running product: start, the
start face check, answers saved one by one, the page closed and the attempt resumed, submit, the
receipt's QR code verified and the receipt in the chat; and an attempt the deadline closes while
its page is open."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import zxingcpp
from PIL import Image
from playwright.async_api import (
    Browser,
    BrowserContext,
    Dialog,
    Locator,
    Page,
    expect,
)

from infra.db.exam_models import ExamAttempt, ExamEvent, Receipt
from infra.db.study_models import FaceCheck
from jijiao.app import Runtime
from tests.browser.conftest import (
    VIEWPORT,
    _collect_csp_violation,
)
from tests.browser.test_study_in_browser import FACE, chromium_with_camera
from tests.study.conftest import seed_enrolment
from tests.support.app import local_settings, running
from tests.support.study import finish_lessons
from webview.auth import Viewer

QUESTIONS = 6
TIME_LIMIT_MINUTES = 30
PASSER = 555101
LATECOMER = 555102
CSRF = {"X-Requested-With": "jijiao"}
ATTEMPT_URL = re.compile(r"/app/exam/attempt/(\d+)$")


@pytest_asyncio.fixture(loop_scope="session")
async def camera_browser(tmp_path: Path) -> AsyncIterator[Browser]:
    """Its own Chromium: the fake-camera flags are per launch; the camera shows person B."""
    async with chromium_with_camera(FACE, tmp_path) as browser:
        yield browser


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """The whole product (web view, local chat, bot, jobs) on the real clock."""
    settings = local_settings(
        tmp_path,
        monkeypatch,
        exam={"questions": QUESTIONS, "time_limit_minutes": TIME_LIMIT_MINUTES},
        # A fake camera repeats one frame: it cannot turn its head (tests/study cover that).
        study={"head_turn": False},
    )
    async with running(settings) as runtime:
        yield runtime


@dataclass
class Browsing:
    """One browser profile (cookies, localStorage) whose pages may close and open again; any
    JavaScript error or CSP violation on any of them fails the test."""

    context: BrowserContext
    errors: list[str] = field(default_factory=list)

    async def open(self) -> Page:
        page = await self.context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: _collect_csp_violation(message, self.errors))
        return page


@pytest_asyncio.fixture(loop_scope="session")
async def browsing(camera_browser: Browser, product: Runtime) -> AsyncIterator[Browsing]:
    context = await camera_browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    browsing = Browsing(context)
    try:
        yield browsing
    finally:
        await context.close()
    assert not browsing.errors, f"JavaScript errors on the page: {browsing.errors}"


async def ready_to_sit(product: Runtime, page: Page, user_id: int, number: str) -> int:
    """A paid enrolment, the trainee logged in on `page` through the bot's signed link, consent
    and the enrolment photo given, every lesson at 100 %; and the trainee has talked to the bot,
    so the bot may write first. Returns the enrolment's id."""
    now = product.services.handlers["clock"].now()
    enrolment_id = await seed_enrolment(user_id, number, now - timedelta(days=1))
    token = product.services.handlers["sessions"].link_token(
        Viewer(user_id, "王五", "zh-hans"), now
    )
    base = product.settings.base_url
    await page.goto(f"{base}/app/login?token={token}")
    consent = await page.request.post(f"{base}/app/api/study/consent", headers=CSRF)
    assert consent.status == 200, await consent.text()
    photo = await page.request.post(
        f"{base}/app/api/study/photo",
        data=FACE.read_bytes(),
        headers={**CSRF, "Content-Type": "image/jpeg"},
    )
    assert photo.status == 200, await photo.text()
    await finish_lessons(product.services.study, user_id, enrolment_id)
    assert product.localchat is not None
    product.localchat.send_text(user_id, "/start")
    return enrolment_id


async def start_attempt(product: Runtime, page: Page, enrolment_id: int) -> int:
    """From the exam home, through the face check that opens the attempt (taken with the
    camera on the home page), to the attempt page and its questions."""
    await page.goto(f"{product.settings.base_url}/app/exam?enrolment={enrolment_id}")
    await page.locator("#exam-start").click()
    # Hidden here with a "JavaScript errors on the page" report: the page script broke early.
    await expect(page.locator("#check"), "the opening face check asks for a selfie").to_be_visible()
    await page.wait_for_function("() => document.getElementById('camera')?.videoWidth > 0")
    await page.locator("#check-take").click()
    await expect(page).to_have_url(ATTEMPT_URL, timeout=30_000)
    match = ATTEMPT_URL.search(page.url)
    assert match is not None
    attempt_id = int(match.group(1))

    await expect(page.locator("fieldset.question")).to_have_count(QUESTIONS)
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^(29|30):\d\d$"))
    await expect(page.locator("#check")).to_be_hidden()
    return attempt_id


async def draw(attempt_id: int) -> list[str]:
    return [item["q"] for item in (await ExamAttempt.get(id=attempt_id)).draw]


def right(product: Runtime, question: str) -> list[str]:
    return sorted(product.services.exams.questions[question].rule.correct)


def question_set(page: Page, question: str) -> Locator:
    return page.locator(f'fieldset.question[data-question="{question}"]')


async def answer(product: Runtime, page: Page, question: str) -> None:
    """Ticks the right options, as a trainee would, and waits for the page to say it saved."""
    saved = await page.locator("#texts").get_attribute("data-saved")
    for option in right(product, question):
        await question_set(page, question).locator(f'input[value="{option}"]').check()
    await expect(question_set(page, question).locator(".save-state")).to_have_text(saved or "")


async def saved_answers(attempt_id: int, expected: dict[str, list[str]]) -> None:
    """Waits until the server holds exactly `expected` (a multiple-choice question is saved
    once per ticked box, the last save being the whole answer)."""
    for _ in range(100):
        if (await ExamAttempt.get(id=attempt_id)).answers == expected:
            return
        await asyncio.sleep(0.1)
    assert (await ExamAttempt.get(id=attempt_id)).answers == expected


async def accept_confirm(dialogs: list[str], dialog: Dialog) -> None:
    dialogs.append(dialog.message)
    await dialog.accept()


async def bot_messages(
    product: Runtime, user_id: int, wanted: Callable[[list[dict]], bool], timeout: float = 15
) -> list[dict]:
    """The bot's messages in the trainee's private chat, once `wanted(messages)` holds."""
    assert product.localchat is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        messages = product.localchat.messages(user_id)["messages"]
        if wanted(messages) or loop.time() > deadline:
            return messages
        await asyncio.sleep(0.2)


async def test_a_trainee_sits_the_exam_resumes_it_passes_and_the_receipt_verifies(
    browsing: Browsing, product: Runtime
) -> None:
    base = product.settings.base_url
    page = await browsing.open()
    enrolment_id = await ready_to_sit(product, page, PASSER, "C-EXAM-1")
    attempt_id = await start_attempt(product, page, enrolment_id)
    [start_check] = await FaceCheck.filter(chat_user_id=PASSER, kind="exam")
    assert start_check.result == "passed", start_check.reason

    questions = await draw(attempt_id)
    first, rest = questions[: QUESTIONS // 2], questions[QUESTIONS // 2 :]
    for question in first:
        await answer(product, page, question)
    await saved_answers(attempt_id, {q: right(product, q) for q in first})
    answered = await page.locator("#texts").get_attribute("data-answered")
    assert answered is not None
    await expect(page.locator("#saved-count")).to_have_text(
        answered.replace("{n}", str(len(first))).replace("{total}", str(QUESTIONS))
    )

    # The phone closes the page; opening it again shows the saved answers, and no new check.
    await page.close()
    page = await browsing.open()
    await page.goto(f"{base}/app/exam/attempt/{attempt_id}")
    for question in questions:
        for option in right(product, question):
            box = question_set(page, question).locator(f'input[value="{option}"]')
            if question in first:
                await expect(box).to_be_checked()
            else:
                await expect(box).not_to_be_checked()
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^(29|30):\d\d$"))
    await expect(page.locator("#check")).to_be_hidden()

    for question in rest:
        await answer(product, page, question)
    await saved_answers(attempt_id, {q: right(product, q) for q in questions})
    dialogs: list[str] = []
    confirm = await page.locator("#submit").get_attribute("data-confirm")
    page.once("dialog", lambda dialog: accept_confirm(dialogs, dialog))
    await page.locator("#submit").click()

    await expect(page).to_have_url(re.compile(rf"/app/exam/attempt/{attempt_id}/review$"))
    assert dialogs == [confirm]  # every question answered: the plain confirm, accepted
    result = page.locator("#result")
    await expect(result).to_have_attribute("data-passed", "yes")
    await expect(result).to_have_attribute("data-score", "100")
    await expect(page.locator("#timed-out")).to_have_count(0)
    row = await ExamAttempt.get(id=attempt_id)
    assert (row.status, row.score) == ("submitted", 100)

    # The receipt: its QR code leads the certificate office to the verification page.
    receipt = await Receipt.get(enrolment_id=enrolment_id)
    png_link = await page.locator("#receipt-png").get_attribute("href")
    png = await page.request.get(f"{base}{png_link}")
    assert png.status == 200 and png.headers["content-type"] == "image/png"
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(await png.body())))
    assert len(codes) == 1, codes
    verify_url = codes[0].text
    assert verify_url.startswith(f"{base}/verify/")
    assert verify_url == product.services.exams.verify_url(receipt)
    pdf_link = await page.locator("#receipt-pdf").get_attribute("href")
    pdf = await page.request.get(f"{base}{pdf_link}")
    assert pdf.status == 200 and (await pdf.body()).startswith(b"%PDF")

    await page.goto(verify_url)
    await expect(page.locator("#verification")).to_have_attribute("data-status", "genuine")
    await expect(page.locator("#receipt-number")).to_have_text(receipt.number)

    # The bot sent the receipt to the chat: the image with its caption, then the PDF.
    def receipt_sent(messages: list[dict]) -> bool:
        return any(m["photo"] for m in messages) and any(m["document"] for m in messages)

    messages = await bot_messages(product, PASSER, receipt_sent)
    photos = [m for m in messages if m["photo"]]
    documents = [m["document"] for m in messages if m["document"]]
    assert len(photos) == 1 and receipt.number in (photos[0]["caption"] or ""), messages
    assert [d["file_name"] for d in documents] == [f"receipt-{receipt.number}.pdf"], messages


async def test_the_server_closes_an_attempt_at_its_deadline_while_the_page_is_open(
    browsing: Browsing, product: Runtime
) -> None:
    page = await browsing.open()
    # The page's timers run on a clock the test can stop, as a phone stops a background tab's.
    await page.clock.install()
    enrolment_id = await ready_to_sit(product, page, LATECOMER, "C-EXAM-2")
    attempt_id = await start_attempt(product, page, enrolment_id)
    first = (await draw(attempt_id))[0]
    await answer(product, page, first)
    await saved_answers(attempt_id, {first: right(product, first)})

    # The phone goes to sleep (the page's timers stop) and time passes: the deadline is now two
    # seconds away. The page, reloaded, counts down from the server's deadline, but stands still
    # before 0:00, so it cannot submit; nobody does.
    await page.clock.pause_at(await page.evaluate("Date.now()") / 1000 + 0.1)
    clock = product.services.handlers["clock"]
    deadline = clock.now() + timedelta(seconds=2)
    await ExamAttempt.filter(id=attempt_id).update(deadline=deadline)
    await page.reload()
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^0:0[12]$"))
    await expect(page.locator("#exam-bar")).to_have_class(re.compile(r"\blate\b"))
    await expect(page.locator("#warning")).to_be_visible()
    await expect(question_set(page, first).locator("input:checked")).to_have_count(
        len(right(product, first))
    )

    # Past the deadline the server's job scores what was saved (here called at once; its
    # scheduled run every 15 s may come first, and then this one finds nothing left to close).
    await asyncio.sleep(max(0.0, (deadline - clock.now()).total_seconds()) + 0.1)
    assert await product.services.exams.close_overdue(clock.now()) in (0, 1)
    row = await ExamAttempt.get(id=attempt_id)
    assert (row.status, row.score) == ("timed_out", 100 // QUESTIONS)
    closes = await ExamEvent.filter(attempt_id=attempt_id, kind__in=["submitted", "timed_out"])
    assert [event.kind for event in closes] == ["timed_out"]

    # The phone wakes up half a minute later: the page learns the attempt is over and shows
    # the result, without closing it a second time.
    await page.clock.fast_forward("00:31")
    await page.clock.resume()
    await expect(page).to_have_url(re.compile(rf"/app/exam/attempt/{attempt_id}/review$"))
    await expect(page.locator("#timed-out")).to_be_visible()
    result = page.locator("#result")
    await expect(result).to_have_attribute("data-score", str(row.score))
    await expect(result).to_have_attribute("data-passed", "no")
    assert (
        await ExamEvent.filter(attempt_id=attempt_id, kind__in=["submitted", "timed_out"]).count()
        == 1
    )
    assert (await ExamAttempt.get(id=attempt_id)).status == "timed_out"

    # The chat hears that the time ran out.
    def told(messages: list[dict]) -> bool:
        return any("⏰" in (m["text"] or "") for m in messages)

    assert told(await bot_messages(product, LATECOMER, told))

"""A WeChat user studies and sits the exam in Chromium, on the WeChat stand-in's phone page, the
web view opened from the chat through WeChat's OAuth: consent and the enrolment photo with the
camera, then on a second device (a tablet's WeChat, its camera showing another picture of the
same person) the exam from ✍️ 考试 with its opening face check, a pass, and the receipt asked for
again in the chat. Screenshots in var/screenshots/wechat/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Frame, FrameLocator, Page, expect

from infra.db import models
from infra.db.exam_models import ExamAttempt
from jijiao.app import Runtime
from tests.browser.test_exam_in_browser import draw, right
from tests.browser.test_study_in_browser import FACE, OTHER_FACE, chromium_with_camera
from tests.browser.wechat_phone import SHOTS, last_from_account, open_phone, say
from tests.study.conftest import seed_enrolment
from tests.support.app import local_settings, running
from tests.support.study import finish_lessons

pytestmark = pytest.mark.browser

OPENID = "o-browser-exam-qian"
QUESTIONS = 4
CAMERA_ON = "() => document.getElementById('camera')?.videoWidth > 0"


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    settings = local_settings(
        tmp_path,
        monkeypatch,
        exam={"questions": QUESTIONS, "time_limit_minutes": 30},
        # A fake camera repeats one frame: it cannot turn its head (tests/study cover that).
        study={"head_turn": False},
    )
    async with running(settings) as runtime:
        yield runtime


def _web(page: Page) -> Frame:
    """The web view's frame inside the phone page."""
    return next(frame for frame in page.frames if "/app" in frame.url)


async def _open_link(page: Page, label: str) -> FrameLocator:
    link = page.locator(".row.account .bubble").get_by_role("link", name=label, exact=True).last
    await expect(link).to_be_visible()
    await link.click()
    return page.frame_locator("#browser-frame")


async def test_a_wechat_user_studies_and_passes_the_exam_in_the_web_view(
    product: Runtime, tmp_path: Path
) -> None:
    expect.set_options(timeout=30_000)  # each answer is a signed round trip through the stand-in
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    async with chromium_with_camera(FACE, tmp_path) as phone_browser:
        phone = await open_phone(
            phone_browser, product.settings.base_url, OPENID, errors, timeout=30_000
        )
        await phone.get_by_role("button", name="关注公众号").click()
        await expect(last_from_account(phone)).to_contain_text("报名")
        account = await models.ChatUser.get(channel="wechat", external_id=OPENID)
        now = product.clock.now()
        enrolment_id = await seed_enrolment(account.id, "C-WX-EXAM", now - timedelta(days=1))

        # 📖 学习 from the menu: the lessons, signed in through OAuth as this person.
        await say(phone, "/menu")
        web = await _open_link(phone, "📖 学习")
        await web.locator("#study-link").click()
        await expect(web.locator("#consent h2")).to_have_count(5)
        await phone.screenshot(path=str(SHOTS / "exam-consent.png"))
        await web.locator("#consent-accept").click()
        await expect(web.locator("#enrol-photo")).to_be_visible()
        await _web(phone).wait_for_function(
            "() => document.getElementById('camera')?.videoWidth > 0"
        )
        await web.locator("#photo-take").click()
        await expect(web.locator("#course")).to_be_visible()
        await phone.screenshot(path=str(SHOTS / "exam-course.png"))
        await finish_lessons(product.services.study, account.id, enrolment_id)

    # The exam on the tablet: ✍️ 考试 says it is open, its link opens the exam page.
    async with chromium_with_camera(OTHER_FACE, tmp_path) as tablet_browser:
        tablet = await open_phone(
            tablet_browser, product.settings.base_url, OPENID, errors, timeout=30_000
        )
        await say(tablet, "/exam")
        await expect(last_from_account(tablet)).to_contain_text("考试已开放")
        web = await _open_link(tablet, "✍️ 进入考试")
        await web.locator("#exam-start").click()
        await expect(web.locator("#check")).to_be_visible()
        # The product's clock (the tests' epoch) and this browser's (the host's) are days apart,
        # as a phone's clock can be: the check counts down the server's minute all the same,
        # where it used to close as "too late" at its first tick.
        await expect(web.locator("#check-timer")).to_have_text(re.compile(r" ([1-5]\d|60)$"))
        await _web(tablet).wait_for_function(
            "() => document.getElementById('camera')?.videoWidth > 0"
        )
        await web.locator("#check-take").click()
        await expect(web.locator("fieldset.question")).to_have_count(QUESTIONS)
        attempt_id = int(re.findall(r"/attempt/(\d+)", _web(tablet).url)[-1])
        await tablet.screenshot(path=str(SHOTS / "exam-attempt.png"))
        for question in await draw(attempt_id):
            for option in right(product, question):
                box = web.locator(f'fieldset.question[data-question="{question}"]')
                await box.locator(f'input[value="{option}"]').check()
        for _ in range(100):
            if len((await ExamAttempt.get(id=attempt_id)).answers) == QUESTIONS:
                break
            await tablet.wait_for_timeout(100)
        tablet.once("dialog", lambda dialog: dialog.accept())
        await web.locator("#submit").click()
        await expect(web.locator("#result")).to_have_attribute("data-passed", "yes")
        await tablet.screenshot(path=str(SHOTS / "exam-passed.png"))

        # The receipt, asked for again in the chat: the image, and the PDF a link away.
        await tablet.locator("#browser-close").click()
        await say(tablet, "/receipt")
        await expect(tablet.locator(".row.account .bubble img").last).to_be_visible()
        await tablet.screenshot(path=str(SHOTS / "exam-receipt.png"))
    assert errors == []

"""The head turn cannot be skipped (issue 15, item 2), in a real browser whose camera shows a
still picture of the trainee (what someone holding a photo of them would show), with the local
chat beside it: a photo sent in the chat does not answer a head-turn check, a check that failed
comes back as a head turn, and a round video turning the asked way does answer it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from infra.db.study_models import FaceCheck, LessonProgress
from jijiao.app import Runtime, running
from tests.browser.conftest import VIEWPORT
from tests.browser.test_study_in_browser import chromium_with_camera
from tests.study.conftest import photo, seed_enrolment
from tests.support import video
from tests.support.app import local_settings
from tests.support.chance import LeftTurnsOnlyWhenOwed
from tests.support.localchat_client import LocalChatClient
from webview.auth import Viewer

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
TRAINEE = 555_301
ANSWER_SECONDS = 8


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    settings = local_settings(
        tmp_path,
        monkeypatch,
        study={
            "minutes_scale": 0.0034,  # 20-minute lessons take 4 s
            "heartbeat_seconds": 1,
            "check_answer_seconds": ANSWER_SECONDS,
            "head_turn": True,
        },
    )
    async with running(settings) as runtime:
        runtime.services.study.chance = LeftTurnsOnlyWhenOwed()
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def held_up_photo(tmp_path: Path) -> AsyncIterator[Browser]:
    """A phone whose camera sees a photo of the trainee held up to it."""
    async with chromium_with_camera(PHOTOS / "person_a_2.jpg", tmp_path) as browser:
        yield browser


async def checks() -> list[FaceCheck]:
    return await FaceCheck.filter(chat_user_id=TRAINEE, kind__in=["start", "random"]).order_by("id")


async def until(condition: Any, seconds: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


async def send_file(chat: LocalChatClient, field: str, data: bytes, **fields: str) -> None:
    form = aiohttp.FormData()
    form.add_field(field, data, filename=f"{field}.bin")
    for key, value in fields.items():
        form.add_field(key, value)
    async with chat.http.post(f"{chat.api}/users/{TRAINEE}/send", data=form) as response:
        assert response.status == 200, await response.text()


async def test_a_still_picture_never_passes_a_head_turn_and_a_round_video_does(
    product: Runtime, held_up_photo: Browser
) -> None:
    base = product.settings.base_url
    now = product.services.handlers["clock"].now()
    enrolment = await seed_enrolment(TRAINEE, "C-TURN-1", now - timedelta(hours=1))
    context = await held_up_photo.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page: Page = await context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    token = product.services.handlers["sessions"].link_token(
        Viewer(TRAINEE, "周十二", "zh-hans"), now
    )
    await page.goto(f"{base}/app/login?token={token}")
    headers = {"X-Requested-With": "jijiao"}
    assert (await page.request.post(f"{base}/app/api/study/consent", headers=headers)).ok
    enrolled = await page.request.post(
        f"{base}/app/api/study/photo",
        data=photo("person_a_1"),
        headers={**headers, "Content-Type": "image/jpeg"},
    )
    assert enrolled.ok, await enrolled.text()

    async with aiohttp.ClientSession() as http:
        chat = LocalChatClient(base, http)
        await chat.send(TRAINEE, "/start", first_name="周十二", language_code="zh-hans")
        await chat.reply(TRAINEE)

        # The lesson opens with a head turn; the camera sees a still photo.
        await page.goto(f"{base}/app/study?enrolment={enrolment}")
        await page.locator("#resume").click()
        await expect(page.locator("#check")).to_be_visible()
        await expect(page.locator("#check-instruction")).to_be_visible()
        [opening] = await checks()
        assert opening.challenge == "left"
        await page.wait_for_function("() => document.getElementById('camera')?.videoWidth > 0")
        await page.locator("#check-take").click()
        await expect(page.locator("#check-error")).to_be_visible(timeout=30_000)

        # A photo sent in the chat does not answer it: the bot asks for a round video.
        await send_file(chat, "photo", photo("person_a_2"))
        asked = await chat.reply(TRAINEE, wait=20)
        assert "圆形视频" in asked["text"] and "左" in asked["text"], asked["text"]
        assert asked["reply_markup"]["inline_keyboard"]  # or ask staff, one tap away
        await opening.refresh_from_db()
        assert opening.result == "pending"

        # The minute runs out. The next check is a head turn again, not a plain selfie.
        await until(lambda: _more_than(1), seconds=ANSWER_SECONDS + 20)
        opening, again = await checks()
        assert (opening.result, opening.reason) == ("failed", "too_late")
        assert again.kind == "random" and again.challenge == "left"
        await expect(page.locator("#check")).to_be_visible()
        await page.locator("#check-take").click()
        await expect(page.locator("#check-error")).to_be_visible(timeout=30_000)
        await again.refresh_from_db()
        assert again.result == "pending"
        assert not await LessonProgress.filter(chat_user_id=TRAINEE, seconds_credited__gt=0)

        # A round video in the chat, looking at the camera and turning left, answers it; the
        # page carries on by itself and the lesson fills up.
        await send_file(chat, "video_note", video.head_turn_left(), length="384", duration="2")
        passed = await chat.reply(TRAINEE, wait=30)
        assert "✅" in passed["text"], passed["text"]
        await again.refresh_from_db()
        assert (again.result, again.reason) == ("passed", None)
        await expect(page.locator("#check")).to_be_hidden()
        await expect(page.locator("#lesson-percent")).to_have_text("100%", timeout=30_000)

    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def _more_than(count: int) -> bool:
    return len(await checks()) > count

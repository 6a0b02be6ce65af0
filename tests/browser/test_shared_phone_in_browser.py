"""Two people, one phone (issue 15, item 1): Telegram allows several accounts on one phone, and a
family or a site team shares phones. Whoever launches the Mini App is served as themselves,
whatever session the browser still holds: the study page, the lessons, the exam and the
receipt. The same for a sign-in link, and for a button sent before /app/launch existed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import FrameLocator, Page, expect

from domain.registry import CertType
from infra.db.exam_models import Receipt
from jijiao.app import Runtime, running
from tests.browser.test_localchat_page import bot_row, send
from tests.study.conftest import photo, seed_enrolment
from tests.support.app import local_settings
from tests.support.study import finish_lessons
from webview.auth import Viewer

LI, WANG = 555_201, 555_202


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    settings = local_settings(
        tmp_path,
        monkeypatch,
    )
    async with running(settings) as runtime:
        yield runtime


async def passed_trainee(
    product: Runtime, user_id: int, cert_type: str, number: str, face: str
) -> tuple[str, int]:
    """Paid, photo taken, every lesson at 100 %, passed with a receipt: (course title, receipt)."""
    now = product.services.handlers["clock"].now()
    enrolment_id = await seed_enrolment(
        user_id, number, now - timedelta(days=3), cert_type=cert_type, state="passed"
    )
    study = product.services.study
    await study.consent(user_id, now)
    assert await study.enrol_photo(user_id, photo(face), now) is None
    await finish_lessons(study, user_id, enrolment_id)
    enrolment = await study.enrolment(user_id, enrolment_id)
    assert enrolment is not None
    receipt = await Receipt.create(
        enrolment_id=enrolment_id, number=f"JJ20261127{user_id}", score=90, hours=8.0, passed_at=now
    )
    return study.course(enrolment).title["zh_CN"], receipt.id


async def open_study(page: Page, name: str) -> FrameLocator:
    """In the local chat, as `name`: /start, then 📖 学习 in the menu."""
    await page.locator("#user-list .list-item", has_text=name).click()
    await expect(page.locator("#chat-subtitle")).to_contain_text(name)
    await send(page, "/start")
    await (
        bot_row(page, f"{name}，您好")
        .last.get_by_role("button", name="📖 学习", exact=True)
        .click()
    )
    return page.frame_locator("#webapp-frame")


async def close_mini_app(page: Page) -> None:
    await page.locator("#webapp-close").click()
    await expect(page.locator("#webapp-dialog")).to_be_hidden()


async def test_two_people_on_one_phone_each_see_only_themselves(
    browser_page: Page, product: Runtime
) -> None:
    page = browser_page
    base = product.settings.base_url
    li_course, li_receipt = await passed_trainee(product, LI, "safety_c", "C-LI-1", "person_b_1")
    wang_course, wang_receipt = await passed_trainee(
        product, WANG, "tower_crane", "T-WANG-1", "person_a_2"
    )
    assert li_course != wang_course
    async with aiohttp.ClientSession() as http:
        for user_id, name in ((LI, "李明"), (WANG, "王强")):
            async with http.post(
                f"{base}/_local/api/users",
                json={"id": user_id, "first_name": name, "language_code": "zh-hans"},
            ) as response:
                assert response.status == 200, await response.text()
    await page.goto(product.local_url)
    await expect(page.locator("body.ready")).to_be_attached()

    # 李明 studies on the phone; his session stays in the browser.
    mini_app = await open_study(page, "李明")
    await expect(mini_app.locator("#greeting")).to_have_text("您好，李明")
    await mini_app.locator("#study-link").click()
    await expect(mini_app.locator("#course h1")).to_have_text(li_course)
    await close_mini_app(page)

    # 王强 picks up the same phone and taps 📖 学习 in his own chat.
    mini_app = await open_study(page, "王强")
    await expect(mini_app.locator("#greeting")).to_have_text("您好，王强")
    await mini_app.locator("#study-link").click()
    await expect(mini_app.locator("#course h1")).to_have_text(wang_course)
    await mini_app.locator("ol.lessons li a").first.click()
    await expect(mini_app.locator("#lesson")).to_be_attached()
    courses = product.services.study.courses
    wang_lesson = courses[CertType.TOWER_CRANE].lessons[0].title["zh_CN"]
    await expect(mini_app.locator("body")).to_contain_text(wang_lesson)
    for lesson in courses[CertType.SAFETY_C].lessons:
        await expect(mini_app.locator("body")).not_to_contain_text(lesson.title["zh_CN"])
    await close_mini_app(page)

    mini_app = await open_study(page, "王强")
    await mini_app.locator("#exam-link").click()
    await expect(mini_app.locator("#receipt-png")).to_have_attribute(
        "href", f"/app/receipt/{wang_receipt}.png"
    )
    await expect(mini_app.locator("body")).not_to_contain_text(li_course)
    # 李明's receipt is not 王强's to see, whatever he types.
    stranger = await page.request.get(f"{base}/app/receipt/{li_receipt}.png")
    own = await page.request.get(f"{base}/app/receipt/{wang_receipt}.png")
    assert (stranger.status, own.status) == (404, 200)
    await close_mini_app(page)

    # A sign-in link of 李明's, opened in this browser holding 王强's session, is 李明's.
    now = product.services.handlers["clock"].now()
    link = product.services.handlers["sessions"].link_token(Viewer(LI, "李明", "zh-hans"), now)
    await page.goto(f"{base}/app/login?token={link}")
    await expect(page.locator("#greeting")).to_have_text("您好，李明")
    await page.goto(f"{base}/app/exam")
    await expect(page.locator("#receipt-png")).to_have_attribute(
        "href", f"/app/receipt/{li_receipt}.png"
    )

    # A button sent before the upgrade opens the exam page itself, with 王强's initData in the
    # address, while the browser holds 李明's session: 王强 is served, never 李明.
    launch = await page.request.get(
        f"{base}/_local/api/users/{WANG}/webapp", params={"url": f"{base}/app/exam"}
    )
    await page.goto("about:blank")  # a launch is a new page, not a jump within this one
    await page.goto((await launch.json())["url"])
    await expect(page.locator("#receipt-png")).to_have_attribute(
        "href", f"/app/receipt/{wang_receipt}.png"
    )
    await expect(page.locator("body")).not_to_contain_text(li_course)

"""The application form in a real browser, against the whole running product: the chat's offer
opens it, what is known is filled in, an unsigned form is refused on the page, a signature drawn
with the mouse (pointer events, as a finger) goes with the form, and staff's group gets the card
with the PDF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from domain.calendar import add_months
from domain.masking import mask_id_number
from infra.db import models
from jijiao.app import Runtime
from tests.support import registry
from tests.support.app import local_settings, running
from tests.support.localchat_client import LocalChatClient, button_data
from webview.auth import Viewer

TRAINEE = 555031


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    async with running(local_settings(tmp_path, monkeypatch)) as runtime:
        yield runtime


async def overdue(product: Runtime) -> int:
    now = product.services.handlers["clock"].now()
    person = await registry.person(31, "郑三一", "13800000131")
    await models.Binding.create(chat_user_id=TRAINEE, person=person)
    cert = await registry.certificate(person, "53B202600031", "safety_b", add_months(now.date(), 4))
    enrolment = await registry.enrolment(
        cert,
        TRAINEE,
        "overdue",
        paid_at=now - timedelta(days=31),
        study_deadline=now - timedelta(days=1),
    )
    return enrolment.id


async def sign(page: Page) -> None:
    box = await page.locator("#signature").bounding_box()
    assert box is not None
    x, y = box["x"], box["y"] + box["height"] / 2
    await page.mouse.move(x + 20, y)
    await page.mouse.down()
    for step in range(1, 25):
        await page.mouse.move(x + 20 + step * 12, y + (18 if step % 2 else -18), steps=2)
    await page.mouse.up()


async def test_a_trainee_fills_in_signs_and_staff_get_the_card_with_the_pdf(
    browser_page: Page, product: Runtime
) -> None:
    page = browser_page
    enrolment_id = await overdue(product)
    base = product.settings.base_url
    # The chat's offer: the .docx, and a Mini App button that opens this form.
    async with aiohttp.ClientSession() as http:
        chat = LocalChatClient(base, http)
        await chat.send(TRAINEE, "/apply", first_name="郑三一", language_code="zh-hans")
        offer = await chat.reply(TRAINEE)
        await chat.click(TRAINEE, offer["message_id"], button_data(offer, "申请延期"))
        docx = await chat.reply(TRAINEE)
    assert docx["document"]["file_name"].endswith(".docx")
    [[button]] = docx["reply_markup"]["inline_keyboard"]
    assert button["web_app"]["url"] == f"{base}/app/launch/apply/extension/{enrolment_id}"

    now = product.services.handlers["clock"].now()
    token = product.services.handlers["sessions"].link_token(
        Viewer(TRAINEE, "郑三一", "zh-hans"), now
    )
    await page.goto(f"{base}/app/login?token={token}")
    await page.goto(f"{base}/app/apply/extension/{enrolment_id}")

    await expect(page.locator("#fact-name")).to_have_text("郑三一")
    await expect(page.locator("#fact-id")).to_have_text(mask_id_number(registry.id_number(31)))
    await page.locator("#reason").fill("工地在山里，没有信号，耽误了两周。")
    await page.locator("#apply-send").click()
    await expect(page.locator("#signature-error")).to_have_text("请先用手指在框内签名，再提交。")

    await sign(page)
    await expect(page.locator("#signature-error")).to_be_hidden()
    await page.locator("#apply-send").click()
    await expect(page.locator("#apply-done-text")).to_contain_text("已收到：申请 #")

    [application] = await models.Application.filter(enrolment_id=enrolment_id)
    assert application.status == "pending" and application.staff_message_id is not None
    assert product.localchat is not None
    group = product.localchat.messages(product.localchat.config.staff_group_id, include_user=True)
    documents = [m["document"] for m in group["messages"] if m.get("document")]
    assert any((d["file_name"] or "").endswith(".pdf") for d in documents)

"""A staff supervisor at a desktop browser: signed in by the bot's link, ten extension
applications approved in one go, a trainee found by the ID number they gave on the phone and
their identity moved to the new phone's account; then the same pages in English. Every page is
read for internal codes and the wrong language; screenshots in var/screenshots/staff-console/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from infra.db import models
from jijiao.app import Runtime
from tests.browser.journeys import staff_sign_in_link
from tests.support import registry
from tests.support.app import local_settings, running
from tests.support.localchat_client import STAFF, LocalChatClient
from tests.support.witness import Witness


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    async with running(local_settings(tmp_path, monkeypatch)) as runtime:
        yield runtime


async def test_a_supervisor_decides_ten_applications_and_moves_an_identity(
    browser_page: Page, product: Runtime
) -> None:
    page = browser_page
    now = product.clock.now()
    base = product.settings.base_url
    applications = [
        await registry.extension_waiting(n, 100400 + n, now, name=f"申请人{n:02d}")
        for n in range(1, 11)
    ]
    # A trainee whose phone changed: the old account holds the identity, the new one asked.
    moved = await registry.person(450, "陈四五", "13800004500")
    await models.Binding.create(chat_user_id=100450, person=moved)
    request = await models.SupportRequest.create(
        chat_user_id=100451,
        kind="rebind_request",
        details={"id_number": "5301**********4500", "phone": "138****4500", "person_id": moved.id},
    )
    zh = Witness("staff-console", "supervisor-zh", "zh", names={"陈四五", "客服小李 (demo staff)"})

    async with aiohttp.ClientSession() as http:
        link = await staff_sign_in_link(LocalChatClient(base, http))
    await page.goto(link)
    await expect(page.locator("h1")).to_contain_text("申请")
    await expect(page.locator("h1 small")).to_have_text("共 10 条")
    await zh.saw_page(page, "applications")

    for box in await page.locator("input[name=application]").all():
        await box.check()
    await page.get_by_role("button", name="批准").click()
    await expect(page.locator(".flash")).to_contain_text("已批准 10 份申请")
    await zh.saw_page(page, "approved")
    decided = await models.Application.filter(id__in=[a.id for a in applications])
    assert {(a.status, a.decided_by) for a in decided} == {("approved", STAFF)}

    # Found by the ID number typed, which never appears in the address or on the page.
    await page.get_by_role("link", name="学员").click()
    await page.get_by_label("姓名、身份证号或手机号").fill(registry.id_number(450))
    await page.get_by_role("button", name="查找").click()
    await expect(page.locator("h1")).to_have_text("陈四五")
    assert registry.id_number(450) not in page.url
    assert registry.id_number(450) not in await page.content()
    await expect(page.locator("[data-field=phone]")).to_have_text("138****4500")
    await zh.saw_page(page, "person")
    await page.locator(f"tr[data-request='{request.id}']").get_by_role("button").click()
    await expect(page.locator(".flash")).to_contain_text("已从账号 100450 转到账号 100451")
    await expect(page.locator("[data-field=account]")).to_contain_text("100451")
    assert (await models.Binding.get(person_id=moved.id)).chat_user_id == 100451
    await zh.saw_page(page, "moved")

    await page.get_by_role("link", name="审计日志").click()
    await expect(page.locator("tbody")).to_contain_text("把身份转到新账号")
    await zh.saw_page(page, "audit")

    en = Witness(
        "staff-console", "supervisor-en", "en", names={"陈四五", "客服小李 (demo staff)", "申请人"}
    )
    await page.get_by_role("link", name="EN").click()
    await expect(page.locator("h1")).to_contain_text("Audit log")
    await expect(page.locator("tbody")).to_contain_text("moved an identity to a new account")
    await en.saw_page(page, "audit")
    await page.get_by_role("link", name="Applications").click()  # the language stays
    await page.get_by_label("Status").select_option("approved")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("h1 small")).to_have_text("10 found")
    await en.saw_page(page, "approved-list")

    assert zh.problems() == []
    assert en.problems() == []

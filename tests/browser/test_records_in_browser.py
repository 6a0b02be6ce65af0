"""The records pages in a real browser, on the whole product (`jijiao run` wiring, local chat):
a trainee with two years of records who also paid 3 orders (2 invoiced), and an enterprise
contact with 30 employees in mixed states. Every number on screen is checked against the
database."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, expect

from infra.db import models
from infra.db.exam_models import ExamAttempt, Receipt
from jijiao.app import Runtime
from tests.browser.conftest import VIEWPORT
from tests.support.app import local_settings, running
from tests.support.records import (
    employee_id_number,
    enterprise_with_employees,
    payer_with_orders,
    trainee_over_two_years,
)
from webview.auth import Viewer

WANG, CONTACT = 556001, 556002


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    async with running(local_settings(tmp_path, monkeypatch)) as runtime:
        yield runtime


async def signed_in(browser: Browser, product: Runtime, user_id: int, errors: list[str]) -> Page:
    """A browser outside Telegram, signed in with the link the bot gives (/web)."""
    context = await browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda error: errors.append(str(error)))
    sessions = product.services.handlers["sessions"]
    now = product.clock.now()
    token = sessions.link_token(Viewer(user_id, "王五", "zh-hans"), now)
    await page.goto(f"{product.settings.base_url}/app/login?token={token}")
    await page.locator("#records-link").click()
    await expect(page.locator("#my-records")).to_be_visible()
    return page


async def best_and_count(enrolment_id: int) -> tuple[str, str]:
    scores = await ExamAttempt.filter(enrolment_id=enrolment_id).values_list("score", flat=True)
    valid = [s for s in scores if s is not None]
    return (str(max(valid)) if valid else "—"), str(len(scores))


async def test_a_trainee_payer_and_a_contact_read_their_records_and_they_match_the_database(
    chromium_browser: Browser, product: Runtime, tmp_path: Path
) -> None:
    now = product.clock.now()
    ids = await trainee_over_two_years(WANG, 7, now)
    chat = product.localchat
    assert chat is not None
    invoices = [
        chat.store_document(f"%PDF-1.4 invoice {n}".encode(), f"invoice-{n}.pdf", None)
        for n in range(2)
    ]
    orders = await payer_with_orders(WANG, ids, now)
    for order, document in zip(orders, invoices, strict=False):
        await models.Order.filter(id=order.id).update(invoice_file_id=document["file_id"])
    staff = await enterprise_with_employees(7, CONTACT, 30, now)

    # The trainee: two years, each with what the database holds.
    errors: list[str] = []
    page = await signed_in(chromium_browser, product, WANG, errors)
    articles = page.locator("#my-records article.record")
    await expect(articles).to_have_count(2)
    for enrolment_id in ids:
        card = page.locator(f'article[data-enrolment="{enrolment_id}"]')
        best, attempts = await best_and_count(enrolment_id)
        await expect(card.locator(".best")).to_have_text(best)
        await expect(card.locator(".attempts")).to_have_text(attempts)
    receipt = await Receipt.get(enrolment_id=ids[0])
    passed_card = page.locator(f'article[data-enrolment="{ids[0]}"]')
    await expect(passed_card.locator("a.receipt")).to_have_attribute(
        "href", f"/app/receipt/{receipt.id}.pdf"
    )
    await expect(passed_card.locator(".state")).to_have_text("已合格")

    # The same person as a payer: 3 orders, 2 invoices, each downloaded again.
    await page.locator("#to-orders").click()
    await expect(page.locator("section.order")).to_have_count(3)
    for order in orders:
        section = page.locator(f'section.order[data-order="{order.number}"]')
        await expect(section.locator(".amount-yuan")).to_have_text(
            f"¥{order.amount_fen // 100}.{order.amount_fen % 100:02d}"
        )
        covered = await models.OrderItem.filter(order_id=order.id).count()
        await expect(section.locator(".covered li")).to_have_count(covered)
    await expect(page.locator("a.invoice")).to_have_count(2)
    for order, n in ((orders[0], 0), (orders[1], 1)):
        section = page.locator(f'section.order[data-order="{order.number}"]')
        async with page.expect_download() as waiting:
            await section.locator("a.invoice").click()
        download = await waiting.value
        saved = tmp_path / f"invoice-{n}.pdf"
        await download.save_as(saved)
        assert saved.read_bytes() == f"%PDF-1.4 invoice {n}".encode()
    await page.context.close()

    # The contact: 30 employees, filters counted as the database counts them.
    page = await signed_in(chromium_browser, product, CONTACT, errors)
    await expect(page.locator("#no-records")).to_be_visible()
    await page.locator("#to-employees").click()
    rows = page.locator("#employees tbody tr")
    await expect(rows).to_have_count(30)
    for state, expected in (("passed", ["passed"]), ("studying", ["studying", "exam"])):
        await page.locator(f'a[data-filter="{state}"]').click()
        count = await models.Enrolment.filter(
            enterprise_id=staff.enterprise_id, state__in=expected
        ).count()
        await expect(rows).to_have_count(count)
        await expect(page.locator(f'a[data-filter="{state}"] .count')).to_have_text(str(count))
    table = await page.locator("#employees").inner_text()
    assert employee_id_number(7, 4) not in table

    # One employee in the exam: the detail page against the database.
    exam_id = staff.enrolment_ids[3]
    await page.locator(f'tr[data-enrolment="{exam_id}"] td.name a').click()
    best, attempts = await best_and_count(exam_id)
    await expect(page.locator("#employee .best")).to_have_text(best)
    await expect(page.locator("#employee .attempts")).to_have_text(attempts)
    enrolment = await models.Enrolment.get(id=exam_id)
    assert enrolment.study_deadline is not None
    seconds = (enrolment.study_deadline - product.clock.now()).total_seconds()
    await expect(page.locator("#employee .days-left")).to_have_text(str(-int(-seconds // 86400)))
    await expect(page.locator("#lessons .lesson-percent")).not_to_have_count(0)

    # The export: every employee, masked, in Chinese.
    await page.go_back()
    await page.locator('a[data-filter="all"]').click()
    async with page.expect_download() as waiting:
        await page.locator("#export").click()
    download = await waiting.value
    saved = tmp_path / "employees.xlsx"
    await download.save_as(saved)
    sheet = load_workbook(io.BytesIO(saved.read_bytes()), read_only=True).active
    assert sheet is not None
    exported = list(sheet.iter_rows(values_only=True))
    assert exported[0][0] == "姓名" and len(exported) == 31
    assert employee_id_number(7, 4) not in repr(exported)
    await page.context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"

"""The records pages (issue 19): a trainee's learning record, an enterprise contact's employees
with the export and the receipts zip, a payer's orders and invoices; and that nobody reaches a
record they do not answer for."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from domain.registry import CertType
from infra.db import models
from infra.db.exam_models import Receipt
from infra.repositories.records import Records
from infra.signing import Signer
from tests.study.conftest import Trainees
from tests.support import registry
from tests.support.clock import FixedClock
from tests.support.records import (
    COURSES,
    employee_id_number,
    employee_phone,
    enterprise_with_employees,
    payer_with_orders,
    trainee_over_two_years,
)
from tests.support.webapp import signed_in_web_app
from webview import records as records_view
from webview.auth import Sessions
from webview.records import RecordsWeb, add_records_routes

WANG, CONTACT_A, CONTACT_B, STRANGER = 300001, 300002, 300003, 300009


@dataclass
class FakeInvoices:
    """Telegram's file store: what staff attached in the chat."""

    read_ids: list[str] = field(default_factory=list)

    async def read(self, file_id: str) -> tuple[bytes, str]:
        self.read_ids.append(file_id)
        return f"%PDF invoice {file_id}".encode(), ".pdf"


async def receipt_files(receipt_id: int) -> tuple[bytes, bytes]:
    number = (await Receipt.get(id=receipt_id)).number
    return b"PNG", f"%PDF receipt {number}".encode()


@pytest.fixture
async def people(database, i18n, clock: FixedClock, aiohttp_client) -> AsyncIterator[Trainees]:
    sessions = Sessions(Signer(b"k" * 32), session_ttl=86400, link_ttl=600)
    app = signed_in_web_app(i18n, clock, sessions)
    add_records_routes(
        app, RecordsWeb(Records(registry.PII, COURSES, 1.0), receipt_files, FakeInvoices())
    )
    yield Trainees(await aiohttp_client(app), sessions, clock)


async def text_of(client: TestClient, path: str, status: int = 200) -> str:
    response = await client.get(path)
    body = await response.text()
    assert response.status == status, body
    return body


# The trainee's learning record.


async def test_a_trainee_sees_both_years_with_hours_attempts_best_score_and_the_receipt(
    people: Trainees, clock: FixedClock
):
    last_year, this_year = await trainee_over_two_years(WANG, 1, clock.now())
    receipt = await Receipt.get(enrolment_id=last_year)

    page = await text_of(people.as_user(WANG), "/app/records")

    assert page.index(f'data-enrolment="{this_year}"') < page.index(f'data-enrolment="{last_year}"')
    old = page[page.index(f'data-enrolment="{last_year}"') :]
    assert "安全生产考核合格证书C证" in old and "建筑起重司索信号工" in page
    assert '<dd class="state">已合格</dd>' in old
    assert '<dd class="attempts">3</dd>' in old and '<dd class="best">72</dd>' in old
    assert f'href="/app/receipt/{receipt.id}.pdf"' in old
    # The course's class hours as the catalogue gives them and the receipt prints them, not the
    # lessons' minutes; the demo catalogue says its hours are illustrative.
    hours = f"{COURSES[CertType.SAFETY_C].class_hours:g}"
    shown = old[old.index('class="hours"') :][:200]
    assert f"已学 {hours} / {hours} 学时" in shown and "示例" in shown, shown
    new = page[
        page.index(f'data-enrolment="{this_year}"') : page.index(f'data-enrolment="{last_year}"')
    ]
    assert '<dd class="state">学习中</dd>' in new
    assert '<dd class="attempts">0</dd>' in new and '<dd class="best">—</dd>' in new
    assert "/app/receipt/" not in new


async def test_the_learning_record_speaks_english_when_asked(people: Trainees, clock: FixedClock):
    await trainee_over_two_years(WANG, 1, clock.now())
    page = await text_of(people.as_user(WANG), "/app/records?lang=en")
    assert "My learning record" in page and "Best score" in page and "学习记录" not in page


async def test_the_records_page_without_a_session_goes_through_sign_in(people: Trainees):
    people.client.session.cookie_jar.clear()
    response = await people.client.get("/app/records", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"].startswith("/app?next=")


async def test_somebody_with_no_records_is_told_so_and_sees_no_one_elses(
    people: Trainees, clock: FixedClock
):
    await trainee_over_two_years(WANG, 1, clock.now())
    page = await text_of(people.as_user(STRANGER), "/app/records")
    assert 'id="no-records"' in page and "W1-2025" not in page and "王五" not in page
    assert 'id="to-employees"' not in page and 'id="to-orders"' not in page


# The enterprise contact's employees.


async def test_a_contact_sees_only_their_enterprises_employees_with_counts_per_state(
    people: Trainees, clock: FixedClock
):
    mine = await enterprise_with_employees(1, CONTACT_A, 12, clock.now())
    theirs = await enterprise_with_employees(2, CONTACT_B, 6, clock.now())

    page = await text_of(people.as_user(CONTACT_A), "/app/employees")

    assert page.count("<tr data-enrolment=") == 12
    assert all(f'data-enrolment="{i}"' in page for i in mine.enrolment_ids)
    assert not any(f'data-enrolment="{i}"' in page for i in theirs.enrolment_ids)
    passed = await text_of(people.as_user(CONTACT_A), "/app/employees?state=passed")
    assert passed.count("<tr data-enrolment=") == 2
    assert 'data-filter="passed" aria-current="true">合格' in passed


async def test_the_filters_count_what_the_database_holds(people: Trainees, clock: FixedClock):
    mine = await enterprise_with_employees(1, CONTACT_A, 12, clock.now())
    page = await text_of(people.as_user(CONTACT_A), "/app/employees?state=studying")
    studying = await models.Enrolment.filter(
        enterprise_id=mine.enterprise_id, state__in=["studying", "exam"]
    ).count()
    assert page.count("<tr data-enrolment=") == studying == 4
    paid = await models.Enrolment.filter(
        enterprise_id=mine.enterprise_id, paid_at__isnull=False
    ).count()
    assert count_shown(page, "paid") == paid == 8
    assert count_shown(page, "all") == 12


def count_shown(page: str, only: str) -> int:
    found = re.search(rf'data-filter="{only}"[^>]*>[^<]*<span class="count">(\d+)</span>', page)
    assert found is not None, only
    return int(found.group(1))


async def test_a_long_employee_list_comes_a_page_at_a_time_each_row_once(
    people: Trainees, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(records_view, "PAGE_SIZE", 5)
    mine = await enterprise_with_employees(1, CONTACT_A, 12, clock.now())
    client = people.as_user(CONTACT_A)
    seen: list[str] = []
    for page in (1, 2, 3):
        body = await text_of(client, f"/app/employees?state=all&page={page}")
        assert f"第 {page} / 3 页" in body
        assert ('id="page-next"' in body) is (page < 3)
        seen += re.findall(r'<tr data-enrolment="(\d+)"', body)
    assert sorted(map(int, seen)) == sorted(mine.enrolment_ids)
    beyond = await text_of(client, "/app/employees?page=9")
    assert 'id="no-employees"' in beyond
    garbage = await text_of(client, "/app/employees?page=%EF%BC%91")
    assert garbage.count("<tr data-enrolment=") == 5


async def test_employee_id_numbers_and_phones_are_masked_on_the_pages(
    people: Trainees, clock: FixedClock
):
    mine = await enterprise_with_employees(1, CONTACT_A, 6, clock.now())
    client = people.as_user(CONTACT_A)
    table = await text_of(client, "/app/employees")
    detail = await text_of(client, f"/app/employees/{mine.enrolment_ids[2]}")
    for n in range(6):
        assert employee_id_number(1, n) not in table + detail
        assert employee_phone(1, n) not in table + detail
    full_id, phone = employee_id_number(1, 2), employee_phone(1, 2)
    assert f"{full_id[:6]}********{full_id[-4:]}" in detail
    assert f"{phone[:3]}****{phone[-4:]}" in detail


async def test_the_detail_shows_lessons_days_left_attempts_and_best_score(
    people: Trainees, clock: FixedClock
):
    mine = await enterprise_with_employees(1, CONTACT_A, 6, clock.now())
    exam = mine.enrolment_ids[3]  # every lesson done, attempts 40 and 55
    row = await models.Enrolment.get(id=exam)
    assert row.study_deadline is not None
    left = -(-int((row.study_deadline - clock.now()).total_seconds()) // 86400)

    page = await text_of(people.as_user(CONTACT_A), f"/app/employees/{exam}")

    assert f'<dd class="days-left">{left}</dd>' in page
    assert '<dd class="attempts">2</dd>' in page and '<dd class="best">55</dd>' in page
    lessons = COURSES[CertType.SAFETY_C].lessons
    assert page.count('<strong class="lesson-percent">100%</strong>') == len(lessons)
    studying = await text_of(people.as_user(CONTACT_A), f"/app/employees/{mine.enrolment_ids[2]}")
    assert '<strong class="lesson-percent">50%</strong>' in studying


async def test_a_contact_gets_their_employees_receipt_and_every_receipt_in_one_zip(
    people: Trainees, clock: FixedClock
):
    mine = await enterprise_with_employees(1, CONTACT_A, 12, clock.now())
    await enterprise_with_employees(2, CONTACT_B, 12, clock.now())
    client = people.as_user(CONTACT_A)
    passed = mine.enrolment_ids[4]
    receipt = await Receipt.get(enrolment_id=passed)

    single = await client.get(f"/app/employees/{passed}/receipt.pdf")
    assert single.status == 200
    assert await single.read() == f"%PDF receipt {receipt.number}".encode()

    response = await client.get("/app/employees/receipts.zip")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    ours = await Receipt.filter(enrolment__enterprise_id=mine.enterprise_id).values_list(
        "number", flat=True
    )
    assert sorted(name.split("-")[1][:-4] for name in archive.namelist()) == sorted(ours)
    assert len(ours) == 2
    first = archive.namelist()[0]
    assert first.startswith("员工") and archive.read(first).startswith(b"%PDF receipt R001")


async def test_the_export_has_chinese_headers_masked_values_and_every_filtered_row(
    people: Trainees, clock: FixedClock
):
    mine = await enterprise_with_employees(1, CONTACT_A, 12, clock.now())
    response = await people.as_user(CONTACT_A).get("/app/employees/export.xlsx?state=paid")
    assert response.status == 200
    assert "spreadsheetml" in response.headers["Content-Type"]
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]

    body_bytes = await response.read()
    # Its length is known before it is sent: the browser shows the download's progress.
    assert int(response.headers["Content-Length"]) == len(body_bytes)
    sheet = load_workbook(io.BytesIO(body_bytes), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:3] == ("姓名", "身份证号", "手机号") and "最高分" in header
    paid = await models.Enrolment.filter(
        enterprise_id=mine.enterprise_id, paid_at__isnull=False
    ).count()
    assert len(body) == paid == 8
    text = repr(rows)
    for n in range(12):
        assert employee_id_number(1, n) not in text and employee_phone(1, n) not in text
    best = {row[0]: row[header.index("最高分")] for row in body}
    assert best["员工00004"] == 80 and best["员工00003"] == 55


# What nobody else reaches.


async def test_a_contact_cannot_open_another_enterprises_employee_or_receipt(
    people: Trainees, clock: FixedClock
):
    await enterprise_with_employees(1, CONTACT_A, 6, clock.now())
    theirs = await enterprise_with_employees(2, CONTACT_B, 6, clock.now())
    client = people.as_user(CONTACT_A)
    for enrolment_id in (theirs.enrolment_ids[3], theirs.enrolment_ids[4], 999999):
        page = await text_of(client, f"/app/employees/{enrolment_id}", status=404)
        assert "员工0000" not in page and "C002-" not in page
        await text_of(client, f"/app/employees/{enrolment_id}/receipt.pdf", status=404)
    await text_of(client, "/app/employees/abc", status=404)


async def test_a_trainee_is_not_shown_employees_nor_the_export_nor_the_receipts(
    people: Trainees, clock: FixedClock
):
    theirs = await enterprise_with_employees(2, CONTACT_B, 6, clock.now())
    await trainee_over_two_years(WANG, 1, clock.now())
    client = people.as_user(WANG)
    page = await text_of(client, "/app/employees", status=403)
    assert "企业联系人" in page and "员工0000" not in page
    for path in ("/app/employees/export.xlsx", "/app/employees/receipts.zip"):
        response = await client.get(path)
        assert response.status == 403
        assert "员工0000" not in await response.text()
    await text_of(client, f"/app/employees/{theirs.enrolment_ids[4]}", status=404)


async def test_an_employees_own_enrolment_is_not_opened_through_the_contact_pages(
    people: Trainees, clock: FixedClock
):
    """A trainee who is also some enterprise's contact still reaches only that enterprise's."""
    own = await trainee_over_two_years(WANG, 1, clock.now())
    await enterprise_with_employees(1, WANG, 3, clock.now())
    await text_of(people.as_user(WANG), f"/app/employees/{own[0]}", status=404)


# The payer's orders and invoices.


async def test_a_payer_sees_every_order_what_it_covered_and_downloads_the_invoices(
    people: Trainees, clock: FixedClock
):
    ids = await trainee_over_two_years(WANG, 1, clock.now())
    orders = await payer_with_orders(WANG, ids, clock.now())
    client = people.as_user(WANG)

    page = await text_of(client, "/app/orders")

    assert page.count('class="card order"') == 3
    assert "¥120.00" in page and page.count("¥100.00") >= 2
    assert "W1-2025" in page and "W1-2026" in page
    assert '<dd class="status">已过期（未支付）</dd>' in page
    assert page.count('class="button secondary invoice"') == 2
    response = await client.get(f"/app/orders/{orders[0].id}/invoice")
    assert response.status == 200
    assert await response.read() == f"%PDF invoice {orders[0].invoice_file_id}".encode()
    assert f"invoice-{orders[0].number}.pdf" in response.headers["Content-Disposition"]
    home = await text_of(client, "/app/records")
    assert 'id="to-orders"' in home


async def test_nobody_downloads_another_payers_invoice_nor_one_not_issued(
    people: Trainees, clock: FixedClock
):
    ids = await trainee_over_two_years(WANG, 1, clock.now())
    orders = await payer_with_orders(WANG, ids, clock.now())
    stranger = people.as_user(STRANGER)
    for order in orders:
        response = await stranger.get(f"/app/orders/{order.id}/invoice")
        assert response.status == 404
        assert order.number not in await response.text()
    page = await text_of(stranger, "/app/orders")
    assert 'id="no-orders"' in page and orders[0].number not in page
    not_issued = orders[2]
    await text_of(people.as_user(WANG), f"/app/orders/{not_issued.id}/invoice", status=404)
    await text_of(people.as_user(WANG), "/app/orders/x1/invoice", status=404)

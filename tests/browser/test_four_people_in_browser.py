"""The whole product walked as four people, in their own language, through the local chat and
Chromium: a Chinese trainee and an English trainee (enrol → pay → study with face checks →
exam → receipt → verify), an enterprise contact (enrol employees, pay, ask in their own words)
and staff (topic, card, reply, decisions, /stats, /exam, export; an English trainee's
extension approved and another refused).

At every step the next one must be a button on the message that names it (`Person.tap` fails
otherwise). Every message and page each person met is scanned for internal codes and for text
in the wrong language (`tests/support/witness.py`), and screenshots are saved under
var/screenshots/four-people/ to look at.

A fake camera repeats one frame and the same picture twice is refused as a replay, so a
trainee uses three phones, each camera showing another picture of the same person.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import zxingcpp
from openpyxl import load_workbook
from PIL import Image
from playwright.async_api import Browser, Page, expect

from infra.db import models
from infra.db.exam_models import ExamAttempt, ExamEvent, Receipt
from jijiao.app import Runtime
from tests.browser.journeys import Person
from tests.browser.test_study_in_browser import FACE, OTHER_FACE, chromium_with_camera
from tests.support import registry
from tests.support.app import local_settings, running
from tests.support.clock import days_from_today
from tests.support.localchat_client import LocalChatClient, eventually
from tests.support.witness import Witness

pytestmark = pytest.mark.long  # minutes: run first (tests/conftest.py)

JOURNEY = "four-people"
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
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture(loop_scope="session")
async def phones(tmp_path: Path) -> AsyncIterator[list[Browser]]:
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(chromium_with_camera(photo, tmp_path))
            for photo in (FACE, OTHER_FACE, shifted(OTHER_FACE, tmp_path))
        ]


async def enrol_myself(person: Person, sequence: int, name: str, phone: str) -> dict:
    """From /start to the enrolment's confirmation, by the buttons each message offers."""
    menu = await person.say("/start")
    who = await person.tap(menu, "📝 Enrol")
    ask_id = await person.tap(who, "👤 Myself")
    assert registry.id_number(sequence)[:2] not in ask_id["text"]
    await person.say(registry.id_number(sequence))
    await person.say(name)
    _confirmed, listing = await person.share_phone(phone)
    return await person.tap(listing, "✅ Enrol selected ({count})", count=1)


async def pay_by_qr(
    person: Person,
    message: dict,
    http: aiohttp.ClientSession,
    base: str,
    credit_code: str | None = None,
) -> str:
    """💳 → invoice details → confirm → the QR code, paid on the sandbox's page; the reply."""
    bill = await person.tap(message, "💳 Pay")
    ask_title = await person.tap(bill, "🧾 Invoice details")
    payer_is_title = ask_title["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await person.chat.click(person.user, ask_title["message_id"], payer_is_title)
    bill = await person.reply()
    skip = person.words("Skip")
    while any(skip == b["text"] for row in bill["reply_markup"]["inline_keyboard"] for b in row):
        bill = await person.tap(bill, "Skip")  # the taxpayer ID (unless known), the email
    order = await person.tap(bill, "✅ Confirm and pay")
    if credit_code is not None:  # an enterprise confirms with its credit code once more
        order = await person.say(credit_code)
    assert order.get("photo"), order.get("text")
    async with http.get(base + order["photo"]["url"]) as response:
        image = Image.open(io.BytesIO(await response.read()))
    [decoded] = zxingcpp.read_barcodes(image)
    return decoded.text


async def take_the_check(page: Page) -> None:
    await expect(page.locator("#check")).to_be_visible()
    await page.wait_for_function("() => document.getElementById('camera')?.videoWidth > 0")
    await page.locator("#check-take").click()
    await expect(page.locator("#check")).to_be_hidden(timeout=30_000)


@pytest.mark.parametrize(
    ("language", "user", "sequence", "name"),
    [("zh", 100081, 81, "张建国"), ("en", 100082, 82, "王小英")],
    ids=["chinese-trainee", "english-trainee"],
)
async def test_a_trainee_enrols_pays_studies_passes_and_the_receipt_verifies(
    product: Runtime,
    phones: list[Browser],
    http: aiohttp.ClientSession,
    language: str,
    user: int,
    sequence: int,
    name: str,
) -> None:
    base = product.settings.base_url
    number = f"云建安B(2022)00{sequence}"
    holder = await registry.person(sequence, name, f"1380000{sequence:04d}")
    await registry.certificate(holder, number, "safety_b", days_from_today(124))
    names = {name, name[0], number, "云建安B"}  # the masked number starts so
    witness = Witness(JOURNEY, f"{language}-trainee", language, names=names)
    trainee = Person(LocalChatClient(base, http), user, name, witness)

    enrolled = await enrol_myself(trainee, sequence, name, f"1380000{sequence:04d}")
    pay_url = await pay_by_qr(trainee, enrolled, http, base)

    # The sandbox's checkout page, paid in a browser as a phone's wallet would.
    checkout = await trainee.open(phones[0], pay_url)
    await witness.saw_page(checkout, "checkout")
    await checkout.locator("button[type=submit], #pay").first.click()
    paid = await trainee.reply()
    assert trainee.link(paid, "📖 Start studying")  # the next step: study, one tap away
    await checkout.context.close()

    # Phone 1: consent and the enrolment photo.
    page = await trainee.open_signed(phones[0])
    await witness.saw_page(page, "home")
    await page.locator("#study-link").click()
    await witness.saw_page(page, "consent")
    await page.locator("#consent-accept").click()
    await page.wait_for_function("() => document.getElementById('camera')?.videoWidth > 0")
    await page.locator("#photo-take").click()
    await expect(page.locator("#course")).to_be_visible(timeout=30_000)
    await witness.saw_page(page, "course")
    await page.context.close()

    # Phone 2: every lesson, the first opening with a face check; each names the next step.
    page = await trainee.open_signed(phones[1])
    await page.locator("#study-link").click()
    lessons = await page.locator("ol.lessons li").evaluate_all(
        "items => items.map(item => item.dataset.lesson)"
    )
    for n, lesson in enumerate(lessons):
        await page.locator(f'li[data-lesson="{lesson}"] a').click()
        if n == 0:
            await take_the_check(page)
        await expect(page.locator("#lesson-percent")).to_have_text("100%", timeout=30_000)
        following = "/app/exam?" if n == len(lessons) - 1 else f"/lesson/{lessons[n + 1]}?"
        await expect(page.locator("#next a")).to_have_attribute(
            "href", re.compile(re.escape(following))
        )
        if n == 0:
            await witness.saw_page(page, "lesson")
        await page.locator("#back").click()
    await expect(page.locator("#all-done")).to_be_visible()
    await page.locator("#take-exam").click()
    await expect(page.locator("#exam-start")).to_be_visible()
    await witness.saw_page(page, "exam-home")
    await page.context.close()

    # Phone 3: the exam, answered right, and the receipt in the chat.
    page = await trainee.open_signed(phones[2])
    await page.goto(f"{base}/app/exam")
    await page.locator("#exam-start").click()
    await take_the_check(page)
    await expect(page).to_have_url(re.compile(r"/app/exam/attempt/\d+$"))
    await witness.saw_page(page, "exam")
    # Each question's title sits inside its card, however many lines it wraps to.
    outside = await page.locator("fieldset.question").evaluate_all(
        """cards => cards.filter(card => {
            const title = card.querySelector("legend").getBoundingClientRect();
            const inside = card.getBoundingClientRect().top
                + parseFloat(getComputedStyle(card).paddingTop);
            return title.top < inside - 1;
        }).length"""
    )
    assert outside == 0
    attempt = await ExamAttempt.get(enrolment__certificate__number=number)
    exams = product.services.exams
    for item in attempt.draw:
        for option in sorted(exams.questions[item["q"]].rule.correct):
            await page.locator(
                f'fieldset[data-question="{item["q"]}"] input[value="{option}"]'
            ).check()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    for _ in range(50):  # every answer on the server before submitting
        if len((await ExamAttempt.get(id=attempt.id)).answers) == QUESTIONS:
            break
        await asyncio.sleep(0.1)
    await page.locator("#submit").click()
    await expect(page.locator("#result")).to_have_attribute("data-passed", "yes")
    await witness.saw_page(page, "result")

    receipt = await Receipt.get(enrolment__certificate__number=number)
    messages = await trainee.replies(count=2, wait=20)
    photo = next(m for m in messages if m.get("photo"))
    assert receipt.number in photo["caption"]
    assert any((m.get("document") or {}).get("file_name", "").endswith(".pdf") for m in messages)
    witness.names.add(receipt.number)
    async with http.get(base + photo["photo"]["url"]) as response:
        image = Image.open(io.BytesIO(await response.read()))
    [code] = zxingcpp.read_barcodes(image)
    await page.goto(code.text)
    await expect(page.locator("#verification")).to_have_attribute("data-status", "genuine")
    await witness.saw_page(page, "verify")
    await page.context.close()

    # The conversation as the trainee saw it, in the local chat page.
    chat_page = await trainee.open(phones[0], product.local_url)
    await chat_page.locator("#user-list li", has_text=name).click()
    await expect(chat_page.locator(".msg.in").last).to_be_visible()
    witness.seen.append(("chat page", await chat_page.locator("#messages-inner").inner_text()))
    await witness.screenshot(chat_page, "chat")
    await chat_page.context.close()

    enrolment = await models.Enrolment.get(certificate__number=number)
    assert enrolment.state == "passed"
    witness.assert_clean()
    assert not trainee.errors, f"JavaScript errors or CSP violations: {trainee.errors}"


async def test_an_enterprise_contact_enrols_employees_pays_and_asks_in_their_own_words(
    product: Runtime, phones: list[Browser], http: aiohttp.ClientSession
) -> None:
    base = product.settings.base_url
    company = "云南滇池建设有限公司"
    enterprise = await registry.enterprise(85, company, "13900000085")
    employees = ["赵一", "钱二", "孙三"]
    numbers = [f"云建安C(2022)0085{n}" for n in range(3)]
    for n, (name, number) in enumerate(zip(employees, numbers, strict=True)):
        worker = await registry.person(850 + n, name, f"1370000085{n}")
        await registry.certificate(
            worker, number, "safety_c", days_from_today(150), employer=enterprise
        )
    names = {company, *employees, *numbers, *(name[0] for name in employees), "云建安C"}
    witness = Witness(JOURNEY, "enterprise-contact", "zh", names=names)
    contact = Person(LocalChatClient(base, http), 100085, "刘经理", witness)

    # First, in their own words: the answer says how, with the step as a button.
    answer = await contact.say("你好，我们公司的员工怎么学习？")
    assert contact.button(answer, "📝 Enrol")

    who = await contact.tap(await contact.say("/start"), "📝 Enrol")
    await contact.tap(who, "🏢 My company's employees")
    await contact.say(registry.credit_code(85))
    _confirmed, roster = await contact.share_phone("13900000085")
    enrolled = await contact.tap(roster, "✅ Enrol selected ({count})", count=3)
    pay_url = await pay_by_qr(contact, enrolled, http, base, registry.credit_code(85))

    checkout = await contact.open(phones[0], pay_url)
    await witness.saw_page(checkout, "checkout")
    await checkout.locator("button[type=submit], #pay").first.click()
    paid = await contact.reply()
    # How each employee studies, on their own phone; the contact's own page has nothing to
    # study, so no study button here.
    assert "每位员工在自己的手机上学习" in paid["text"] and "「👤 本人报名」" in paid["text"]
    assert not (paid.get("reply_markup") or {}).get("inline_keyboard")
    await checkout.context.close()

    assert await models.Enrolment.filter(channel="enterprise", paid_at__isnull=False).count() == 3
    status = await contact.say("/status")
    assert "学习中：3" in status["text"]  # the three employees, paid, now studying
    witness.assert_clean()
    assert not contact.errors, contact.errors


async def overdue_enrolment(cert: models.Certificate, user: int, now) -> models.Enrolment:
    return await registry.enrolment(
        cert,
        user,
        "overdue",
        paid_at=now - timedelta(days=40),
        study_deadline=now - timedelta(days=10),
    )


async def test_staff_answer_a_topic_decide_applications_and_read_stats_exams_and_the_export(
    product: Runtime, phones: list[Browser], http: aiohttp.ClientSession
) -> None:
    base = product.settings.base_url
    chat = LocalChatClient(base, http)
    now = product.clock.now()
    # An English trainee with two certificates past their 30 days, and a third mid-exam.
    name, user = "李华", 100086
    holder = await registry.person(86, name, "13800000086")
    numbers = [f"云建安B(2022)0086{n}" for n in range(3)]
    certs = [
        await registry.certificate(holder, number, "safety_b", days_from_today(120))
        for number in numbers
    ]
    await models.Binding.create(chat_user_id=user, person=holder)
    for cert in certs[:2]:
        await overdue_enrolment(cert, user, now)
    studying = await registry.enrolment(
        certs[2],
        user,
        "studying",
        paid_at=now - timedelta(days=5),
        study_deadline=now + timedelta(days=25),
    )
    attempt = await ExamAttempt.create(
        enrolment=studying,
        chat_user_id=user,
        number=1,
        status="submitted",
        bank_version=1,
        started_at=now - timedelta(hours=2),
        deadline=now - timedelta(hours=1),
        closed_at=now - timedelta(hours=1, minutes=30),
        draw=[{"q": "c20", "o": [0, 1, 2, 3]}],
        answers={"c20": [1]},
        score=40,
    )
    for minutes, kind, detail in [
        (0, "started", None),
        (5, "saved", "c20"),
        (30, "submitted", "40"),
    ]:
        await ExamEvent.create(
            attempt=attempt,
            at=attempt.started_at + timedelta(minutes=minutes),
            kind=kind,
            detail=detail,
        )

    words = ["I was in hospital for two weeks.", "Hello, please apply for an extension."]
    trainee_names = {name, name[0], *numbers, "云建安B"}
    trainee = Person(chat, user, name, Witness(JOURNEY, "en-applicant", "en", trainee_names))
    staff = Witness(JOURNEY, "staff", "zh", names={*trainee_names, *words, "客服小李 (demo staff)"})

    # Someone not in the registry is refused in English, with the desk one tap away; staff
    # get a topic with what the person gave (the name as typed, the phone masked).
    stranger = Person(chat, 100087, "Tom", Witness(JOURNEY, "en-refused", "en", {"Tom"}))
    ask_id = await stranger.tap(
        await stranger.tap(await stranger.say("/start"), "📝 Enrol"), "👤 Myself"
    )
    assert ask_id
    await stranger.say(registry.id_number(870))
    await stranger.say("Tom Lee")
    _confirmed, refusal = await stranger.share_phone("13800000870")
    recorded = await stranger.tap(refusal, "💬 Contact support")
    told = re.search(r"#(\d+)", recorded["text"])
    assert told, recorded["text"]
    case = await eventually(lambda: _topic_of(100087))
    assert case.topic_name.endswith(f"#{told.group(1)}")
    assert await eventually(lambda: said_in(chat, case.thread_id, "138****0870"))
    staff.names.add("Tom Lee")

    # The trainee asks for help; the topic opens with the trainee's card; staff answer.
    asked = await trainee.say("/support")
    await chat.send(user, words[0])
    ticket = await eventually(lambda: models.SupportTicket.get_or_none(chat_user_id=user))
    topic = ticket.thread_id
    await eventually(lambda: said_in(chat, topic, words[0]))
    await chat.staff_says(words[1], topic)
    answer = await trainee.reply()
    assert words[1] in answer["text"]
    assert asked

    # Two applications: one approved, one refused with a reason; each decision in English.
    for number in numbers[:2]:
        overview = await trainee.say("/apply")
        form = await trainee.tap(overview, "Apply for an extension", naming=number[-4:])
        assert form["document"]["file_name"].endswith(".docx")
        upload = aiohttp.FormData()
        upload.add_field("document", b"PK filled form", filename="form.docx")
        upload.add_field("caption", words[0])
        async with http.post(f"{chat.api}/users/{user}/send", data=upload) as response:
            assert response.status == 200
        await trainee.reply()
    first, second = await models.Application.filter(chat_user_id=user).order_by("id")
    cards = [await eventually(lambda a=a: card_of(chat, topic, a.id)) for a in (first, second)]
    await chat.staff_taps(cards[0], "批准")
    approved = await trainee.reply()
    assert "approved" in approved["text"].lower()
    await chat.staff_taps(cards[1], "驳回")
    await chat.staff_says("The form is incomplete.", topic)
    refused = await trainee.reply()
    assert "The form is incomplete." in refused["text"]
    staff.names.add("The form is incomplete.")

    # /stats, its chart and the export; /exam with an attempt's timeline.
    await chat.staff_says("/stats")
    await chat.staff_says(f"/exam {numbers[2]}")
    general = await eventually(lambda: said_in_general(chat, 4))
    export = next(
        m for m in general if (m.get("document") or {}).get("file_name", "").endswith(".xlsx")
    )
    async with http.get(base + export["document"]["url"]) as response:
        workbook = load_workbook(io.BytesIO(await response.read()), read_only=True)
    rows = [
        " | ".join(str(cell) for cell in row if cell is not None)
        for row in workbook.active.iter_rows(values_only=True)
    ]
    staff.seen.append(("export", "\n".join(rows)))
    assert any(name[0] in row for row in rows[1:])

    # Everything staff saw: every message in the group, every topic.
    for message in await chat.group_messages():
        if message.get("from_bot") or message.get("from", {}).get("is_bot"):
            staff.saw_message(message)
    page = await trainee.open(phones[0], product.local_url)
    await page.locator("#tab-staff").click()
    await page.locator("#topic-list li").first.click()
    await staff.screenshot(page, "group")
    await page.context.close()

    staff.assert_clean()
    trainee.witness.assert_clean()
    stranger.witness.assert_clean()


async def said_in(chat: LocalChatClient, topic: int, text: str) -> bool:
    return any(text in (m.get("text") or "") for m in await chat.group_messages(topic))


async def card_of(chat: LocalChatClient, topic: int, application_id: int) -> dict | None:
    """The application's card, while it still offers its decisions."""
    for message in await chat.group_messages(topic):
        text = message.get("caption") or message.get("text") or ""
        if f"#{application_id}" in text and message.get("reply_markup"):
            return message
    return None


async def said_in_general(chat: LocalChatClient, count: int) -> list | None:
    """The bot's messages outside any topic, once there are `count` of them."""
    found = [
        m
        for m in await chat.group_messages()
        if (m.get("from") or {}).get("is_bot") and not m.get("message_thread_id")
    ]
    return found if len(found) >= count else None


async def _topic_of(user: int) -> models.SupportTicket | None:
    ticket = await models.SupportTicket.get_or_none(chat_user_id=user)
    return ticket if ticket is not None and ticket.thread_id is not None else None

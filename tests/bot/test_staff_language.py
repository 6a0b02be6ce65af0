"""Issue 17: staff read their own language, never an internal code. The group reads the staff
language (STAFF_LANGUAGE); a staff member's own commands answer in theirs."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from enum import StrEnum

import pytest
from aiogram.methods import SendDocument, SendMessage, SendPhoto
from openpyxl import load_workbook
from PIL import Image

from domain.enrolment import EnrolmentState
from domain.exam import AttemptStatus, Identity
from domain.masking import mask_id_number, mask_phone
from domain.payment import OrderStatus
from domain.registry import CertType
from domain.study import CheckKind, CheckResult
from domain.support import ApplicationKind, ApplicationStatus
from domain.timezone import CHINA
from infra.db import models
from infra.db.exam_models import ExamAttempt, ExamEvent
from infra.db.study_models import FaceCheck
from infra.faces.engine import Refusal
from tests.bot.test_support_desk import group_message
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.support import registry, updates
from tests.support.clock import FixedClock, days_from_today
from texts import faces as face_texts
from texts.i18n import use_locale

TRAINEE = updates.user(100171, "周十七")
STAFF_ZH = updates.user(900011, "客服小王")  # Telegram in Chinese
STAFF_EN = updates.user(900012, "Anna", "en")
STAFF_UNSET = updates.user(900013, "Bo", None)  # no Telegram language, none chosen
QUESTIONS = [f"c{n:02d}" for n in range(1, 21)]


async def paid_enrolment(clock: FixedClock) -> models.Enrolment:
    person = await registry.person(171, "周十七", "13800000171")
    await models.Binding.create(chat_user_id=TRAINEE["id"], person=person)
    certificate = await registry.certificate(person, "B-171", "safety_b", days_from_today(200))
    enrolment = await registry.enrolment(
        certificate,
        TRAINEE["id"],
        "exam",
        paid_at=clock.now() - timedelta(days=2),
        study_deadline=clock.now() + timedelta(days=28),
    )
    # created_at is stamped by the database's host time: put it on the test's clock.
    enrolled_at = clock.now() - timedelta(days=3)
    await models.Enrolment.filter(id=enrolment.id).update(created_at=enrolled_at)
    enrolment.created_at = enrolled_at
    return enrolment


async def attempt_with_a_timeline(clock: FixedClock) -> None:
    """Started at 10:00 Beijing; the opening face check at 10:01 came too late; question 20
    saved at 10:03; submitted at 10:30 with 80 points."""
    enrolment = await paid_enrolment(clock)
    now = clock.now()
    attempt = await ExamAttempt.create(
        enrolment=enrolment,
        chat_user_id=TRAINEE["id"],
        number=1,
        status="submitted",
        bank_version=1,
        started_at=now,
        deadline=now + timedelta(hours=1),
        closed_at=now + timedelta(minutes=30),
        draw=[{"q": key, "o": ["A", "B", "C", "D"]} for key in QUESTIONS],
        score=80,
        identity="held",
    )
    for minutes, kind, detail in (
        (0, "started", None),
        (3, "saved", "c20"),
        (30, "submitted", "80"),
    ):
        await ExamEvent.create(
            attempt=attempt, at=now + timedelta(minutes=minutes), kind=kind, detail=detail
        )
    await FaceCheck.create(
        chat_user_id=TRAINEE["id"],
        enrolment=enrolment,
        kind="exam",
        requested_at=now + timedelta(minutes=1),
        result="failed",
        reason="too_late",
    )


def texts_to(session_texts: list[SendMessage], chat_id: int) -> list[str]:
    return [m.text for m in session_texts if m.chat_id == chat_id]


async def stats(harness: BotHarness, staff: dict) -> tuple[str, str, dict[str, str], list[tuple]]:
    """/stats from `staff`: the overview, the chart's caption, the chart's words, the rows."""
    await harness.feed(group_message("/stats", staff))
    overview = harness.session.sent(SendMessage)[-1].text
    [photo] = harness.session.sent(SendPhoto)
    chart = Image.open(io.BytesIO(photo.photo.data))  # type: ignore[union-attr]
    [document] = harness.session.sent(SendDocument)
    sheet = load_workbook(io.BytesIO(document.document.data)).active  # type: ignore[union-attr]
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    return overview, photo.caption or "", dict(chart.text), rows  # type: ignore[attr-defined]


async def test_a_staff_member_with_english_gets_stats_chart_and_export_in_english(
    harness: BotHarness, clock: FixedClock
):
    await paid_enrolment(clock)
    overview, caption, chart, rows = await stats(harness, STAFF_EN)

    assert "Overview" in overview and "exam: 1" in overview
    assert "Safety certificate B: 1" in overview
    assert caption.startswith("Enrolments and passes per week") and "1 enrolled" in caption
    assert chart["Title"] == "Enrolments and passes per week"
    assert "Week starting" in chart["Description"] and "Enrolled 1" in chart["Description"]
    assert rows[0] == (
        "Name",
        "ID number",
        "Phone",
        "Enterprise",
        "Certificate type",
        "Certificate number",
        "State",
        "Enrolled at",
        "Paid at",
        "Study deadline",
    )
    assert rows[1][4] == "Safety certificate B" and rows[1][6] == "exam"


async def test_the_export_is_localized_masked_and_dated_in_beijing_time(
    harness: BotHarness, clock: FixedClock
):
    enrolment = await paid_enrolment(clock)
    await harness.feed(group_message("/stats", STAFF_ZH))
    [document] = harness.session.sent(SendDocument)
    assert document.document.filename.endswith(".xlsx")  # type: ignore[union-attr]
    sheet = load_workbook(io.BytesIO(document.document.data)).active  # type: ignore[union-attr]
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    assert header[1] == "身份证号" and header[6] == "状态" and header[9] == "学习截止日期"
    name, id_number, phone, _company, kind, number, state, enrolled, paid, deadline = (
        cell.value for cell in sheet[2]
    )
    assert name == "周十七" and number == "B-171"
    assert id_number == mask_id_number(registry.id_number(171)) and "*" in id_number
    assert phone == mask_phone("13800000171") and "*" in phone
    assert kind == "安全生产考核合格证书B证" and state == "考试中"
    assert enrolment.study_deadline is not None and enrolment.paid_at is not None
    assert deadline == enrolment.study_deadline.astimezone(CHINA).replace(tzinfo=None)
    assert paid == enrolment.paid_at.astimezone(CHINA).replace(tzinfo=None)
    assert enrolled == enrolment.created_at.astimezone(CHINA).replace(tzinfo=None)
    assert all(cell.is_date for cell in sheet[2][7:])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 20  # an 18-character ID number fits
    assert sheet.column_dimensions["J"].width >= 16  # so does "2026-12-25 10:00"


async def test_a_staff_member_with_english_reads_the_exam_timeline_in_english(
    harness: BotHarness, clock: FixedClock
):
    await attempt_with_a_timeline(clock)
    await harness.feed(group_message("/exam B-171", STAFF_EN))
    text = harness.last_text()
    assert "<b>Attempt 1</b>" in text and "submitted, score 80" in text
    assert "10:00 Started the attempt" in text
    assert "10:01 Face check opening the exam failed: too late" in text
    assert "10:03 Saved the answer to question 20" in text
    assert "10:30 Submitted: 80 points" in text


async def test_the_exam_timeline_is_sentences_in_beijing_time(
    harness: BotHarness, clock: FixedClock
):
    await attempt_with_a_timeline(clock)
    await harness.feed(group_message("/exam B-171", STAFF_ZH))
    text = harness.last_text()
    assert "10:00 开考" in text
    assert "10:01 开考人脸核验未通过：超时" in text
    assert "10:03 保存第 20 题答案" in text
    assert "10:30 交卷：80 分" in text
    assert_no_codes(text)


@pytest.mark.parametrize("staff_locale", ["en"])
async def test_the_group_reads_the_configured_staff_language(harness: BotHarness, clock):
    await paid_enrolment(clock)
    await harness.feed(updates.message("/support", TRAINEE))  # a Chinese trainee
    to_group = texts_to(harness.session.sent(SendMessage), STAFF_GROUP_ID)
    assert any("Trainee card" in text and "Safety certificate B" in text for text in to_group)
    assert not any("学员卡片" in text for text in to_group)
    # The trainee still reads Chinese.
    assert all(
        "Trainee card" not in text
        for text in texts_to(harness.session.sent(SendMessage), TRAINEE["id"])
    )

    # A staff member with no language of their own reads the group's; one in Chinese, Chinese.
    await harness.feed(group_message("/exam", STAFF_UNSET))
    assert harness.last_text().startswith("Usage: /exam")
    await harness.feed(group_message("/exam", STAFF_ZH))
    assert "用法" in harness.last_text()


async def test_by_default_the_group_reads_chinese(harness: BotHarness, clock):
    await paid_enrolment(clock)
    await harness.feed(updates.message("/support", updates.user(TRAINEE["id"], "Zhou", "en")))
    to_group = texts_to(harness.session.sent(SendMessage), STAFF_GROUP_ID)
    assert any("学员卡片" in text for text in to_group)
    await harness.feed(group_message("/exam", STAFF_UNSET))
    assert "用法" in harness.last_text()


# Nothing Chinese staff read carries an internal code.

SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
REPR = re.compile(r"\{'|<[A-Z][A-Za-z]+[ :>(]|\bNone\b|\b(True|False)\b")
ENUMS: tuple[type[StrEnum], ...] = (
    EnrolmentState,
    CertType,
    AttemptStatus,
    Identity,
    CheckKind,
    CheckResult,
    OrderStatus,
    ApplicationStatus,
    ApplicationKind,
    Refusal,
)
CODES = {member.value for enum in ENUMS for member in enum} | {"started", "saved"}


def assert_no_codes(text: str) -> None:
    assert not SNAKE_CASE.search(text), text
    assert not REPR.search(text), text
    words = set(re.findall(r"[A-Za-z_]+", text))
    assert not words & CODES, (words & CODES, text)


async def test_nothing_chinese_staff_read_carries_an_internal_code(
    harness: BotHarness, clock: FixedClock
):
    await attempt_with_a_timeline(clock)
    await harness.feed(updates.message("/support", TRAINEE))
    await harness.feed(group_message("/exam B-171", STAFF_ZH))
    await harness.feed(group_message("/find 周十七", STAFF_ZH))
    _overview, caption, chart, rows = await stats(harness, STAFF_ZH)
    produced = texts_to(harness.session.sent(SendMessage), STAFF_GROUP_ID)
    produced += [caption, chart["Title"], chart["Description"]]
    produced += [str(value) for row in rows for value in row if isinstance(value, str)]
    checks = ((clock.now(), "exam", "too_late", None), (clock.now(), "random", None, 0.71))
    with use_locale("zh_CN"):
        produced.append(face_texts.review_card(7, checks, has_photos=True))
        produced.append(face_texts.exam_review_card(8, None, checks))
    assert (
        "开考人脸核验未通过：超时" in produced[-1]
        and "随机人脸核验通过（相似度 0.710）" in produced[-1]
    )
    assert any("开考人脸核验未通过：超时" in text for text in produced)
    assert any("学员卡片" in text for text in produced)
    for text in produced:
        assert_no_codes(text)


def test_the_daily_summary_for_the_group_is_in_the_staff_language(clock: FixedClock, i18n):
    from bot.reminder_messages import ReminderTexts
    from infra.outbox import Claimed

    item = Claimed(1, STAFF_GROUP_ID, "staff_daily", {}, True, 0, None)
    payload = {"text_key": "staff_daily", "params": {"day": "2026-11-27", "count": 1, "people": []}}
    # The group is nobody's account: the sender's guess is the trainees' default.
    english = ReminderTexts(i18n, "en")(item, payload, "zh_CN", clock.now())
    assert "Daily summary" in english.text
    assert "Daily summary" not in ReminderTexts(i18n)(item, payload, "zh_CN", clock.now()).text


async def test_an_english_staff_member_hears_their_decision_in_english_the_card_stays_chinese(
    harness: BotHarness, clock: FixedClock
):
    from aiogram.methods import AnswerCallbackQuery, EditMessageText

    from bot.callbacks import ApplyAction, ApplyCallback
    from tests.bot.test_support_desk import extension_pending, group_click

    await harness.feed(updates.message("/support", TRAINEE))
    ticket = await models.SupportTicket.get(chat_user_id=TRAINEE["id"])
    _, application = await extension_pending(172, "周十七", TRAINEE["id"], clock)
    approve = ApplyCallback(action=ApplyAction.APPROVE, item=application.id).pack()
    await harness.feed(group_click(approve, STAFF_EN, ticket.thread_id))

    assert harness.session.sent(AnswerCallbackQuery)[-1].text == "Approved."
    [edited] = harness.session.sent(EditMessageText)  # the group's card, for everyone
    assert "✅ 由 Anna 于 " in edited.text

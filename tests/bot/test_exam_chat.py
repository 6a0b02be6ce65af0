"""The exam in the chat: where each enrolment stands (S13, S14), the receipt again at any time,
staff's attempt timeline and revocation."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from aiogram.methods import SendDocument, SendMessage, SendPhoto

from bot.callbacks import MenuAction, MenuCallback
from conversation.flows.exam import receipt_press
from infra.db import models
from infra.db.exam_models import ExamAttempt, ExamEvent, Receipt
from tests.bot.test_support_desk import group_message
from tests.conftest import BotHarness
from tests.support import registry, updates
from tests.support.clock import days_from_today

FACES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
TRAINEE = updates.user(100091, "孙十三")
ENGLISH = updates.user(100092, "Sun", "en")
STAFF = updates.user(900001, "客服小李")


async def enrolment_of(
    user: dict, number: str, state: str, now, cert_type: str = "safety_c"
) -> models.Enrolment:
    person = await registry.holder(f"53010219800101{user['id'] % 10000:04d}", "孙十三")
    await models.Binding.create(chat_user_id=user["id"], person=person)
    certificate = await models.Certificate.create(
        number=number, cert_type=cert_type, person=person, expires_on=days_from_today(215)
    )
    return await models.Enrolment.create(
        certificate=certificate,
        channel="individual",
        enrolled_by=user["id"],
        state=state,
        paid_at=now - timedelta(days=2),
        study_deadline=now + timedelta(days=28),
    )


async def test_s13_the_exam_button_says_which_lessons_are_short(harness: BotHarness, clock):
    await enrolment_of(ENGLISH, "C-BOT-1", "studying", clock.now())
    await harness.feed(updates.click(MenuCallback(action=MenuAction.EXAM).pack(), ENGLISH))
    text = harness.last_text()
    assert "every lesson is at 100%" in text
    assert "Duties of a full-time safety officer: 0%" in text or ": 0%" in text
    assert text.count("• ") == 3  # the three lessons of the safety_c course, none begun


async def test_without_a_paid_enrolment_the_exam_says_what_comes_first(harness: BotHarness):
    await harness.feed(updates.message("/exam", TRAINEE))
    assert "报名缴费" in harness.last_text()


async def test_the_receipt_comes_again_as_image_and_pdf_and_not_once_revoked(
    harness: BotHarness, clock
):
    enrolment = await enrolment_of(TRAINEE, "C-BOT-2", "passed", clock.now())
    receipt = await Receipt.create(
        enrolment=enrolment, number="JJ20261127000042", score=85, hours=0.8, passed_at=clock.now()
    )
    await harness.feed(updates.message("/receipt", TRAINEE))
    [photo] = harness.session.sent(SendPhoto)
    [document] = harness.session.sent(SendDocument)
    assert "85" in (photo.caption or "") and "JJ20261127000042" in (photo.caption or "")
    assert document.document.filename == "receipt-JJ20261127000042.pdf"  # type: ignore[union-attr]

    # The button under the exam overview does the same; another person's receipt id does not.
    await harness.feed(updates.click(MenuCallback(action=MenuAction.EXAM).pack(), TRAINEE))
    assert "已合格" in harness.last_text()
    stranger = updates.user(100093, "路人")
    await harness.feed(updates.click(receipt_press(receipt.id).pack(), stranger))
    assert len(harness.session.sent(SendPhoto)) == 1

    await harness.feed(group_message("/revoke JJ20261127000042 issued in error", STAFF))
    assert "已撤销" in harness.last_text()
    await harness.feed(updates.message("/receipt", TRAINEE))
    assert "撤销" in harness.last_text() and len(harness.session.sent(SendPhoto)) == 1
    await harness.feed(group_message("/revoke JJ20261127000042 again", STAFF))
    assert "不存在或已被撤销" in harness.last_text()


async def test_staff_see_an_attempts_timeline(harness: BotHarness, clock):
    enrolment = await enrolment_of(TRAINEE, "C-BOT-3", "exam", clock.now())
    attempt = await ExamAttempt.create(
        enrolment=enrolment,
        chat_user_id=TRAINEE["id"],
        number=1,
        status="timed_out",
        bank_version=1,
        started_at=clock.now(),
        deadline=clock.now() + timedelta(hours=1),
        closed_at=clock.now() + timedelta(hours=1),
        draw=[],
        score=40,
    )
    for minutes, kind, detail in (
        (0, "started", None),
        (3, "saved", "sc01"),
        (60, "timed_out", "40"),
    ):
        await ExamEvent.create(
            attempt=attempt, at=clock.now() + timedelta(minutes=minutes), kind=kind, detail=detail
        )
    await harness.feed(group_message("/exam C-BOT-3", STAFF))
    text = harness.last_text()
    assert "第 1 次考试" in text and "超时自动交卷" in text
    assert "10:03 保存答案" in text and "11:00 考试时间到，按已保存答案自动交卷：40 分" in text
    await harness.feed(group_message("/exam", STAFF))
    assert "用法" in harness.last_text()
    await harness.feed(group_message("/exam NO-SUCH", STAFF))
    assert "未找到" in harness.last_text()
    assert not harness.session.sent(SendMessage)[0].chat_id == TRAINEE["id"]


async def test_a_selfie_sent_in_the_chat_answers_a_pending_face_check(harness: BotHarness, clock):
    """A check that asks for no head turn (one that does takes a round video instead:
    tests/study/test_face_review.py)."""
    faces = FACES
    study = harness.services.study
    study.config = dataclasses.replace(study.config, head_turn=False)
    enrolment = await enrolment_of(TRAINEE, "C-BOT-4", "studying", clock.now())
    await study.consent(TRAINEE["id"], clock.now())
    assert (
        await study.enrol_photo(TRAINEE["id"], (faces / "person_b_1.jpg").read_bytes(), clock.now())
        is None
    )
    current = await study.enrolment(TRAINEE["id"], enrolment.id)
    assert current is not None
    check = await study.open_lesson(TRAINEE["id"], current, clock.now())
    assert check is not None

    harness.session.files["selfie-1"] = (faces / "person_b_2.jpg").read_bytes()
    photo = [{"file_id": "selfie-1", "file_unique_id": "s1", "width": 600, "height": 800}]
    await harness.feed(updates.message("", TRAINEE, photo=photo))
    assert "人脸核验已通过" in harness.last_text()
    assert await study.pending_check(TRAINEE["id"], clock.now()) is None

    # With no check waiting, a photo is not taken for a selfie.
    await harness.feed(updates.message("", TRAINEE, photo=photo))
    assert "人脸核验" not in harness.last_text()


async def test_staff_list_the_courses_with_their_hours_and_question_banks(harness: BotHarness):
    await harness.feed(group_message("/courses", STAFF))
    text = harness.last_text()
    # One line per certificate type, and one per role that has a course of its own.
    assert text.count("• ") == 9
    assert "现场专业人员：施工员：现场专业人员（施工员）继续教育" in text
    assert "回执学时 24" in text and "考题" in text
    assert text.count("（示例学时：演示课程目录）") == 9  # the demo catalogue says so


async def test_a_makeup_application_opens_after_the_fifth_failed_attempt(
    harness: BotHarness, clock
):
    from domain.support import ApplicationKind

    # An A/B certificate: the manual gives make-up applications online for these.
    enrolment = await enrolment_of(TRAINEE, "B-BOT-5", "exam", clock.now(), "safety_b")
    applications = harness.dispatcher["applications"]
    for number in range(1, 6):
        await ExamAttempt.create(
            enrolment=enrolment,
            chat_user_id=TRAINEE["id"],
            number=number,
            status="submitted",
            bank_version=1,
            started_at=clock.now(),
            deadline=clock.now() + timedelta(hours=1),
            draw=[],
            score=30,
        )
        eligibility = await applications.eligibility(enrolment, ApplicationKind.MAKEUP)
        assert eligibility.allowed == (number == 5), number
    await models.Application.create(
        kind="makeup", enrolment=enrolment, chat_user_id=TRAINEE["id"], status="approved"
    )
    again = await applications.eligibility(enrolment, ApplicationKind.MAKEUP)
    assert not again.allowed and again.attempts_used == 0  # a new set of five to use first

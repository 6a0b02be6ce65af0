"""After the 30 days (R-STUDY-2, R-EXT-1..3): the sweep makes an enrolment overdue and says what
to do next, once; extension, make-up and re-study each reopen the window their rule gives; the
certificate types the manual sends to a phone desk get that desk, not a form."""

from __future__ import annotations

from datetime import timedelta

from aiogram.methods import SendMessage

from application.overdue import OverdueSweep
from application.reminders import OutboxRefresh
from bot.callbacks import ApplyAction, ApplyCallback, MenuAction, MenuCallback
from bot.reminder_messages import ReminderTexts
from domain.exam import Attempt, exam_eligibility
from domain.reminders import QuietHours
from infra.db import models
from infra.db.exam_models import ExamAttempt
from infra.db.study_models import LessonProgress
from infra.outbox import TortoiseBroadcasts, TortoiseOutbox
from infra.repositories.exams import attempt_of as _attempt
from infra.repositories.exams import exam_standing
from tests.bot.test_support_desk import STAFF, group_click
from tests.conftest import BotHarness
from tests.support import registry, updates
from tests.support.clock import FixedClock, days_from_today

TRAINEE = updates.user(100071, "周十一")


async def enrolment_of(
    n: int,
    trainee: dict,
    cert_type: str,
    clock: FixedClock,
    *,
    state: str,
    deadline_in_days: float,
) -> models.Enrolment:
    person = await registry.person(n, trainee["first_name"], f"138000001{n:02d}")
    await models.Binding.create(chat_user_id=trainee["id"], person=person)
    cert = await registry.certificate(person, f"X-{n}", cert_type, days_from_today(200))
    now = clock.now()
    deadline = now + timedelta(days=deadline_in_days)
    return await registry.enrolment(
        cert, trainee["id"], state, paid_at=deadline - timedelta(days=30), study_deadline=deadline
    )


async def fail_five(enrolment: models.Enrolment, chat_id: int, clock: FixedClock, first: int = 1):
    for number in range(first, first + 5):
        await ExamAttempt.create(
            enrolment=enrolment,
            chat_user_id=chat_id,
            number=number,
            status="submitted",
            bank_version=1,
            started_at=clock.now() - timedelta(days=12),
            deadline=clock.now() - timedelta(days=12) + timedelta(hours=1),
            draw=[],
            score=30,
        )


def sweep(clock: FixedClock) -> OverdueSweep:
    always = QuietHours(start=QuietHours().end, end=QuietHours().end)  # off: the test's hour
    return OverdueSweep(TortoiseOutbox(), clock, always)


async def test_past_its_window_an_enrolment_becomes_overdue_and_the_trainee_is_told_once(
    harness: BotHarness, clock: FixedClock, i18n
):
    enrolment = await enrolment_of(
        71, TRAINEE, "safety_b", clock, state="studying", deadline_in_days=-0.5
    )
    running = await enrolment_of(
        72,
        updates.user(100072, "郑十二"),
        "safety_a",
        clock,
        state="studying",
        deadline_in_days=3,
    )
    first = await sweep(clock)()
    again = await sweep(clock)()
    assert (first.moved, first.enqueued) == (1, 1)
    assert (again.moved, again.enqueued) == (0, 0)
    await enrolment.refresh_from_db()
    await running.refresh_from_db()
    assert (enrolment.state, running.state) == ("overdue", "studying")

    # /status says so, in the trainee's words.
    await harness.feed(updates.message("/status", TRAINEE))
    assert "已逾期" in harness.last_text()

    # The one notice: what happened and the next step as a button to the applications.
    [row] = await models.Outbox.filter(chat_id=TRAINEE["id"])
    payload = await OutboxRefresh(TortoiseBroadcasts(TortoiseOutbox()))(row, clock.now())
    assert isinstance(payload, dict)
    rendered = ReminderTexts(i18n)(row, payload, "zh_CN", clock.now())
    assert "延期" in rendered.text and "{" not in rendered.text
    assert rendered.markup is not None
    [[button]] = rendered.markup.inline_keyboard
    assert button.callback_data == MenuCallback(action=MenuAction.APPLICATIONS).pack()
    await harness.feed(updates.click(button.callback_data, TRAINEE))
    offer = harness.session.sent(SendMessage)[-1]
    starts = [b.callback_data for row in offer.reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    extension = ApplyCallback(action=ApplyAction.START, kind="extension", item=enrolment.id)
    assert extension.pack() in starts


async def test_a_makeup_approved_after_day_30_opens_the_exam_for_its_five_attempts(
    harness: BotHarness, clock: FixedClock
):
    enrolment = await enrolment_of(
        73, TRAINEE, "safety_b", clock, state="overdue", deadline_in_days=-10
    )
    await fail_five(enrolment, TRAINEE["id"], clock)
    application = await models.Application.create(
        kind="makeup", enrolment=enrolment, chat_user_id=TRAINEE["id"], form_file_id="f"
    )
    await harness.feed(updates.message("/support", TRAINEE))
    ticket = await models.SupportTicket.get(chat_user_id=TRAINEE["id"])
    approve = ApplyCallback(action=ApplyAction.APPROVE, item=application.id).pack()
    await harness.feed(group_click(approve, STAFF, ticket.thread_id))

    await enrolment.refresh_from_db()
    now = clock.now()
    assert enrolment.state == "studying"
    assert enrolment.study_deadline is not None
    assert enrolment.study_deadline >= now + timedelta(days=30)
    [told] = [
        m.text
        for m in harness.session.sent(SendMessage)
        if m.chat_id == TRAINEE["id"] and "补考申请已批准" in m.text
    ]
    assert "5" in told and enrolment.study_deadline.strftime("%Y") in told
    # What the exam reads now: open, with five attempts (lessons were done before).
    _, granted, _ = await exam_standing(enrolment.id)
    eligibility = exam_eligibility(
        lessons=[("all", 100)],
        window_end=enrolment.study_deadline,
        now=now,
        attempts=await attempts_of(enrolment.id),
        makeups_granted=granted,
    )
    assert eligibility.allowed and eligibility.attempts_left == 5


async def attempts_of(enrolment_id: int) -> list[Attempt]:
    return [_attempt(row) for row in await ExamAttempt.filter(enrolment_id=enrolment_id)]


async def test_restudy_is_offered_once_a_granted_window_ran_out_again_and_starts_the_course_over(
    harness: BotHarness, clock: FixedClock
):
    enrolment = await enrolment_of(
        74, TRAINEE, "site_pro", clock, state="overdue", deadline_in_days=-2
    )
    # Before anything was granted, re-study is not the way: an extension is.
    await harness.feed(updates.message("/apply", TRAINEE))
    offer = harness.session.sent(SendMessage)[-1]
    buttons = [b for row in offer.reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert [b for b in buttons if "延期" in b.text] and not [b for b in buttons if "重学" in b.text]

    await models.Application.create(
        kind="extension", enrolment=enrolment, chat_user_id=TRAINEE["id"], status="approved"
    )
    await LessonProgress.create(
        enrolment=enrolment, lesson="l1", chat_user_id=TRAINEE["id"], seconds_credited=600
    )
    await harness.feed(updates.message("/apply", TRAINEE))
    offer = harness.session.sent(SendMessage)[-1]
    buttons = [b for row in offer.reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    [restudy] = [b for b in buttons if "重学" in b.text]
    assert (
        restudy.callback_data
        == ApplyCallback(action=ApplyAction.START, kind="restudy", item=enrolment.id).pack()
    )

    application = await models.Application.create(
        kind="restudy", enrolment=enrolment, chat_user_id=TRAINEE["id"], form_file_id="f"
    )
    await harness.feed(updates.message("/support", TRAINEE))
    ticket = await models.SupportTicket.get(chat_user_id=TRAINEE["id"])
    approve = ApplyCallback(action=ApplyAction.APPROVE, item=application.id).pack()
    await harness.feed(group_click(approve, STAFF, ticket.thread_id))

    await enrolment.refresh_from_db()
    assert enrolment.state == "studying"
    assert enrolment.study_deadline is not None
    assert enrolment.study_deadline >= clock.now() + timedelta(days=30)
    assert not await LessonProgress.filter(enrolment_id=enrolment.id).exists()
    told = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]]
    assert any("重学申请已批准" in t or ("重学" in t and "批准" in t) for t in told)


async def test_a_c_certificate_past_its_window_is_given_the_phone_desk_not_a_form(
    harness: BotHarness, clock: FixedClock, i18n
):
    await enrolment_of(75, TRAINEE, "safety_c", clock, state="studying", deadline_in_days=-1)
    await sweep(clock)()
    [row] = await models.Outbox.filter(chat_id=TRAINEE["id"])
    rendered = ReminderTexts(i18n)(row, row.payload, "zh_CN", clock.now())
    assert "0871-65631360" in rendered.text and rendered.markup is None

    await harness.feed(updates.message("/apply", TRAINEE))
    offer = harness.session.sent(SendMessage)[-1]
    assert "0871-65631360" in offer.text
    assert offer.reply_markup is None  # nothing to apply for here

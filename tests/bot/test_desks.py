"""Each problem goes to the centre's desk that handles it (the manual's numbers), not to the
enrolment desk for everything."""

from __future__ import annotations

import pytest
from aiogram.methods import CreateForumTopic, SendMessage

from bot.callbacks import HelpCallback, HelpTopic
from domain.desks import DeskId
from infra.db import models
from tests.bot.test_support_desk import group_message
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.support import registry, updates
from tests.support.clock import days_from_today

T1_TRAINEE = updates.user(100171, "褚十七")
T2_TRAINEE = updates.user(100172, "卫十八")
NEWCOMER = updates.user(100173, "蒋十九")
ENROLMENT_T1, ENROLMENT_T2 = "0871-64332710", "0871-64322249"


async def enrolled(user: dict, n: int, cert_type: str, state: str) -> None:
    person = await registry.person(n, user["first_name"], f"138000001{n:02d}")
    cert = await registry.certificate(person, f"D-{n}", cert_type, days_from_today(90))
    await models.Binding.create(chat_user_id=user["id"], person=person)
    await registry.enrolment(cert, user["id"], state)


async def help_topic(harness: BotHarness, topic: HelpTopic, user: dict) -> str:
    await harness.feed(updates.click(HelpCallback(topic=topic).pack(), user))
    return harness.session.sent(SendMessage)[-1].text


async def test_a_track_2_exam_question_names_the_track_2_study_desk(harness: BotHarness):
    await enrolled(T2_TRAINEE, 72, "safety_c", "exam")
    text = await help_topic(harness, HelpTopic.EXAM, T2_TRAINEE)
    assert "0871-65651496" in text
    assert ENROLMENT_T2 not in text and "0871-63122229" not in text


async def test_a_payment_question_names_the_payment_desk_with_both_extensions(
    harness: BotHarness,
):
    await enrolled(T1_TRAINEE, 71, "safety_b", "enrolled")
    text = await help_topic(harness, HelpTopic.ORDER, T1_TRAINEE)
    assert "0871-64109371" in text and "8010" in text and "8026" in text
    assert ENROLMENT_T1 not in text


async def test_a_face_question_names_the_service_desk_and_its_qq_group(harness: BotHarness):
    await enrolled(T1_TRAINEE, 71, "site_pro", "studying")
    text = await help_topic(harness, HelpTopic.FACE, T1_TRAINEE)
    assert "0871-63122229" in text and "779033763" in text and ENROLMENT_T1 not in text


async def test_someone_of_unknown_track_gets_both_tracks_desks(harness: BotHarness):
    text = await help_topic(harness, HelpTopic.DEADLINES, NEWCOMER)
    assert "0871-63122229" in text and "0871-65631360" in text


async def test_a_typed_exam_question_of_a_track_2_trainee_names_their_desk(harness: BotHarness):
    await enrolled(T2_TRAINEE, 72, "rigger", "exam")
    await harness.feed(updates.message("考试打不开怎么办", T2_TRAINEE))
    assert "0871-65651496" in harness.last_text()


async def test_a_studying_trainee_connecting_to_support_hears_the_study_desk_and_staff_see_it(
    harness: BotHarness,
):
    await enrolled(T1_TRAINEE, 71, "safety_a", "studying")
    await harness.feed(updates.message("/support", T1_TRAINEE))
    told = harness.last_text()
    assert "0871-63122229" in told and ENROLMENT_T1 not in told
    [card] = [
        m.text
        for m in harness.session.sent(SendMessage)
        if m.chat_id == STAFF_GROUP_ID and "学员卡片" in m.text
    ]
    assert "0871-63122229" in card and ENROLMENT_T1 not in card


async def test_someone_not_enrolled_is_still_sent_to_the_enrolment_desk(harness: BotHarness):
    await harness.feed(updates.message("/support", NEWCOMER))
    told = harness.last_text()
    assert ENROLMENT_T1 in told and ENROLMENT_T2 in told


@pytest.mark.parametrize("staff_locale", ["en"])
async def test_the_card_names_the_desk_in_the_staff_language(harness: BotHarness):
    await enrolled(T2_TRAINEE, 72, "tower_crane", "enrolled")
    await harness.feed(updates.message("/support", T2_TRAINEE))
    [card] = [
        m.text
        for m in harness.session.sent(SendMessage)
        if m.chat_id == STAFF_GROUP_ID and "Trainee card" in m.text
    ]
    assert "payment desk, 0871-64109371" in card and "payment and invoices" in card


PAYMENT_GROUP = -1001000000777


@pytest.mark.parametrize("desk_groups", [{DeskId.PAYMENT: PAYMENT_GROUP}])
async def test_a_desk_with_its_own_group_gets_its_cases_there_and_staff_answer_from_it(
    harness: BotHarness,
):
    await enrolled(T1_TRAINEE, 71, "safety_b", "enrolled")  # awaiting payment: the payment desk
    await harness.feed(updates.message("/support", T1_TRAINEE))
    [topic] = harness.session.sent(CreateForumTopic)
    assert topic.chat_id == PAYMENT_GROUP
    assert any(
        m.chat_id == PAYMENT_GROUP and "学员卡片" in m.text
        for m in harness.session.sent(SendMessage)
    )
    ticket = await models.SupportTicket.get(chat_user_id=T1_TRAINEE["id"])
    staff = updates.user(900071, "缴费客服小赵")
    await harness.feed(group_message("已经帮您查到订单", staff, ticket.thread_id, PAYMENT_GROUP))
    assert await models.RelayedMessage.filter(ticket=ticket, direction="out").exists()


@pytest.mark.parametrize("desk_groups", [{DeskId.PAYMENT: PAYMENT_GROUP}])
async def test_other_desks_stay_in_the_staff_group(harness: BotHarness):
    await enrolled(T2_TRAINEE, 72, "safety_c", "studying")
    await harness.feed(updates.message("/support", T2_TRAINEE))
    [topic] = harness.session.sent(CreateForumTopic)
    assert topic.chat_id == STAFF_GROUP_ID

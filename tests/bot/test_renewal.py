"""'I have applied for the renewal' under a renewal reminder stops the reminders: for the
holder and the contact of the enterprise that enrolled them, for nobody else."""

from __future__ import annotations

from datetime import timedelta

from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup

from conversation.flows.exam import renewal_press
from domain.calendar import add_months
from infra.db import models
from infra.db.exam_models import Receipt
from tests.conftest import BotHarness
from tests.support import registry, updates
from tests.support.clock import TODAY, FixedClock

HOLDER = updates.user(100181, "沈二十")
HR = updates.user(100182, "韩人事")
STRANGER = updates.user(100183, "杨路人")


async def pass_with_receipt(clock: FixedClock) -> Receipt:
    company = await registry.enterprise(18, "云南换证建设有限公司", "13900000018")
    await models.EnterpriseContact.create(chat_user_id=HR["id"], enterprise=company)
    person = await registry.person(181, "沈二十", "13800000181")
    cert = await registry.certificate(person, "B-181", "safety_b", add_months(TODAY, 1))
    await models.Binding.create(chat_user_id=HOLDER["id"], person=person)
    enrolment = await models.Enrolment.create(
        certificate=cert,
        channel="enterprise",
        enterprise=company,
        enrolled_by=HR["id"],
        state="passed",
        paid_at=clock.now() - timedelta(days=20),
    )
    return await Receipt.create(
        enrolment=enrolment, number="R-181", score=90, hours=24, passed_at=clock.now()
    )


async def applied_at(receipt: Receipt):
    await receipt.refresh_from_db()
    return receipt.renewal_applied_at


async def test_the_holder_saying_they_applied_stops_the_reminders(harness: BotHarness, clock):
    receipt = await pass_with_receipt(clock)
    await harness.feed(updates.click(renewal_press(receipt.id).pack(), HOLDER))

    assert await applied_at(receipt) == clock.now()
    answer = harness.session.sent(AnswerCallbackQuery)[-1]
    assert answer.show_alert and "不再" in (answer.text or "")
    assert harness.session.sent(EditMessageReplyMarkup)


async def test_the_enterprise_contact_may_say_it_for_their_employee(harness: BotHarness, clock):
    receipt = await pass_with_receipt(clock)
    await harness.feed(updates.click(renewal_press(receipt.id).pack(), HR))
    assert await applied_at(receipt) is not None


async def test_someone_else_pressing_it_changes_nothing(harness: BotHarness, clock):
    receipt = await pass_with_receipt(clock)
    await harness.feed(updates.click(renewal_press(receipt.id).pack(), STRANGER))
    assert await applied_at(receipt) is None

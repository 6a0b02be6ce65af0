"""After the pass: the holder (and the enterprise contact who enrolled them) are reminded to
apply for 到期换证 inside the window, with the receipt, until they say it is done (R-CERT-1)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conversation.flows.exam import receipt_press, renewal_press
from domain.calendar import add_months
from infra.db import models
from infra.db.exam_models import Receipt
from tests.reminders import world
from tests.support import registry
from tests.support.clock import TODAY, FixedClock


@pytest.fixture
def transport() -> world.RecordingTransport:
    return world.RecordingTransport()


async def passed(who: world.Trainee, clock: FixedClock, **enrolment) -> Receipt:
    row = await world.studying(who, clock.now() - timedelta(days=5), **enrolment)
    await models.Enrolment.filter(id=row.id).update(state="passed", active_key=None)
    return await Receipt.create(
        enrolment=row, number=f"R-{row.id}", score=88, hours=24, passed_at=clock.now()
    )


async def test_a_pass_inside_the_window_is_followed_by_a_renewal_reminder_with_the_receipt(
    database, clock: FixedClock, i18n, transport
):
    expires_on = add_months(TODAY, 1)
    zhang = await world.trainee(1, expires_on)
    receipt = await passed(zhang, clock)

    report = await world.scanner(clock)()
    assert report.enqueued == 1
    assert await world.sender(i18n, clock, transport)() == 1

    [(chat, message)] = transport.sent
    assert chat == zhang.chat_id
    assert "到期换证" in message.text and "360" in message.text and "0871-63122229" in message.text
    assert f"{add_months(expires_on, -3)} to {add_months(expires_on, 3) - timedelta(days=1)}" in (
        message.text
    )
    assert message.markup is not None
    datas = [b.callback_data for row in message.markup.inline_keyboard for b in row]
    assert receipt_press(receipt.id).pack() in datas
    assert renewal_press(receipt.id).pack() in datas
    assert (await world.scanner(clock)()).enqueued == 0


async def test_the_enterprise_contact_who_enrolled_them_is_reminded_too(
    database, clock: FixedClock, i18n, transport
):
    company = await registry.enterprise(1, "云南测试建设有限公司", "13900000009")
    boss = await world.contact(company, 900_001)
    zhang = await world.trainee(1, add_months(TODAY, 1), employer=company)
    await passed(zhang, clock, enterprise=company)

    await world.scanner(clock)()
    await world.sender(i18n, clock, transport)()

    [to_boss] = transport.texts_to(boss)
    assert "Trainee 1 passed" in to_boss and "到期换证" in to_boss
    assert len(transport.texts_to(zhang.chat_id)) == 1


async def test_no_renewal_reminder_before_the_window_or_for_types_left_to_notices(
    database, clock: FixedClock
):
    early = await world.trainee(1, add_months(TODAY, 5))
    await passed(early, clock)
    crane = await world.trainee(2, add_months(TODAY, 1), cert_type="tower_crane")
    await passed(crane, clock)

    assert (await world.scanner(clock)()).enqueued == 0


async def test_once_they_say_they_applied_no_reminder_is_enqueued_or_sent(
    database, clock: FixedClock, i18n, transport
):
    zhang = await world.trainee(1, add_months(TODAY, 1))
    receipt = await passed(zhang, clock)
    await world.scanner(clock)()
    await Receipt.filter(id=receipt.id).update(renewal_applied_at=clock.now())

    assert await world.sender(i18n, clock, transport)() == 0
    assert transport.sent == []
    assert set((await world.statuses()).values()) == {"dropped"}
    clock.advance(days=31)
    assert (await world.scanner(clock)()).enqueued == 0

"""The overdue sweep through the real sender: one notice per ended window, with the button to
the applications, in the trainee's language; none after an extension moved the window."""

from __future__ import annotations

from datetime import timedelta

from application.overdue import OverdueSweep
from bot.callbacks import MenuAction, MenuCallback
from domain.reminders import QuietHours
from infra.db import models
from infra.outbox import TortoiseOutbox
from tests.reminders import world
from tests.support.clock import FixedClock

FAR = timedelta(days=1131)


async def test_an_ended_window_is_told_once_with_the_applications_button(
    database, clock: FixedClock, i18n
):
    transport = world.RecordingTransport()
    today = clock.now().date()
    ended = await world.trainee(1, today + FAR)
    extended = await world.trainee(2, today + FAR)
    mine = await world.studying(ended, clock.now() - timedelta(hours=1))
    theirs = await world.studying(extended, clock.now() - timedelta(hours=1), state="exam")
    sweep = OverdueSweep(TortoiseOutbox(), clock, QuietHours())

    assert (await sweep()).moved == 2
    # An extension approved before the notice went out: nothing to say any more.
    await models.Enrolment.filter(id=theirs.id).update(
        state="studying", study_deadline=clock.now() + timedelta(days=30)
    )
    clock.advance(minutes=10)
    assert (await sweep()).enqueued == 0
    await world.sender(i18n, clock, transport)()

    [(chat, notice)] = transport.sent
    assert chat == ended.chat_id
    assert "extension" in notice.text and "overdue" in notice.text
    assert notice.markup is not None
    [[button]] = notice.markup.inline_keyboard
    assert button.callback_data == MenuCallback(action=MenuAction.APPLICATIONS).pack()
    await mine.refresh_from_db()
    assert mine.state == "overdue"

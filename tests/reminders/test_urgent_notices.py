"""Order and invoice notices go through the outbox like every reminder (durable, once per key),
but as answers to what the trainee just did they are sent in quiet hours too; a warning that
became pointless (the order was paid) is dropped."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

from aiogram.methods import EditMessageReplyMarkup, SendDocument, SendMessage

from bot.notifier import BotPaymentNotifier
from conversation.flows.payment import ORDER_QR
from domain.checkout import InvoiceDetails, Order
from domain.enrolment import Channel
from domain.payment import OrderStatus
from domain.timezone import CHINA
from infra.db import models
from infra.outbox import TortoiseOutbox
from infra.repositories.accounts import TortoiseAccountRepository
from infra.sender import BotTransport
from tests.reminders import world
from tests.support.clock import TODAY, FixedClock
from tests.support.recording import RecordingSession

PAYER = 100501
NIGHT = datetime.combine(TODAY, time(22), tzinfo=CHINA)  # quiet hours


def order(number: str, status: OrderStatus, invoice: str | None = None) -> Order:
    return Order(
        number=number,
        payer=PAYER,  # type: ignore[arg-type]
        channel=Channel.INDIVIDUAL,
        enterprise_credit_code=None,
        amount_fen=30000,
        status=status,
        created_at=NIGHT - timedelta(minutes=25),
        expires_at=NIGHT + timedelta(minutes=5),
        pay_url="http://pay",
        items=(),
        invoice=InvoiceDetails(title="张三"),
        invoice_file_id=invoice,
    )


def notifier_of(bot, i18n, outbox: TortoiseOutbox, clock: FixedClock) -> BotPaymentNotifier:
    return BotPaymentNotifier(
        bot, i18n, TortoiseAccountRepository(), None, "http://app", outbox=outbox, clock=clock
    )


async def row(number: str, status: str) -> None:
    await models.Order.create(
        number=number,
        payer_chat_user_id=PAYER,
        channel="individual",
        amount_fen=30000,
        status=status,
        provider="sandbox",
        created_at=NIGHT - timedelta(minutes=25),
        expires_at=NIGHT + timedelta(minutes=5),
        invoice_title="张三",
    )


async def test_order_and_invoice_notices_are_outbox_rows_sent_in_quiet_hours_once(
    database, i18n, recording_bot
):
    bot, session = recording_bot
    clock = FixedClock(NIGHT)
    outbox = TortoiseOutbox()
    notifier = notifier_of(bot, i18n, outbox, clock)
    await row("JJ-1", "pending")
    await row("JJ-2", "paid")  # paid after the warning was queued
    await notifier.expiring(order("JJ-1", OrderStatus.PENDING))
    await notifier.expiring(order("JJ-1", OrderStatus.PENDING))  # the job ran twice
    await notifier.expiring(order("JJ-2", OrderStatus.PENDING))
    await notifier.invoice_ready(order("JJ-2", OrderStatus.PAID, invoice="file-invoice-1"))
    # A study reminder queued for now waits for the morning.
    await world.broadcast_to([PAYER], NIGHT, "not at night")

    assert await models.Outbox.filter(kind="order_expiring").count() == 2
    send = world.sender(i18n, clock, BotTransport(bot))
    assert await send() == 2

    texts = [m.text for m in session.sent(SendMessage)]
    assert len(texts) == 1 and "JJ-1" in texts[0] and "22:05" in texts[0]
    [document] = session.sent(SendDocument)
    assert document.document == "file-invoice-1" and "JJ-2" in (document.caption or "")
    statuses = await world.statuses()
    assert statuses["order_expiring|JJ-2"] == "dropped"
    assert [s for k, s in statuses.items() if k.startswith("broadcast")] == ["pending"]


async def test_an_expired_order_notice_carries_the_new_qr_button(database, i18n, recording_bot):
    bot, session = recording_bot
    clock = FixedClock(NIGHT + timedelta(minutes=6))
    notifier = notifier_of(bot, i18n, TortoiseOutbox(), clock)
    await row("JJ-3", "expired")
    await notifier.expired(order("JJ-3", OrderStatus.EXPIRED))
    assert await world.sender(i18n, clock, BotTransport(bot))() == 1
    [message] = session.sent(SendMessage)
    assert "JJ-3" in message.text
    assert message.reply_markup.inline_keyboard[0][0].callback_data.startswith("pay")
    assert isinstance(session, RecordingSession)


async def test_a_paid_notice_clears_the_qr_codes_sent_up_to_its_sending_not_its_queueing(
    database, i18n, recording_bot
):
    """The QR codes are looked up when the notice goes, not in the payment's transaction (one
    round trip less on the payment's hot path): a QR code sent in between loses its buttons
    too."""
    bot, session = recording_bot
    clock = FixedClock(NIGHT)
    outbox = TortoiseOutbox()
    notifier = notifier_of(bot, i18n, outbox, clock)
    await row("JJ-4", "paid")
    await outbox.record_sent(PAYER, ORDER_QR, f"{ORDER_QR}|JJ-4|1", 501, NIGHT)
    paid = replace(order("JJ-4", OrderStatus.PAID), paid_at=NIGHT)
    await notifier.paid(paid, late=False, found_by_reconciliation=False)
    await outbox.record_sent(PAYER, ORDER_QR, f"{ORDER_QR}|JJ-4|2", 502, NIGHT)  # meanwhile
    await outbox.record_sent(PAYER, ORDER_QR, f"{ORDER_QR}|JJ-40|1", 503, NIGHT)  # another order

    assert await world.sender(i18n, clock, BotTransport(bot))() == 1

    cleared = [m.message_id for m in session.sent(EditMessageReplyMarkup)]
    assert sorted(cleared) == [501, 502]
    [message] = session.sent(SendMessage)
    assert "JJ-4" in message.text

"""The payer's confirmation is written with the payment, in one statement on PostgreSQL and one
transaction on SQLite: nothing can come between them (a crash, an error) that leaves an order
paid and its payer never told. The process-level proof is in test_process_killed.py; this one
is quick and exact."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from aiogram.methods import SendMessage
from tortoise.exceptions import IntegrityError

from bot.notifier import BotPaymentNotifier
from domain.checkout import ApplyPayment, Order
from domain.payment import CURRENCY, Outcome, PaymentEvent
from infra.db import models, open_database
from infra.outbox import NewMessage, TortoiseOutbox
from infra.repositories.accounts import TortoiseAccountRepository
from infra.repositories.payments import TortoisePaymentStore
from infra.workdays import ChineseWorkingDays
from tests.payments.test_exactly_once import make_world
from tests.support import registry
from tests.support.clock import FixedClock


class DiesWhileQueueing(BotPaymentNotifier):
    """Fails the first time it makes a confirmation, as a process dying there would."""

    died = False
    error: tuple[type[Exception], ...] = (ConnectionResetError,)

    async def confirmation(
        self, order: Order, *, late: bool, found_by_reconciliation: bool
    ) -> NewMessage | None:
        if not self.died:
            self.died = True
            raise ConnectionResetError("the process died here")
        return await super().confirmation(
            order, late=late, found_by_reconciliation=found_by_reconciliation
        )


class QueuesABadRow(BotPaymentNotifier):
    """The first confirmation is a row the database refuses (no kind): the write fails."""

    refused = False
    # PostgreSQL refuses it in the payment's statement, Tortoise in the transaction (SQLite).
    error = (IntegrityError, ValueError)

    async def confirmation(
        self, order: Order, *, late: bool, found_by_reconciliation: bool
    ) -> NewMessage | None:
        row = await super().confirmation(
            order, late=late, found_by_reconciliation=found_by_reconciliation
        )
        if not self.refused and row is not None:
            self.refused = True
            return replace(row, kind=None)  # type: ignore[arg-type]
        return row


@pytest.mark.parametrize("failing", [DiesWhileQueueing, QueuesABadRow])
async def test_a_payment_whose_confirmation_was_not_queued_is_not_applied_either(
    database, i18n, recording_bot, clock: FixedClock, failing
):
    await confirmation_not_queued_payment_not_applied(i18n, recording_bot, clock, failing)


@pytest.mark.postgres
@pytest.mark.parametrize("failing", [DiesWhileQueueing, QueuesABadRow])
async def test_on_postgresql_the_payment_and_its_confirmation_are_one_statements_all_or_nothing(
    postgres_url, i18n, recording_bot, clock: FixedClock, failing
):
    """There the payment and its confirmation's row are one statement: the confirmation failing
    to be made (before it) or to be written (in it) leaves the order unpaid."""
    context = await open_database(postgres_url)
    try:
        await confirmation_not_queued_payment_not_applied(i18n, recording_bot, clock, failing)
    finally:
        await context.close_connections()


class KeepsOrders(BotPaymentNotifier):
    orders: list[Order]

    async def confirmation(
        self, order: Order, *, late: bool, found_by_reconciliation: bool
    ) -> NewMessage | None:
        self.orders.append(order)
        return await super().confirmation(
            order, late=late, found_by_reconciliation=found_by_reconciliation
        )


@pytest.mark.postgres
async def test_on_postgresql_the_confirmed_order_is_the_paid_order_as_stored(
    postgres_url, i18n, recording_bot, clock: FixedClock
):
    """The order the confirmation is made from is the deciding read's, with the payment's
    values, before the write on PostgreSQL: it must be the order as stored once paid, items
    and holders included."""
    context = await open_database(postgres_url)
    try:
        bot, _ = recording_bot
        world = make_world()
        _, order = await world.paying_trainee()
        notifier = KeepsOrders(
            bot, i18n, TortoiseAccountRepository(), None, "http://app", TortoiseOutbox(), clock
        )
        notifier.orders = []
        store = TortoisePaymentStore(registry.PII)
        apply = ApplyPayment(store, notifier, ChineseWorkingDays(), "sandbox", clock)
        event = PaymentEvent(order.number, True, order.amount_fen, CURRENCY, "TXN-1", None)
        assert await apply(event, "notification") is Outcome.APPLIED
        assert await apply(event, "notification") is Outcome.DUPLICATE
        [confirmed] = notifier.orders
        stored = await store.get(order.number)
        assert confirmed == stored and confirmed.items and confirmed.status.value == "paid"
        assert (
            confirmed.items[0].certificate.holder_id_number
            == order.items[0].certificate.holder_id_number
        )
        assert await models.PaymentLog.filter(order_number=order.number).count() == 2
        assert set(
            await models.Enrolment.filter(order_items__order__number=order.number).values_list(
                "state", flat=True
            )
        ) == {"studying"}
    finally:
        await context.close_connections()


async def confirmation_not_queued_payment_not_applied(
    i18n, recording_bot, clock: FixedClock, failing: type[DiesWhileQueueing | QueuesABadRow]
) -> None:
    bot, _ = recording_bot
    world = make_world()
    _, order = await world.paying_trainee()
    notifier = failing(
        bot, i18n, TortoiseAccountRepository(), None, "http://app", TortoiseOutbox(), clock
    )
    apply = ApplyPayment(
        TortoisePaymentStore(registry.PII), notifier, ChineseWorkingDays(), "sandbox", clock
    )
    event = PaymentEvent(order.number, True, order.amount_fen, CURRENCY, "TXN-1", None)

    # The provider hears no success.
    with pytest.raises(failing.error):
        await apply(event, "notification")
    assert (await models.Order.get(number=order.number)).status == "pending"
    assert not await models.PaymentLog.exists()
    assert not await models.Outbox.exists()

    # The provider repeats the notification (it heard no success), and then once more.
    assert await apply(event, "notification") is Outcome.APPLIED
    assert await apply(event, "notification") is Outcome.DUPLICATE

    assert (await models.Order.get(number=order.number)).status == "paid"
    [confirmation] = await models.Outbox.filter(kind="order_paid")
    assert confirmation.chat_id == order.payer and confirmation.status == "pending"
    assert confirmation.payload["params"]["order"] == order.number


@pytest.mark.postgres
async def test_on_postgresql_concurrent_notifications_queue_one_confirmation(
    postgres_url, i18n, recording_bot, clock: FixedClock
):
    """The confirmation is made before the write, by every notification that decided to apply:
    only the one whose write won queues it."""
    context = await open_database(postgres_url)
    try:
        bot, _ = recording_bot
        world = make_world()
        _, order = await world.paying_trainee()
        notifier = KeepsOrders(
            bot, i18n, TortoiseAccountRepository(), None, "http://app", TortoiseOutbox(), clock
        )
        notifier.orders = []
        apply = ApplyPayment(
            TortoisePaymentStore(registry.PII), notifier, ChineseWorkingDays(), "sandbox", clock
        )
        event = PaymentEvent(order.number, True, order.amount_fen, CURRENCY, "TXN-1", None)
        outcomes = await asyncio.gather(*(apply(event, "notification") for _ in range(12)))
        assert outcomes.count(Outcome.APPLIED) == 1
        assert outcomes.count(Outcome.DUPLICATE) == 11
        [confirmation] = await models.Outbox.filter(kind="order_paid")
        assert confirmation.payload["params"]["order"] == order.number
        assert await models.PaymentLog.filter(order_number=order.number).count() == 12
    finally:
        await context.close_connections()


class TellsWithoutAQueue(BotPaymentNotifier):
    """Without an outbox the payer is told directly: only once the payment is applied."""

    told_after_the_write: list[bool]

    async def paid(self, order: Order, *, late: bool, found_by_reconciliation: bool) -> None:
        stored = await models.Order.get(number=order.number)
        self.told_after_the_write.append(stored.status == "paid")
        await super().paid(order, late=late, found_by_reconciliation=found_by_reconciliation)


async def told_directly_once(i18n, recording_bot, clock: FixedClock) -> None:
    bot, session = recording_bot
    world = make_world()
    _, order = await world.paying_trainee()
    notifier = TellsWithoutAQueue(bot, i18n, TortoiseAccountRepository(), None, "http://app")
    notifier.told_after_the_write = []
    apply = ApplyPayment(
        TortoisePaymentStore(registry.PII), notifier, ChineseWorkingDays(), "sandbox", clock
    )
    event = PaymentEvent(order.number, True, order.amount_fen, CURRENCY, "TXN-1", None)
    assert await apply(event, "notification") is Outcome.APPLIED
    assert await apply(event, "notification") is Outcome.DUPLICATE
    assert notifier.told_after_the_write == [True]
    [message] = session.sent(SendMessage)
    assert order.number in message.text and message.chat_id == order.payer
    assert not await models.Outbox.exists()


async def test_without_an_outbox_the_payer_is_told_once_after_the_payment(
    database, i18n, recording_bot, clock: FixedClock
):
    await told_directly_once(i18n, recording_bot, clock)


@pytest.mark.postgres
async def test_on_postgresql_without_an_outbox_the_payer_is_told_once_after_the_payment(
    postgres_url, i18n, recording_bot, clock: FixedClock
):
    context = await open_database(postgres_url)
    try:
        await told_directly_once(i18n, recording_bot, clock)
    finally:
        await context.close_connections()

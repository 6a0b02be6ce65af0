"""The payer's confirmation is written with the payment, in one transaction: nothing can come
between them (a crash, an error) that leaves an order paid and its payer never told. The
process-level proof is in test_process_killed.py; this one is quick and exact."""

from __future__ import annotations

import pytest

from bot.notifier import BotPaymentNotifier
from domain.checkout import ApplyPayment, Order
from domain.payment import CURRENCY, Outcome, PaymentEvent
from infra.db import models, open_database
from infra.outbox import TortoiseOutbox
from infra.repositories.accounts import TortoiseAccountRepository
from infra.repositories.payments import TortoisePaymentStore
from infra.workdays import ChineseWorkingDays
from tests.payments.test_exactly_once import make_world
from tests.support import registry
from tests.support.clock import FixedClock


class DiesWhileQueueing(BotPaymentNotifier):
    """Fails the first time it queues a confirmation, as a process dying there would."""

    died = False

    async def paid(self, order: Order, *, late: bool, found_by_reconciliation: bool) -> None:
        if not self.died:
            self.died = True
            raise ConnectionResetError("the process died here")
        await super().paid(order, late=late, found_by_reconciliation=found_by_reconciliation)


async def test_a_payment_whose_confirmation_was_not_queued_is_not_applied_either(
    database, i18n, recording_bot, clock: FixedClock
):
    await confirmation_not_queued_payment_not_applied(i18n, recording_bot, clock)


@pytest.mark.postgres
async def test_on_postgresql_the_payment_and_its_confirmation_are_one_statements_all_or_nothing(
    postgres_url, i18n, recording_bot, clock: FixedClock
):
    """There the payment is one statement in the confirmation's transaction."""
    context = await open_database(postgres_url)
    try:
        await confirmation_not_queued_payment_not_applied(i18n, recording_bot, clock)
    finally:
        await context.close_connections()


class KeepsOrders(BotPaymentNotifier):
    orders: list[Order]

    async def paid(self, order: Order, *, late: bool, found_by_reconciliation: bool) -> None:
        self.orders.append(order)
        await super().paid(order, late=late, found_by_reconciliation=found_by_reconciliation)


@pytest.mark.postgres
async def test_on_postgresql_the_confirmed_order_is_the_paid_order_as_stored(
    postgres_url, i18n, recording_bot, clock: FixedClock
):
    """The order the confirmation is made from is read back by the payment's own statement on
    PostgreSQL: it must be the order as stored once paid, items and holders included."""
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
    i18n, recording_bot, clock: FixedClock
) -> None:
    bot, _ = recording_bot
    world = make_world()
    _, order = await world.paying_trainee()
    notifier = DiesWhileQueueing(
        bot, i18n, TortoiseAccountRepository(), None, "http://app", TortoiseOutbox(), clock
    )
    apply = ApplyPayment(
        TortoisePaymentStore(registry.PII), notifier, ChineseWorkingDays(), "sandbox", clock
    )
    event = PaymentEvent(order.number, True, order.amount_fen, CURRENCY, "TXN-1", None)

    with pytest.raises(ConnectionResetError):  # the provider hears no success
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

"""What a payment notification costs on PostgreSQL, counted in round trips on asyncpg's
connection (issue 20): an applied payment is its deciding read and one statement (the order,
its enrolments, the audit row and the payer's confirmation), a duplicate its read and its log
row. Counted with the statements already prepared (asyncpg keeps them per connection)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest

from bot.notifier import BotPaymentNotifier
from domain.checkout import ApplyPayment
from domain.payment import CURRENCY, Outcome, PaymentEvent
from infra.db import models, open_database
from infra.outbox import TortoiseOutbox
from infra.repositories.accounts import TortoiseAccountRepository
from infra.repositories.payments import TortoisePaymentStore
from infra.workdays import ChineseWorkingDays
from tests.payments.test_exactly_once import make_world
from tests.support import registry
from tests.support.clock import FixedClock


@contextmanager
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The statements sent: a query with parameters (asyncpg's extended protocol, one round
    trip once prepared) or without (BEGIN, COMMIT: the simple protocol)."""
    sent: list[str] = []
    do_execute = asyncpg.Connection._do_execute
    execute = asyncpg.Connection.execute

    async def counted_do_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(query.split()[0])
        return await do_execute(self, query, *args, **kwargs)

    async def counted_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:
            sent.append(query.split()[0])
        return await execute(self, query, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(asyncpg.Connection, "_do_execute", counted_do_execute)
        patch.setattr(asyncpg.Connection, "execute", counted_execute)
        yield sent


@pytest.mark.postgres
async def test_an_applied_payment_is_two_round_trips_and_a_duplicate_two(
    postgres_url, i18n, recording_bot, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
):
    context = await open_database(postgres_url)
    try:
        bot, _ = recording_bot
        world = make_world()
        notifier = BotPaymentNotifier(
            bot, i18n, TortoiseAccountRepository(), None, "http://app", TortoiseOutbox(), clock
        )
        apply = ApplyPayment(
            TortoisePaymentStore(registry.PII), notifier, ChineseWorkingDays(), "sandbox", clock
        )

        def paid(number: str, amount: int) -> PaymentEvent:
            return PaymentEvent(number, True, amount, CURRENCY, f"TXN-{number}", None)

        _, warm_up = await world.paying_trainee()  # the statements prepared
        warm = paid(warm_up.number, warm_up.amount_fen)
        assert await apply(warm, "notification") is Outcome.APPLIED
        assert await apply(warm, "notification") is Outcome.DUPLICATE
        _, order = await world.paying_trainee()
        event = paid(order.number, order.amount_fen)

        with round_trips(monkeypatch) as sent:
            assert await apply(event, "notification") is Outcome.APPLIED
        assert sent == ["SELECT", "WITH"]  # no BEGIN, no COMMIT: one statement is atomic

        with round_trips(monkeypatch) as sent:
            assert await apply(event, "notification") is Outcome.DUPLICATE
        assert sent == ["SELECT", "INSERT"]

        assert (await models.Order.get(number=order.number)).status == "paid"
        [confirmation] = await models.Outbox.filter(dedup_key=f"order_paid|{order.number}")
        assert confirmation.chat_id == order.payer and confirmation.status == "pending"
        assert confirmation.kind == "order_paid" and confirmation.essential
        assert confirmation.payload["text_key"] == "order_paid"
        assert confirmation.payload["params"]["order"] == order.number
        assert confirmation.payload["params"]["amount_fen"] == order.amount_fen
        assert confirmation.not_before == clock.now() and confirmation.attempts == 0
        assert set(
            await models.Enrolment.filter(order_items__order__number=order.number).values_list(
                "state", flat=True
            )
        ) == {"studying"}
    finally:
        await context.close_connections()

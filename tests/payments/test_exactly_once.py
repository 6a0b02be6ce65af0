"""A payment is applied exactly once, whatever arrives, in whatever order, from whoever."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.accounts import ChatUserId
from domain.checkout import ApplyPayment, ExpireOrders, Fees, Order, PlaceOrder, Reconcile
from domain.payment import APPLYING, CURRENCY, Outcome, PaymentEvent
from infra.db import models, open_database
from infra.payments.sandbox import SandboxProvider
from infra.repositories.payments import TortoisePaymentStore
from infra.repositories.registry import TortoiseBindings
from infra.workdays import ChineseWorkingDays
from tests.support import registry
from tests.support.clock import FixedClock, days_from_today
from webview.payments import PaymentWeb

_people = itertools.count(500)


@dataclass
class RecordingNotifier:
    paid_orders: list[str] = field(default_factory=list)
    staff: list[tuple[str, Outcome]] = field(default_factory=list)
    expired_orders: list[str] = field(default_factory=list)
    failed_orders: list[str] = field(default_factory=list)

    async def confirmation(
        self, order: Order, *, late: bool, found_by_reconciliation: bool
    ) -> object | None:
        return None  # no queue: `paid` is told once the payment is applied

    async def paid(self, order: Order, *, late: bool, found_by_reconciliation: bool) -> None:
        self.paid_orders.append(order.number)

    async def expiring(self, order: Order) -> None:
        return None

    async def expired(self, order: Order) -> None:
        self.expired_orders.append(order.number)

    async def failed(self, order: Order) -> None:
        self.failed_orders.append(order.number)

    async def for_staff(self, order_number: str, outcome: Outcome) -> None:
        self.staff.append((order_number, outcome))

    async def invoice_ready(self, order: Order) -> None:
        return None


@dataclass
class World:
    clock: FixedClock
    store: TortoisePaymentStore
    provider: SandboxProvider
    notifier: RecordingNotifier
    apply: ApplyPayment
    place: PlaceOrder
    expire: ExpireOrders
    reconcile: Reconcile

    def payment_web(self) -> PaymentWeb:
        """The payment pages and callbacks over this world's sandbox."""
        return PaymentWeb(
            providers={"sandbox": self.provider},
            apply_payment=self.apply,
            find_order=self.store.get,
            sandbox=self.provider,
            notify_base="http://unused",
        )

    async def paying_trainee(self) -> tuple[ChatUserId, Order]:
        n = next(_people)
        person = await registry.person(n, f"学员{n}", f"1380000{n:04d}")
        cert = await registry.certificate(person, f"B-{n}", "safety_b", days_from_today(124))
        account = ChatUserId(200000 + n)
        await models.Binding.create(chat_user_id=account, person=person)
        await registry.enrolment(cert, account, "enrolled")
        await models.InvoiceProfile.create(chat_user_id=account, title=f"学员{n}")
        return account, await self.place(account)


def make_world() -> World:
    clock = FixedClock()
    store = TortoisePaymentStore(registry.PII)
    provider = SandboxProvider("http://127.0.0.1:8080", b"s" * 32)
    notifier = RecordingNotifier()
    apply = ApplyPayment(store, notifier, ChineseWorkingDays(), provider.name, clock, provider)
    numbers = (f"JJT{n:08d}" for n in itertools.count(next(_people) * 1000))
    place = PlaceOrder(
        TortoiseBindings(registry.PII),
        store,
        Fees(30000),
        provider,
        clock,
        lambda now: next(numbers),
    )
    return World(
        clock,
        store,
        provider,
        notifier,
        apply,
        place,
        ExpireOrders(store, provider, notifier, clock),
        Reconcile(store, provider, apply, clock),
    )


def paid_event(order: Order, txn: str = "TXN-1", amount: int | None = None) -> PaymentEvent:
    return PaymentEvent(order.number, True, amount or order.amount_fen, CURRENCY, txn, None)


async def assert_consistent(world: World, order: Order) -> None:
    applied = await models.PaymentLog.filter(
        order_number=order.number, outcome__in=[o.value for o in APPLYING]
    ).count()
    row = await models.Order.get(number=order.number)
    states = set(
        await models.Enrolment.filter(order_items__order=row).values_list("state", flat=True)
    )
    assert applied <= 1
    assert world.notifier.paid_orders.count(order.number) == applied
    if row.status == "paid":
        assert applied == 1 and states == {"studying"}
    else:
        assert applied == 0 and states <= {"enrolled", "awaiting_payment"}


STEPS = st.lists(
    st.sampled_from(
        [
            "notify",
            "notify",
            "duplicate",
            "other_txn",
            "wrong_amount",
            "expire",
            "pay_silently",
            "reconcile",
            "close",
            "not_paid",
        ]
    ),
    min_size=1,
    max_size=10,
)


async def run_steps(world: World, order: Order, steps: list[str], check: bool = True) -> None:
    for step in steps:
        if step in {"notify", "duplicate"}:
            await world.apply(paid_event(order), "notification")
        elif step == "other_txn":
            await world.apply(paid_event(order, txn="TXN-2"), "notification")
        elif step == "wrong_amount":
            await world.apply(paid_event(order, amount=1), "notification")
        elif step == "not_paid":
            await world.apply(
                PaymentEvent(order.number, False, order.amount_fen, CURRENCY, None, None),
                "notification",
            )
        elif step == "expire":
            world.clock.advance(minutes=31)
            await world.expire()
        elif step == "pay_silently":
            await world.provider.pay(order.number, world.clock.now())
        elif step == "reconcile":
            await world.reconcile()
        elif step == "close":
            await world.provider.close(order.number)
        if check:  # between concurrent steps the payer's message may still be on its way
            await assert_consistent(world, order)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
async def test_random_interleavings_apply_a_payment_at_most_once_on_sqlite(database, steps):
    world = make_world()
    _, order = await world.paying_trainee()
    await run_steps(world, order, steps)


async def test_a_payment_after_expiry_is_honoured_and_starts_the_study_window(database):
    world = make_world()
    _, order = await world.paying_trainee()
    world.clock.advance(minutes=31)
    assert await world.expire() == 1
    assert await world.apply(paid_event(order), "notification") is Outcome.APPLIED_LATE
    enrolment = await models.Enrolment.get(order_items__order__number=order.number)
    assert enrolment.state == "studying" and enrolment.study_deadline is not None


async def test_a_lost_notification_is_found_by_reconciliation(database):
    world = make_world()
    _, order = await world.paying_trainee()
    await world.provider.pay(order.number, world.clock.now())
    assert await world.reconcile() == [Outcome.APPLIED]
    assert await world.reconcile() == []  # paid orders are no longer asked about
    assert world.notifier.paid_orders == [order.number]


async def test_a_second_different_payment_and_a_wrong_amount_go_to_staff(database):
    world = make_world()
    _, order = await world.paying_trainee()
    await world.apply(paid_event(order, amount=1), "notification")
    await world.apply(paid_event(order), "notification")
    await world.apply(paid_event(order, txn="TXN-2"), "notification")
    assert [outcome for _, outcome in world.notifier.staff] == [
        Outcome.MISMATCH,
        Outcome.DOUBLE_CHARGE,
    ]


async def test_a_failed_payment_closes_the_order_once_and_the_next_order_is_fresh(database):
    world = make_world()
    account, order = await world.paying_trainee()
    failed = PaymentEvent(order.number, False, order.amount_fen, CURRENCY, None, None)
    assert await world.apply(failed, "notification") is Outcome.NOT_PAID
    assert await world.apply(failed, "notification") is Outcome.NOT_PAID  # a provider retry
    assert world.notifier.failed_orders == [order.number]
    assert (await models.Order.get(number=order.number)).status == "closed"
    assert await world.provider.pay(order.number, world.clock.now()) is None
    fresh = await world.place(account)
    assert fresh.number != order.number


async def test_a_closed_notice_after_expiry_tells_nobody_twice(database):
    world = make_world()
    _, order = await world.paying_trainee()
    world.clock.advance(minutes=31)
    await world.expire()
    failed = PaymentEvent(order.number, False, order.amount_fen, CURRENCY, None, None)
    await world.apply(failed, "notification")
    assert world.notifier.expired_orders == [order.number] and world.notifier.failed_orders == []


async def test_an_enrolment_has_at_most_one_open_order(database):
    world = make_world()
    account, order = await world.paying_trainee()
    again = await world.place(account)
    assert again.number == order.number
    assert await models.Order.all().count() == 1


@pytest.mark.postgres
async def test_concurrent_notifications_on_postgresql_apply_once(postgres_url):
    context = await open_database(postgres_url)
    try:
        world = make_world()
        _, order = await world.paying_trainee()
        outcomes = await asyncio.gather(
            *(world.apply(paid_event(order), "notification") for _ in range(12)),
            world.reconcile(),
        )
        flat = [o for o in outcomes if isinstance(o, Outcome)]
        assert flat.count(Outcome.APPLIED) == 1
        assert world.notifier.paid_orders == [order.number]
        await assert_consistent(world, order)
    finally:
        await context.close_connections()


@pytest.mark.postgres
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
async def test_random_interleavings_on_postgresql_with_concurrent_duplicates(postgres_url, steps):
    context = await open_database(postgres_url)
    try:
        world = make_world()
        _, order = await world.paying_trainee()
        await asyncio.gather(
            run_steps(world, order, steps, check=False),
            world.apply(paid_event(order), "notification"),
            world.apply(paid_event(order), "notification"),
        )
        await assert_consistent(world, order)
    finally:
        await context.close_connections()


async def test_the_expiry_warning_goes_out_once_a_few_minutes_before(database):
    warned: list[str] = []
    world = make_world()

    async def expiring(order: Order) -> None:
        warned.append(order.number)

    world.notifier.expiring = expiring  # type: ignore[method-assign]
    _, order = await world.paying_trainee()
    world.clock.advance(minutes=20)
    await world.expire()
    assert warned == []
    world.clock.advance(minutes=6)
    await world.expire()
    await world.expire()
    assert warned == [order.number]
    world.clock.advance(minutes=5)
    assert await world.expire() == 1
    assert world.notifier.expired_orders == [order.number]

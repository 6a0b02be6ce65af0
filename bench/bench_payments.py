"""Payment notifications per second with the exactly-once guarantee, beside a naive unguarded
update, in one run on PostgreSQL (SQLite when PostgreSQL is not reachable).

Guarded: the production use case (ApplyPayment with the bot's notifier and the outbox): the pure
decide() rule, the order paid once, its enrolments moved to studying, an audit row and the
payer's confirmation queued in the outbox, all or nothing (one statement on PostgreSQL, one
transaction on SQLite); every order is notified twice
and 16 notifications are in flight at once. Afterwards each order must be paid once with exactly
one confirmation queued. Naive: a bare
`UPDATE ... SET status = 'paid'` per notification, the same count and concurrency.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.notifier import BotPaymentNotifier
from domain.checkout import ApplyPayment
from domain.payment import CURRENCY, Outcome, PaymentEvent
from domain.reminders import ReminderKind
from infra.db import models, open_database
from infra.outbox import TortoiseOutbox
from infra.pii import Pii
from infra.repositories.payments import TortoisePaymentStore
from infra.signing import Signer
from infra.workdays import ChineseWorkingDays
from tests.support import registry
from tests.support.databases import POSTGRES_URL, unreachable

ORDERS = 1000
CONCURRENCY = 16
POSTGRES = POSTGRES_URL
NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)

PII = Pii.from_signer(Signer(b"b" * 32))


class _Clock:
    def now(self) -> datetime:
        return NOW

    def today(self) -> date:
        return NOW.date()


async def seed(prefix: str) -> list[str]:
    person = await models.Person.create(
        id_number_hash=PII.digest(f"{prefix}X"),
        id_number_sealed=PII.seal(f"{prefix}X"),
        name="压测",
        phone_hash=PII.digest("13800000000"),
        phone_sealed=PII.seal("13800000000"),
    )
    numbers = []
    for n in range(ORDERS):
        cert = await models.Certificate.create(
            number=f"{prefix}C{n}",
            cert_type="safety_b",
            person=person,
            expires_on=date(2027, 3, 31),
        )
        enrolment = await registry.enrolment(cert, 1, "awaiting_payment")
        order = await models.Order.create(
            number=f"{prefix}{n:06d}",
            payer_chat_user_id=1,
            channel="individual",
            amount_fen=30000,
            status="pending",
            provider="sandbox",
            created_at=NOW,
            expires_at=NOW,
            invoice_title="压测",
        )
        await models.OrderItem.create(order=order, enrolment=enrolment, amount_fen=30000)
        numbers.append(order.number)
    return numbers


async def in_parallel(jobs: list, worker) -> float:
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def run() -> None:
        while not queue.empty():
            await worker(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(CONCURRENCY)))
    return len(jobs) / (time.perf_counter() - started)


async def main() -> None:
    admin = None
    if unreachable(POSTGRES) is None:
        name = f"jijiao_bench_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(POSTGRES)
        await admin.execute(f'CREATE DATABASE "{name}"')
        url, label = POSTGRES.rsplit("/", 1)[0] + f"/{name}", "postgresql"
    else:
        url, label = f"sqlite://{tempfile.mkdtemp()}/bench.sqlite3", "sqlite"
    context = await open_database(url)
    try:
        clock = _Clock()
        notifier = BotPaymentNotifier(
            None,  # type: ignore[arg-type]  # with an outbox the notifier only queues
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            staff_group_id=None,
            webapp_url="https://bench.invalid/app",
            outbox=TortoiseOutbox(),
            clock=clock,
        )
        apply = ApplyPayment(
            TortoisePaymentStore(PII), notifier, ChineseWorkingDays(), "sandbox", clock
        )
        guarded_orders = await seed("G")
        naive_orders = await seed("N")
        events = [
            PaymentEvent(number, True, 30000, CURRENCY, f"T{number}", NOW)
            for number in guarded_orders * 2
        ]
        outcomes: list[Outcome] = []

        async def guarded(event: PaymentEvent) -> None:
            outcomes.append(await apply(event, "notification"))

        async def naive(number: str) -> None:
            await models.Order.filter(number=number).update(status="paid")

        naive_rate = await in_parallel(naive_orders * 2, naive)
        guarded_rate = await in_parallel(events, guarded)
        applied = outcomes.count(Outcome.APPLIED)
        assert applied == ORDERS and outcomes.count(Outcome.DUPLICATE) == ORDERS, outcomes[:5]
        paid = await models.Order.filter(number__in=guarded_orders, status="paid").count()
        confirmations = await models.Outbox.filter(kind=ReminderKind.ORDER_PAID.value).count()
        studying = await models.Enrolment.filter(state="studying").count()
        assert paid == confirmations == studying == ORDERS, (paid, confirmations, studying)
        print(
            f"{label}: guarded {guarded_rate:.0f}/s (applied {applied}, duplicates "
            f"{outcomes.count(Outcome.DUPLICATE)}), naive {naive_rate:.0f}/s"
        )
        print(
            f"BENCH payment_notifications db={label} guarded_per_s={guarded_rate:.0f} "
            f"naive_per_s={naive_rate:.0f} notifications={len(events)} "
            f"ratio={guarded_rate / naive_rate:.2f}"
        )
    finally:
        await context.close_connections()
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())

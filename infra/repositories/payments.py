"""Orders and payments in the database; a payment is applied by a conditional update on the
status it was decided on, so it applies exactly once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from tortoise import fields, timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery
from tortoise.models import Model
from tortoise.transactions import in_transaction

from domain.accounts import ChatUserId
from domain.checkout import DueItem, InvoiceDetails, Order
from domain.enrolment import Channel, EnrolmentState
from domain.payment import (
    APPLYING,
    OrderState,
    OrderStatus,
    Outcome,
    PaymentEvent,
    PaymentRefused,
    decide,
    study_deadline,
)
from domain.registry import Certificate
from domain.timezone import local_date
from infra import outbox
from infra.db import models
from infra.db.columns import column
from infra.db.sql import decoded, fetch, numbered
from infra.pii import Pii
from infra.repositories.registry import (
    CERTIFICATE_COLUMNS,
    ENROLMENTS,
    certificate_of_row,
)


def _max_length(model: type[Model], name: str) -> int:
    field = model._meta.fields_map[name]
    assert isinstance(field, fields.CharField)
    return field.max_length


ORDER_NUMBER_MAX = _max_length(models.Order, "number")


def _could_be_ours(number: str) -> bool:
    """Tortoise validates a filter value against the column: a number longer than any order's
    (a tampered button, a stranger's notification) is simply not one of ours."""
    return 0 < len(number) <= ORDER_NUMBER_MAX


def _connection() -> str:
    return models.Order._meta.default_connection or "default"


# The notification's hot path on PostgreSQL, as precompiled SQL: building these with Tortoise
# cost more than running them. The read decides (without a lock) and is the whole order with
# its items, certificates and holders, so the payer's confirmation is made from it before the
# write. The payment is then one statement, atomic without a transaction: the order paid if its
# status is still the one decided on, its enrolments moved to studying, the audit row and the
# confirmation's outbox row, all or nothing; it returns the order's id when it won.
_ORDERS = f"""
SELECT payment_order.*, order_enterprise.credit_code AS order_credit_code,
    item.id AS item_id, item.enrolment_id AS item_enrolment_id, item.amount_fen AS item_fee_fen,
    {CERTIFICATE_COLUMNS}
FROM payment_order
LEFT JOIN enterprise order_enterprise ON order_enterprise.id = payment_order.enterprise_id
LEFT JOIN order_item item ON item.order_id = payment_order.id
LEFT JOIN enrolment ON enrolment.id = item.enrolment_id
LEFT JOIN certificate ON certificate.id = enrolment.certificate_id
LEFT JOIN person ON person.id = certificate.person_id
LEFT JOIN enterprise cert_enterprise ON cert_enterprise.id = certificate.enterprise_id
"""
_ORDER = _ORDERS + "WHERE payment_order.number = $1 ORDER BY item.id"
_DUE = f"""{ENROLMENTS}WHERE enrolment.state = $1 AND enrolment.channel = $2 AND """
_DUE_TO_ENTERPRISE = (
    _DUE
    + """enrolment.enterprise_id IN (
    SELECT id FROM enterprise WHERE credit_code = $3) ORDER BY enrolment.id"""
)
# What a bill needs of its payer, in one read: the saved invoice details (on every row, NULL
# without them) and the open orders with their items (a row per item; none without any).
_PAYER = f"""
SELECT invoice_profile.id AS profile_id, invoice_profile.title AS profile_title,
    invoice_profile.taxpayer_id AS profile_taxpayer_id, invoice_profile.email AS profile_email,
    open_order.*
FROM (SELECT 1 AS one) AS payer
LEFT JOIN invoice_profile ON invoice_profile.chat_user_id = $1
LEFT JOIN ({_ORDERS}WHERE payment_order.payer_chat_user_id = $1 AND payment_order.status = $2
) AS open_order ON TRUE
ORDER BY open_order.id, open_order.item_id
"""
_LOG_POSTGRES = """
INSERT INTO payment_log (order_number, provider, source, outcome, transaction_id, amount_fen,
    created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
_PAY_PARAMS = 12


def _pay_postgres_sql(queued: str) -> str:
    return f"""
WITH paid AS (
    UPDATE payment_order
    SET status = 'paid', paid_at = $3, transaction_id = $4, provider = $5, invoice_due_on = $6
    WHERE id = $1 AND status = $2
    RETURNING id
), studying AS (
    UPDATE enrolment SET state = 'studying', paid_at = $3, study_deadline = $7
    WHERE id IN (SELECT enrolment_id FROM order_item WHERE order_id IN (SELECT id FROM paid))
), logged AS (
    INSERT INTO payment_log (order_number, provider, source, outcome, transaction_id,
        amount_fen, created_at)
    SELECT $8, $5, $9, $10, $4, $11, $12 FROM paid
){queued}
SELECT id FROM paid
"""


_PAY_POSTGRES = _pay_postgres_sql("")
_PAY_AND_QUEUE_POSTGRES = _pay_postgres_sql(
    f", queued AS (\n{outbox.insert_postgres(_PAY_PARAMS + 1, 'paid')}\n)"
)


def _order_of(rows: Sequence[Mapping[str, Any]], pii: Pii) -> Order:
    """The order as _ORDERS reads it: one row per item."""
    head = rows[0]

    def when(name: str) -> Any:
        return decoded(models.Order, name, head[name])

    items = tuple(
        DueItem(row["item_enrolment_id"], certificate_of_row(row, pii), row["item_fee_fen"])
        for row in rows
        if row["item_enrolment_id"] is not None
    )
    return Order(
        number=head["number"],
        payer=ChatUserId(head["payer_chat_user_id"]),
        channel=Channel(head["channel"]),
        enterprise_credit_code=head["order_credit_code"],
        amount_fen=head["amount_fen"],
        status=OrderStatus(head["status"]),
        created_at=when("created_at"),
        expires_at=when("expires_at"),
        pay_url=head["pay_url"],
        items=items,
        invoice=InvoiceDetails(
            head["invoice_title"], head["invoice_taxpayer_id"], head["invoice_email"]
        ),
        paid_at=when("paid_at"),
        transaction_id=head["transaction_id"],
        invoice_due_on=when("invoice_due_on"),
        invoice_file_id=head["invoice_file_id"],
    )


def _is_postgres() -> bool:
    return models.Order._meta.db.capabilities.dialect == "postgres"


def _outbox_row(queued: object | None) -> outbox.NewMessage | None:
    """What a payment's `confirmation` gave, as the outbox row this store writes with it."""
    if queued is None or isinstance(queued, outbox.NewMessage):
        return queued
    raise TypeError(f"a payment's confirmation is queued as an outbox row, not {queued!r}")


class TortoisePaymentStore:
    def __init__(self, pii: Pii) -> None:
        self._pii = pii

    async def _orders(self, where: str, params: Sequence[Any]) -> list[Order]:
        """The orders `where` picks (a condition on payment_order), each with its items."""
        rows = await fetch(
            models.Order, f"{_ORDERS}WHERE {where} ORDER BY payment_order.id, item.id", params
        )
        return self._grouped(rows)

    def _grouped(self, rows: Sequence[Mapping[str, Any]]) -> list[Order]:
        """Orders from _ORDERS' rows (one per item, in order), those without an order left."""
        by_order: dict[int, list[Mapping[str, Any]]] = {}
        for row in rows:
            if row["id"] is not None:
                by_order.setdefault(row["id"], []).append(row)
        return [_order_of(order_rows, self._pii) for order_rows in by_order.values()]

    async def due(
        self, *, id_number: str | None, credit_code: str | None
    ) -> list[tuple[int, Certificate]]:
        waiting = EnrolmentState.ENROLLED.value
        if credit_code is not None:
            params = [waiting, Channel.ENTERPRISE.value, credit_code]
            sql = _DUE_TO_ENTERPRISE
        else:
            digests = self._pii.digests(id_number or "")
            params = [waiting, Channel.INDIVIDUAL.value, *digests]
            held = numbered(3, len(digests))
            sql = f"{_DUE}person.id_number_hash IN ({held}) ORDER BY enrolment.id"
        rows = await fetch(models.Enrolment, sql, params)
        return [(row["enrolment_id"], certificate_of_row(row, self._pii)) for row in rows]

    async def open_orders_and_invoice(
        self, payer: ChatUserId
    ) -> tuple[list[Order], InvoiceDetails | None]:
        rows = await fetch(models.Order, _PAYER, [payer, OrderStatus.PENDING.value])
        head = rows[0]
        invoice = (
            InvoiceDetails(
                head["profile_title"], head["profile_taxpayer_id"], head["profile_email"]
            )
            if head["profile_id"] is not None
            else None
        )
        return self._grouped(rows), invoice

    async def cancel_unpaid(self, enrolment_id: int, actor: ChatUserId, at: datetime) -> bool:
        async with in_transaction(_connection()) as db:
            # The state is the guard, as in create_order: an order or a payment that got there
            # first keeps the enrolment.
            ended = (
                await models.Enrolment.filter(id=enrolment_id, state=EnrolmentState.ENROLLED.value)
                .using_db(db)
                .update(state=EnrolmentState.CANCELLED.value, active_key=None, ended_at=at)
            )
            if ended:
                row = await models.Enrolment.get(id=enrolment_id, using_db=db)
                await models.AuditLog.create(
                    using_db=db,
                    actor_id=actor,
                    action="unenrol",
                    subject=f"enrolment:{enrolment_id}",
                    details={"channel": row.channel, "enterprise": row.enterprise_id},
                )
        return bool(ended)

    async def save_invoice_profile(self, payer: ChatUserId, details: InvoiceDetails) -> None:
        await models.InvoiceProfile.update_or_create(
            chat_user_id=payer,
            defaults={
                "title": details.title,
                "taxpayer_id": details.taxpayer_id,
                "email": details.email,
            },
        )

    async def create_order(self, order: Order) -> Order:
        ids = [item.enrolment_id for item in order.items]
        async with in_transaction(_connection()) as db:
            # The state flip is the guard: two taps or two devices, only one order gets them.
            moved = (
                await models.Enrolment.filter(id__in=ids, state=EnrolmentState.ENROLLED.value)
                .using_db(db)
                .update(state=EnrolmentState.AWAITING_PAYMENT.value)
            )
            if moved != len(ids):
                raise PaymentRefused("nothing_to_pay")
            enterprise = (
                await models.Enterprise.get(credit_code=order.enterprise_credit_code, using_db=db)
                if order.enterprise_credit_code
                else None
            )
            row = await models.Order.create(
                using_db=db,
                number=order.number,
                payer_chat_user_id=order.payer,
                channel=order.channel.value,
                enterprise=enterprise,
                amount_fen=order.amount_fen,
                status=order.status.value,
                provider="",
                created_at=order.created_at,
                expires_at=order.expires_at,
                invoice_title=order.invoice.title,
                invoice_taxpayer_id=order.invoice.taxpayer_id,
                invoice_email=order.invoice.email,
            )
            for item in order.items:
                await models.OrderItem.create(
                    using_db=db, order=row, enrolment_id=item.enrolment_id, amount_fen=item.fee_fen
                )
        return order

    async def set_pay_url(self, number: str, url: str) -> None:
        await models.Order.filter(number=number).update(pay_url=url)

    async def get(self, number: str) -> Order | None:
        if not _could_be_ours(number):
            return None
        rows = await fetch(models.Order, _ORDER, [number])
        return _order_of(rows, self._pii) if rows else None

    async def apply(
        self,
        event: PaymentEvent,
        provider: str,
        source: str,
        invoice_due: Callable[[date], date],
        received_at: datetime,
        confirmation: Callable[[Order, Outcome], Awaitable[object | None]] | None = None,
    ) -> tuple[Outcome, Order | None]:
        # The read decides without a lock: a paid order stays paid (with its transaction id),
        # so a duplicate, the common case under provider retries, is one read and its log row.
        # A payment to apply is written only if the status is still the one decided on (the
        # conditional update is the guard); when it moved meanwhile, decide again.
        while True:
            found = await self._decided_on(event.order_number)
            if not found:
                await self._log(event, provider, source, Outcome.UNKNOWN_ORDER)
                return Outcome.UNKNOWN_ORDER, None
            head = found[0]
            order_id, status = head["id"], head["status"]
            outcome = decide(
                OrderState(OrderStatus(status), head["amount_fen"], head["transaction_id"]), event
            )
            if outcome not in APPLYING:
                await self._log(event, provider, source, outcome)
                return outcome, None
            paid_at = event.paid_at or received_at
            due_on = invoice_due(local_date(paid_at))
            if _is_postgres():
                # The order as the write will store it, and its confirmation, before the write:
                # then the payment is one statement (2 round trips with the read).
                paid = replace(
                    _order_of(found, self._pii),
                    status=OrderStatus.PAID,
                    paid_at=paid_at,
                    transaction_id=event.transaction_id,
                    invoice_due_on=due_on,
                )
                queued = await confirmation(paid, outcome) if confirmation else None
                if await self._pay_postgres(
                    order_id,
                    status,
                    event,
                    provider,
                    source,
                    outcome,
                    paid_at,
                    due_on,
                    _outbox_row(queued),
                ):
                    return outcome, paid
                continue
            async with in_transaction(_connection()) as db:
                won = (
                    await models.Order.filter(id=order_id, status=status)
                    .using_db(db)
                    .update(
                        status=OrderStatus.PAID.value,
                        paid_at=paid_at,
                        transaction_id=event.transaction_id,
                        provider=provider,
                        invoice_due_on=due_on,
                    )
                )
                if not won:
                    continue
                await (
                    models.Enrolment.filter(
                        id__in=Subquery(
                            models.OrderItem.filter(order_id=order_id).values("enrolment_id")
                        )
                    )
                    .using_db(db)
                    .update(
                        state=EnrolmentState.STUDYING.value,
                        paid_at=paid_at,
                        study_deadline=study_deadline(paid_at),
                    )
                )
                await self._log(event, provider, source, outcome, db)
                # Read and queued inside the transaction (this task's queries run in it): the
                # confirmation commits with the payment or not at all.
                order = await self.get(event.order_number)
                if order is not None and confirmation is not None:
                    queued = _outbox_row(await confirmation(order, outcome))
                    if queued is not None:
                        await outbox.enqueue([queued])
            return outcome, order

    async def _decided_on(self, number: str) -> Sequence[Mapping[str, Any]]:
        """The whole order, one row per item (_order_of): what decide() reads (id, status,
        amount_fen, transaction_id), and on PostgreSQL what the confirmation is made of."""
        if not _could_be_ours(number):
            return []
        return await fetch(models.Order, _ORDER, [number])

    @staticmethod
    async def _pay_postgres(
        order_id: int,
        status: str,
        event: PaymentEvent,
        provider: str,
        source: str,
        outcome: Outcome,
        paid_at: datetime,
        invoice_due_on: date,
        queued: outbox.NewMessage | None,
    ) -> bool:
        """The payment's one statement; False when the order's status moved since it was
        read (nothing written)."""
        params: list[Any] = [
            order_id,
            status,
            paid_at,
            event.transaction_id,
            provider,
            invoice_due_on,
            study_deadline(paid_at),
            event.order_number[:32],
            source,
            outcome.value,
            event.amount_fen,
            timezone.now(),  # as Tortoise's auto_now_add would
        ]
        sql = _PAY_POSTGRES
        if queued is not None:
            sql = _PAY_AND_QUEUE_POSTGRES
            params += outbox.row_params_postgres(queued)
        _, rows = await models.Order._meta.db.execute_query(sql, params)
        return bool(rows)

    @staticmethod
    async def _log(
        event: PaymentEvent,
        provider: str,
        source: str,
        outcome: Outcome,
        db: BaseDBAsyncClient | None = None,
    ) -> None:
        if db is None and _is_postgres():
            await models.PaymentLog._meta.db.execute_query(
                _LOG_POSTGRES,
                [
                    event.order_number[:32],
                    provider,
                    source,
                    outcome.value,
                    event.transaction_id,
                    event.amount_fen,
                    timezone.now(),  # as Tortoise's auto_now_add would
                ],
            )
            return
        await models.PaymentLog.create(
            using_db=db,
            order_number=event.order_number[:32],
            provider=provider,
            source=source,
            outcome=outcome.value,
            transaction_id=event.transaction_id,
            amount_fen=event.amount_fen,
        )

    async def expire(self, now: datetime) -> list[Order]:
        expired: list[Order] = []
        candidates = await column(
            models.Order.filter(status=OrderStatus.PENDING.value, expires_at__lte=now), "id"
        )
        for order_id in candidates:
            if await self._end(order_id, OrderStatus.EXPIRED):
                expired += await self._orders("payment_order.id = $1", [order_id])
        return expired

    async def close(self, number: str) -> Order | None:
        if not _could_be_ours(number):
            return None
        row = await models.Order.get_or_none(number=number).only("id")
        if row is None or not await self._end(row.id, OrderStatus.CLOSED):
            return None
        return await self.get(number)

    async def _end(self, order_id: int, status: OrderStatus) -> bool:
        """A pending order ends (expired, closed); its enrolments wait for payment again."""
        async with in_transaction(_connection()) as db:
            # Conditional: a payment that landed meanwhile wins over the end.
            changed = (
                await models.Order.filter(id=order_id, status=OrderStatus.PENDING.value)
                .using_db(db)
                .update(status=status.value)
            )
            if not changed:
                return False
            ids = await column(
                models.OrderItem.filter(order_id=order_id).using_db(db), "enrolment_id"
            )
            await (
                models.Enrolment.filter(
                    id__in=list(ids), state=EnrolmentState.AWAITING_PAYMENT.value
                )
                .using_db(db)
                .update(state=EnrolmentState.ENROLLED.value)
            )
        return True

    async def expiring_unwarned(self, now: datetime, within: timedelta) -> list[Order]:
        return await self._orders(
            "payment_order.status = $1 AND payment_order.warned_at IS NULL"
            " AND payment_order.expires_at <= $2 AND payment_order.expires_at > $3",
            [OrderStatus.PENDING.value, now + within, now],
        )

    async def mark_warned(self, number: str, at: datetime) -> bool:
        changed = await models.Order.filter(number=number, warned_at__isnull=True).update(
            warned_at=at
        )
        return bool(changed)

    async def to_reconcile(self, now: datetime, expired_since: datetime) -> list[Order]:
        pending = await self._orders("payment_order.status = $1", [OrderStatus.PENDING.value])
        expired = await self._orders(
            "payment_order.status = $1 AND payment_order.expires_at >= $2",
            [OrderStatus.EXPIRED.value, expired_since],
        )
        return pending + expired

    async def attach_invoice(self, number: str, file_id: str) -> Order | None:
        if not _could_be_ours(number):
            return None
        await models.Order.filter(number=number, status=OrderStatus.PAID.value).update(
            invoice_file_id=file_id
        )
        return await self.get(number)

    async def overdue_invoices(self, today: date) -> list[Order]:
        return await self._orders(
            "payment_order.status = $1 AND payment_order.invoice_file_id IS NULL"
            " AND payment_order.invoice_due_on < $2",
            [OrderStatus.PAID.value, today],
        )

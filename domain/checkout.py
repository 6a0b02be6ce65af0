"""Use cases of paying: what is due, the order and its QR, the payment, expiry, reconciliation
and the invoice (R-PAY-1..5, S5-S9)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Protocol

from domain.accounts import ChatUserId
from domain.clock import Clock
from domain.enrolment import Channel
from domain.identifiers import InvalidIdentifier, validate_credit_code
from domain.identity import Bindings
from domain.payment import (
    APPLYING,
    EXPIRY_WARNING,
    FOR_STAFF,
    INVOICE_WORKING_DAYS,
    JsapiProvider,
    JsapiRequest,
    OrderStatus,
    Outcome,
    PaymentEvent,
    PaymentProvider,
    PaymentRefused,
    WorkingDays,
    expires_at,
)
from domain.registry import Certificate, CertType, Enterprise
from domain.timezone import local_date

log = logging.getLogger(__name__)

RECONCILE_EXPIRED_FOR = timedelta(hours=24)
# What the payer's app shows; the same words each time, since a provider answers a repeat
# request for an order only when nothing in it changed.
ORDER_DESCRIPTION = "继续教育培训费"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 100


@dataclass(frozen=True, slots=True)
class InvoiceDetails:
    title: str
    taxpayer_id: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class DueItem:
    enrolment_id: int
    certificate: Certificate
    fee_fen: int


@dataclass(frozen=True, slots=True)
class Order:
    number: str
    payer: ChatUserId
    channel: Channel
    enterprise_credit_code: str | None
    amount_fen: int
    status: OrderStatus
    created_at: datetime
    expires_at: datetime
    pay_url: str
    items: tuple[DueItem, ...]
    invoice: InvoiceDetails
    paid_at: datetime | None = None
    transaction_id: str | None = None
    invoice_due_on: date | None = None
    invoice_file_id: str | None = None


class Fees:
    """The fee per certificate type, in fen (configurable; R-PAY-1 shows it per enrolment)."""

    def __init__(self, default_fen: int, by_type: dict[str, int] | None = None) -> None:
        self._default = default_fen
        self._by_type = by_type or {}

    def of(self, cert_type: CertType) -> int:
        return self._by_type.get(cert_type.value, self._default)


class PaymentStore(Protocol):
    async def due(
        self, *, id_number: str | None, credit_code: str | None
    ) -> list[tuple[int, Certificate]]:
        """Enrolments waiting for payment (enrolled, no open order)."""
        ...

    async def open_orders_and_invoice(
        self, payer: ChatUserId
    ) -> tuple[list[Order], InvoiceDetails | None]:
        """The payer's open orders and saved invoice details (each bill shows both)."""
        ...

    async def cancel_unpaid(self, enrolment_id: int, actor: ChatUserId, at: datetime) -> bool:
        """Ends an enrolment still waiting for payment (no open order) and audit-logs who did
        it; False when it is no longer waiting (ordered, paid or already removed)."""
        ...

    async def save_invoice_profile(self, payer: ChatUserId, details: InvoiceDetails) -> None: ...
    async def create_order(self, order: Order) -> Order:
        """Atomically moves the items' enrolments to awaiting payment; PaymentRefused
        ('nothing_to_pay') when one of them is no longer waiting (ordered elsewhere)."""
        ...

    async def set_pay_url(self, number: str, url: str) -> None: ...
    async def get(self, number: str) -> Order | None: ...
    async def apply(
        self,
        event: PaymentEvent,
        provider: str,
        source: str,
        invoice_due: Callable[[date], date],
        received_at: datetime,
        confirmation: Callable[[Order, Outcome], Awaitable[object | None]] | None = None,
    ) -> tuple[Outcome, Order | None]:
        """decide() on the order as it stands, then, only if the order is still as decided on
        (a conditional write, tried again when it moved), record the payment and start the study
        window of its enrolments when the outcome applies (paid at the provider's time, or
        `received_at` when it gives none). Logs every event. Returns the paid order when the
        payment was applied.

        `confirmation` is asked, with the order as it is once paid (exactly what is stored)
        and the outcome, for the payer's confirmation; what it returns (opaque here: a row the
        store knows how to queue, None for nothing) is written with the payment, in the same
        statement or transaction, so it commits together with the payment or not at all. It
        may be asked before the write, and again when the order moved meanwhile: only what
        the applied write took counts."""
        ...

    async def expire(self, now: datetime) -> list[Order]:
        """Pending orders past their expiry become expired; their enrolments wait again."""
        ...

    async def close(self, number: str) -> Order | None:
        """A pending order becomes closed, its enrolments wait again; None when it was not
        pending (paid, expired, closed already) or is unknown."""
        ...

    async def expiring_unwarned(self, now: datetime, within: timedelta) -> list[Order]: ...
    async def mark_warned(self, number: str, at: datetime) -> bool: ...
    async def to_reconcile(self, now: datetime, expired_since: datetime) -> list[Order]: ...
    async def attach_invoice(self, number: str, file_id: str) -> Order | None: ...
    async def overdue_invoices(self, today: date) -> list[Order]: ...


class PaymentNotifier(Protocol):
    async def confirmation(
        self, order: Order, *, late: bool, found_by_reconciliation: bool
    ) -> object | None:
        """The payer's confirmation of `order` (as it is once paid), made before it is known
        whether the payment will be applied and written by the store with the payment
        (PaymentStore.apply): it goes out once, whatever happens to this process after the
        commit, and only if the payment was applied. It neither sends nor writes anything
        itself. None when this notifier has no queue: `paid` then tells the payer."""
        ...

    async def paid(self, order: Order, *, late: bool, found_by_reconciliation: bool) -> None:
        """Tells the payer now; after the payment is applied, when `confirmation` gave
        nothing to write with it."""
        ...

    async def expiring(self, order: Order) -> None: ...
    async def expired(self, order: Order) -> None: ...
    async def failed(self, order: Order) -> None:
        """The provider says the payment failed or the order closed: the payer hears it, with
        a new QR code one tap away."""
        ...

    async def for_staff(self, order_number: str, outcome: Outcome) -> None: ...
    async def invoice_ready(self, order: Order) -> None: ...


@dataclass(frozen=True, slots=True)
class Bill:
    channel: Channel
    enterprise: Enterprise | None
    items: list[DueItem]
    invoice: InvoiceDetails | None
    open_orders: list[Order]
    # The account's other way of paying (its own enrolments, or its company's) when that one
    # has something to pay too: a person can be both a trainee and a company's contact.
    others: tuple[Channel, ...] = field(default=())

    @property
    def total_fen(self) -> int:
        return sum(item.fee_fen for item in self.items)


# ---- the payer's pick: whom this order pays for (the manual's 勾选需要缴费的人员) ----


def ticked(items: Sequence[DueItem], unticked: Collection[int]) -> list[DueItem]:
    """Everything due starts ticked; the payer unticks whom not to pay for now."""
    return [item for item in items if item.enrolment_id not in unticked]


def chosen(items: Sequence[DueItem], ids: Collection[int]) -> list[DueItem]:
    """The due items an order may hold. An id that is not due for this payer (somebody else's,
    paid, removed, ordered meanwhile) refuses the whole pick rather than paying for less than
    the payer saw."""
    if not ids:
        raise PaymentRefused("nothing_selected")
    due = {item.enrolment_id for item in items}
    if not set(ids) <= due:
        raise PaymentRefused("selection_changed")
    return [item for item in items if item.enrolment_id in ids]


def by_type(items: Iterable[DueItem]) -> list[tuple[CertType, list[DueItem]]]:
    """Grouped per certificate type, as the manual's lists are, types in their usual order."""
    groups: dict[CertType, list[DueItem]] = {}
    for item in items:
        groups.setdefault(item.certificate.cert_type, []).append(item)
    order = list(CertType)
    return sorted(groups.items(), key=lambda group: order.index(group[0]))


def pick_key(ids: Iterable[int]) -> str:
    """A short fingerprint of a pick, carried by its confirm button: what the payer saw is
    what gets ordered, even when the chat's state was lost or the list changed meanwhile."""
    joined = ",".join(str(i) for i in sorted(set(ids)))
    return hashlib.sha256(joined.encode()).hexdigest()[:10]


class _Payments:
    def __init__(
        self,
        bindings: Bindings,
        store: PaymentStore,
        fees: Fees,
        provider: PaymentProvider,
        clock: Clock,
        new_number: Callable[[datetime], str],
    ) -> None:
        self._bindings = bindings
        self._store = store
        self._fees = fees
        self._provider = provider
        self._clock = clock
        self._new_number = new_number

    async def _bill(self, account: ChatUserId, channel: Channel | None = None) -> Bill:
        """The bill of the channel asked for; without one, the company's when it has something
        to pay, else the account's own (the company came first before the choice existed)."""
        person, enterprise = await self._bindings.bound(account)
        if enterprise is None and person is None:
            raise PaymentRefused("not_bound")
        bound = [
            c
            for c, who in ((Channel.ENTERPRISE, enterprise), (Channel.INDIVIDUAL, person))
            if who is not None
        ]
        if channel is not None and channel not in bound:
            raise PaymentRefused("not_bound")
        open_orders, invoice = await self._store.open_orders_and_invoice(account)
        bills = {}
        for c in bound:
            if c is Channel.ENTERPRISE:
                assert enterprise is not None
                due = await self._store.due(id_number=None, credit_code=enterprise.credit_code)
            else:
                assert person is not None
                due = await self._store.due(id_number=person.id_number, credit_code=None)
            bills[c] = Bill(
                channel=c,
                enterprise=enterprise if c is Channel.ENTERPRISE else None,
                items=[DueItem(i, cert, self._fees.of(cert.cert_type)) for i, cert in due],
                invoice=invoice,
                open_orders=[o for o in open_orders if o.channel is c],
            )
        busy = [c for c in bound if bills[c].items or bills[c].open_orders]
        pick = channel or (busy[0] if busy else bound[0])
        return replace(bills[pick], others=tuple(c for c in busy if c is not pick))


class ShowBill(_Payments):
    async def __call__(self, account: ChatUserId, channel: Channel | None = None) -> Bill:
        return await self._bill(account, channel)


class RemoveEnrolment(_Payments):
    """The payer takes back an enrolment made by mistake, before paying for it (the manual:
    不需要继续教育的学员不勾选缴费即可). Only one of their own, waiting, with no order."""

    async def __call__(
        self, account: ChatUserId, enrolment_id: int, channel: Channel | None = None
    ) -> DueItem:
        bill = await self._bill(account, channel)
        item = next((i for i in bill.items if i.enrolment_id == enrolment_id), None)
        if item is None:
            raise PaymentRefused("cannot_remove")
        if not await self._store.cancel_unpaid(enrolment_id, account, self._clock.now()):
            raise PaymentRefused("cannot_remove")
        return item


class SaveInvoiceDetails:
    def __init__(self, store: PaymentStore) -> None:
        self._store = store

    async def __call__(
        self, account: ChatUserId, title: str, taxpayer_id: str | None, email: str | None
    ) -> InvoiceDetails:
        title = " ".join(title.split())
        if not title or len(title) > 100:
            raise PaymentRefused("invoice_title_missing")
        if taxpayer_id:
            try:
                taxpayer_id = validate_credit_code(taxpayer_id)
            except InvalidIdentifier:
                raise PaymentRefused("bad_taxpayer_id") from None
        # An address longer than an invoice's email field holds is not one anyone has (the
        # bot fuzzer sent 306 characters and the store refused them with a crash).
        if email and (len(email.strip()) > MAX_EMAIL or not _EMAIL.match(email.strip())):
            raise PaymentRefused("bad_email")
        details = InvoiceDetails(title, taxpayer_id or None, email.strip() if email else None)
        await self._store.save_invoice_profile(account, details)
        return details


class PlaceOrder(_Payments):
    """One order for what the payer ticked (everything due when `only` is None); the QR's URL
    comes from the provider (R-PAY-1, R-PAY-2). After an expiry the same call makes a fresh
    order for what is still due (S6)."""

    async def __call__(
        self,
        account: ChatUserId,
        confirm_credit_code: str | None = None,
        *,
        channel: Channel | None = None,
        only: Collection[int] | None = None,
    ) -> Order:
        bill = await self._bill(account, channel)
        for pending in bill.open_orders:
            if only and set(only) <= {item.enrolment_id for item in pending.items}:
                return pending  # a second tap on the same pick: the same order
        if not bill.items:
            open_order = next(iter(bill.open_orders), None)
            if open_order is not None:
                return open_order  # at most one open order per enrolment: show the same one
            raise PaymentRefused("nothing_to_pay")
        items = bill.items if only is None else chosen(bill.items, only)
        if bill.enterprise is not None:
            # The manual asks the enterprise to confirm by re-entering its credit code.
            typed = "".join((confirm_credit_code or "").split()).upper()
            if typed != bill.enterprise.credit_code:
                raise PaymentRefused("credit_code_mismatch")
        if bill.invoice is None:
            raise PaymentRefused("invoice_title_missing")
        now = self._clock.now()
        order = await self._store.create_order(
            Order(
                number=self._new_number(now),
                payer=account,
                channel=bill.channel,
                enterprise_credit_code=bill.enterprise.credit_code if bill.enterprise else None,
                amount_fen=sum(item.fee_fen for item in items),
                status=OrderStatus.PENDING,
                created_at=now,
                expires_at=expires_at(now),
                pay_url="",
                items=tuple(items),
                invoice=bill.invoice,
            )
        )
        url = await self._provider.create(
            order.number, order.amount_fen, ORDER_DESCRIPTION, order.expires_at
        )
        await self._store.set_pay_url(order.number, url)
        return replace(order, pay_url=url)


class ApplyPayment:
    """A provider's word, applied exactly once whatever arrives and in whatever order."""

    def __init__(
        self,
        store: PaymentStore,
        notifier: PaymentNotifier,
        working_days: WorkingDays,
        provider_name: str,
        clock: Clock,
        closer: PaymentProvider | None = None,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._working_days = working_days
        self._provider = provider_name
        self._clock = clock
        self._closer = closer

    def _invoice_due(self, paid_on: date) -> date:
        return self._working_days.add(paid_on, INVOICE_WORKING_DAYS)

    async def __call__(self, event: PaymentEvent, source: str) -> Outcome:
        prepared: list[object | None] = []

        async def confirmation(order: Order, outcome: Outcome) -> object | None:
            # Written with the payment, not after it: a crash between the two would leave the
            # payer paid and unconfirmed, and the provider's retries are duplicates that say
            # nothing. Made before the write, so the payment is one statement.
            prepared.append(
                await self._notifier.confirmation(
                    order,
                    late=outcome is Outcome.APPLIED_LATE,
                    found_by_reconciliation=source == "query",
                )
            )
            return prepared[-1]

        outcome, paid = await self._store.apply(
            event,
            event.provider or self._provider,
            source,
            self._invoice_due,
            received_at=self._clock.now(),
            confirmation=confirmation,
        )
        if paid is not None and outcome in APPLYING and (not prepared or prepared[-1] is None):
            # Nothing was queued with the payment (a notifier without a queue): the payer is
            # told now that it is applied, not before (a lost race would have told twice).
            await self._notifier.paid(
                paid,
                late=outcome is Outcome.APPLIED_LATE,
                found_by_reconciliation=source == "query",
            )
        if outcome in FOR_STAFF:
            await self._notifier.for_staff(event.order_number, outcome)
        if outcome is Outcome.NOT_PAID and source == "notification":
            await self._failed(event.order_number)
        return outcome

    async def _failed(self, number: str) -> None:
        """A failed or closed payment ends the order like an expiry (S6): its QR code must not
        be paid any more, and "🔁 New QR code" orders afresh. Only a pending order is told:
        an expired one has had its notice, a paid one stays paid."""
        order = await self._store.close(number)
        if order is None:
            return
        if self._closer is not None:
            try:
                await self._closer.close(number)
            except Exception:  # a provider's own error: the payer must hear of it anyway
                log.warning("closing failed order %s at the provider failed", number)
        await self._notifier.failed(order)


class ExpireOrders:
    """R-PAY-2: after 30 minutes an order expires; a warning goes out a few minutes before."""

    def __init__(
        self,
        store: PaymentStore,
        provider: PaymentProvider,
        notifier: PaymentNotifier,
        clock: Clock,
    ) -> None:
        self._store = store
        self._provider = provider
        self._notifier = notifier
        self._clock = clock

    async def __call__(self) -> int:
        now = self._clock.now()
        for order in await self._store.expiring_unwarned(now, EXPIRY_WARNING):
            if await self._store.mark_warned(order.number, now):
                await self._notifier.expiring(order)
        expired = await self._store.expire(now)
        failed: list[Exception] = []
        for order in expired:
            # The store has already moved them on: a provider out of reach must not leave the
            # rest unclosed and their payers untold. Its time_expire stops a late payment, and
            # the error still reaches the job's log.
            try:
                await self._provider.close(order.number)
            except Exception as exc:  # a provider's own error type
                failed.append(exc)
            await self._notifier.expired(order)
        if failed:
            raise failed[0]
        return len(expired)


class Reconcile:
    """S9: "paid but shown unpaid" cannot last; the provider is asked about every open or
    recently expired order, and what it says is applied like a notification."""

    def __init__(
        self, store: PaymentStore, provider: PaymentProvider, apply: ApplyPayment, clock: Clock
    ) -> None:
        self._store = store
        self._provider = provider
        self._apply = apply
        self._clock = clock

    async def __call__(self) -> list[Outcome]:
        now = self._clock.now()
        outcomes = []
        for order in await self._store.to_reconcile(now, now - RECONCILE_EXPIRED_FOR):
            event = await self._provider.query(order.number)
            if event is not None and event.paid:
                outcomes.append(await self._apply(event, "query"))
        return outcomes


class AttachInvoice:
    """Staff attach the issued invoice; the payer gets it in the chat (S7)."""

    def __init__(self, store: PaymentStore, notifier: PaymentNotifier) -> None:
        self._store = store
        self._notifier = notifier

    async def __call__(self, number: str, file_id: str) -> Order:
        order = await self._store.attach_invoice(number.strip().upper(), file_id)
        if order is None:
            raise PaymentRefused("order_not_found")
        if order.status is not OrderStatus.PAID:
            raise PaymentRefused("order_not_pending")
        await self._notifier.invoice_ready(order)
        return order


class OverdueInvoices:
    def __init__(self, store: PaymentStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def __call__(self) -> list[Order]:
        return await self._store.overdue_invoices(local_date(self._clock.now()))


class CheckOrder:
    """ "I have paid": ask the provider at once instead of waiting for its callback (S9)."""

    def __init__(self, store: PaymentStore, provider: PaymentProvider, apply: ApplyPayment) -> None:
        self._store = store
        self._provider = provider
        self._apply = apply

    async def __call__(self, account: ChatUserId, number: str) -> Order:
        order = await self._store.get(number)
        if order is None or order.payer != account:
            raise PaymentRefused("order_not_found")
        if order.status is not OrderStatus.PAID:
            event = await self._provider.query(number)
            if event is not None and event.paid:
                await self._apply(event, "query")
                order = await self._store.get(number) or order
        return order


class StartJsapiPayment:
    """Paying inside WeChat's browser: the provider's JSAPI checkout for one of the payer's own
    open orders, for the payer's openid. The order, its expiry and its notification stay the
    ones the QR code is for; only the way of paying differs."""

    def __init__(self, store: PaymentStore, provider: JsapiProvider, clock: Clock) -> None:
        self._store = store
        self._provider = provider
        self._clock = clock

    async def __call__(self, account: ChatUserId, number: str, openid: str) -> JsapiRequest:
        order = await self._store.get(number)
        # Somebody else's order is the same answer as none: nothing is made at the provider.
        if order is None or order.payer != account:
            raise PaymentRefused("order_not_found")
        now = self._clock.now()
        if order.status is not OrderStatus.PENDING or order.expires_at <= now:
            raise PaymentRefused("order_not_pending")
        return await self._provider.create_jsapi(
            order.number, order.amount_fen, ORDER_DESCRIPTION, order.expires_at, openid, now=now
        )

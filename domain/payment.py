"""Paying for enrolments: one order, a 30-minute window, and a payment applied exactly once.

R-PAY-1..5, S5-S9. Money is integer fen; times are UTC; days count in Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from domain.errors import DomainError

ORDER_TTL = timedelta(minutes=30)  # R-PAY-2
EXPIRY_WARNING = timedelta(minutes=5)
STUDY_WINDOW = timedelta(days=30)  # R-STUDY-2
INVOICE_WORKING_DAYS = 5  # R-PAY-4: the invoice is ready 3-5 working days after payment
CURRENCY = "CNY"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CLOSED = "closed"


class PaymentRefused(DomainError):
    """code: nothing_to_pay, order_not_found, order_not_pending, invoice_title_missing,
    credit_code_mismatch, bad_email, bad_taxpayer_id, nothing_selected, selection_changed,
    cannot_remove."""


class Outcome(StrEnum):
    """What a provider's word about an order did."""

    APPLIED = "applied"
    APPLIED_LATE = "applied_late"  # paid after the order expired: the money was taken, honour it
    DUPLICATE = "duplicate"  # the same payment again: nothing changes
    DOUBLE_CHARGE = "double_charge"  # a second, different payment for a paid order: refund
    MISMATCH = "mismatch"  # amount or currency differ: not applied, staff look
    NOT_PAID = "not_paid"
    UNKNOWN_ORDER = "unknown_order"


APPLYING = frozenset({Outcome.APPLIED, Outcome.APPLIED_LATE})
FOR_STAFF = frozenset({Outcome.DOUBLE_CHARGE, Outcome.MISMATCH})


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A provider's statement about an order, from a notification or a query."""

    order_number: str
    paid: bool
    amount_fen: int
    currency: str
    transaction_id: str | None
    paid_at: datetime | None
    # Who said it, when several providers take payment (a trainee may pay with either app);
    # None: the one configured provider.
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class OrderState:
    """The part of an order the exactly-once rule looks at."""

    status: OrderStatus
    amount_fen: int
    transaction_id: str | None


def decide(order: OrderState, event: PaymentEvent) -> Outcome:
    """Pure: the same inputs give the same outcome, so duplicates and races are harmless."""
    if not event.paid:
        return Outcome.NOT_PAID
    if event.amount_fen != order.amount_fen or event.currency != CURRENCY:
        return Outcome.MISMATCH
    if order.status is OrderStatus.PAID:
        if event.transaction_id == order.transaction_id:
            return Outcome.DUPLICATE
        return Outcome.DOUBLE_CHARGE
    if order.status is OrderStatus.PENDING:
        return Outcome.APPLIED
    return Outcome.APPLIED_LATE


def expires_at(created_at: datetime) -> datetime:
    return created_at + ORDER_TTL


def study_deadline(paid_at: datetime) -> datetime:
    return paid_at + STUDY_WINDOW


def format_yuan(fen: int) -> str:
    """For people to read: ¥6,900.00 (what a provider is sent is its own format)."""
    return f"{fen // 100:,}.{fen % 100:02d}"


class PaymentProvider(Protocol):
    """A payment service: the sandbox locally, WeChat Pay and Alipay in production."""

    name: str

    async def create(
        self, order_number: str, amount_fen: int, description: str, expires_at: datetime
    ) -> str:
        """Registers the order with the provider; returns the URL the QR code encodes."""
        ...

    async def query(self, order_number: str) -> PaymentEvent | None:
        """What the provider knows of the order now (None: it never saw it)."""
        ...

    async def close(self, order_number: str) -> None:
        """Stops the order from being paid (after expiry). Closing a paid order is a no-op."""
        ...


class NotifiedProvider(PaymentProvider, Protocol):
    """A provider that calls us back when the payer pays (WeChat Pay, Alipay, the sandbox)."""

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> PaymentEvent:
        """The payment a notification reports; InvalidNotification when it must change nothing."""
        ...


@dataclass(frozen=True, slots=True)
class JsapiRequest:
    """What WeChat's browser needs to open its own checkout for an order
    (`WeixinJSBridge.invoke('getBrandWCPayRequest', ...)`): merchant-signed, for one payer."""

    app_id: str
    time_stamp: str
    nonce_str: str
    package: str  # "prepay_id=…"
    sign_type: str
    pay_sign: str

    def for_bridge(self) -> dict[str, str]:
        return {
            "appId": self.app_id,
            "timeStamp": self.time_stamp,
            "nonceStr": self.nonce_str,
            "package": self.package,
            "signType": self.sign_type,
            "paySign": self.pay_sign,
        }


def pay_sign_message(app_id: str, time_stamp: str, nonce_str: str, package: str) -> bytes:
    """The string WeChat Pay v3 has the merchant sign for a JSAPI checkout, one value a line."""
    return f"{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n".encode()


class JsapiProvider(Protocol):
    """A provider that can take payment inside WeChat's browser (JSAPI) for the same order
    number its QR code is for: the same notification, query and close."""

    name: str

    async def create_jsapi(
        self,
        order_number: str,
        amount_fen: int,
        description: str,
        expires_at: datetime,
        openid: str,
        *,
        now: datetime,
    ) -> JsapiRequest: ...


class WorkingDays(Protocol):
    def add(self, start: date, days: int) -> date: ...


class InvalidNotification(DomainError):
    """A notification that must change nothing. code: bad_signature, stale_timestamp,
    wrong_merchant, bad_resource, not_a_payment."""

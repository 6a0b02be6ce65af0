"""An outbox row (a reminder, a payment notice, a broadcast) as words and the next steps it
offers, once for every channel: each channel's renderer turns the steps into what it can show
(Telegram: inline buttons, bot/reminder_messages.py; WeChat: links and menu choices,
wechat/notices.py). Called in the recipient's language; the words are texts/reminders.py's and
texts/payment.py's."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.certrules import rules_for
from domain.reminders import URGENT_KINDS, ReminderKind
from texts import payment
from texts import reminders as words


class Step(StrEnum):
    """What a notice offers to do next."""

    APPLICATIONS = "applications"  # the applications overview (as /apply)
    START_STUDYING = "start_studying"  # the study page (params["webapp_url"])
    NEW_QR = "new_qr"  # a fresh order and QR code
    RECEIPT = "receipt"  # the completion receipt (params["receipt"])
    RENEWAL_APPLIED = "renewal_applied"  # "I applied for the renewal": its reminders stop


@dataclass(frozen=True, slots=True)
class Composed:
    text: str  # Telegram's HTML subset (<b>, <i>, <a href>); a channel without it strips tags
    steps: tuple[Step, ...] = ()
    photo: str | None = None  # a broadcast's picture: a Telegram file id
    document: str | None = None  # the invoice: a Telegram file id
    # Telegram messages whose buttons go first (the QR code of an order that is over).
    clear_markup_of: tuple[int, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)  # what the steps need


def urgent(kind: ReminderKind, params: dict[str, Any]) -> Composed:
    clear = tuple(int(m) for m in params.get("qr_messages", ()))
    if kind is ReminderKind.ORDER_PAID:
        text = payment.paid(
            params["order"],
            params["amount_fen"],
            params["deadline"],
            params.get("invoice_due"),
            found_by_reconciliation=params.get("found_by_reconciliation", False),
            for_employees=params.get("for_employees", False),
        )
        # The contact's own study page has nothing to study when the order was for employees.
        steps = () if params.get("for_employees") else (Step.START_STUDYING,)
        return Composed(text, steps, clear_markup_of=clear)
    if kind is ReminderKind.ORDER_EXPIRING:
        return Composed(
            payment.expiring(params["order"], datetime.fromisoformat(params["expires_at"]))
        )
    if kind is ReminderKind.ORDER_EXPIRED:
        return Composed(payment.expired(params["order"]), (Step.NEW_QR,), clear_markup_of=clear)
    if kind is ReminderKind.ORDER_FAILED:
        return Composed(payment.failed(params["order"]), (Step.NEW_QR,), clear_markup_of=clear)
    if kind is ReminderKind.INVOICE_READY:
        return Composed(payment.invoice_ready(params["order"]), document=params["file_id"])
    raise ValueError(f"not an urgent kind: {kind}")


def compose_urgent(kind: ReminderKind, params: dict[str, Any]) -> Composed:
    return replace(urgent(kind, params), params=params)


def compose(row_kind: str, payload: dict[str, Any], now: datetime, *, essential: bool) -> Composed:
    """The row's words and next steps, in the language in use."""
    if row_kind == ReminderKind.BROADCAST.value:
        return Composed(payload["text"], photo=payload.get("photo"))
    kind = ReminderKind(payload["text_key"])
    params: dict[str, Any] = payload.get("params", {})
    steps: tuple[Step, ...]
    if kind is ReminderKind.STUDY_OVERDUE:
        # Where the manual sends this certificate's trainees to a desk's phone, the text says so.
        steps = () if rules_for(params["cert_type"]).applications_desk else (Step.APPLICATIONS,)
        return Composed(words.study_overdue(params), steps)
    if kind in URGENT_KINDS:
        return compose_urgent(kind, params)
    if kind is ReminderKind.RENEWAL:
        steps = (
            (Step.RENEWAL_APPLIED,)
            if params.get("for_contact")
            else (Step.RECEIPT, Step.RENEWAL_APPLIED)
        )
        return Composed(words.renewal(params, now), steps, params=params)
    return Composed(words.render(payload, now, essential=essential))

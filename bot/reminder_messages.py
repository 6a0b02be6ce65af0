"""Reminders as Telegram messages: the words from texts/reminders.py with their buttons.

The outbox's sender (infra.sender) calls `ReminderTexts` for each row it sends; the composition
root (jijiao/app.py) hands it over. Words stay in texts/, buttons and markup here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards, payment_keyboards
from bot.callbacks import ReceiptCallback, RenewalCallback
from domain.certrules import rules_for
from domain.reminders import URGENT_KINDS, ReminderKind
from infra.outbox import Claimed
from infra.sender import Rendered
from texts import payment
from texts import reminders as words
from texts.exam import receipt_button
from texts.i18n import Catalogs


def study_overdue(params: dict[str, Any]) -> Rendered:
    """The next step after a window that ended without a pass: 📨 Applications as a button,
    unless the manual sends this certificate's trainees to a desk's phone (in the text)."""
    text = words.study_overdue(params)
    if rules_for(params["cert_type"]).applications_desk:
        return Rendered(text)
    return Rendered(text, markup=keyboards.open_applications())


def renewal_markup(params: dict[str, Any]) -> InlineKeyboardMarkup:
    applied = InlineKeyboardButton(
        text=words.renewal_applied_button(),
        callback_data=RenewalCallback(receipt=params["receipt"]).pack(),
    )
    if params.get("for_contact"):
        return InlineKeyboardMarkup(inline_keyboard=[[applied]])
    receipt = InlineKeyboardButton(
        text=receipt_button(), callback_data=ReceiptCallback(receipt=params["receipt"]).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[receipt], [applied]])


def render_urgent(kind: ReminderKind, params: dict[str, Any]) -> Rendered:
    """The order and invoice notices: a button to start studying once paid, a button for a new
    QR code after an expiry or a failed payment, the invoice as the file. An order that is over
    takes the buttons off its QR code message."""
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
        if params.get("for_employees"):  # the contact's own study page has nothing to study
            return Rendered(text, clear_markup_of=clear)
        return Rendered(
            text,
            markup=payment_keyboards.start_studying(params["webapp_url"]),
            clear_markup_of=clear,
        )
    if kind is ReminderKind.ORDER_EXPIRING:
        return Rendered(
            payment.expiring(params["order"], datetime.fromisoformat(params["expires_at"]))
        )
    if kind is ReminderKind.ORDER_EXPIRED:
        return Rendered(
            payment.expired(params["order"]),
            markup=payment_keyboards.renew(),
            clear_markup_of=clear,
        )
    if kind is ReminderKind.ORDER_FAILED:
        return Rendered(
            payment.failed(params["order"]), markup=payment_keyboards.renew(), clear_markup_of=clear
        )
    if kind is ReminderKind.INVOICE_READY:
        return Rendered(payment.invoice_ready(params["order"]), document=params["file_id"])
    raise ValueError(f"not an urgent kind: {kind}")


class ReminderTexts:
    """`infra.sender.Render`: one outbox row in one language."""

    def __init__(self, i18n: Catalogs, staff_locale: str | None = None) -> None:
        self._i18n = i18n
        self._staff_locale = staff_locale or i18n.default_locale

    def __call__(
        self, item: Claimed, payload: dict[str, Any], locale: str, now: datetime
    ) -> Rendered:
        if item.kind == ReminderKind.BROADCAST.value:
            return Rendered(payload["text"], payload.get("photo"))
        if item.kind == ReminderKind.STAFF_DAILY.value:
            locale = self._staff_locale  # the group is nobody's account: the staff language
        with self._i18n.context(), self._i18n.use_locale(locale):
            kind = ReminderKind(payload["text_key"])
            if kind is ReminderKind.STUDY_OVERDUE:
                return study_overdue(payload.get("params", {}))
            if kind in URGENT_KINDS:
                return render_urgent(kind, payload.get("params", {}))
            if kind is ReminderKind.RENEWAL:
                params = payload.get("params", {})
                return Rendered(words.renewal(params, now), markup=renewal_markup(params))
            return Rendered(words.render(payload, now, essential=item.essential))

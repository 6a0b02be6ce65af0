"""Reminders as Telegram messages: a row's words and next steps (texts/notices.py, the same for
every channel) with the steps as inline buttons.

The outbox's sender (infra.sender) calls `ReminderTexts` for each row it sends to a Telegram
chat; the composition root (jijiao/app.py) hands it over. Words stay in texts/, buttons and
markup here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards, payment_keyboards
from conversation.flows.exam import receipt_press, renewal_press
from domain.reminders import ReminderKind
from infra.outbox import Claimed
from infra.sender import Rendered
from texts import reminders as words
from texts.exam import receipt_button
from texts.i18n import Catalogs
from texts.notices import Composed, Step, compose, compose_urgent


def _buttons(step: Step, params: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
    if step is Step.APPLICATIONS:
        return keyboards.open_applications().inline_keyboard
    if step is Step.START_STUDYING:
        return payment_keyboards.start_studying(params["webapp_url"]).inline_keyboard
    if step is Step.NEW_QR:
        return payment_keyboards.renew().inline_keyboard
    if step is Step.RECEIPT:
        callback = receipt_press(params["receipt"]).pack()
        return [[InlineKeyboardButton(text=receipt_button(), callback_data=callback)]]
    callback = renewal_press(params["receipt"]).pack()
    return [[InlineKeyboardButton(text=words.renewal_applied_button(), callback_data=callback)]]


def rendered(composed: Composed) -> Rendered:
    rows = [row for step in composed.steps for row in _buttons(step, composed.params)]
    return Rendered(
        composed.text,
        composed.photo,
        composed.document,
        markup=InlineKeyboardMarkup(inline_keyboard=rows) if rows else None,
        clear_markup_of=composed.clear_markup_of,
    )


def render_urgent(kind: ReminderKind, params: dict[str, Any]) -> Rendered:
    """The order and invoice notices: a button to start studying once paid, a button for a new
    QR code after an expiry or a failed payment, the invoice as the file. An order that is over
    takes the buttons off its QR code message."""
    return rendered(compose_urgent(kind, params))


class ReminderTexts:
    """`infra.sender.Render`: one outbox row in one language."""

    def __init__(self, i18n: Catalogs, staff_locale: str | None = None) -> None:
        self._i18n = i18n
        self._staff_locale = staff_locale or i18n.default_locale

    def __call__(
        self, item: Claimed, payload: dict[str, Any], locale: str, now: datetime
    ) -> Rendered:
        if item.kind == ReminderKind.BROADCAST.value:
            return rendered(compose(item.kind, payload, now, essential=item.essential))
        if item.kind == ReminderKind.STAFF_DAILY.value:
            locale = self._staff_locale  # the group is nobody's account: the staff language
        with self._i18n.context(), self._i18n.use_locale(locale):
            return rendered(compose(item.kind, payload, now, essential=item.essential))

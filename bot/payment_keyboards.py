from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.callbacks import PayAction, PayCallback
from domain.checkout import Bill, Order
from texts import payment as texts
from texts.i18n import gettext as _


def _button(text: str, action: PayAction, order: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=PayCallback(action=action, order=order).pack()
    )


def bill(bill: Bill) -> InlineKeyboardMarkup:
    rows = []
    if bill.invoice is not None and bill.items:
        rows.append([_button(_("✅ Confirm and pay"), PayAction.CONFIRM)])
    rows.append([_button(_("🧾 Invoice details"), PayAction.INVOICE)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def suggestion(text: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(text, PayAction.USE_SUGGESTION)]])


def skip() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("Skip"), PayAction.SKIP)]])


def order(order: Order) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("💳 Open the payment page"), url=order.pay_url)],
            [_button(_("🔄 I have paid: check"), PayAction.CHECK, order.number)],
        ]
    )


def renew() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(texts.new_qr(), PayAction.RENEW)]])


def start_studying(webapp_url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("📖 Start studying"), web_app=WebAppInfo(url=webapp_url))]
        ]
    )

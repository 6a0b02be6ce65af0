"""The keyboards of payment notices the outbox sends (texts/reminders.py renders them); the
payment conversation's own buttons are the core's (conversation/flows/payment.py)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.callbacks import PayAction, PayCallback
from texts import payment as texts


def renew() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=texts.new_qr(),
                    callback_data=PayCallback(action=PayAction.RENEW).pack(),
                )
            ]
        ]
    )


def start_studying(webapp_url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=texts.start_studying_button(), web_app=WebAppInfo(url=webapp_url)
                )
            ]
        ]
    )

"""Keyboards as pure functions of what they show; words come from the current locale."""

from __future__ import annotations

import functools

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LanguageCallback, MenuAction, MenuCallback
from domain.locales import Locale
from texts import common
from texts.i18n import current_locale
from texts.i18n import gettext as _

LANGUAGE_NAMES = {Locale.ZH_CN: "简体中文", Locale.EN: "English"}


def main_menu(webapp_url: str) -> InlineKeyboardMarkup:
    return _main_menu(current_locale(), webapp_url)


@functools.lru_cache(maxsize=64)
def _main_menu(locale: str, webapp_url: str) -> InlineKeyboardMarkup:
    """Sent with most answers: built once per language (aiogram's builder is slow)."""

    def item(text: str, action: MenuAction) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=MenuCallback(action=action).pack())

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [item(_("📝 Enrol"), MenuAction.ENROL), item(_("📋 My status"), MenuAction.STATUS)],
            [
                item(_("💳 Pay"), MenuAction.PAY),
                InlineKeyboardButton(text=_("📖 Study"), web_app=WebAppInfo(url=webapp_url)),
            ],
            [
                item(_("✍️ Exam"), MenuAction.EXAM),
                item(_("📨 Applications"), MenuAction.APPLICATIONS),
            ],
            [
                item(_("❓ Help"), MenuAction.HELP),
                item(_("💬 Contact support"), MenuAction.SUPPORT),
            ],
            [
                # Learning record, employees, orders and invoices: one page finds what this
                # person answers for (webview/records.py).
                InlineKeyboardButton(
                    text=common.records_button(), web_app=WebAppInfo(url=f"{webapp_url}/records")
                ),
                item(_("🌐 Language"), MenuAction.LANGUAGE),
            ],
        ]
    )


def open_applications() -> InlineKeyboardMarkup:
    """The next step after the study window ended: the same overview as /apply."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📨 Applications"),
                    callback_data=MenuCallback(action=MenuAction.APPLICATIONS).pack(),
                )
            ]
        ]
    )


def language_picker(current: Locale) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for locale, name in LANGUAGE_NAMES.items():
        mark = "✅ " if locale == current else ""
        builder.button(text=mark + name, callback_data=LanguageCallback(locale=locale))
    builder.adjust(2)
    return builder.as_markup()


def back_to_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("⬅️ Main menu"), callback_data=MenuCallback(action=MenuAction.HOME))
    return builder.as_markup()


def open_link(url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("🔗 Open the study page"), url=url)]]
    )

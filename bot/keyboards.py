"""Keyboards as pure functions of what they show; words come from the current locale."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LanguageCallback, MenuAction, MenuCallback
from domain.locales import Locale

LANGUAGE_NAMES = {Locale.ZH_CN: "简体中文", Locale.EN: "English"}


def main_menu(webapp_url: str) -> InlineKeyboardMarkup:
    def item(text: str, action: MenuAction) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=MenuCallback(action=action).pack())

    builder = InlineKeyboardBuilder()
    builder.row(item(_("📝 Enrol"), MenuAction.ENROL), item(_("📋 My status"), MenuAction.STATUS))
    builder.row(
        item(_("💳 Pay"), MenuAction.PAY),
        InlineKeyboardButton(text=_("📖 Study"), web_app=WebAppInfo(url=webapp_url)),
    )
    builder.row(
        item(_("✍️ Exam"), MenuAction.EXAM),
        item(_("📨 Applications"), MenuAction.APPLICATIONS),
    )
    builder.row(
        item(_("❓ Help"), MenuAction.HELP), item(_("💬 Contact support"), MenuAction.SUPPORT)
    )
    builder.row(item(_("🌐 Language"), MenuAction.LANGUAGE))
    return builder.as_markup()


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

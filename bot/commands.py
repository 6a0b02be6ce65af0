"""The command list Telegram shows, in each language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    MenuButtonWebApp,
    WebAppInfo,
)

from domain.locales import DEFAULT_LOCALE, Locale
from texts.i18n import Catalogs
from texts.i18n import gettext as _


def command_list() -> list[BotCommand]:
    return [
        BotCommand(command="start", description=_("Welcome and main menu")),
        BotCommand(command="enrol", description=_("Enrol for continuing education")),
        BotCommand(command="status", description=_("My enrolments")),
        BotCommand(command="pay", description=_("Pay by QR code")),
        BotCommand(command="exam", description=_("Exam: where I stand")),
        BotCommand(command="receipt", description=_("My completion receipt")),
        BotCommand(command="apply", description=_("Extension and make-up applications")),
        BotCommand(command="support", description=_("Talk to the support desk")),
        BotCommand(command="mute", description=_("Mute non-essential reminders")),
        BotCommand(command="web", description=_("Study page link for another browser")),
        BotCommand(command="menu", description=_("Main menu")),
        BotCommand(command="help", description=_("What I can do")),
        BotCommand(command="language", description=_("Switch language")),
    ]


async def register_commands(bot: Bot, i18n: Catalogs) -> None:
    """Chinese for everyone by default; English for Telegram clients set to English."""
    with i18n.context():
        with i18n.use_locale(DEFAULT_LOCALE.value):
            await bot.set_my_commands(command_list(), scope=BotCommandScopeDefault())
        with i18n.use_locale(Locale.EN.value):
            await bot.set_my_commands(
                command_list(), scope=BotCommandScopeDefault(), language_code="en"
            )


def menu_button(webapp_url: str) -> MenuButtonWebApp:
    """The button beside the message field that opens the web view, in the current language."""
    return MenuButtonWebApp(text=_("Study"), web_app=WebAppInfo(url=webapp_url))


async def register_menu_button(bot: Bot, i18n: Catalogs, webapp_url: str) -> None:
    """Telegram has one default for every chat, so it speaks the default language; a chat in
    another language gets its own (`set_chat_language`)."""
    with i18n.context(), i18n.use_locale(DEFAULT_LOCALE.value):
        await bot.set_chat_menu_button(menu_button=menu_button(webapp_url))


async def set_chat_language(
    bot: Bot, chat_id: int, i18n: Catalogs, locale: str, webapp_url: str
) -> None:
    """A person who picked a language (or whose client speaks one we do) sees the commands and
    the menu button in it."""
    with i18n.context(), i18n.use_locale(locale):
        await bot.set_my_commands(command_list(), scope=BotCommandScopeChat(chat_id=chat_id))
        await bot.set_chat_menu_button(chat_id=chat_id, menu_button=menu_button(webapp_url))

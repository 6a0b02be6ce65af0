from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from domain.locales import Locale


class MenuAction(StrEnum):
    HOME = "home"
    ENROL = "enrol"
    STATUS = "status"
    PAY = "pay"
    EXAM = "exam"
    APPLICATIONS = "applications"
    HELP = "help"
    SUPPORT = "support"
    LANGUAGE = "language"


class MenuCallback(CallbackData, prefix="menu"):
    action: MenuAction


class LanguageCallback(CallbackData, prefix="lang"):
    locale: Locale

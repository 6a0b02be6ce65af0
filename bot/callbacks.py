"""Telegram's callback data for the buttons aiogram handlers still read; the actions themselves
are the conversation core's (conversation/actions.py), packed the same way."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from conversation.actions import (
    ApplyAction,
    EnrolAction,
    MenuAction,
    PayAction,
    PickAction,
    ReviewAction,
)
from domain.locales import Locale
from domain.selfhelp import HelpTopic
from domain.support import ApplicationKind

__all__ = [
    "ApplyAction",
    "ApplyCallback",
    "EnrolAction",
    "EnrolCallback",
    "FaceHelpCallback",
    "FaceReviewCallback",
    "HelpCallback",
    "HelpTopic",
    "LanguageCallback",
    "MenuAction",
    "MenuCallback",
    "PayAction",
    "PayCallback",
    "PickAction",
    "PickCallback",
    "ReviewAction",
]

# A row id from a button: a tampered one beyond the database's integers does not unpack, so the
# button is answered as stale instead of reaching a query.
RowId = Annotated[int, Field(ge=-1, le=2**31 - 1)]


class MenuCallback(CallbackData, prefix="menu"):
    action: MenuAction


class LanguageCallback(CallbackData, prefix="lang"):
    locale: Locale


class EnrolCallback(CallbackData, prefix="enr"):
    action: EnrolAction
    item: RowId = -1


class PayCallback(CallbackData, prefix="pay"):
    action: PayAction
    order: str = ""


class PickCallback(CallbackData, prefix="payp"):
    action: PickAction
    item: RowId = -1  # an enrolment id, or a page


class ApplyCallback(CallbackData, prefix="app"):
    action: ApplyAction
    kind: ApplicationKind | None = None
    item: RowId = 0  # enrolment id when starting, application id when deciding


class HelpCallback(CallbackData, prefix="help"):
    topic: HelpTopic


class FaceReviewCallback(CallbackData, prefix="frv"):
    action: ReviewAction
    review: RowId


class FaceHelpCallback(CallbackData, prefix="fhelp"):
    """No camera in the Mini App and no video either: this check goes to staff."""

    check: RowId

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from domain.locales import Locale
from domain.support import ApplicationKind

# A row id from a button: a tampered one beyond the database's integers does not unpack, so the
# button is answered as stale instead of reaching a query.
RowId = Annotated[int, Field(ge=-1, le=2**31 - 1)]


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


class EnrolAction(StrEnum):
    MYSELF = "me"
    COMPANY = "co"
    TOGGLE = "t"
    SUBMIT = "go"
    CATEGORY_OK = "cok"
    CATEGORY_WRONG = "cbad"
    PAGE = "pg"
    SEARCH = "q"
    CLEAR_SEARCH = "qx"
    ALL_DUE = "all"
    NONE = "none"
    BLOCKED = "blk"
    SUPPORT = "help"
    RETRY = "re"
    CANCEL = "x"


class EnrolCallback(CallbackData, prefix="enr"):
    action: EnrolAction
    item: RowId = -1


class PayAction(StrEnum):
    CONFIRM = "ok"
    INVOICE = "inv"
    SKIP = "skip"
    USE_SUGGESTION = "use"
    CHECK = "chk"
    RENEW = "new"


class PayCallback(CallbackData, prefix="pay"):
    action: PayAction
    order: str = ""


class ApplyAction(StrEnum):
    START = "go"
    APPROVE = "ok"
    REJECT = "no"


class ApplyCallback(CallbackData, prefix="app"):
    action: ApplyAction
    kind: ApplicationKind | None = None
    item: RowId = 0  # enrolment id when starting, application id when deciding


class HelpTopic(StrEnum):
    COMMANDS = "cmd"
    ORDER = "order"
    INVOICE = "invoice"
    DEVICE = "device"
    FACE = "face"
    EXAM = "exam"
    DEADLINES = "deadlines"


class HelpCallback(CallbackData, prefix="help"):
    topic: HelpTopic


class ReceiptCallback(CallbackData, prefix="rcpt"):
    receipt: RowId


class ReviewAction(StrEnum):
    CLEAR = "ok"
    REJECT = "no"


class FaceReviewCallback(CallbackData, prefix="frv"):
    action: ReviewAction
    review: RowId


class FaceHelpCallback(CallbackData, prefix="fhelp"):
    """No camera in the Mini App and no video either: this check goes to staff."""

    check: RowId

"""The buttons' actions, channel-neutral: a prefix per flow and its values.

The packed form (`enr:t:3`) is what Telegram carries as callback data; a tampered or stale one
unpacks to None and is answered as an old button.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from conversation.replies import Press
from domain.locales import Locale
from domain.selfhelp import HelpTopic
from domain.support import ApplicationKind

E = TypeVar("E", bound=StrEnum)
MAX_ROW_ID = 2**31 - 1  # a row id beyond the database's integers never reaches a query


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
    EARLY_OK = "eok"  # enrol a certificate that is not due yet, knowingly
    EARLY_SKIP = "eno"  # leave the not-due ones out


class PayAction(StrEnum):
    CONFIRM = "ok"
    INVOICE = "inv"
    SKIP = "skip"
    USE_SUGGESTION = "use"
    CHECK = "chk"
    RENEW = "new"


class PickAction(StrEnum):
    """The payer's pick list: whom this payment is for, and taking back a mistaken enrolment."""

    TOGGLE = "t"
    PAGE = "pg"
    ALL = "all"
    NONE = "none"
    REMOVE = "rm"  # asks first
    REMOVE_YES = "rmy"
    KEEP = "keep"
    OWN = "me"
    COMPANY = "co"


class PhoneProofAction(StrEnum):
    """Proving a phone by an SMS code (conversation/phone_proof.py)."""

    RESEND = "again"
    CHANGE_NUMBER = "change"
    CANCEL = "x"


class ApplyAction(StrEnum):
    START = "go"
    APPROVE = "ok"
    REJECT = "no"


class ReviewAction(StrEnum):
    CLEAR = "ok"
    REJECT = "no"


PHONE_PROOF = "sms"
MENU, LANGUAGE, ENROL, PAY, APPLY, HELP, RECEIPT, REVIEW = (
    "menu",
    "lang",
    "enr",
    "pay",
    "app",
    "help",
    "rcpt",
    "frv",
)
PICK = "payp"  # the payer's pick list


def menu(action: MenuAction) -> Press:
    return Press(MENU, (action.value,))


def language(locale: Locale) -> Press:
    return Press(LANGUAGE, (locale.value,))


def enrol(action: EnrolAction, item: int = -1) -> Press:
    return Press(ENROL, (action.value, str(item)))


def pay(action: PayAction, order: str = "") -> Press:
    return Press(PAY, (action.value, order))


def phone_proof(action: PhoneProofAction) -> Press:
    return Press(PHONE_PROOF, (action.value,))


def pick(action: PickAction, item: int = -1) -> Press:
    return Press(PICK, (action.value, str(item)))


def apply(action: ApplyAction, kind: ApplicationKind | None = None, item: int = 0) -> Press:
    return Press(APPLY, (action.value, kind.value if kind else "", str(item)))


def help_topic(topic: HelpTopic) -> Press:
    return Press(HELP, (topic.value,))


def receipt(receipt_id: int) -> Press:
    return Press(RECEIPT, (str(receipt_id),))


def review(action: ReviewAction, review_id: int) -> Press:
    return Press(REVIEW, (action.value, str(review_id)))


def choice(kind: type[E], value: str) -> E | None:
    try:
        return kind(value)
    except ValueError:
        return None


def row_id(value: str) -> int | None:
    try:
        number = int(value)
    except ValueError:
        return None
    return number if -1 <= number <= MAX_ROW_ID else None

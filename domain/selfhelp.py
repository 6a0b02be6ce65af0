"""Self-help chosen from the trainee's situation, before any wall of text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

RECENT_EXPIRY = timedelta(hours=24)


class HelpTopic(StrEnum):
    COMMANDS = "cmd"
    ORDER = "order"
    INVOICE = "invoice"
    DEVICE = "device"
    FACE = "face"
    EXAM = "exam"
    DEADLINES = "deadlines"


class Advice(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    PAY_NOW = "pay_now"
    ORDER_OPEN = "order_open"
    ORDER_EXPIRED = "order_expired"
    INVOICE_COMING = "invoice_coming"
    STUDY_DEADLINE = "study_deadline"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Situation:
    bound: bool
    awaiting_payment: int  # enrolments enrolled but not yet ordered
    open_order_expires_at: datetime | None
    last_expired_order_at: datetime | None
    invoice_due_on: date | None  # a paid order still waiting for its invoice
    study_deadline: datetime | None  # the nearest open study window
    overdue: bool


@dataclass(frozen=True, slots=True)
class Suggestion:
    advice: Advice
    at: datetime | date | None = None
    minutes: int | None = None


def suggestions(situation: Situation, now: datetime) -> list[Suggestion]:
    """Most urgent first: what the trainee can do about their own case right now."""
    found: list[Suggestion] = []
    if not situation.bound:
        return [Suggestion(Advice.NOT_ENROLLED)]
    if situation.overdue:
        found.append(Suggestion(Advice.OVERDUE))
    if situation.open_order_expires_at is not None and situation.open_order_expires_at > now:
        found.append(Suggestion(Advice.ORDER_OPEN, at=situation.open_order_expires_at))
    elif (
        situation.last_expired_order_at is not None
        and now - situation.last_expired_order_at <= RECENT_EXPIRY
        and situation.awaiting_payment
    ):
        minutes = int((now - situation.last_expired_order_at).total_seconds() // 60)
        found.append(Suggestion(Advice.ORDER_EXPIRED, minutes=minutes))
    elif situation.awaiting_payment:
        found.append(Suggestion(Advice.PAY_NOW))
    if situation.study_deadline is not None and situation.study_deadline > now:
        found.append(Suggestion(Advice.STUDY_DEADLINE, at=situation.study_deadline))
    if situation.invoice_due_on is not None:
        found.append(Suggestion(Advice.INVOICE_COMING, at=situation.invoice_due_on))
    return found

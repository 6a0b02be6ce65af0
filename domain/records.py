"""Records for the people who answer for the training: a trainee's own enrolments across years,
an enterprise contact's employees, a payer's orders and invoices (issue 19).

Values only: who may see which record is decided by the queries (infra/repositories/records.py),
the words by webview/ and texts/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from domain.enrolment import EnrolmentState
from domain.registry import CertType
from domain.study import LessonState, percent


class EmployeeFilter(StrEnum):
    """The filters of an enterprise contact's employee table."""

    ALL = "all"
    ENROLLED = "enrolled"  # not paid yet
    PAID = "paid"
    STUDYING = "studying"
    PASSED = "passed"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"


# What each filter selects: a paid enrolment is one in any state that only payment reaches.
FILTER_STATES: dict[EmployeeFilter, frozenset[EnrolmentState]] = {
    EmployeeFilter.ALL: frozenset(EnrolmentState),
    EmployeeFilter.ENROLLED: frozenset({EnrolmentState.ENROLLED, EnrolmentState.AWAITING_PAYMENT}),
    EmployeeFilter.PAID: frozenset(
        {
            EnrolmentState.STUDYING,
            EnrolmentState.EXAM,
            EnrolmentState.PASSED,
            EnrolmentState.OVERDUE,
        }
    ),
    EmployeeFilter.STUDYING: frozenset({EnrolmentState.STUDYING, EnrolmentState.EXAM}),
    EmployeeFilter.PASSED: frozenset({EnrolmentState.PASSED}),
    EmployeeFilter.OVERDUE: frozenset({EnrolmentState.OVERDUE}),
    EmployeeFilter.CANCELLED: frozenset({EnrolmentState.CANCELLED}),
}


def employee_filter(value: str | None) -> EmployeeFilter:
    """Anything unknown in the address shows everyone rather than an error."""
    try:
        return EmployeeFilter(value or EmployeeFilter.ALL.value)
    except ValueError:
        return EmployeeFilter.ALL


def days_left(deadline: datetime | None, state: EnrolmentState, now: datetime) -> int | None:
    """Whole days left in the study window (R-STUDY-2), counting a started day; None when no
    window runs (not paid, passed, cancelled), 0 once it has ended."""
    if deadline is None or state not in (EnrolmentState.STUDYING, EnrolmentState.EXAM):
        return None
    seconds = (deadline - now).total_seconds()
    if seconds <= 0:
        return 0
    return int(-(-seconds // 86400))


@dataclass(frozen=True, slots=True)
class EnrolmentRecord:
    """One enrolment as its trainee, their enterprise contact or an export sees it. The ID
    number and phone are masked before they get here."""

    enrolment_id: int
    name: str
    id_number_masked: str
    phone_masked: str
    cert_type: CertType
    certificate_number: str
    category: str | None
    state: EnrolmentState
    enrolled_at: datetime
    paid_at: datetime | None
    deadline: datetime | None
    credited_seconds: int  # each lesson counted up to its requirement
    required_seconds: int
    attempts: int
    best_score: int | None
    passed_at: datetime | None
    receipt_id: int | None
    # The course's class hours in the catalogue (what the receipt prints); 0: not given, the
    # hours are then the lessons' time.
    class_hours: float = 0.0
    illustrative: bool = False  # a demo catalogue's hours, said so wherever they are shown

    @property
    def percent(self) -> int:
        return percent(self.credited_seconds, self.required_seconds)

    @property
    def hours(self) -> float:
        """Class hours earned so far, in the catalogue's hours: the receipt's figure at 100 %."""
        if self.class_hours:
            done = min(self.credited_seconds, self.required_seconds)
            return round(self.class_hours * done / max(1, self.required_seconds), 1)
        return round(self.credited_seconds / 3600, 1)

    @property
    def required_hours(self) -> float:
        return self.class_hours or round(self.required_seconds / 3600, 1)


@dataclass(frozen=True, slots=True)
class EmployeeDetail:
    record: EnrolmentRecord
    lessons: tuple[LessonState, ...]
    days_left: int | None


@dataclass(frozen=True, slots=True)
class CoveredItem:
    """What one line of an order paid for."""

    enrolment_id: int
    name: str
    cert_type: CertType
    certificate_number: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class OrderRecord:
    order_id: int
    number: str
    status: str  # domain.payment.OrderStatus
    amount_fen: int
    created_at: datetime
    paid_at: datetime | None
    invoice_title: str
    invoice_due_on: date | None
    has_invoice: bool
    items: tuple[CoveredItem, ...]

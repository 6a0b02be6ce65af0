"""The support desk and applications: rules only (R-EXT-1..3, S17, S18).

The manual names three applications, 「继续教育延期、补考和重学的规定」: extension (延期), make-up
(补考) and re-study (重学). It states when the first two open (「申请延期需在30天学习期限结束后才可
申请；申请补考需5次考试次数用完才可申请」) and that they are free; re-study it only names. Here
re-study is the way on once an extension or make-up was already granted and the trainee is
stuck again: the course from the start, with a new window and five new attempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import DomainError
from domain.registry import CertType

EXTENSION_DAYS = 30
MAKEUP_ATTEMPTS = 5
STAFF_NOTE_MARKER = "//"


class ApplicationKind(StrEnum):
    EXTENSION = "extension"
    MAKEUP = "makeup"
    RESTUDY = "restudy"


# Kinds whose approval grants a new set of five attempts (R-EXT-2).
NEW_ATTEMPTS = frozenset({ApplicationKind.MAKEUP, ApplicationKind.RESTUDY})


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApplicationRefused(DomainError):
    """code: extension_too_early, extension_not_needed, makeup_too_early, restudy_too_early,
    phone_desk, already_pending, already_decided, not_found."""


@dataclass(frozen=True, slots=True)
class Eligibility:
    allowed: bool
    code: str | None = None  # why not, for the words
    opens_at: datetime | None = None
    attempts_used: int | None = None
    desk: str | None = None  # the phone desk that decides instead (code phone_desk)


@dataclass(frozen=True, slots=True)
class Applicable:
    """A paid enrolment an account may apply for (its own, or an employee's for an enterprise
    contact), and where each kind of application stands for it, in `ApplicationKind`'s order."""

    enrolment_id: int
    holder: str
    cert_type: CertType
    cert_number: str  # whole: masked where it is shown
    eligibility: tuple[tuple[ApplicationKind, Eligibility], ...]


def extension_eligibility(
    study_deadline: datetime | None, passed: bool, now: datetime
) -> Eligibility:
    """R-EXT-1: only after the 30 days ended without a pass (S18 says when it opens)."""
    if passed or study_deadline is None:
        return Eligibility(False, "extension_not_needed")
    if now < study_deadline:
        return Eligibility(False, "extension_too_early", opens_at=study_deadline)
    return Eligibility(True)


def makeup_eligibility(failed_attempts: int, passed: bool) -> Eligibility:
    """R-EXT-2: only after the 5th failed attempt."""
    if passed:
        return Eligibility(False, "extension_not_needed")
    if failed_attempts < MAKEUP_ATTEMPTS:
        return Eligibility(False, "makeup_too_early", attempts_used=failed_attempts)
    return Eligibility(True)


def restudy_eligibility(
    study_deadline: datetime | None,
    failed_attempts: int,
    passed: bool,
    granted_before: int,
    now: datetime,
) -> Eligibility:
    """Re-study: once an extension or make-up was granted and the trainee is stuck again (the
    window ended, or the five attempts are used), not before."""
    if passed or study_deadline is None:
        return Eligibility(False, "extension_not_needed")
    stuck = now >= study_deadline or failed_attempts >= MAKEUP_ATTEMPTS
    if granted_before < 1 or not stuck:
        return Eligibility(False, "restudy_too_early")
    return Eligibility(True)


def phone_desk_only(desk: str | None) -> Eligibility | None:
    """Types the manual sends to a phone desk for these applications (certrules): that desk is
    the answer, whatever the dates say; we do not decide for it."""
    return Eligibility(False, "phone_desk", desk=desk) if desk else None


def extended_deadline(current: datetime, now: datetime, days: int = EXTENSION_DAYS) -> datetime:
    """A new window counts from the decision, never shortens the old one."""
    return max(current, now) + timedelta(days=days)


def window_after_approval(
    kind: ApplicationKind, current: datetime | None, now: datetime, days: int = EXTENSION_DAYS
) -> datetime:
    """The study window each approved application gives. Extension: `days` more, counted
    from the decision or the old end, whichever is later. Make-up: its five attempts need an
    open exam, so the window stays open at least `days` from the decision (an open one is
    never shortened). Re-study: the course again, the same window as a make-up."""
    current = current or now
    if kind is ApplicationKind.EXTENSION:
        return extended_deadline(current, now, days)
    return max(current, now + timedelta(days=days))


def is_staff_note(text: str | None) -> bool:
    """Staff talk among themselves in a topic by starting with //; that stays internal."""
    return text is not None and text.lstrip().startswith(STAFF_NOTE_MARKER)

"""The support desk and applications: rules only (R-EXT-1..3, S17, S18)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import DomainError

EXTENSION_DAYS = 30
MAKEUP_ATTEMPTS = 5
STAFF_NOTE_MARKER = "//"


class ApplicationKind(StrEnum):
    EXTENSION = "extension"
    MAKEUP = "makeup"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApplicationRefused(DomainError):
    """code: extension_too_early, extension_not_needed, makeup_too_early, already_pending,
    already_decided, not_found."""


@dataclass(frozen=True, slots=True)
class Eligibility:
    allowed: bool
    code: str | None = None  # why not, for the words
    opens_at: datetime | None = None
    attempts_used: int | None = None


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


def extended_deadline(current: datetime, now: datetime, days: int = EXTENSION_DAYS) -> datetime:
    """A new window counts from the decision, never shortens the old one."""
    return max(current, now) + timedelta(days=days)


def is_staff_note(text: str | None) -> bool:
    """Staff talk among themselves in a topic by starting with //; that stays internal."""
    return text is not None and text.lstrip().startswith(STAFF_NOTE_MARKER)

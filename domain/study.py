"""Study progress (R-STUDY-1..2): what a heartbeat earns, how far a lesson is, when to look again.

Credit is wall time between two beats of the same trainee, whichever lesson or tab sent them:
the caller passes the trainee's latest beat across all their lessons, so two tabs share one
clock instead of earning twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class CheckKind(StrEnum):
    ENROLMENT = "enrolment"
    START = "start"  # opens a lesson
    EXAM = "exam"  # opens an exam attempt: its questions come only after it passed
    RANDOM = "random"
    STAFF = "staff"  # cleared by staff after a review


class CheckResult(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


class NoCredit(StrEnum):
    """Why a beat earned nothing; the page says so."""

    FACE_CHECK = "face_check"
    PHOTO_PENDING = "photo_pending"  # a new enrolment photo waits for staff approval
    WINDOW_CLOSED = "window_closed"
    GAP = "gap"
    COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class LatestCheck:
    result: CheckResult
    answered_at: datetime | None


def face_ok(latest: LatestCheck | None, now: datetime, stale_after: timedelta) -> bool:
    """Only a passed check counts, and only while it is recent: a page left open without new
    checks stops earning."""
    if latest is None or latest.result is not CheckResult.PASSED or latest.answered_at is None:
        return False
    return now - latest.answered_at <= stale_after


def credit(
    now: datetime,
    last_beat_at: datetime | None,
    lesson_required_seconds: int,
    already: int,
    window_end: datetime,
    face_ok: bool,
    max_gap: timedelta,
) -> int:
    """Whole seconds a beat earns. A gap longer than `max_gap` means the page was hidden or
    closed: the beat only restarts the clock."""
    if not face_ok or last_beat_at is None or last_beat_at >= window_end:
        return 0
    elapsed = (min(now, window_end) - last_beat_at).total_seconds()
    if elapsed <= 0 or elapsed > max_gap.total_seconds():
        return 0
    return max(0, min(math.floor(elapsed), lesson_required_seconds - already))


def why_no_credit(
    now: datetime,
    last_beat_at: datetime | None,
    lesson_required_seconds: int,
    already: int,
    window_end: datetime,
    face_ok: bool,
    max_gap: timedelta,
) -> NoCredit | None:
    if already >= lesson_required_seconds:
        return NoCredit.COMPLETE
    if now >= window_end:
        return NoCredit.WINDOW_CLOSED
    if not face_ok:
        return NoCredit.FACE_CHECK
    if last_beat_at is None or (now - last_beat_at) > max_gap:
        return NoCredit.GAP
    return None


def percent(credited: int, required: int) -> int:
    """Rounded down, so 100 means every required second is credited."""
    if required <= 0:
        return 100
    return min(100, credited * 100 // required)


@dataclass(frozen=True, slots=True)
class LessonState:
    """One lesson's progress: seconds credited against the seconds it requires."""

    key: str
    credited: int
    required: int

    @property
    def percent(self) -> int:
        return percent(self.credited, self.required)


def total_percent(lessons: Iterable[tuple[int, int]]) -> int:
    """(credited, required) per lesson; a lesson cannot lend its surplus to another."""
    pairs = list(lessons)
    required = sum(r for _, r in pairs)
    return percent(sum(min(c, r) for c, r in pairs), required)


def next_check_at(passed_at: datetime, interval: timedelta, fraction: float) -> datetime:
    """A random moment in the second half of the interval after a pass (`fraction` in [0, 1)),
    so the trainee cannot tell when the next one comes but it always comes."""
    fraction = min(max(fraction, 0.0), 1.0)
    return passed_at + interval * (0.5 + 0.5 * fraction)


def required_seconds(minutes: float, scale: float) -> int:
    return max(1, round(minutes * 60 * scale))


CLASS_HOUR_MINUTES = 45


def class_hours(minutes: float) -> float:
    """学时: a class hour is 45 minutes; one decimal is what a receipt prints."""
    return round(minutes / CLASS_HOUR_MINUTES, 1)


def minimum_minutes(hours: float) -> float:
    """The study time a number of class hours stands for."""
    return hours * CLASS_HOUR_MINUTES


def hours_backed_by_minutes(hours: float, minutes: float) -> bool:
    """A catalogue may not print more class hours on a receipt than its lessons make the
    trainee study (the 0.05 is the receipt's rounding to one decimal)."""
    return minutes >= minimum_minutes(max(hours - 0.05, 0.0))

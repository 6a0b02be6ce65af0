"""Exams (R-EXAM-1..2, R-EXT-2; S13-S16): when one opens, the draw, the deadline, the score.

An attempt draws its questions and the order of their options once; it has one deadline in wall
time that nothing pauses; answers are accepted until then and scored once, when the attempt is
closed by the trainee or, at the deadline, by the server. The result is the best closed score.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import DomainError

MAX_ATTEMPTS = 5
PASS_MARK = 60
WARNING_BEFORE = timedelta(minutes=10)


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUEFALSE = "truefalse"


TRUE, FALSE = "true", "false"


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    kind: QuestionKind
    options: tuple[str, ...]
    correct: frozenset[str]


@dataclass(frozen=True, slots=True)
class Drawn:
    """One question of an attempt, with its options in the order this attempt shows them."""

    question: str
    options: tuple[str, ...]


def draw(bank: Sequence[Question], count: int, rng: random.Random) -> tuple[Drawn, ...]:
    """`count` different questions in random order, options shuffled (true/false keeps its
    order: "true" first reads naturally and shuffling two options teaches nothing)."""
    chosen = rng.sample(list(bank), min(count, len(bank)))
    return tuple(
        Drawn(
            q.key,
            q.options
            if q.kind is QuestionKind.TRUEFALSE
            else tuple(rng.sample(q.options, len(q.options))),
        )
        for q in chosen
    )


class InvalidAnswer(DomainError):
    """code: unknown_question, unknown_option, one_only."""


def normalise_answer(question: Question, chosen: Iterable[str]) -> frozenset[str]:
    """What the trainee picked, checked against the question; an empty set clears the answer."""
    picked = frozenset(chosen)
    if not picked <= set(question.options):
        raise InvalidAnswer("unknown_option")
    if question.kind is not QuestionKind.MULTIPLE and len(picked) > 1:
        raise InvalidAnswer("one_only")
    return picked


def is_right(question: Question, picked: frozenset[str]) -> bool:
    """All or nothing: a multiple-choice question counts only with exactly the right set."""
    return picked == question.correct


def score(
    bank: Mapping[str, Question], drawn: Sequence[str], answers: Mapping[str, frozenset[str]]
) -> int:
    """Percent of the drawn questions answered right, rounded down (60 means at least 60 %)."""
    if not drawn:
        return 0
    right = sum(is_right(bank[key], answers.get(key, frozenset())) for key in drawn)
    return right * 100 // len(drawn)


def passes(value: int) -> bool:
    return value >= PASS_MARK


class AttemptStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"  # by the trainee
    TIMED_OUT = "timed_out"  # by the server, at the deadline, with what was saved
    # Given back by staff: lost to a technical failure (S15), it is as if it had not been sat.
    VOIDED = "voided"


class Identity(StrEnum):
    """Whether the person who sat an attempt is the person enrolled: confirmed by the face
    checks (the one that opened it passed, every one during it passed), held for staff (one
    failed: no receipt until they decide), or rejected by staff (the attempt does not count)."""

    CONFIRMED = "confirmed"
    HELD = "held"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    status: AttemptStatus
    started_at: datetime
    deadline: datetime
    score: int | None = None
    identity: Identity = Identity.CONFIRMED

    @property
    def closed(self) -> bool:
        return self.status is not AttemptStatus.OPEN

    @property
    def counts(self) -> bool:
        """A rejected or voided attempt is as if it had not been sat: no score, no attempt
        used."""
        return self.identity is not Identity.REJECTED and self.status is not AttemptStatus.VOIDED


def may_give_back(attempt: Attempt, attempts: Iterable[Attempt]) -> bool:
    """S15: staff give back a closed attempt a technical failure wasted, never once the exam is
    passed (the receipt stands on the attempts as they are) and never one running."""
    return attempt.closed and attempt.counts and not has_passed(attempts)


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One moment of an attempt, for staff. `kind`: started, saved, submitted, timed_out,
    staff_cleared, staff_rejected, or check (a face check requested during it)."""

    at: datetime
    kind: str
    question: int | None = None  # saved: the question's place in the attempt, from 1
    score: int | None = None  # submitted, timed_out
    check: str | None = None  # check: its CheckKind
    result: str | None = None  # check: its CheckResult
    reason: str | None = None  # check: why it did not pass


def deadline_for(started_at: datetime, time_limit: timedelta) -> datetime:
    return started_at + time_limit


def accepts_answers(attempt: Attempt, now: datetime) -> bool:
    """Until the deadline and not a moment after (S16: the clock is the server's)."""
    return attempt.status is AttemptStatus.OPEN and now < attempt.deadline


def overdue(attempt: Attempt, now: datetime) -> bool:
    return attempt.status is AttemptStatus.OPEN and now >= attempt.deadline


def warning_due(deadline: datetime, now: datetime) -> bool:
    return timedelta(0) < deadline - now <= WARNING_BEFORE


def best_score(attempts: Iterable[Attempt]) -> int | None:
    """R-EXAM-2: the result is the highest closed score (S14 lists all of them beside it), of
    the attempts whose sitter is confirmed: a held or rejected score is nobody's result yet."""
    scores = [
        a.score
        for a in attempts
        if a.closed and a.counts and a.score is not None and a.identity is Identity.CONFIRMED
    ]
    return max(scores) if scores else None


def attempts_used(attempts: Iterable[Attempt]) -> int:
    return sum(1 for a in attempts if a.counts)


def has_passed(attempts: Iterable[Attempt]) -> bool:
    best = best_score(attempts)
    return best is not None and passes(best)


def allowance(makeups_granted: int) -> int:
    """Five attempts, and five more for every approved make-up application (R-EXT-2)."""
    return MAX_ATTEMPTS * (1 + max(0, makeups_granted))


def failed_in_current_set(attempts_used: int, makeups_granted: int) -> int:
    """How many attempts of the latest set of five are used: the make-up rule counts these."""
    return max(0, attempts_used - MAX_ATTEMPTS * max(0, makeups_granted))


class ExamBlock(StrEnum):
    PASSED = "passed"
    LESSONS = "lessons"  # S13: which lessons are short of 100 %
    WINDOW_CLOSED = "window_closed"  # R-EXT-1: an extension reopens it
    NO_ATTEMPTS = "no_attempts"  # R-EXT-2: a make-up application grants more
    HELD = "held"  # a pass waits for staff to confirm who sat it
    PHOTO_PENDING = "photo_pending"  # a new enrolment photo waits for staff approval


@dataclass(frozen=True, slots=True)
class ExamEligibility:
    block: ExamBlock | None
    attempts_left: int
    short_lessons: tuple[tuple[str, int], ...] = ()
    window_end: datetime | None = None
    resume: Attempt | None = None

    @property
    def allowed(self) -> bool:
        return self.block is None


def exam_eligibility(
    *,
    lessons: Sequence[tuple[str, int]],
    window_end: datetime | None,
    now: datetime,
    attempts: Sequence[Attempt],
    makeups_granted: int,
) -> ExamEligibility:
    """R-EXAM-1: every lesson at 100 % inside the study window; an attempt already running
    resumes until its own deadline, whatever happened to the window meanwhile (S15)."""
    left = max(0, allowance(makeups_granted) - attempts_used(attempts))
    if has_passed(attempts):
        return ExamEligibility(ExamBlock.PASSED, left)
    if any(a.identity is Identity.HELD for a in attempts):
        return ExamEligibility(ExamBlock.HELD, left)
    running = next((a for a in attempts if accepts_answers(a, now)), None)
    if running is not None:
        return ExamEligibility(None, left, resume=running)
    short = tuple((key, pct) for key, pct in lessons if pct < 100)
    if short:
        return ExamEligibility(ExamBlock.LESSONS, left, short_lessons=short)
    if window_end is None or now >= window_end:
        return ExamEligibility(ExamBlock.WINDOW_CLOSED, left, window_end=window_end)
    if left == 0:
        return ExamEligibility(ExamBlock.NO_ATTEMPTS, 0)
    return ExamEligibility(None, left, window_end=window_end)

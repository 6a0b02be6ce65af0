"""The exam's pure rules (R-EXAM-1..2, R-EXT-2, S13-S16), with properties over many draws."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.exam import (
    MAX_ATTEMPTS,
    Attempt,
    AttemptStatus,
    ExamBlock,
    InvalidAnswer,
    Question,
    QuestionKind,
    accepts_answers,
    allowance,
    best_score,
    deadline_for,
    draw,
    exam_eligibility,
    failed_in_current_set,
    may_give_back,
    normalise_answer,
    overdue,
    passes,
    score,
    warning_due,
)

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DONE = [("a", 100), ("b", 100)]

SINGLE = Question("s", QuestionKind.SINGLE, ("a", "b", "c", "d"), frozenset({"b"}))
MULTI = Question("m", QuestionKind.MULTIPLE, ("a", "b", "c", "d"), frozenset({"a", "c"}))
TF = Question("t", QuestionKind.TRUEFALSE, ("true", "false"), frozenset({"false"}))
BANK = {q.key: q for q in (SINGLE, MULTI, TF)}


def closed(number: int, value: int) -> Attempt:
    return Attempt(number, AttemptStatus.SUBMITTED, NOW - 2 * HOUR, NOW - HOUR, value)


def eligibility(attempts=(), lessons=DONE, window_end=NOW + 10 * HOUR, granted=0, now=NOW):
    return exam_eligibility(
        lessons=lessons,
        window_end=window_end,
        now=now,
        attempts=list(attempts),
        makeups_granted=granted,
    )


# R-EXAM-1 / S13: what is missing, exactly.


def test_the_exam_stays_closed_until_every_lesson_is_at_100_and_names_the_short_ones():
    result = eligibility(lessons=[("a", 100), ("b", 82), ("c", 0)])
    assert result.block is ExamBlock.LESSONS
    assert result.short_lessons == (("b", 82), ("c", 0))
    assert eligibility().allowed


def test_a_closed_window_says_when_and_an_extension_reopens_it():
    result = eligibility(window_end=NOW - HOUR)
    assert result.block is ExamBlock.WINDOW_CLOSED and result.window_end == NOW - HOUR
    assert eligibility(window_end=None).block is ExamBlock.WINDOW_CLOSED
    assert eligibility(window_end=NOW + HOUR).allowed


def test_a_running_attempt_resumes_even_after_the_window_closed():
    running = Attempt(
        1, AttemptStatus.OPEN, NOW - timedelta(minutes=30), NOW + timedelta(minutes=30)
    )
    result = eligibility([running], window_end=NOW - timedelta(minutes=1))
    assert result.allowed and result.resume == running


def test_an_attempt_past_its_deadline_does_not_resume():
    late = Attempt(1, AttemptStatus.OPEN, NOW - 2 * HOUR, NOW - HOUR)
    assert eligibility([late]).resume is None
    assert overdue(late, NOW) and not accepts_answers(late, NOW)


# R-EXAM-2 / S14: five attempts, pass at 60, the best counts.


def test_a_pass_closes_the_exam():
    assert eligibility([closed(1, 40), closed(2, 60)]).block is ExamBlock.PASSED
    assert passes(60) and not passes(59)


def test_five_failed_attempts_close_it_and_a_makeup_gives_five_more():
    five = [closed(n, 30) for n in range(1, 6)]
    assert eligibility(five).block is ExamBlock.NO_ATTEMPTS
    again = eligibility(five, granted=1)
    assert again.allowed and again.attempts_left == MAX_ATTEMPTS
    assert failed_in_current_set(5, 0) == 5 and failed_in_current_set(7, 1) == 2


def test_an_attempt_given_back_by_staff_counts_for_nothing_s15():
    five = [closed(n, 30) for n in range(1, 6)]
    lost = Attempt(5, AttemptStatus.VOIDED, NOW - 2 * HOUR, NOW - HOUR, 95)
    after = eligibility([*five[:4], lost])
    assert after.allowed and after.attempts_left == 1
    # Its score is nobody's result: a voided 95 is not a pass.
    assert best_score([*five[:4], lost]) == 30


def test_only_a_closed_counted_attempt_of_an_unpassed_exam_may_be_given_back():
    failed = closed(1, 30)
    assert may_give_back(failed, [failed])
    running = Attempt(2, AttemptStatus.OPEN, NOW - HOUR, NOW + HOUR)
    assert not may_give_back(running, [failed, running])
    assert not may_give_back(failed, [failed, closed(2, 80)])  # passed: the receipt stands
    voided = Attempt(1, AttemptStatus.VOIDED, NOW - 2 * HOUR, NOW - HOUR, 30)
    assert not may_give_back(voided, [voided])


@given(
    st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=2),
)
def test_the_result_shown_is_always_the_maximum_of_the_closed_scores(scores, open_count):
    attempts = [closed(n + 1, value) for n, value in enumerate(scores)]
    attempts += [
        Attempt(len(scores) + k + 1, AttemptStatus.OPEN, NOW, NOW + HOUR) for k in range(open_count)
    ]
    assert best_score(attempts) == max(scores)


@given(st.lists(st.integers(min_value=0, max_value=59), max_size=20), st.integers(0, 3))
def test_never_more_attempts_than_the_allowance(failed_scores, granted):
    """Simulate a trainee starting attempts while the rule allows: no sixth attempt without an
    approved make-up, no eleventh without two."""
    attempts: list[Attempt] = []
    for value in failed_scores:
        if not eligibility(attempts, granted=granted).allowed:
            break
        attempts.append(closed(len(attempts) + 1, value))
    assert len(attempts) <= allowance(granted)
    if len(failed_scores) >= allowance(granted):
        assert len(attempts) == allowance(granted)
        assert eligibility(attempts, granted=granted).block is ExamBlock.NO_ATTEMPTS


# S16: one server deadline.


def test_the_deadline_is_wall_time_and_answers_stop_at_it():
    start = NOW
    attempt = Attempt(1, AttemptStatus.OPEN, start, deadline_for(start, HOUR))
    assert accepts_answers(attempt, start + HOUR - timedelta(seconds=1))
    assert not accepts_answers(attempt, start + HOUR)
    assert not accepts_answers(Attempt(1, AttemptStatus.SUBMITTED, start, start + HOUR, 70), start)


def test_the_warning_comes_in_the_last_ten_minutes_only():
    deadline = NOW + HOUR
    assert not warning_due(deadline, deadline - timedelta(minutes=11))
    assert warning_due(deadline, deadline - timedelta(minutes=10))
    assert warning_due(deadline, deadline - timedelta(seconds=1))
    assert not warning_due(deadline, deadline)


# Scoring and answers.


def test_multiple_choice_counts_only_with_exactly_the_right_set():
    assert score(BANK, ["m"], {"m": frozenset({"a", "c"})}) == 100
    assert score(BANK, ["m"], {"m": frozenset({"a"})}) == 0
    assert score(BANK, ["m"], {"m": frozenset({"a", "b", "c"})}) == 0


def test_the_score_is_rounded_down_and_unanswered_questions_count_wrong():
    answers = {"s": frozenset({"b"}), "m": frozenset({"a", "c"})}
    assert score(BANK, ["s", "m", "t"], answers) == 66
    assert score(BANK, ["s", "m", "t"], {}) == 0
    assert score(BANK, [], {}) == 0


def test_answers_are_checked_against_the_question():
    assert normalise_answer(SINGLE, ["b"]) == frozenset({"b"})
    assert normalise_answer(SINGLE, []) == frozenset()
    with pytest.raises(InvalidAnswer) as one_only:
        normalise_answer(SINGLE, ["a", "b"])
    assert one_only.value.code == "one_only"
    with pytest.raises(InvalidAnswer) as unknown:
        normalise_answer(TF, ["maybe"])
    assert unknown.value.code == "unknown_option"
    assert normalise_answer(MULTI, ["a", "c", "a"]) == frozenset({"a", "c"})


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=60))
def test_a_draw_is_distinct_questions_with_every_option_once(seed, count):
    bank = [
        Question(f"q{n}", QuestionKind.SINGLE, ("a", "b", "c", "d"), frozenset({"a"}))
        for n in range(45)
    ] + [TF]
    drawn = draw(bank, count, random.Random(seed))
    assert len(drawn) == min(count, len(bank))
    assert len({d.question for d in drawn}) == len(drawn)
    by_key = {q.key: q for q in bank}
    for item in drawn:
        assert sorted(item.options) == sorted(by_key[item.question].options)
        if item.question == "t":
            assert item.options == ("true", "false")


def test_draws_differ_between_attempts():
    bank = [
        Question(f"q{n}", QuestionKind.SINGLE, ("a", "b", "c", "d"), frozenset({"a"}))
        for n in range(45)
    ]
    rng = random.Random(7)
    first, second = draw(bank, 20, rng), draw(bank, 20, rng)
    assert first != second
    # Options are shuffled: across 20 questions the right one is not always first.
    assert any(item.options[0] != "a" for item in first)

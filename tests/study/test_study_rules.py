"""The crediting rules of domain/study.py, held by properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.study import (
    CheckResult,
    LatestCheck,
    NoCredit,
    credit,
    face_ok,
    next_check_at,
    percent,
    total_percent,
    why_no_credit,
)

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
END = T0 + timedelta(days=30)
GAP = timedelta(seconds=25)
offsets = st.integers(min_value=0, max_value=40 * 86400)


class Trainee:
    """What application/study.py does per trainee: one clock shared by every tab and lesson."""

    def __init__(self, required: int) -> None:
        self.required = required
        self.credited: dict[str, int] = {}
        self.last: datetime | None = None

    def beat(self, lesson: str, now: datetime, ok: bool = True, end: datetime = END) -> int:
        already = self.credited.get(lesson, 0)
        gained = credit(now, self.last, self.required, already, end, ok, GAP)
        self.credited[lesson] = already + gained
        self.last = max(self.last, now) if self.last else now
        return gained


@given(st.integers(0, 10_000), st.integers(0, 100), st.integers(1, 5000), st.integers(0, 5000))
def test_a_beat_never_earns_more_than_the_wall_time_since_the_last_one(
    start: int, seconds: int, required: int, already: int
) -> None:
    last = T0 + timedelta(seconds=start)
    gained = credit(last + timedelta(seconds=seconds), last, required, already, END, True, GAP)
    assert 0 <= gained <= min(seconds, GAP.total_seconds())


@given(
    st.lists(
        st.tuples(st.sampled_from(["tab_a", "tab_b", "lesson_2"]), st.integers(0, 30)), max_size=60
    )
)
def test_two_tabs_or_devices_never_earn_more_than_the_time_that_passed(
    beats: list[tuple[str, int]],
) -> None:
    trainee = Trainee(required=10_000)
    now = T0
    trainee.beat("tab_a", now)
    for lesson, wait in beats:
        now += timedelta(seconds=wait)
        trainee.beat(lesson, now)
    assert sum(trainee.credited.values()) <= (now - T0).total_seconds()


@given(st.integers(0, 20), st.integers(1, 1000))
def test_nothing_is_credited_while_the_face_check_is_pending_stale_or_failed(
    seconds: int, required: int
) -> None:
    assert credit(T0 + timedelta(seconds=seconds), T0, required, 0, END, False, GAP) == 0


def test_a_check_is_only_good_while_passed_and_recent() -> None:
    stale = timedelta(minutes=12)
    passed = LatestCheck(CheckResult.PASSED, T0)
    assert face_ok(passed, T0 + timedelta(minutes=11), stale)
    assert not face_ok(passed, T0 + timedelta(minutes=13), stale)
    assert not face_ok(LatestCheck(CheckResult.FAILED, T0), T0, stale)
    assert not face_ok(LatestCheck(CheckResult.PENDING, None), T0, stale)
    assert not face_ok(None, T0, stale)


@given(offsets, st.integers(0, 20))
def test_nothing_is_credited_after_the_study_window_closed(after: int, seconds: int) -> None:
    last = END + timedelta(seconds=after)
    now = last + timedelta(seconds=seconds)
    assert credit(now, last, 1000, 0, END, True, GAP) == 0
    assert why_no_credit(now, last, 1000, 0, END, True, GAP) is NoCredit.WINDOW_CLOSED


def test_time_up_to_the_deadline_still_counts_but_not_beyond() -> None:
    last = END - timedelta(seconds=5)
    assert credit(END + timedelta(seconds=10), last, 1000, 0, END, True, GAP) == 5


@given(st.lists(st.integers(0, 30), max_size=200), st.integers(1, 300))
def test_a_lesson_is_capped_at_its_required_seconds_and_100_percent(
    waits: list[int], required: int
) -> None:
    trainee = Trainee(required)
    now = T0
    trainee.beat("lesson", now)
    for wait in waits:
        now += timedelta(seconds=wait)
        trainee.beat("lesson", now)
    credited = trainee.credited["lesson"]
    assert credited <= required
    assert percent(credited, required) <= 100
    assert (percent(credited, required) == 100) == (credited == required)


def test_a_long_pause_only_restarts_the_clock() -> None:
    now = T0 + GAP + timedelta(seconds=1)
    assert credit(now, T0, 1000, 0, END, True, GAP) == 0
    assert why_no_credit(now, T0, 1000, 0, END, True, GAP) is NoCredit.GAP


def test_the_total_does_not_let_one_lesson_lend_to_another() -> None:
    assert total_percent([(60, 60), (0, 60)]) == 50
    assert total_percent([(120, 60), (0, 60)]) == 50
    assert total_percent([(60, 60), (60, 60)]) == 100


@given(st.floats(0, 1, exclude_max=True))
def test_the_next_random_check_falls_in_the_second_half_of_the_interval(fraction: float) -> None:
    interval = timedelta(minutes=10)
    due = next_check_at(T0, interval, fraction)
    assert T0 + interval / 2 <= due <= T0 + interval

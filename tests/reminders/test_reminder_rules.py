"""The pure reminder rules: which step is due on which day, quiet hours, and the index ranges
the scanner reads (R-STUDY-2, R-EXT-1, R-CERT-1, R-CERT-2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import add_months
from domain.registry import renewal_window, void_date
from domain.reminders import (
    QuietHours,
    ReminderKind,
    Schedule,
    ce_counts_for,
    cert_reminder_due,
    cert_steps,
    expiry_spans,
    latest_due,
    reminder_key,
    should_void,
    study_deadline_span,
    study_reminder_due,
    study_steps,
    void_span,
)
from domain.timezone import CHINA, local_date

SCHEDULE = Schedule()
QUIET = QuietHours()

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC)
)
# Month ends and leap days are where calendar arithmetic goes wrong.
month_ends = st.builds(
    lambda year, month: add_months(date(year, month, 1), 1) - timedelta(days=1),
    st.integers(2024, 2032),
    st.integers(1, 12),
)
expiries = st.one_of(days, month_ends, st.sampled_from([date(2028, 2, 29), date(2032, 2, 29)]))
catchups = st.integers(1, 5)


def daily(start: date, end: date):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


# ---- quiet hours ---------------------------------------------------------------------------


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA).astimezone(UTC)


def test_nothing_is_sent_between_21_00_and_08_00_beijing_time():
    day = date(2026, 11, 27)
    assert QUIET.contains(beijing(day, 21, 0))
    assert QUIET.contains(beijing(day, 23, 59))
    assert QUIET.contains(beijing(day, 7, 59))
    assert not QUIET.contains(beijing(day, 8, 0))
    assert not QUIET.contains(beijing(day, 20, 59))
    assert QUIET.next_allowed(beijing(day, 22, 30)) == beijing(day + timedelta(days=1), 8, 0)
    assert QUIET.next_allowed(beijing(day, 3, 0)) == beijing(day, 8, 0)
    assert QUIET.next_allowed(beijing(day, 12, 0)) == beijing(day, 12, 0)


def test_equal_start_and_end_switch_quiet_hours_off():
    off = QuietHours(time(8), time(8))
    assert not off.contains(beijing(date(2026, 1, 1), 3))


@given(moments)
def test_the_next_allowed_moment_is_the_first_one_outside_quiet_hours(moment: datetime):
    allowed = QUIET.next_allowed(moment)
    assert not QUIET.contains(allowed)
    assert moment <= allowed < moment + timedelta(hours=11)
    if allowed != moment:
        assert QUIET.contains(allowed - timedelta(seconds=1))
        assert allowed.astimezone(CHINA).time() == time(8, 0)


# ---- study deadline -------------------------------------------------------------------------


def test_study_reminders_come_7_3_and_1_days_before_and_on_the_closing_day():
    deadline = beijing(date(2026, 12, 27), 14, 30)
    due = {
        day: study_reminder_due(deadline, day, Schedule(catchup_days=1))
        for day in daily(date(2026, 12, 15), date(2026, 12, 29))
    }
    sent = {day: step.name for day, step in due.items() if step is not None}
    assert sent == {
        date(2026, 12, 20): "d7",
        date(2026, 12, 24): "d3",
        date(2026, 12, 26): "d1",
        date(2026, 12, 27): "d0",
    }


def test_only_the_last_day_and_the_one_before_are_essential():
    steps = {s.name: s.essential for s in study_steps(date(2027, 1, 1), SCHEDULE)}
    assert steps == {"d7": False, "d3": False, "d1": True, "d0": True}


def test_a_trainee_first_seen_late_gets_the_step_that_matters_now_not_a_backlog():
    deadline = beijing(date(2026, 12, 27), 10)
    step = study_reminder_due(deadline, date(2026, 12, 25), SCHEDULE)
    assert step is not None and step.name == "d3"


@given(moments, catchups)
def test_a_daily_scan_reminds_of_every_study_step_once_on_its_own_day(deadline, catchup):
    schedule = Schedule(catchup_days=catchup)
    deadline_day = local_date(deadline)
    seen: dict[str, date] = {}
    for day in daily(deadline_day - timedelta(days=10), deadline_day + timedelta(days=3)):
        step = study_reminder_due(deadline, day, schedule)
        if step is not None:
            seen.setdefault(step.name, day)
            assert day <= deadline_day
    assert seen == {s.name: s.on for s in study_steps(deadline_day, schedule)}


@given(moments, days, catchups)
def test_the_scanner_reads_every_deadline_that_can_be_due(deadline, today, catchup):
    schedule = Schedule(catchup_days=catchup)
    first, last = study_deadline_span(today, schedule)
    if study_reminder_due(deadline, today, schedule) is not None:
        assert first <= local_date(deadline) <= last


# ---- certificates ---------------------------------------------------------------------------


def test_the_renewal_window_and_void_date_follow_calendar_months():
    assert renewal_window(date(2027, 5, 31)) == (date(2027, 2, 28), date(2027, 8, 31))
    assert renewal_window(date(2028, 5, 31)) == (date(2028, 2, 29), date(2028, 8, 31))
    assert renewal_window(date(2028, 2, 29)) == (date(2027, 11, 29), date(2028, 5, 29))
    assert void_date(date(2027, 11, 30)) == date(2028, 2, 29)
    assert void_date(date(2026, 11, 30)) == date(2027, 2, 28)


def test_certificate_reminders_open_the_window_go_monthly_and_warn_before_the_void_date():
    steps = [(s.name, s.on, s.essential) for s in cert_steps(date(2027, 5, 31), SCHEDULE)]
    assert steps == [
        ("m-3", date(2027, 2, 28), False),  # renewal window opens (R-CERT-1)
        ("m-2", date(2027, 3, 31), False),
        ("m-1", date(2027, 4, 30), True),  # one month before expiry
        ("m+0", date(2027, 5, 31), True),
        ("m+1", date(2027, 6, 30), True),
        ("m+2", date(2027, 7, 31), True),
        ("v7", date(2027, 8, 24), True),  # a week before void (R-CERT-2)
    ]


@given(expiries, catchups)
def test_a_daily_scan_reminds_of_every_certificate_step_once_and_never_after_void(
    expires_on, catchup
):
    schedule = Schedule(catchup_days=catchup)
    window_from, _ = renewal_window(expires_on)
    seen: dict[str, date] = {}
    for day in daily(window_from - timedelta(days=5), void_date(expires_on) + timedelta(days=5)):
        step = cert_reminder_due(expires_on, day, schedule)
        if step is not None:
            seen.setdefault(step.name, day)
            assert day < void_date(expires_on)
    assert seen == {s.name: s.on for s in cert_steps(expires_on, schedule)}


@given(expiries, days, catchups)
def test_the_scanner_reads_every_expiry_date_that_can_have_a_step_due(expires_on, today, catchup):
    schedule = Schedule(catchup_days=catchup)
    earliest = today - timedelta(days=catchup - 1)
    if any(earliest <= s.on <= today for s in cert_steps(expires_on, schedule)):
        assert any(low <= expires_on <= high for low, high in expiry_spans(today, schedule))


@given(expiries, days)
def test_the_scanner_reads_every_certificate_that_turned_void_recently(expires_on, today):
    low, high = void_span(today, SCHEDULE)
    recent = void_date(expires_on) >= today - timedelta(days=SCHEDULE.void_lookback_days)
    if should_void(expires_on, today, ce_passed=False) and recent:
        assert low <= expires_on <= high


def test_a_certificate_is_void_three_months_after_expiry_without_a_pass():
    assert not should_void(date(2026, 8, 31), date(2026, 11, 29), ce_passed=False)
    assert should_void(date(2026, 8, 31), date(2026, 11, 30), ce_passed=False)
    assert not should_void(date(2026, 8, 31), date(2027, 1, 1), ce_passed=True)


def test_a_pass_counts_for_the_expiry_it_was_paid_for():
    expires_on = date(2027, 3, 31)
    assert ce_counts_for(expires_on, date(2026, 5, 1))
    assert ce_counts_for(expires_on, date(2027, 6, 30))
    assert not ce_counts_for(expires_on, date(2026, 3, 30))  # the previous cycle's pass
    assert not ce_counts_for(expires_on, date(2027, 7, 1))  # after the void date


def test_latest_due_ignores_steps_outside_the_catchup_days():
    steps = study_steps(date(2027, 1, 10), SCHEDULE)
    assert latest_due(steps, date(2027, 1, 1), 1) is None
    assert latest_due(steps, date(2027, 1, 3), 1) is not None


def test_each_recipient_kind_deadline_and_step_has_its_own_key():
    keys = {
        reminder_key(ReminderKind.STUDY_DEADLINE, 1, "e5", date(2027, 1, 1), step)
        for step in ("d7", "d3")
    } | {reminder_key(ReminderKind.STUDY_DEADLINE, 2, "e5", date(2027, 1, 1), "d7")}
    assert len(keys) == 3
    assert reminder_key(ReminderKind.CERT_EXPIRY, 1, "c1", date(2027, 1, 1), "m-3") == (
        "cert_expiry:1:c1:2027-01-01:m-3"
    )

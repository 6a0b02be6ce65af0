"""What the records pages count: days left in the study window and the employee filters."""

from __future__ import annotations

from datetime import timedelta

from domain.enrolment import EnrolmentState
from domain.records import FILTER_STATES, EmployeeFilter, days_left, employee_filter
from tests.support.clock import EPOCH


def test_a_started_day_counts_as_a_day_left_and_an_ended_window_as_none_left():
    deadline = EPOCH + timedelta(days=3, hours=1)
    assert days_left(deadline, EnrolmentState.STUDYING, EPOCH) == 4
    assert days_left(deadline, EnrolmentState.EXAM, deadline - timedelta(seconds=1)) == 1
    assert days_left(deadline, EnrolmentState.STUDYING, deadline) == 0


def test_no_days_are_counted_where_no_window_runs():
    deadline = EPOCH + timedelta(days=3)
    for state in (EnrolmentState.ENROLLED, EnrolmentState.PASSED, EnrolmentState.OVERDUE):
        assert days_left(deadline, state, EPOCH) is None
    assert days_left(None, EnrolmentState.STUDYING, EPOCH) is None


def test_paid_means_every_state_only_payment_reaches():
    paid = FILTER_STATES[EmployeeFilter.PAID]
    assert EnrolmentState.ENROLLED not in paid and EnrolmentState.AWAITING_PAYMENT not in paid
    assert {EnrolmentState.STUDYING, EnrolmentState.PASSED, EnrolmentState.OVERDUE} <= paid
    assert FILTER_STATES[EmployeeFilter.ALL] == frozenset(EnrolmentState)


def test_an_unknown_filter_in_the_address_shows_everyone():
    assert employee_filter("passed") is EmployeeFilter.PASSED
    assert employee_filter("<script>") is EmployeeFilter.ALL
    assert employee_filter(None) is EmployeeFilter.ALL

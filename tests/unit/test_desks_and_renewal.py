"""The manual's desks by track and topic, and the renewal reminders after a pass (R-CERT-1)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.desks import DESKS, DeskId, DeskTopic, desks_for, group_for
from domain.registry import Track, renewal_window
from domain.renewal import RenewalSchedule, renewal_reminder_due, renewal_steps


def test_every_number_in_the_manual_belongs_to_a_desk():
    numbers = {phone for desk in DESKS.values() for phone in desk.phones}
    assert numbers == {
        "0871-64332710",
        "0871-64322249",
        "0871-63122229",
        "0871-65651496",
        "0871-65631360",
        "0871-64109371",
    }
    assert DESKS[DeskId.PAYMENT].extensions == ("8010", "8026")
    assert DESKS[DeskId.T1_SERVICE].qq_group == "779033763"


def test_study_exam_and_payment_problems_do_not_go_to_the_enrolment_desk():
    assert desks_for(Track.T1, DeskTopic.ENROLMENT) == (DeskId.T1_RECORDS,)
    assert desks_for(Track.T1, DeskTopic.STUDY) == (DeskId.T1_SERVICE,)
    assert desks_for(Track.T2, DeskTopic.EXAM) == (DeskId.T2_STUDY,)
    assert desks_for(Track.T2, DeskTopic.EXTENSION) == (DeskId.T2_EXTENSION,)
    assert desks_for(Track.T1, DeskTopic.PAYMENT) == desks_for(Track.T2, DeskTopic.PAYMENT)
    assert desks_for(None, DeskTopic.PAYMENT) == (DeskId.PAYMENT,)
    assert desks_for(None, DeskTopic.STUDY) == (DeskId.T1_SERVICE, DeskId.T2_STUDY)


def test_a_desk_without_its_own_group_goes_to_the_default_group():
    groups = {DeskId.PAYMENT: -200}
    assert group_for(DeskId.PAYMENT, groups, -100) == -200
    assert group_for(DeskId.T1_SERVICE, groups, -100) == -100
    assert group_for(DeskId.T1_SERVICE, {}, -100) == -100


EXPIRY = st.dates(min_value=date(2025, 1, 1), max_value=date(2032, 12, 31))
OFFSET = st.integers(min_value=-500, max_value=500)


@given(EXPIRY, OFFSET, OFFSET)
def test_renewal_reminders_come_only_inside_the_window(expires_on, passed, later):
    passed_on = expires_on + timedelta(days=passed)
    today = passed_on + timedelta(days=abs(later))
    opens, closes = renewal_window(expires_on)
    step = renewal_reminder_due(expires_on, passed_on, today, applied=False)
    if step is not None:
        assert opens <= today < closes
        assert opens <= step.on <= today and step.on >= passed_on


@given(EXPIRY, OFFSET, OFFSET)
def test_no_renewal_reminder_after_the_holder_said_they_applied(expires_on, passed, later):
    passed_on = expires_on + timedelta(days=passed)
    today = passed_on + timedelta(days=abs(later))
    assert renewal_reminder_due(expires_on, passed_on, today, applied=True) is None


@given(EXPIRY, st.integers(min_value=-400, max_value=80))
def test_a_pass_before_the_window_closes_is_reminded_at_least_once(expires_on, passed):
    passed_on = expires_on + timedelta(days=passed)
    opens, closes = renewal_window(expires_on)
    if passed_on >= closes:
        return
    days = [opens + timedelta(days=n) for n in range((closes - opens).days)]
    sent = {renewal_reminder_due(expires_on, passed_on, d, applied=False) for d in days}
    assert sent - {None}


def test_a_pass_a_month_before_expiry_is_reminded_that_day_then_monthly():
    expires_on = date(2027, 6, 15)
    steps = renewal_steps(expires_on, date(2027, 5, 10), RenewalSchedule())
    assert [s.on for s in steps] == [
        date(2027, 5, 10),
        date(2027, 5, 15),
        date(2027, 6, 15),
        date(2027, 7, 15),
        date(2027, 8, 15),
        date(2027, 9, 8),
    ]


def test_a_deployment_names_desk_groups_in_one_variable_and_none_by_default(monkeypatch):
    from infra.settings import Settings

    assert Settings(_env_file=None).staff.desk_groups == {}
    monkeypatch.setenv("STAFF_DESK_GROUPS", '{"payment": -1001234, "t2_study": -1005678}')
    groups = Settings(_env_file=None).staff.desk_groups
    assert groups == {DeskId.PAYMENT: -1001234, DeskId.T2_STUDY: -1005678}

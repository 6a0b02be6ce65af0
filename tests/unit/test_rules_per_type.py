"""The manual's rules where it writes them: per certificate type (domain.certrules), and the
windows each application opens after the 30 days (domain.support, domain.enrolment)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import add_months
from domain.certrules import RULES, T2_APPLICATIONS_DESK, is_ce_due, is_void, rules_for, void_on
from domain.enrolment import EnrolmentState, becomes_overdue, refusal_for
from domain.registry import TRACKS, Certificate, CertType, RegistryStatus, Track
from domain.reminders import Schedule, cert_steps, should_void
from domain.support import (
    EXTENSION_DAYS,
    ApplicationKind,
    restudy_eligibility,
    window_after_approval,
)

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400))
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 1, 1))


def cert(cert_type: CertType, expires_on: date) -> Certificate:
    return Certificate("N1", cert_type, "id", "张三", expires_on, RegistryStatus.VALID)


def test_only_ab_and_site_professional_certificates_void_three_months_after_expiry():
    # 四（二）2 names AB证 and 现场专业人员; 四（一）and 四（三）leave the others to the centre.
    assert [t for t in CertType if rules_for(t).voids_after_three_months] == [
        CertType.SAFETY_A,
        CertType.SAFETY_B,
        CertType.SITE_PRO,
    ]


def test_face_checks_and_online_applications_are_the_first_tracks_and_the_rest_has_a_desk():
    for cert_type, rules in RULES.items():
        assert rules.track is TRACKS[cert_type]
        t1 = rules.track is Track.T1
        assert rules.face_checks_required == t1 and rules.applies_online == t1
        assert rules.applications_desk == (None if t1 else T2_APPLICATIONS_DESK)


@given(st.sampled_from(list(CertType)), days, st.integers(-200, 400))
def test_a_certificate_is_void_by_date_only_where_the_manual_says_so(
    cert_type: CertType, expires_on: date, after: int
):
    today = expires_on + timedelta(days=after)
    certificate = cert(cert_type, expires_on)
    voids = rules_for(cert_type).voids_after_three_months
    assert is_void(certificate, today) == (voids and today >= add_months(expires_on, 3))
    assert (void_on(cert_type, expires_on) is None) != voids
    assert should_void(expires_on, today, False, voids) == is_void(certificate, today)
    # Never void by us: still enrollable (R-ENROL-3 is the registry's word, not our date).
    if not voids:
        assert refusal_for(certificate, None, today) is None
        assert not any(s.name.startswith("v") for s in cert_steps(expires_on, Schedule(), voids))


def test_a_c_certificate_long_expired_is_still_due_and_enrollable():
    expired = date(2026, 1, 31)
    assert is_ce_due(cert(CertType.SAFETY_C, expired), date(2026, 12, 1))
    assert not is_ce_due(cert(CertType.SAFETY_B, expired), date(2026, 12, 1))
    assert refusal_for(cert(CertType.SAFETY_B, expired), None, date(2026, 12, 1)) == (
        "certificate_void"
    )


@given(st.sampled_from(list(ApplicationKind)), moments, offsets)
def test_every_approved_application_leaves_a_full_window_open_and_never_shortens_one(
    kind: ApplicationKind, now: datetime, offset: timedelta
):
    current = now + offset
    end = window_after_approval(kind, current, now)
    full = timedelta(days=EXTENSION_DAYS)
    assert end >= now + full  # past day 30 too: the exam it promises is open
    assert end >= current
    if kind is ApplicationKind.EXTENSION:
        assert end == max(current, now) + full
    else:
        assert end == max(current, now + full)


@given(st.sampled_from(list(ApplicationKind)), moments)
def test_without_a_window_yet_the_approval_counts_from_the_decision(
    kind: ApplicationKind, now: datetime
):
    assert window_after_approval(kind, None, now) == now + timedelta(days=EXTENSION_DAYS)


@given(st.sampled_from(list(EnrolmentState)), moments, offsets)
def test_only_a_running_window_that_ended_becomes_overdue(
    state: EnrolmentState, now: datetime, offset: timedelta
):
    deadline = now + offset
    expected = state in {EnrolmentState.STUDYING, EnrolmentState.EXAM} and now >= deadline
    assert becomes_overdue(state, deadline, now) == expected
    assert not becomes_overdue(state, None, now)


@given(moments, offsets, st.integers(0, 15), st.booleans(), st.integers(0, 3))
def test_restudy_opens_only_after_a_granted_chance_ran_out_again(
    now: datetime, offset: timedelta, failed: int, passed: bool, granted: int
):
    deadline = now + offset
    eligibility = restudy_eligibility(deadline, failed, passed, granted, now)
    stuck = now >= deadline or failed >= 5
    assert eligibility.allowed == (not passed and granted >= 1 and stuck)

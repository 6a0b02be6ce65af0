from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import add_months
from domain.certrules import is_ce_due, is_void
from domain.registry import Certificate, CertType, RegistryStatus, renewal_window, void_date


def cert(expires_on: date, status: RegistryStatus = RegistryStatus.VALID) -> Certificate:
    return Certificate("N1", CertType.SAFETY_B, "id", "张三", expires_on, status)


def test_month_arithmetic_keeps_to_the_end_of_short_months():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 5, 31), -3) == date(2027, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)), st.integers(-60, 60))
def test_adding_months_lands_in_the_right_month_never_past_the_day(day: date, months: int):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day <= day.day


def test_the_renewal_window_runs_three_months_either_side_of_expiry():
    assert renewal_window(date(2027, 5, 31)) == (date(2027, 2, 28), date(2027, 8, 31))


def test_a_certificate_is_void_three_months_after_expiry_without_ce():
    certificate = cert(date(2026, 8, 31))
    assert void_date(certificate.expires_on) == date(2026, 11, 30)
    assert not is_void(certificate, date(2026, 11, 29))
    assert is_void(certificate, date(2026, 11, 30))


def test_ce_is_due_in_the_year_before_expiry_and_until_the_void_date():
    certificate = cert(date(2027, 6, 30))
    assert not is_ce_due(certificate, date(2026, 6, 29))
    assert is_ce_due(certificate, date(2026, 6, 30))
    assert is_ce_due(certificate, date(2027, 9, 29))
    assert not is_ce_due(certificate, date(2027, 9, 30))
    assert not is_ce_due(cert(date(2027, 6, 30), RegistryStatus.VOID), date(2027, 1, 1))

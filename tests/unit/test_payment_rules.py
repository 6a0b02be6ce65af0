from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from domain.payment import (
    APPLYING,
    OrderState,
    OrderStatus,
    Outcome,
    PaymentEvent,
    decide,
    expires_at,
    format_yuan,
    study_deadline,
)
from infra.workdays import ChineseWorkingDays

PAID_AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def event(paid: bool = True, amount: int = 30000, txn: str | None = "T1") -> PaymentEvent:
    return PaymentEvent("JJ1", paid, amount, "CNY", txn, PAID_AT)


def test_a_pending_order_is_paid_by_a_matching_payment():
    assert decide(OrderState(OrderStatus.PENDING, 30000, None), event()) is Outcome.APPLIED


def test_money_taken_after_expiry_is_honoured_not_refused():
    for status in (OrderStatus.EXPIRED, OrderStatus.CLOSED):
        assert decide(OrderState(status, 30000, None), event()) is Outcome.APPLIED_LATE


def test_the_same_payment_twice_changes_nothing_and_a_second_payment_goes_to_staff():
    paid = OrderState(OrderStatus.PAID, 30000, "T1")
    assert decide(paid, event(txn="T1")) is Outcome.DUPLICATE
    assert decide(paid, event(txn="T2")) is Outcome.DOUBLE_CHARGE


def test_a_wrong_amount_or_currency_is_never_applied():
    pending = OrderState(OrderStatus.PENDING, 30000, None)
    assert decide(pending, event(amount=29999)) is Outcome.MISMATCH
    foreign = PaymentEvent("JJ1", True, 30000, "USD", "T1", PAID_AT)
    assert decide(pending, foreign) is Outcome.MISMATCH


statuses = st.sampled_from(list(OrderStatus))
events = st.builds(
    PaymentEvent,
    order_number=st.just("JJ1"),
    paid=st.booleans(),
    amount_fen=st.sampled_from([30000, 29999]),
    currency=st.sampled_from(["CNY", "USD"]),
    transaction_id=st.sampled_from(["T1", "T2"]),
    paid_at=st.just(PAID_AT),
)


@given(st.lists(events, max_size=12), statuses)
def test_whatever_arrives_in_whatever_order_an_order_is_paid_at_most_once(stream, start):
    status, txn = start, None
    applied = 0
    for item in stream:
        outcome = decide(OrderState(status, 30000, txn), item)
        if outcome in APPLYING:
            applied += 1
            status, txn = OrderStatus.PAID, item.transaction_id
    assert applied <= (0 if start is OrderStatus.PAID else 1)


def test_money_shows_as_yuan_with_two_decimals():
    assert [format_yuan(f) for f in (30000, 5, 12345, 690000, 123456789)] == [
        "300.00",
        "0.05",
        "123.45",
        "6,900.00",
        "1,234,567.89",
    ]


def test_an_order_lasts_30_minutes_and_study_30_days():
    assert expires_at(PAID_AT) == datetime(2026, 11, 27, 6, 30, tzinfo=UTC)
    assert study_deadline(PAID_AT) == datetime(2026, 12, 27, 6, 0, tzinfo=UTC)


def test_the_invoice_date_skips_weekends_and_official_holidays():
    days = ChineseWorkingDays()
    # Thursday 24 Sep 2026 + 5 working days skips the National Day week entirely.
    assert days.add(date(2026, 9, 24), 5) > date(2026, 10, 8)
    assert days.add(date(2026, 11, 27), 5) == date(2026, 12, 4)

"""Every deadline a trainee reads in the chat says whose clock it is: a trainee abroad or with a
phone on another zone must not finish an hour late."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from domain.exam import Attempt, AttemptStatus, ExamBlock, ExamEligibility
from domain.selfhelp import Advice, Suggestion
from tests.support.clock import FixedClock
from texts import exam, payment, reminders, selfhelp, support

ZONE = {"zh_CN": "北京时间", "en": "Beijing time"}
NOW = FixedClock().now()
LATER = NOW + timedelta(days=3)

TEXTS: dict[str, Callable[[], str]] = {
    "payment confirmation": lambda: payment.paid(
        "JJ1", 30000, "2026-01-05 10:00", "2026-01-10", found_by_reconciliation=False
    ),
    "order expiring": lambda: payment.expiring("JJ1", LATER),
    "exam attempts reminder": lambda: reminders.exam_attempts(
        {
            "cert_type": "safety_b",
            "number": "云建安B-1234567",
            "best": 40,
            "left": 3,
            "deadline": LATER.isoformat(),
        }
    ),
    "self-help study deadline": lambda: selfhelp.for_you(
        Suggestion(Advice.STUDY_DEADLINE, at=LATER)
    ),
    "self-help open order": lambda: selfhelp.for_you(Suggestion(Advice.ORDER_OPEN, at=LATER)),
    "extension approved": lambda: support.decision_for_trainee(
        "extension", True, None, "2026-02-05 10:00"
    ),
    "exam running": lambda: exam.standing(
        "B",
        ExamEligibility(
            None, 4, resume=Attempt(1, AttemptStatus.OPEN, NOW, NOW + timedelta(minutes=60))
        ),
        None,
        {},
    ),
    "window closed": lambda: exam.standing(
        "B", ExamEligibility(ExamBlock.WINDOW_CLOSED, 5, window_end=NOW), None, {}
    ),
    "ten minutes left": lambda: exam.ten_minutes_left(LATER),
}


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("name", list(TEXTS))
def test_a_deadline_shown_to_a_trainee_names_beijing_time(i18n, locale, name):
    with i18n.context(), i18n.use_locale(locale):
        assert ZONE[locale] in TEXTS[name](), name

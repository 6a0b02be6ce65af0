"""After the pass: reminders to apply for 到期换证 inside the renewal window (R-CERT-1).

The manual: "在证书有效期满前3个月至有效期满后3个月内，通过云南省建筑市场监管系统后申请
'到期换证'" (its section 四(二), for A/B certificates and on-site professionals; special
operations and track 2 follow the centre's notices, so they get no dated reminder here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain.calendar import add_months
from domain.registry import CertType, renewal_window

RENEWAL_TYPES = frozenset({CertType.SAFETY_A, CertType.SAFETY_B, CertType.SITE_PRO})


@dataclass(frozen=True, slots=True)
class RenewalSchedule:
    # Months from the expiry date on which the holder is reminded (the window opens at -3).
    months: tuple[int, ...] = (-3, -2, -1, 0, 1, 2)
    # Days before the window closes.
    closing_days: tuple[int, ...] = (7,)
    catchup_days: int = 3


@dataclass(frozen=True, slots=True)
class RenewalStep:
    name: str
    on: date


def renewal_steps(
    expires_on: date, passed_on: date, schedule: RenewalSchedule
) -> list[RenewalStep]:
    """The days to remind on: the first day of the window the pass is in (or the pass day, if
    the window is already open), then monthly, then before it closes. Only inside the window."""
    opens, closes = renewal_window(expires_on)
    steps = [RenewalStep("pass", max(opens, passed_on))]
    steps += [RenewalStep(f"m{m:+d}", add_months(expires_on, m)) for m in schedule.months]
    steps += [
        RenewalStep(f"c{d}", closes - timedelta(days=d)) for d in schedule.closing_days if d > 0
    ]
    inside = {step.on: step for step in steps if opens <= step.on < closes and step.on >= passed_on}
    return [inside[day] for day in sorted(inside)]


def renewal_reminder_due(
    expires_on: date,
    passed_on: date,
    today: date,
    applied: bool,
    schedule: RenewalSchedule | None = None,
) -> RenewalStep | None:
    """The step to send today, if any: never after the holder said they applied, never
    outside the window, the latest step when a scan missed some days."""
    schedule = schedule or RenewalSchedule()
    opens, closes = renewal_window(expires_on)
    if applied or not opens <= today < closes:
        return None
    earliest = today - timedelta(days=max(1, schedule.catchup_days) - 1)
    due = [s for s in renewal_steps(expires_on, passed_on, schedule) if earliest <= s.on <= today]
    return due[-1] if due else None


def renewal_expiry_span(today: date) -> tuple[date, date]:
    """Expiry dates whose window contains today (with slack for month ends)."""
    slack = timedelta(days=3)
    return add_months(today, -3) - slack, add_months(today, 3) + slack

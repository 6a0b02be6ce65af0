"""Chinese working days: official holidays and the weekend days swapped to workdays."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # A year the package does not know yet (holidays are announced each November):
        # Monday to Friday is the honest approximation.
        return day.weekday() < 5


class ChineseWorkingDays:
    def add(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (start itself does not count)."""
        day = start
        while days > 0:
            day += timedelta(days=1)
            if is_workday(day):
                days -= 1
        return day

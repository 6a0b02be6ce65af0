"""Chinese working days: official holidays and the weekend days swapped to workdays."""

from __future__ import annotations

import functools
import logging
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger(__name__)


@functools.cache
def _unknown_year(year: int) -> None:
    """Said once per year and process: every invoice due date of that year is approximate."""
    log.warning(
        "chinese-calendar %s does not know the holidays of %s (they are announced each "
        "November): working days that year are counted Monday to Friday; update the package",
        chinese_calendar.__version__,
        year,
    )


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # A year the package does not know yet: Monday to Friday is the honest approximation.
        _unknown_year(day.year)
        return day.weekday() < 5


@functools.lru_cache(maxsize=4096)
def _add(start: date, days: int) -> date:
    day = start
    while days > 0:
        day += timedelta(days=1)
        if is_workday(day):
            days -= 1
    return day


class ChineseWorkingDays:
    def add(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (start itself does not count). Every
        applied payment asks this (the invoice's due date), and chinese_calendar takes about
        25 µs a day: the answer is kept per (start, days), the calendar being fixed in a
        process."""
        return _add(start, days)

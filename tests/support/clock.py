"""The tests' one source of "now".

Every test takes the current time from the `clock` fixture (a `FixedClock` starting at `EPOCH`)
and seeds its data relative to it, so the suite means the same thing on any day the machine
runs it. `.ci/run` runs the date-bound tests a second time with `JIJIAO_TEST_NOW` set years
ahead, across a new year and a leap day: a test that secretly depends on the calendar fails
there.

Tests that drive the product in real time in this process (the local chat, browsers) use a
`RunningClock`: it starts at `EPOCH` and moves with the host's monotonic clock. Tests that run
real `jijiao run` processes take the host's time through `infra.clock.SystemClock`, as those
processes do.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from domain.calendar import add_months
from domain.timezone import local_date

# A Friday, 10:00 in Beijing: working hours, outside the reminders' quiet hours.
DEFAULT_NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _epoch() -> datetime:
    value = os.environ.get("JIJIAO_TEST_NOW")
    if not value:
        return DEFAULT_NOW
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"JIJIAO_TEST_NOW needs a timezone, e.g. {DEFAULT_NOW.isoformat()}")
    return moment.astimezone(UTC)


EPOCH = _epoch()
TODAY = local_date(EPOCH)


def days_from_today(days: int) -> date:
    """A date relative to the tests' today (in Beijing), for seeding certificates and deadlines."""
    return TODAY + timedelta(days=days)


@dataclass
class FixedClock:
    current: datetime = field(default_factory=lambda: EPOCH)

    def now(self) -> datetime:
        return self.current

    def today(self) -> date:
        return local_date(self.current)

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class RunningClock:
    """Starts at `start` and moves as real time does: for the product running in real time."""

    start: datetime = field(default_factory=lambda: EPOCH)
    offset: timedelta = field(default_factory=timedelta)
    _origin: float = field(default_factory=time.monotonic, repr=False)

    def now(self) -> datetime:
        return self.start + self.offset + timedelta(seconds=time.monotonic() - self._origin)

    def today(self) -> date:
        return local_date(self.now())

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)

    def timestamp(self) -> float:
        return self.now().timestamp()


def months_from_today(months: int) -> date:
    return add_months(TODAY, months)

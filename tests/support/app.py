"""The whole product in this process, as `jijiao run` starts it, on the tests' clock."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from infra.settings import Settings
from jijiao import app
from tests.support.clock import RunningClock


def running(settings: Settings, **overrides: Any) -> AbstractAsyncContextManager[app.Runtime]:
    """`jijiao.app.running` with a clock that starts at the tests' epoch and runs in real time
    (the local chat it serves signs with the same clock), unless the test brings its own."""
    overrides.setdefault("clock", RunningClock())
    return app.running(settings, **overrides)

"""Periodic jobs in the app's event loop: each runs, sleeps its interval, runs again.

A failing run is logged and retried next time; nothing here decides anything, the jobs are
use cases. Several instances may run the same jobs: the use cases are safe to repeat
(conditional updates and row locks), so a duplicate run changes nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds
    run: Callable[[], Awaitable[object]]


class Workers:
    def __init__(self, jobs: list[Job]) -> None:
        self._jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    async def _loop(self, job: Job) -> None:
        while True:
            try:
                await job.run()
            except Exception:
                log.exception("job %s failed; it runs again in %ss", job.name, job.every)
            await asyncio.sleep(job.every)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(job), name=job.name) for job in self._jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

"""Periodic jobs in the app's event loop: each runs, sleeps its interval, runs again.

A failing run is logged and retried next time; nothing here decides anything, the jobs are
use cases. Every instance runs the same loops, and a lease per job picks the one that runs it:
taken for one interval (so the instances together run a job about once per interval), kept
while a run overruns it, given back when the run overran or the instance stops. With Redis
the lease is shared; without it (one instance, SQLite) every job is always this instance's.
The use cases stay safe to repeat (conditional updates and row locks) for when a lease is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from infra.outages import describe, is_outage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds
    run: Callable[[], Awaitable[object]]


class Lease(Protocol):
    """Which instance runs a job now; `keep` and `give_back` act only for the holder."""

    async def take(self, name: str, seconds: float) -> bool: ...

    async def keep(self, name: str, seconds: float) -> bool: ...

    async def give_back(self, name: str) -> None: ...


class NoLease:
    """A single instance: every job is always its own."""

    async def take(self, name: str, seconds: float) -> bool:
        return True

    async def keep(self, name: str, seconds: float) -> bool:
        return True

    async def give_back(self, name: str) -> None:
        return None


_KEEP = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_GIVE_BACK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisLease:
    """`SET key token NX PX ttl`, one token per instance: build one per Workers."""

    def __init__(self, redis: Any, prefix: str = "jijiao:job") -> None:
        self._redis = redis
        self._prefix = prefix
        self._token = secrets.token_hex(16)
        self._keep = redis.register_script(_KEEP)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def take(self, name: str, seconds: float) -> bool:
        key = f"{self._prefix}:{name}"
        return bool(await self._redis.set(key, self._token, nx=True, px=_ms(seconds)))

    async def keep(self, name: str, seconds: float) -> bool:
        keys = [f"{self._prefix}:{name}"]
        return bool(await self._keep(keys=keys, args=[self._token, _ms(seconds)]))

    async def give_back(self, name: str) -> None:
        await self._give_back(keys=[f"{self._prefix}:{name}"], args=[self._token])


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


async def stop_task(task: asyncio.Task[Any]) -> None:
    """Cancels a helper task and waits for it. A plain `suppress(CancelledError)` around the
    wait would also swallow the cancellation of the task doing the waiting (when it is being
    stopped at that moment), and that task would then run on for ever."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


class Workers:
    def __init__(self, jobs: list[Job], lease: Lease | None = None) -> None:
        self._jobs = jobs
        self._lease = lease or NoLease()
        self._tasks: list[asyncio.Task[None]] = []

    async def _loop(self, job: Job) -> None:
        while True:
            try:
                await self._turn(job)
            except Exception as exc:
                if is_outage(exc):
                    # Redis (no lease) or PostgreSQL down: skip this turn, the next one may run.
                    log.warning(
                        "job %s skipped, a dependency is unavailable (%s); next try in %ss",
                        job.name,
                        describe(exc),
                        job.every,
                    )
                else:
                    log.exception("job %s failed; it runs again in %ss", job.name, job.every)
            await asyncio.sleep(job.every)

    async def _turn(self, job: Job) -> None:
        if not await self._lease.take(job.name, job.every):
            log.debug("job %s: another instance has it", job.name)
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        keeper = asyncio.create_task(self._keep(job), name=f"{job.name}-lease")
        try:
            await job.run()
        except asyncio.CancelledError:
            # Stopping mid-run: another instance may take the job over at once.
            with contextlib.suppress(Exception, TimeoutError):
                async with asyncio.timeout(1):
                    await self._lease.give_back(job.name)
            raise
        finally:
            await stop_task(keeper)
        # A failed run keeps the lease too: retried next interval, not at once elsewhere.
        if loop.time() - started >= job.every:
            await self._lease.give_back(job.name)

    async def _keep(self, job: Job) -> None:
        while True:
            await asyncio.sleep(job.every / 2)
            try:
                kept = await self._lease.keep(job.name, job.every)
            except Exception as exc:
                if is_outage(exc):
                    log.warning("job %s: could not keep its lease (%s)", job.name, describe(exc))
                else:
                    log.exception("job %s: could not keep its lease", job.name)
                return
            if not kept:
                log.warning("job %s lost its lease while running", job.name)
                return

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(job), name=job.name) for job in self._jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

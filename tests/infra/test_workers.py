"""Periodic jobs across instances: with a shared Redis each job runs on one instance at a time,
about once per interval between them; alone (no Redis) every job runs here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from infra.workers import Job, RedisLease, Workers


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[list[Redis]]:
    """Two connections, as two app instances would hold."""
    pair = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    yield pair
    for client in pair:
        await client.aclose()


class Recorder:
    """A job that notes which instance ran it, and how many ran it at once."""

    def __init__(self, seconds: float = 0) -> None:
        self.seconds = seconds
        self.runs: list[str] = []
        self.running = 0
        self.most_at_once = 0

    def job(self, instance: str, every: float) -> Job:
        async def run() -> None:
            self.runs.append(instance)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            try:
                await asyncio.sleep(self.seconds)
            finally:
                self.running -= 1

        return Job("probe", every, run)


async def run_for(seconds: float, *workers: Workers) -> None:
    for worker in workers:
        worker.start()
        await asyncio.sleep(0.05)  # instances start a little apart, as they do
    await asyncio.sleep(seconds)
    for worker in workers:
        await worker.stop()


@pytest.mark.redis
async def test_two_instances_sharing_redis_run_a_job_once_per_interval_between_them(
    clients: list[Redis],
):
    recorder = Recorder()
    workers = [
        Workers([recorder.job(name, every=0.3)], RedisLease(client))
        for name, client in zip(("one", "two"), clients, strict=True)
    ]

    await run_for(1.5, *workers)

    # About 6 with the lease (a late lease renewal on a loaded host may add one); without it each
    # instance would run it 5-6 times: 10-12 runs.
    assert 3 <= len(recorder.runs) <= 8


@pytest.mark.redis
async def test_a_run_longer_than_its_interval_is_not_started_again_elsewhere_meanwhile(
    clients: list[Redis],
):
    recorder = Recorder(seconds=0.7)
    workers = [
        Workers([recorder.job(name, every=0.2)], RedisLease(client))
        for name, client in zip(("one", "two"), clients, strict=True)
    ]

    await run_for(1.6, *workers)

    assert recorder.most_at_once == 1
    assert len(recorder.runs) >= 2  # an overrun lease is given back when the run ends


@pytest.mark.redis
async def test_an_instance_that_stops_mid_run_hands_the_job_over(clients: list[Redis]):
    recorder = Recorder(seconds=10)
    first = Workers([recorder.job("one", every=30)], RedisLease(clients[0]))
    first.start()
    await asyncio.sleep(0.1)
    await first.stop()

    second = Workers([recorder.job("two", every=30)], RedisLease(clients[1]))
    second.start()
    await asyncio.sleep(0.1)
    await second.stop()

    assert recorder.runs == ["one", "two"]


@pytest.mark.redis
async def test_a_lease_is_kept_and_given_back_only_by_its_holder(clients: list[Redis]):
    one, two = RedisLease(clients[0]), RedisLease(clients[1])
    assert await one.take("job", 0.1)
    assert not await two.take("job", 10)

    await asyncio.sleep(0.15)  # one's lease ran out (say its instance stalled)
    assert await two.take("job", 10)
    assert not await one.keep("job", 10)
    await one.give_back("job")
    assert not await one.take("job", 10)  # still two's

    await two.give_back("job")
    assert await one.take("job", 10)


async def test_without_redis_every_instance_runs_its_jobs():
    recorder = Recorder()
    workers = [Workers([recorder.job(name, every=0.3)]) for name in ("one", "two")]

    await run_for(0.8, *workers)

    # Each runs it at 0 s and 0.3 s, and maybe once more at 0.6 s, as the host allows: counts,
    # not exact ones, since the stop races the third run on a loaded machine.
    assert recorder.runs.count("one") >= 2 and recorder.runs.count("two") >= 2


async def test_a_job_stopped_while_it_stops_its_helper_task_really_stops():
    """Stopping the app cancels each job's task; a job caught waiting for its own helper task
    (the lease keeper, the outbox's lease renewal) must end, or shutdown waits for ever."""
    import asyncio

    from infra.workers import stop_task

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.3)  # cleaning up
            raise

    async def job() -> None:
        while True:
            helper = asyncio.create_task(slow_to_stop())
            await asyncio.sleep(0)
            await stop_task(helper)

    running = asyncio.create_task(job())
    await asyncio.sleep(0.1)  # inside stop_task, waiting for the helper
    running.cancel()
    done, _ = await asyncio.wait({running}, timeout=2)
    assert running in done and running.cancelled()

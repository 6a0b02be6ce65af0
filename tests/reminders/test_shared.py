"""Several instances: two senders on one PostgreSQL take disjoint rows (SKIP LOCKED), and the
rate limit is one limit for all of them when they share Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from infra.db import models, open_database
from infra.outbox import TortoiseOutbox
from infra.sender import BotTransport, Limits, LocalRateLimiter, RedisRateLimiter, acquire
from localchat import FloodLimits
from tests.reminders import world
from tests.reminders.conftest import StandInFactory
from tests.support.clock import FixedClock


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[str]:
    context = await open_database(postgres_url)
    yield postgres_url
    await context.close_connections()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.mark.postgres
async def test_two_senders_on_postgresql_share_the_rows_and_send_nothing_twice(
    postgres, clock: FixedClock, i18n, standin: StandInFactory
):
    telegram = await standin(FloodLimits(global_per_second=2000))
    users = range(600_001, 600_401)
    telegram.start_users(users)
    await world.broadcast_to(users, clock.now())
    fast = Limits(global_per_second=1000)
    senders = [
        world.sender(
            i18n,
            clock,
            BotTransport(telegram.bot),
            outbox=TortoiseOutbox(worker_id=name),
            limiter=LocalRateLimiter(fast),
            batch=20,
        )
        for name in ("one", "two")
    ]

    counts = await asyncio.gather(*(send() for send in senders))

    assert sum(counts) == len(users) and min(counts) > 0  # both worked, neither twice
    assert {telegram.received(user) for user in users} == {1}
    by_worker = {
        row["claimed_by"] for row in await models.Outbox.filter(status="sent").values("claimed_by")
    }
    assert by_worker == {"one", "two"}


@pytest.mark.redis
async def test_instances_sharing_redis_keep_one_overall_limit_between_them(redis: Redis):
    limits = Limits(global_per_second=20)
    instances = [RedisRateLimiter(redis, limits), RedisRateLimiter(redis, limits)]

    async def take(limiter: RedisRateLimiter, chats: range) -> None:
        for chat in chats:
            await acquire(limiter, chat)

    started = time.monotonic()
    await asyncio.gather(take(instances[0], range(1, 21)), take(instances[1], range(21, 41)))
    elapsed = time.monotonic() - started

    # 40 grants at 20 a second, 3 of them allowed as a burst: about 1.85 s, not 0.9 s each.
    assert 1.8 <= elapsed < 3.0


@pytest.mark.redis
async def test_instances_sharing_redis_keep_one_message_a_second_per_chat(redis: Redis):
    one, two = RedisRateLimiter(redis, Limits()), RedisRateLimiter(redis, Limits())
    started = time.monotonic()
    for limiter in (one, two, one):
        await acquire(limiter, 700_001)
    assert time.monotonic() - started >= 1.95


@pytest.mark.redis
async def test_two_senders_with_the_shared_limiter_never_trip_telegrams_flood_control(
    database, clock: FixedClock, i18n, redis: Redis, standin: StandInFactory
):
    telegram = await standin(FloodLimits())  # Telegram's 30 a second, for both together
    users = range(800_001, 800_121)
    telegram.start_users(users)
    await world.broadcast_to(users, clock.now())
    senders = [
        world.sender(
            i18n,
            clock,
            BotTransport(telegram.bot),
            outbox=TortoiseOutbox(worker_id=name),
            limiter=RedisRateLimiter(redis, Limits()),
            batch=20,
        )
        for name in ("one", "two")
    ]

    counts = await asyncio.gather(*(send() for send in senders))

    assert sum(counts) == len(users) and min(counts) > 0
    assert telegram.chat.stats["rejected_429"] == 0
    assert {telegram.received(user) for user in users} == {1}

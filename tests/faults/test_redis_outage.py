"""Redis going away while the app runs, and coming back.

Redis holds the conversations' state (aiogram's RedisStorage), the jobs' leases and the shared
rate limits. With it cut, a trainee is told to try again in a minute (no silence, no crash),
/readyz says Redis is down, and the jobs skip their turns (without a lease they cannot know
that no other instance runs them). When it is back, the conversation carries on from the step
it was at, and the jobs run again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.faults.conftest import Product
from tests.reminders import world
from tests.support import registry
from tests.support.app import running
from tests.support.clock import days_from_today
from tests.support.faults import TcpProxy
from tests.support.waiting import eventually

TRAINEE = 640_001
UNAVAILABLE = "抱歉，服务暂时不可用，请一分钟后再试。"


@pytest.fixture
async def product(redis_url: str, make_settings) -> AsyncIterator[Product]:
    async with TcpProxy.to(redis_url) as redis:
        settings = make_settings(
            redis={"url": redis.url_for(redis_url)},
            reminders={"send_every": 0.2, "quiet_start": "00:00", "quiet_end": "00:00"},
        )
        async with running(settings) as runtime, aiohttp.ClientSession() as http:
            yield Product(runtime, redis, http)


async def test_a_redis_outage_is_explained_and_the_conversation_resumes_after_it(
    product: Product, caplog: pytest.LogCaptureFixture
):
    person = await registry.person(41, "赵六", "13800000041")
    await registry.certificate(person, "云建安B(2024)0004141", "safety_b", days_from_today(124))
    who = await product.send(TRAINEE, "/enrol", "zh-hans")
    ask_id = await product.press(TRAINEE, who, "本人")
    assert "身份证号" in ask_id["text"]  # the conversation's step is kept in Redis

    await product.proxy.cut()
    caplog.set_level(logging.WARNING)

    assert await product.say(TRAINEE, registry.id_number(41), "zh-hans") == UNAVAILABLE
    status, body, _ = await product.get("/readyz")
    assert status == 503 and '"failing": ["redis"]' in body
    assert (await product.get("/healthz"))[0] == 200

    async def a_job_skipped() -> bool:
        return any("send_outbox skipped" in r.getMessage() for r in caplog.records)

    await eventually(a_job_skipped, what="the outbox job skips its turn")
    assert not any(r.exc_info for r in caplog.records if r.name == "infra.workers")

    await product.proxy.restore()

    # The same step again, as the trainee was asked to: the conversation carries on.
    assert "姓名" in await product.say(TRAINEE, registry.id_number(41), "zh-hans")

    async def ready() -> bool:
        return (await product.get("/readyz"))[0] == 200

    await eventually(ready, what="/readyz is 200 again")
    after = product.last_id(TRAINEE)
    await world.broadcast_to([TRAINEE], product.runtime.clock.now(), "缓存已恢复 Redis is back")
    notice = await product.answer(TRAINEE, after)
    assert notice["text"] == "缓存已恢复 Redis is back"


async def test_a_redis_that_hangs_is_an_outage_after_its_timeout_not_a_silent_bot(
    product: Product,
):
    """No connection closed, no answer either (a network black hole): redis-py's socket
    timeout (5 s) turns it into an error, and the trainee hears the same answer."""
    assert (await product.say(TRAINEE, "/start", "zh-hans")).startswith("Lin，您好！")
    product.proxy.freeze()
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await product.say(TRAINEE, "/start", "zh-hans") == UNAVAILABLE
    assert loop.time() - started < 15

    product.proxy.thaw()
    await product.proxy.cut()  # the hung connections go, as the timeouts left them
    await product.proxy.restore()
    assert (await product.say(TRAINEE, "/start", "zh-hans")).startswith("Lin，您好！")

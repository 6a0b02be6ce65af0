"""PostgreSQL going away while the app runs, and coming back.

The app (in this process, as `jijiao run` starts it) reaches its database through a proxy that
the test cuts: every connection closed, new ones refused, as a restarted server does. Meanwhile
the web server stays up, /healthz stays alive, /readyz says the database is down, pages and
the Mini App's API answer 503 with a clear localized text, a trainee writing to the bot is told
to try again in a minute, and the jobs skip their turns. Once the proxy accepts again,
everything works by itself: no restart.

A database that hangs instead (the proxy frozen: connections open, nothing forwarded) is the
same outage once a query's deadline (`DATABASE_TIMEOUT`) has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot

from infra.db import models, open_database
from infra.sender import BotTransport
from tests.faults.conftest import Product, Telegram
from tests.reminders import world
from tests.support.app import running
from tests.support.clock import FixedClock
from tests.support.faults import TcpProxy
from tests.support.waiting import eventually

ZH_USER, EN_USER = 630_001, 630_002
UNAVAILABLE_ZH = "服务暂时不可用"
UNAVAILABLE_EN = "temporarily unavailable"
# The deadline of every wait for the database in the hung-database test, and the most an
# answer may take there: the query's deadline, then its cancellation's (which the hung server
# never confirms), and room for a shared machine. Without deadlines: until the kernel gives up.
DEADLINE = 1.0
ANSWERED_WITHIN = 2 * DEADLINE + 3


@contextlib.asynccontextmanager
async def product_through_proxy(
    postgres_url: str, make_settings, **database: object
) -> AsyncIterator[Product]:
    async with TcpProxy.to(postgres_url) as proxy:
        settings = make_settings(
            database={"url": proxy.url_for(postgres_url), **database},
            reminders={"send_every": 0.2, "quiet_start": "00:00", "quiet_end": "00:00"},
        )
        async with running(settings) as runtime, aiohttp.ClientSession() as http:
            try:
                yield Product(runtime, proxy, http)
            finally:
                proxy.thaw()  # a test that failed while frozen must not hang the shutdown


@pytest.fixture
async def product(postgres_url: str, make_settings) -> AsyncIterator[Product]:
    async with product_through_proxy(postgres_url, make_settings) as product:
        yield product


@pytest.fixture
async def product_with_deadline(postgres_url: str, make_settings) -> AsyncIterator[Product]:
    async with product_through_proxy(postgres_url, make_settings, timeout=DEADLINE) as product:
        yield product


async def test_a_database_outage_is_explained_everywhere_and_ends_by_itself(
    product: Product, caplog: pytest.LogCaptureFixture
):
    assert (await product.say(ZH_USER, "/start", "zh-hans")).startswith("Lin，您好！")
    assert (await product.get("/app/study", cookies=product.cookie(EN_USER, "en")))[0] == 200

    await product.proxy.cut()
    caplog.set_level(logging.WARNING)

    # The web server is up: alive, but not ready, and it says why.
    status, _, _ = await product.get("/healthz")
    assert status == 200
    status, body, _ = await product.get("/readyz")
    assert status == 503 and '"failing": ["database"]' in body

    # Pages and the Mini App's API: 503, in the viewer's language, no traceback.
    status, page, response = await product.get("/app/study", cookies=product.cookie(EN_USER, "en"))
    assert status == 503 and response.headers["Retry-After"] == "60"
    assert "Temporarily unavailable" in page and "Traceback" not in page
    status, page, _ = await product.get("/app/study", cookies=product.cookie(ZH_USER, "zh-hans"))
    assert status == 503 and UNAVAILABLE_ZH in page
    status, body, response = await product.get(
        "/app/api/study/progress?enrolment=1", cookies=product.cookie(EN_USER, "en")
    )
    assert status == 503 and response.content_type == "application/json"
    assert '"error": "temporarily_unavailable"' in body and UNAVAILABLE_EN in body

    # The bot: a short answer instead of silence, in each person's language.
    assert UNAVAILABLE_ZH in await product.say(ZH_USER, "/start", "zh-hans")
    assert UNAVAILABLE_EN in await product.say(EN_USER, "/start", "en")

    # The jobs skip their turns with one line each, and keep going.
    async def a_job_skipped() -> bool:
        return any("send_outbox skipped" in r.getMessage() for r in caplog.records)

    await eventually(a_job_skipped, what="the outbox job skips its turn")
    assert not any(r.exc_info for r in caplog.records if r.name == "infra.workers")

    await product.proxy.restore()

    async def ready() -> bool:
        return (await product.get("/readyz"))[0] == 200

    await eventually(ready, what="/readyz is 200 again")
    assert (await product.say(ZH_USER, "/start", "zh-hans")).startswith("Lin，您好！")
    status, page, _ = await product.get("/app/study", cookies=product.cookie(EN_USER, "en"))
    assert status == 200 and "Temporarily unavailable" not in page
    # ...and the jobs run again: a notice queued now reaches the trainee.
    after = product.chat.messages(ZH_USER)["messages"][-1]["message_id"]
    await world.broadcast_to(
        [ZH_USER], product.runtime.clock.now(), "数据库已恢复 The database is back"
    )
    notice = (await product.chat.wait_messages(ZH_USER, after, wait=20))["messages"]
    assert [m["text"] for m in notice] == ["数据库已恢复 The database is back"]


async def test_a_database_that_hangs_is_an_outage_after_its_deadline_not_a_wait_for_the_kernel(
    product_with_deadline: Product, caplog: pytest.LogCaptureFixture
):
    """Connections stay open and nothing comes back (a network black hole, a frozen server):
    every query gives up after its deadline, so the pages, the API and the bot say
    "temporarily unavailable" within seconds, the jobs skip their turns, and all of it works
    again once the database answers."""
    product = product_with_deadline
    en, zh = product.cookie(EN_USER, "en"), product.cookie(ZH_USER, "zh-hans")
    assert (await product.say(ZH_USER, "/start", "zh-hans")).startswith("Lin，您好！")
    assert (await product.get("/app/study", cookies=en))[0] == 200

    product.proxy.freeze()
    caplog.set_level(logging.WARNING)
    loop = asyncio.get_running_loop()
    patience = aiohttp.ClientTimeout(total=ANSWERED_WITHIN * 3)

    started = loop.time()
    status, page, response = await product.get("/app/study", cookies=en, timeout=patience)
    assert status == 503 and response.headers["Retry-After"] == "60"
    assert "Temporarily unavailable" in page
    assert loop.time() - started < ANSWERED_WITHIN
    started = loop.time()
    status, body, _ = await product.get(
        "/app/api/study/progress?enrolment=1", cookies=zh, timeout=patience
    )
    assert status == 503 and '"error": "temporarily_unavailable"' in body
    assert loop.time() - started < ANSWERED_WITHIN

    started = loop.time()
    assert UNAVAILABLE_ZH in await product.say(ZH_USER, "/start", "zh-hans")
    assert loop.time() - started < ANSWERED_WITHIN
    started = loop.time()
    assert UNAVAILABLE_EN in await product.say(EN_USER, "/start", "en")
    assert loop.time() - started < ANSWERED_WITHIN

    async def a_job_skipped() -> bool:
        return any("send_outbox skipped" in r.getMessage() for r in caplog.records)

    await eventually(a_job_skipped, what="the outbox job skips its turn")
    assert not any(r.exc_info for r in caplog.records if r.name == "infra.workers")
    assert product.proxy.held > 0  # the queries did reach the hung connections

    product.proxy.thaw()

    async def ready() -> bool:
        return (await product.get("/readyz"))[0] == 200

    await eventually(ready, what="/readyz is 200 again")
    assert (await product.say(ZH_USER, "/start", "zh-hans")).startswith("Lin，您好！")
    assert (await product.get("/app/study", cookies=en))[0] == 200
    after = product.last_id(ZH_USER)
    await world.broadcast_to([ZH_USER], product.runtime.clock.now(), "数据库又答话了 It answers")
    assert (await product.answer(ZH_USER, after))["text"] == "数据库又答话了 It answers"


async def test_a_database_blip_just_after_telegram_took_messages_sends_none_twice(
    postgres_url: str, i18n, telegram: Telegram, bot: Bot, caplog: pytest.LogCaptureFixture
):
    """The outbox sender handed messages to Telegram and then could not mark them: it keeps
    trying while the rows are still its own (half a lease), instead of leaving them to be
    sent again after the lease."""
    clock = FixedClock()
    users = [631_001, 631_002, 631_003]
    async with TcpProxy.to(postgres_url) as database:
        context = await open_database(database.url_for(postgres_url))
        try:
            telegram.start_users(users)
            await world.broadcast_to(users, clock.now(), "Notice")

            async def cut_when_telegram_took_the_first(method: str) -> None:
                if method == "sendmessage" and telegram.faults.forwarded[method] == 1:
                    await database.cut()

            telegram.faults.before_answer = cut_when_telegram_took_the_first
            caplog.set_level(logging.DEBUG, logger="infra.sender")
            sending = asyncio.create_task(world.sender(i18n, clock, BotTransport(bot))())

            async def marks_failing() -> bool:  # beyond the three quick tries there used to be
                return any("still not marked (try 4)" in r.getMessage() for r in caplog.records)

            await eventually(marks_failing, timeout=10, what="the sender keeps trying to mark")
            await database.restore()
            assert await sending == len(users)

            assert [len(telegram.received(user)) for user in users] == [1, 1, 1]
            rows = await models.Outbox.all().values_list("status", "attempts")
            assert sorted(rows) == [("sent", 1)] * len(users)
        finally:
            await context.close_connections()

"""The PostgreSQL pool gives a connection back without a task of its own (issue 20: Tortoise
gives one back after every query outside a transaction), and still leaves nothing behind: a
transaction left open is rolled back, and a caller cancelled while that rollback runs costs a
connection that the pool replaces, never one lost or one still in the transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest

from infra.db import models, open_database
from infra.db.postgres import NoFreeConnection
from infra.outages import describe, is_outage

pytestmark = pytest.mark.postgres

SQL = "SELECT id FROM chat_user WHERE id = $1"


async def test_a_query_outside_a_transaction_starts_no_task(postgres_url: str):
    context = await open_database(postgres_url, timeout=5.0)
    db = models.ChatUser._meta.db
    await db.execute_query(SQL, [1])
    loop = asyncio.get_running_loop()
    started: list[object] = []
    factory = loop.get_task_factory()

    def counting(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Task[Any]:
        started.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        for n in range(20):
            await db.execute_query(SQL, [n])
    finally:
        loop.set_task_factory(factory)
        await context.close_connections()
    assert started == []


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[Any]:
    """The app's pool, opened by a first query."""
    context = await open_database(postgres_url, timeout=5.0)
    db = models.ChatUser._meta.db
    await db.execute_query("CREATE TABLE probe (id int)")
    yield db._pool
    await context.close_connections()


async def in_a_transaction(pool: Any) -> Any:
    """A connection of the pool inside a transaction that wrote a row."""
    connection = await pool.acquire()
    await connection.execute("BEGIN")
    await connection.execute("INSERT INTO probe VALUES (7001)")
    return connection


async def test_an_open_transaction_is_rolled_back_when_its_connection_goes_back(pool: Any):
    await pool.release(await in_a_transaction(pool))

    for _ in range(pool.get_max_size() + 1):  # every connection back, none in the BEGIN
        async with pool.acquire() as again:
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT count(*) FROM probe") == 0


async def test_a_caller_cancelled_while_its_connection_is_rolled_back_loses_none(pool: Any):
    releasing = asyncio.create_task(pool.release(await in_a_transaction(pool)))
    await asyncio.sleep(0)  # the ROLLBACK is sent
    releasing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await releasing

    held = [await pool.acquire(timeout=5) for _ in range(pool.get_max_size())]
    for each in held:
        assert not each.is_in_transaction()
        assert await each.fetchval("SELECT count(*) FROM probe") == 0
    for each in held:
        await pool.release(each)


async def test_a_wait_for_a_free_connection_that_runs_out_says_so(pool: Any):
    """The log of an outage names the wait that ran out: asyncio's own TimeoutError has no
    message, and "temporarily unavailable" from a busy pool read the same as from a hung server."""
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        with pytest.raises(NoFreeConnection) as raised:
            await pool.acquire(timeout=0.2)
    finally:
        for connection in held:
            await pool.release(connection)
    assert is_outage(raised.value)
    assert describe(raised.value).startswith(
        f"NoFreeConnection: no connection from the pool within 0.2 s ({pool.get_max_size()} open"
    )
    connection = await pool.acquire(timeout=0.2)  # the pool is whole again
    await pool.release(connection)

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from tortoise import Tortoise, connections
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.transactions import in_transaction

from infra.db import connection_name, open_database, tortoise_config
from infra.db.models import ChatUser
from infra.fsm import DatabaseStorage
from infra.outages import is_outage
from tests.support.faults import TcpProxy
from tests.support.registry import PII

KEY = StorageKey(bot_id=7000000001, chat_id=100001, user_id=100001)


async def test_the_committed_migrations_match_the_models(tmp_path):
    config = tortoise_config(f"sqlite://{tmp_path / 'check.sqlite3'}")
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert writers == [], "models changed without a migration: run `tortoise ... makemigrations`"


async def _fsm_survives_a_restart(database_url: str) -> None:
    first = await open_database(database_url)
    await DatabaseStorage(PII).set_state(KEY, "Enrolment:id_number")
    await DatabaseStorage(PII).update_data(KEY, {"name": "张三"})
    await first.close_connections()

    second = await open_database(database_url)
    storage = DatabaseStorage(PII)
    assert await storage.get_state(KEY) == "Enrolment:id_number"
    assert await storage.get_data(KEY) == {"name": "张三"}
    await storage.set_state(KEY, None)
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {"name": "张三"}
    await second.close_connections()


async def test_conversation_state_survives_a_restart_on_sqlite(tmp_path):
    await _fsm_survives_a_restart(f"sqlite://{tmp_path / 'jijiao.sqlite3'}")


@pytest.mark.postgres
async def test_conversation_state_survives_a_restart_on_postgresql(postgres_url: str):
    await _fsm_survives_a_restart(postgres_url)


@pytest.mark.postgres
async def test_migrations_apply_to_postgresql_and_are_idempotent(empty_postgres_url: str):
    context = await open_database(empty_postgres_url)
    await ChatUser.create(id=100001, first_name="张三", locale="en")
    await context.close_connections()
    again = await open_database(empty_postgres_url)
    assert (await ChatUser.get(id=100001)).locale == "en"
    await again.close_connections()
    await Tortoise.close_connections()


# Foreign keys with no index whose first column is the key: neither database makes one itself.
_UNINDEXED_POSTGRES = """
SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND NOT EXISTS (
    SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
"""


@pytest.mark.postgres
async def test_every_foreign_key_is_indexed_on_postgresql(empty_postgres_url: str):
    """A bill, a payment notification and /status join orders to their items and certificates
    to their holders: an unindexed key is a scan of the whole table on every such read."""
    context = await open_database(empty_postgres_url)
    try:
        _, rows = await connections.get(connection_name(empty_postgres_url)).execute_query(
            _UNINDEXED_POSTGRES
        )
    finally:
        await context.close_connections()
    assert [tuple(row.values()) for row in rows] == []


async def test_every_foreign_key_is_indexed_on_sqlite(tmp_path):
    url = f"sqlite://{tmp_path / 'keys.sqlite3'}"
    context = await open_database(url)
    try:
        db = connections.get(connection_name(url))
        _, tables = await db.execute_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        unindexed = []
        for (table,) in (tuple(row) for row in tables):
            _, keys = await db.execute_query(f'PRAGMA foreign_key_list("{table}")')
            _, indexes = await db.execute_query(f'PRAGMA index_list("{table}")')
            leading = set()
            for index in indexes:
                _, columns = await db.execute_query(f'PRAGMA index_info("{index["name"]}")')
                leading |= {c["name"] for c in columns if c["seqno"] == 0}
            unindexed += [(table, key["from"]) for key in keys if key["from"] not in leading]
    finally:
        await context.close_connections()
    assert unindexed == []


@pytest.mark.redis
async def test_redis_keeps_conversation_state_across_storage_instances(redis_url: str):
    first = RedisStorage.from_url(redis_url)
    await first.set_state(KEY, "Enrolment:phone")
    await first.set_data(KEY, {"id_number": "masked"})
    await first.close()

    second = RedisStorage.from_url(redis_url)
    assert await second.get_state(KEY) == "Enrolment:phone"
    assert await second.get_data(KEY) == {"id_number": "masked"}
    await second.close()


@pytest.mark.postgres
async def test_a_query_past_the_database_timeout_is_an_outage_not_a_wait(postgres_url: str):
    context = await open_database(postgres_url, timeout=0.5)
    database = connections.get(connection_name(postgres_url))
    loop = asyncio.get_running_loop()
    try:
        _, rows = await database.execute_query("SHOW statement_timeout")
        assert rows[0]["statement_timeout"] == "500ms"  # the server's own deadline, too
        started = loop.time()
        with pytest.raises(Exception) as slow:
            await database.execute_query("SELECT pg_sleep(5)")
        assert is_outage(slow.value)  # "temporarily unavailable", not "something went wrong"
        assert loop.time() - started < 3
        _, rows = await database.execute_query("SELECT 1 AS one")
        assert rows[0]["one"] == 1
    finally:
        await context.close_connections()


@pytest.mark.postgres
async def test_a_transaction_that_could_not_begin_leaves_its_task_working(postgres_url: str):
    """A job's loop is one task for ever: a BEGIN that timed out on a hung database must not
    leave that task's later queries on the dead transaction once the database answers."""
    async with TcpProxy.to(postgres_url) as proxy:
        context = await open_database(proxy.url_for(postgres_url), timeout=0.5)
        try:
            await ChatUser.create(id=100001, first_name="张三", locale="zh-hans")
            proxy.freeze()
            with pytest.raises(Exception) as hung:
                async with in_transaction():
                    await ChatUser.filter(id=100001).update(locale="en")
            assert is_outage(hung.value)
            proxy.thaw()

            async with in_transaction():
                await ChatUser.filter(id=100001).update(locale="en")
            committed = await asyncpg.connect(postgres_url)  # what others see
            try:
                locale = await committed.fetchval(
                    f"SELECT locale FROM {ChatUser._meta.db_table} WHERE id = 100001"
                )
            finally:
                await committed.close()
            assert locale == "en"
        finally:
            proxy.thaw()
            await context.close_connections()

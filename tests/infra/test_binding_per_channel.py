"""Migration 0028: a person may be bound once per channel; bindings made before it keep their
channel (WeChat accounts have negative ids) and nothing is lost."""

from __future__ import annotations

import pytest
from tortoise import Tortoise, connections
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api.migrate import migrate

from infra.db import connection_name, models, open_database, tortoise_config

pytestmark = pytest.mark.long  # minutes: run first (tests/conftest.py)

T = "'2026-01-05 08:00:00+00:00'"
BEFORE = f"""
INSERT INTO person (id, name, id_number_hash, phone_hash, id_number_sealed, phone_sealed,
        created_at, updated_at) VALUES
    (1, '张三', 'a1', 'p1', '', '', {T}, {T}),
    (2, '李四', 'a2', 'p2', '', '', {T}, {T});
INSERT INTO binding (chat_user_id, person_id, bound_at) VALUES
    (100001, 1, {T}),
    (-1, 2, {T});
"""


async def _bindings_survive_and_allow_one_per_channel(url: str) -> None:
    await migrate(config=tortoise_config(url), target="jijiao.0027_phone_codes")
    await connections.get(connection_name(url)).execute_script(BEFORE)
    await Tortoise.close_connections()
    context = await open_database(url)
    try:
        rows = await models.Binding.all().order_by("id").values_list("chat_user_id", "channel")
        assert rows == [(100001, "telegram"), (-1, "wechat")]
        # Zhang San bound on Telegram may bind a WeChat account too...
        await models.Binding.create(chat_user_id=-2, person_id=1, channel="wechat")
        # ...but never a second account on the same channel.
        with pytest.raises(IntegrityError):
            await models.Binding.create(chat_user_id=100002, person_id=1, channel="telegram")
        assert await models.Binding.filter(person_id=1).count() == 2
    finally:
        await context.close_connections()


async def test_bindings_survive_0028_and_a_person_binds_once_per_channel_on_sqlite(tmp_path):
    await _bindings_survive_and_allow_one_per_channel(f"sqlite://{tmp_path / 'old.sqlite3'}")


@pytest.mark.postgres
async def test_bindings_survive_0028_and_a_person_binds_once_per_channel_on_postgresql(
    empty_postgres_url: str,
):
    await _bindings_survive_and_allow_one_per_channel(empty_postgres_url)


async def _chat_users_survive_0026(url: str) -> None:
    await migrate(config=tortoise_config(url), target="jijiao.0025_staff_sign_in")
    await connections.get(connection_name(url)).execute_script(
        "INSERT INTO chat_user (id, first_name, unreachable, muted, created_at, updated_at) "
        f"VALUES (100001, '张三', false, false, {T}, {T});"
    )
    await Tortoise.close_connections()
    context = await open_database(url)  # migrates to the head, across 0026
    try:
        rows = await models.ChatUser.all().values_list("id", "channel", "external_id")
        assert rows == [(100001, "telegram", None)]
    finally:
        await context.close_connections()


async def test_an_existing_database_with_chat_users_upgrades_across_0026_on_sqlite(tmp_path):
    # SQLite refuses to add a NOT NULL column to a table with rows unless the database knows
    # its default.
    await _chat_users_survive_0026(f"sqlite://{tmp_path / 'old.sqlite3'}")


@pytest.mark.postgres
async def test_an_existing_database_with_chat_users_upgrades_across_0026_on_postgresql(
    empty_postgres_url: str,
):
    await _chat_users_survive_0026(empty_postgres_url)

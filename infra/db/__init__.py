"""Database connection and migrations (Tortoise ORM, native migrations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.connection import get_connection
from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate
from tortoise.migrations.recorder import MigrationRecorder

from infra.db.plaintext import (
    PLAINTEXT_DROPPED,
    SEALED_COLUMNS_ADDED,
    check_key,
    scrub,
    seal_plaintext,
)
from infra.db.postgres import connection_with_deadline
from infra.pii import Pii

MODELS = "infra.db.models"
MIGRATIONS = "infra.db.migrations"


def connection_name(database_url: str) -> str:
    """Named by dialect: Tortoise caches SQL per connection name, not per dialect."""
    return "sqlite" if database_url.startswith("sqlite://") else "postgres"


def tortoise_config(database_url: str, timeout: float | None = None) -> dict[str, Any]:
    """With `timeout`, every wait for PostgreSQL ends after that many seconds (SQLite is a
    file: it does not hang that way)."""
    name = connection_name(database_url)
    if database_url.startswith("postgresql://"):
        database_url = "postgres://" + database_url.removeprefix("postgresql://")
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection: str | dict[str, Any] = database_url
    if name == "postgres":
        connection = connection_with_deadline(database_url, timeout)
    return {
        "connections": {name: connection},
        "apps": {
            "jijiao": {
                "models": [MODELS, "infra.db.study_models", "infra.db.exam_models"],
                "migrations": MIGRATIONS,
                "default_connection": name,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Any fixed 64-bit number, the same for every instance: the name of the migrations lock.
MIGRATIONS_LOCK = 0x6A696A69616F


async def apply_migrations(database_url: str, pii: Pii | None = None) -> None:
    """Several instances starting at once against one PostgreSQL take turns: the first applies
    the migrations, the others wait on an advisory lock and then find nothing left to do.

    With `pii`, ID numbers and phones stored in plaintext by an older version are sealed on the
    way (infra.db.plaintext); without it such a database stops before the plaintext is dropped."""
    config = tortoise_config(database_url)
    if connection_name(database_url) != "postgres":
        await _migrate_sqlite(config, pii)
        await Tortoise.close_connections()
        return
    import asyncpg

    lock = await asyncpg.connect(database_url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", MIGRATIONS_LOCK)
        await _migrate(config, pii)
        await Tortoise.close_connections()
    finally:
        await lock.close()  # ends the session, which releases the lock


async def _migrate(config: dict[str, Any], pii: Pii | None) -> None:
    sealed = 0
    if pii is not None and await _pending(config, PLAINTEXT_DROPPED):
        await migrate(config=config, target=f"jijiao.{SEALED_COLUMNS_ADDED}")
        sealed = await seal_plaintext(get_connection(_connection_of(config)), pii)
    await migrate(config=config)
    if sealed:
        await scrub(get_connection(_connection_of(config)))


async def _pending(config: dict[str, Any], migration: str) -> bool:
    await Tortoise.init(config=config, init_connections=False)
    applied = await MigrationRecorder(get_connection(_connection_of(config))).applied_migrations()
    return all(key.name != migration for key in applied if key.app_label == "jijiao")


def _connection_of(config: dict[str, Any]) -> str:
    return str(config["apps"]["jijiao"]["default_connection"])


async def _migrate_sqlite(config: dict[str, Any], pii: Pii | None) -> None:
    """SQLite changes a column by rebuilding the table (Tortoise: copy, DROP, rename); with
    foreign keys enforced, that DROP deletes every row pointing at the table (ON DELETE
    CASCADE took the certificates with the people). SQLite's own procedure turns them off for
    the change and checks them after."""
    url = config["connections"]["sqlite"]
    config["connections"]["sqlite"] = url + ("&" if "?" in url else "?") + "foreign_keys=OFF"
    await _migrate(config, pii)
    _, broken = await get_connection("sqlite").execute_query("PRAGMA foreign_key_check")
    if broken:
        raise RuntimeError(
            f"migrations left rows pointing at nothing: {[tuple(r) for r in broken]}"
        )


async def ping(database_url: str) -> None:
    await connections.get(connection_name(database_url)).execute_query("SELECT 1")


async def open_database(
    database_url: str, pii: Pii | None = None, timeout: float | None = None
) -> TortoiseContext:
    """Migrate, then connect; the returned context is the one to close. The product passes its
    `pii` (sealing plaintext left by an older version, refusing a key that opens nothing);
    tests on a fresh database need none. `timeout` bounds every query after the migrations
    (they, and waiting for another instance's, may take longer)."""
    await apply_migrations(database_url, pii)
    # Global fallback: aiogram and aiohttp run handlers in tasks that may predate this context.
    context = await Tortoise.init(
        config=tortoise_config(database_url, timeout), _enable_global_fallback=True
    )
    if pii is not None:
        try:
            await check_key(pii)
        except BaseException:
            await context.close_connections()
            raise
    return context

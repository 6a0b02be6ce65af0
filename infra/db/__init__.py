"""Database connection and migrations (Tortoise ORM, native migrations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate

MODELS = "infra.db.models"
MIGRATIONS = "infra.db.migrations"


def connection_name(database_url: str) -> str:
    """Named by dialect: Tortoise caches SQL per connection name, not per dialect."""
    return "sqlite" if database_url.startswith("sqlite://") else "postgres"


def tortoise_config(database_url: str) -> dict[str, Any]:
    name = connection_name(database_url)
    if database_url.startswith("postgresql://"):
        database_url = "postgres://" + database_url.removeprefix("postgresql://")
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {name: database_url},
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


async def apply_migrations(database_url: str) -> None:
    """Several instances starting at once against one PostgreSQL take turns: the first applies
    the migrations, the others wait on an advisory lock and then find nothing left to do."""
    config = tortoise_config(database_url)
    if connection_name(database_url) != "postgres":
        await migrate(config=config)
        await Tortoise.close_connections()
        return
    import asyncpg

    lock = await asyncpg.connect(config["connections"]["postgres"])
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", MIGRATIONS_LOCK)
        await migrate(config=config)
        await Tortoise.close_connections()
    finally:
        await lock.close()  # ends the session, which releases the lock


async def ping(database_url: str) -> None:
    await connections.get(connection_name(database_url)).execute_query("SELECT 1")


async def open_database(database_url: str) -> TortoiseContext:
    """Migrate, then connect; the returned context is the one to close."""
    await apply_migrations(database_url)
    # Global fallback: aiogram and aiohttp run handlers in tasks that may predate this context.
    return await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)

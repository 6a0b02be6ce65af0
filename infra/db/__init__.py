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


async def apply_migrations(database_url: str) -> None:
    await migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def ping(database_url: str) -> None:
    await connections.get(connection_name(database_url)).execute_query("SELECT 1")


async def open_database(database_url: str) -> TortoiseContext:
    """Migrate, then connect; the returned context is the one to close."""
    await apply_migrations(database_url)
    # Global fallback: aiogram and aiohttp run handlers in tasks that may predate this context.
    return await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)

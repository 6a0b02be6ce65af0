"""Shared fixtures: a recording bot, a fresh database per test, and the real services.

PostgreSQL and Redis tests run against JIJIAO_TEST_POSTGRES_URL / JIJIAO_TEST_REDIS_URL
(defaults: the local servers). When a server is unreachable they skip with the reason, unless
JIJIAO_REQUIRE_SERVICES=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiogram import Bot
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from domain.desks import DeskId
from infra.db import open_database
from infra.i18n import make_i18n
from tests.support.clock import FixedClock
from tests.support.databases import (
    POSTGRES_URL,
    drop_templates,
    migrated_sqlite,
    new_database,
    unreachable,
)

# The names tests import from here; they live in tests/support/harness.py.
from tests.support.harness import STAFF_GROUP_ID as STAFF_GROUP_ID
from tests.support.harness import TEST_TOKEN as TEST_TOKEN
from tests.support.harness import WEBAPP_URL as WEBAPP_URL
from tests.support.harness import (
    BotHarness,
    bot_harness,
    harness_bot,
    harness_services,
)
from tests.support.recording import RecordingSession
from texts.i18n import Catalogs


def _redis_url_for_this_worker() -> str:
    """Redis database 15 for a plain run; under pytest-xdist each worker takes its own database
    (15, 14, ...) so that one worker's FLUSHDB never empties another's."""
    url = os.environ.get("JIJIAO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 15)
    return urlunsplit(parts._replace(path=f"/{base - int(worker[2:])}"))


REDIS_URL = _redis_url_for_this_worker()
REQUIRE_SERVICES = os.environ.get("JIJIAO_REQUIRE_SERVICES") == "1"


def unavailable(service: str, reason: str) -> None:
    message = f"{service} unreachable ({reason})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; JIJIAO_REQUIRE_SERVICES=1 makes it mandatory")
    pytest.skip(f"{message}; set JIJIAO_REQUIRE_SERVICES=1 to make this a failure")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked `long` (minutes each: fuzzers, browser journeys, killed processes) run
    first. `make test` keeps the collection's order for its two workers
    (--no-loadscope-reorder); xdist's default puts the files with the most tests first, which
    left the one-test long files to the end, queued behind each other on one worker while the
    other had nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def i18n() -> Catalogs:
    return make_i18n()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh SQLite file per test, built by the committed migrations as production is (a
    copy of a template migrated once: tests/support/databases.py)."""
    url = migrated_sqlite(tmp_path / "test.sqlite3")
    context = await open_database(url)
    yield url
    await context.close_connections()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = unreachable(POSTGRES_URL)
    if problem:
        unavailable("PostgreSQL", problem)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_templates() -> Iterator[None]:
    """Drops this process's migrated PostgreSQL templates at the end."""
    yield
    # Outside the session's event loop, which may still be set in this thread.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, drop_templates()).result()


@pytest.fixture
async def postgres_url(postgres_server: str, postgres_templates: None) -> AsyncIterator[str]:
    """A new PostgreSQL database for one test, migrated (a copy of a template), dropped
    afterwards."""
    async with new_database(postgres_server, "jijiao_test", migrated=True) as url:
        yield url


@pytest.fixture
async def empty_postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test (tests of the migrations themselves)."""
    async with new_database(postgres_server, "jijiao_test") as url:
        yield url


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    problem = unreachable(REDIS_URL)
    if problem:
        unavailable("Redis", problem)
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def recording_bot() -> Iterator[tuple[Bot, RecordingSession]]:
    session = RecordingSession()
    yield harness_bot(session), session


@pytest.fixture
def storage() -> BaseStorage:
    """Where the harness keeps conversation state; a test module may bring the product's."""
    return MemoryStorage()


@pytest.fixture
def staff_locale() -> str:
    """The staff group's language (STAFF_LANGUAGE); a test may parametrize it."""
    return "zh_CN"


@pytest.fixture
def desk_groups() -> dict[DeskId, int]:
    """Desks with a staff group of their own (STAFF_DESK_GROUPS); a test may parametrize it."""
    return {}


@pytest.fixture
async def harness(
    database: str,
    i18n: Catalogs,
    clock: FixedClock,
    recording_bot: tuple[Bot, RecordingSession],
    storage: BaseStorage,
    tmp_path: Path,
    staff_locale: str,
    desk_groups: dict[DeskId, int],
) -> BotHarness:
    """The product's dispatcher, fresh per test, with a bot that records what it sends."""
    bot, session = recording_bot
    services = harness_services(
        bot, i18n, clock, tmp_path, staff_locale=staff_locale, desk_groups=desk_groups
    )
    return bot_harness(bot, session, services, i18n, storage)

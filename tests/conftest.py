"""Shared fixtures: a recording bot, a fresh database per test, and the real services.

PostgreSQL and Redis tests run against JIJIAO_TEST_POSTGRES_URL / JIJIAO_TEST_REDIS_URL
(defaults: the local servers). When a server is unreachable they skip with the reason, unless
JIJIAO_REQUIRE_SERVICES=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Update

from bot.dispatcher import make_dispatcher
from domain.checkout import Fees
from domain.desks import DeskId
from infra.db import open_database
from infra.i18n import make_i18n
from infra.payments.sandbox import SandboxProvider
from infra.repositories.accounts import TortoiseAccountRepository
from infra.signing import Signer
from jijiao.app import Services, build_services
from tests.support.clock import FixedClock
from tests.support.recording import RecordingSession
from texts.i18n import Catalogs
from webview.auth import Sessions

TEST_TOKEN = "7000000001:test-token"
WEBAPP_URL = "http://127.0.0.1:8080/app"
STAFF_GROUP_ID = -1001000000001
POSTGRES_URL = os.environ.get("JIJIAO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


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


def _reachable(url: str, default_port: int) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return None
    except OSError as exc:
        return str(exc)


@pytest.fixture(scope="session")
def i18n() -> Catalogs:
    return make_i18n()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh SQLite file per test, built by the committed migrations as production is."""
    url = f"sqlite://{tmp_path / 'test.sqlite3'}"
    context = await open_database(url)
    yield url
    await context.close_connections()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = _reachable(POSTGRES_URL, 5432)
    if problem:
        unavailable("PostgreSQL", problem)
    return POSTGRES_URL


@pytest.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import asyncpg

    name = f"jijiao_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(postgres_server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(postgres_server)
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    problem = _reachable(REDIS_URL, 6379)
    if problem:
        unavailable("Redis", problem)
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()


@dataclass
class BotHarness:
    bot: Bot
    session: RecordingSession
    dispatcher: Dispatcher
    accounts: TortoiseAccountRepository
    services: Services

    async def feed(self, update: Update) -> None:
        await self.dispatcher.feed_update(self.bot, update)

    def last_text(self) -> str:
        return self.session.texts()[-1]


@pytest.fixture
def recording_bot() -> Iterator[tuple[Bot, RecordingSession]]:
    session = RecordingSession()
    yield (
        Bot(TEST_TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)),
        session,
    )


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
    signer = Signer(b"k" * 32)
    services = build_services(
        bot=bot,
        i18n=i18n,
        clock=clock,
        webapp_url=WEBAPP_URL,
        sessions=Sessions(signer, session_ttl=3600, link_ttl=600),
        data_dir=tmp_path,
        signer=signer,
        provider=SandboxProvider("http://127.0.0.1:8080", b"s" * 32),
        fees=Fees(30000, {"tower_crane": 45000}),
        staff_group_id=STAFF_GROUP_ID,
        staff_locale=staff_locale,
        desk_groups=desk_groups,
    )
    dispatcher = make_dispatcher(
        storage=storage, i18n=i18n, staff_group_id=STAFF_GROUP_ID, **services.handlers
    )
    return BotHarness(bot, session, dispatcher, services.handlers["accounts"], services)

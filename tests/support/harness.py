"""The product's services and dispatcher built for a test, the one way every harness builds
them (tests/conftest.py's `harness`, the fuzzers' site, the PII and restore tests): a bot that
records what it would send, the tests' signing key and the sandbox provider."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import Update

from bot.dispatcher import make_dispatcher
from domain.checkout import Fees
from domain.clock import Clock
from infra.payments.sandbox import SandboxProvider
from infra.repositories.accounts import TortoiseAccountRepository
from infra.signing import Signer
from jijiao.app import Services, build_services
from tests.support.recording import RecordingSession
from texts.i18n import Catalogs
from webview.auth import Sessions

TEST_TOKEN = "7000000001:test-token"
WEBAPP_URL = "http://127.0.0.1:8080/app"
STAFF_GROUP_ID = -1001000000001


def harness_bot(session: BaseSession) -> Bot:
    """The bot as the product makes it (HTML messages), talking through `session`."""
    return Bot(TEST_TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def harness_services(
    bot: Bot, i18n: Catalogs, clock: Clock, data_dir: Path, **overrides: Any
) -> Services:
    """`jijiao.app.build_services` with the tests' defaults: the signing key b"k" * 32 (and
    sessions on it), the sandbox on 127.0.0.1:8080, 300 yuan a course (450 for tower cranes),
    the staff group. `overrides` replace any of these or add the other arguments."""
    signer = overrides.get("signer") or Signer(b"k" * 32)
    arguments: dict[str, Any] = {
        "webapp_url": WEBAPP_URL,
        "sessions": Sessions(signer, session_ttl=3600, link_ttl=600),
        "signer": signer,
        "provider": SandboxProvider("http://127.0.0.1:8080", b"s" * 32),
        "fees": Fees(30000, {"tower_crane": 45000}),
        "staff_group_id": STAFF_GROUP_ID,
    }
    return build_services(
        bot=bot, i18n=i18n, clock=clock, data_dir=data_dir, **{**arguments, **overrides}
    )


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


def bot_harness(
    bot: Bot,
    session: RecordingSession,
    services: Services,
    i18n: Catalogs,
    storage: BaseStorage,
) -> BotHarness:
    """The product's dispatcher over `services`, keeping conversation state in `storage`."""
    dispatcher = make_dispatcher(
        storage=storage, i18n=i18n, staff_group_id=STAFF_GROUP_ID, **services.handlers
    )
    return BotHarness(bot, session, dispatcher, services.handlers["accounts"], services)

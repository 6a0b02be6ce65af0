"""The local Telegram stand-in served on a loopback port with users who have started the bot."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer

from localchat import FloodLimits, LocalChat, LocalChatConfig
from tests.localchat.conftest import QuickSession
from tests.support.serving import api_base, serving_localchat, start_users
from tests.support.wechat_world import WeChatWorld, wechat_world

TOKEN = "7000000001:reminder-test-token"
STAFF_GROUP = -1001000000001


@dataclass
class StandIn:
    chat: LocalChat
    base: str  # what TelegramAPIServer.from_base takes
    bot: Bot

    def start_users(self, user_ids: Iterable[int], language: str = "en") -> None:
        """Users who pressed Start at some point, so the bot may write to them."""
        start_users(self.chat, user_ids, language)

    def received(self, user_id: int) -> int:
        chat = self.chat.chats.get(user_id)
        return 0 if chat is None else len(chat.messages)


StandInFactory = Callable[[FloodLimits], Awaitable[StandIn]]


@pytest.fixture
async def standin() -> AsyncIterator[StandInFactory]:
    """Starts the stand-in with the given flood limits (Telegram's by default)."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(limits: FloodLimits = FloodLimits()) -> StandIn:  # noqa: B008
            chat = LocalChat(
                LocalChatConfig(token=TOKEN, staff_group_id=STAFF_GROUP, limits=limits)
            )
            base = api_base(await stack.enter_async_context(serving_localchat(chat)))
            bot = Bot(TOKEN, session=QuickSession(api=TelegramAPIServer.from_base(base)))
            stack.push_async_callback(bot.session.close)
            return StandIn(chat, base, bot)

        yield start


@pytest.fixture
async def wechat(aiohttp_server, clock, i18n, pictures) -> AsyncIterator[WeChatWorld]:
    """WeChat's stand-in and the product's WeChat transport (tests/support/wechat_world.py);
    broadcast pictures are fetched from `pictures` (Telegram file id → bytes)."""

    async def fetch(file_id: str) -> tuple[str, bytes]:
        return f"{file_id}.jpg", pictures[file_id]

    async with wechat_world(aiohttp_server, clock, i18n, fetch) as world:
        yield world


@pytest.fixture
def pictures() -> dict[str, bytes]:
    """The pictures Telegram holds, by file id, as a test puts them there."""
    return {}

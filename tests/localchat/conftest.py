import asyncio
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp.test_utils import TestClient
from PIL import Image

from localchat import FloodLimits, LocalChat, LocalChatConfig
from tests.support.clock import RunningClock
from tests.support.serving import localchat_app

TOKEN = "123456:local-test-token"
BOT_ID = 123456
STAFF_ID = 900001
GROUP_ID = -1001000000001


async def eventually(condition: Callable[[], bool], seconds: float = 5) -> None:
    """Wait for something the bot does in the background."""
    async with asyncio.timeout(seconds):
        # Handlers record into plain lists; there is no event to wait on.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def png_bytes(width: int = 640, height: int = 480) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def config() -> LocalChatConfig:
    return LocalChatConfig(token=TOKEN, limits=FloodLimits(enabled=False))


@pytest.fixture
def chat(config: LocalChatConfig) -> LocalChat:
    return LocalChat(config, wall_clock=RunningClock().timestamp)


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., AsyncIterator[TestClient]], chat: LocalChat
) -> TestClient:
    return await aiohttp_client(localchat_app(chat))  # type: ignore[misc,no-any-return]


class QuickSession(AiohttpSession):
    # aiogram sleeps 250 ms after closing for TLS teardown; loopback HTTP has none, and the
    # sleep alone would double the run time of this suite.
    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture
async def bot(client: TestClient) -> AsyncIterator[Bot]:
    api = TelegramAPIServer.from_base(str(client.make_url("/_local")))
    bot = Bot(TOKEN, session=QuickSession(api=api))
    yield bot
    await bot.session.close()


class Polling:
    """A real Dispatcher long-polling the stand-in in the background."""

    def __init__(self, dp: Dispatcher, bot: Bot) -> None:
        self.dp = dp
        self.bot = bot
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Polling":
        started = asyncio.Event()

        async def mark_started() -> None:
            started.set()

        self.dp.startup.register(mark_started)
        self.task = asyncio.create_task(
            self.dp.start_polling(
                self.bot, handle_signals=False, close_bot_session=False, polling_timeout=1
            )
        )
        async with asyncio.timeout(5):
            await started.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dp.stop_polling()
        assert self.task is not None
        await self.task


@pytest.fixture
def polling(bot: Bot) -> Callable[[Dispatcher], Polling]:
    return lambda dp: Polling(dp, bot)

"""Updates per second through the whole product beside a bare aiogram echo bot, in one run.

Both bots long-poll the same local Bot API stand-in (flood limits off) and answer the same
stream of messages; the product's path adds its middlewares, i18n, the database (who is talking,
in which language) and a menu keyboard. Rounds alternate so machine noise hits both alike.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.settings import load_settings
from jijiao.app import running
from localchat import FloodLimits, LocalChat, LocalChatConfig
from tests.support.app import free_port
from tests.support.serving import api_base, serving_localchat

USERS = 50
PER_USER = 20
ROUNDS = 3
TOKEN = "7000000001:bench"


async def drive(chat: LocalChat, first_user: int, texts: list[str]) -> float:
    """Sends every user the texts and waits until the bot has answered each one."""
    before = chat.stats["sent"]
    expected = before + USERS * len(texts)
    started = time.perf_counter()
    for text in texts:
        for user in range(first_user, first_user + USERS):
            chat.send_text(user, text, first_name=f"学员{user}", language_code="zh-hans")
    while chat.stats["sent"] < expected:  # noqa: ASYNC110 - the stand-in only counts
        await asyncio.sleep(0.002)
    return USERS * len(texts) / (time.perf_counter() - started)


def echo_bot(token: str, api_url: str) -> tuple[Dispatcher, Bot]:
    """The bare baseline: a dispatcher whose one handler answers each text with itself."""
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher, Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))


async def echo_round(first_user: int, texts: list[str]) -> float:
    chat = LocalChat(
        LocalChatConfig(
            token=TOKEN,
            bot_username="echo_bot",
            bot_first_name="echo",
            staff_group_id=-1001000000001,
            staff_group_title="staff",
            staff_members=[],
            state_path=None,
            files_dir=None,
            limits=FloodLimits(enabled=False),
        )
    )
    try:
        async with serving_localchat(chat) as url:
            dispatcher, bot = echo_bot(TOKEN, api_base(url))
            polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
            await asyncio.sleep(0.2)
            try:
                return await drive(chat, first_user, texts)
            finally:
                await dispatcher.stop_polling()
                await polling
    finally:
        await chat.close()


async def product_round(data_dir: Path, first_user: int, texts: list[str]) -> float:
    settings = load_settings(
        app={"data_dir": data_dir}, web={"host": "127.0.0.1", "port": free_port()}
    )
    # The local chat's own snapshot file is not part of the product: off, as for the echo bot.
    async with running(
        settings, flood_limits=FloodLimits(enabled=False), persist_localchat=False
    ) as runtime:
        assert runtime.localchat is not None
        await asyncio.sleep(0.2)
        return await drive(runtime.localchat, first_user, texts)


async def main() -> None:
    texts = ["/start"] + ["你好，我想报名"] * (PER_USER - 1)
    echo, product = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(ROUNDS):
            first_user = 200000 + number * 1000
            echo.append(await echo_round(first_user, texts))
            product.append(await product_round(Path(tmp) / f"r{number}", first_user, texts))
            print(f"round {number + 1}: echo {echo[-1]:.0f}/s, product {product[-1]:.0f}/s")
    echo_ups, product_ups = statistics.median(echo), statistics.median(product)
    print(
        f"BENCH updates_e2e product_ups={product_ups:.0f} echo_ups={echo_ups:.0f} "
        f"updates={USERS * PER_USER} ratio={product_ups / echo_ups:.2f}"
    )


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())

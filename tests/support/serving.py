"""Serving an aiohttp app on a loopback port for the length of a block, and the local chat
(the Telegram stand-in) as a Bot API server that way: the one copy of what the tests, the
fault and multi-instance suites and the benchmarks each used to write out.

    async with serving_localchat(chat) as url:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base(url))))
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

from aiohttp import web

from localchat import FloodLimits, LocalChat, LocalChatConfig, make_localchat_app
from tests.support.app import free_port

LOCALCHAT_PREFIX = "/_local"


@contextlib.asynccontextmanager
async def serving(app: web.Application, port: int | None = None) -> AsyncIterator[str]:
    """`app` on 127.0.0.1 (a free port unless given) until the block ends; yields its URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        port = port or free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def localchat_app(chat: LocalChat) -> web.Application:
    """An app with the local chat's Bot API and pages under /_local, as `jijiao run` has it."""
    app = web.Application()
    app.add_subapp(LOCALCHAT_PREFIX, make_localchat_app(chat))
    return app


@contextlib.asynccontextmanager
async def serving_localchat(chat: LocalChat, port: int | None = None) -> AsyncIterator[str]:
    """The local chat served on its own port; yields the server's URL (`api_base` of it is what
    aiogram's `TelegramAPIServer.from_base` takes)."""
    async with serving(localchat_app(chat), port) as url:
        yield url


def bare_config(token: str, limits: FloodLimits) -> LocalChatConfig:
    """A local chat with nothing of the product's: a plain bot, an empty staff group, no files
    and no saved state."""
    return LocalChatConfig(
        token=token,
        bot_username="b",
        bot_first_name="b",
        staff_group_id=-1001,
        staff_group_title="s",
        staff_members=[],
        state_path=None,
        files_dir=None,
        limits=limits,
    )


def api_base(url: str) -> str:
    return f"{url}{LOCALCHAT_PREFIX}"


def start_users(chat: LocalChat, user_ids: Iterable[int], language: str = "en") -> None:
    """Users who pressed Start at some point, so the bot may write to them."""
    for user_id in user_ids:
        chat.create_user(f"User {user_id}", language, user_id=user_id)
        chat.users[user_id].started = True
        chat.chat_for_user(user_id)

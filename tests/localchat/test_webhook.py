import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from localchat import LocalChat
from tests.localchat.conftest import eventually

USER = 100001
Server = Callable[[web.Application], Awaitable[TestServer]]


class Receiver:
    """A loopback webhook endpoint that can be told to fail its first deliveries."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts = 0
        self.updates: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.attempts <= self.failures:
            return web.Response(status=500)
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        self.updates.append(await request.json())
        return web.Response()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        return app


async def test_with_a_webhook_updates_are_posted_with_the_secret_and_get_updates_conflicts(
    aiohttp_server: Server, chat: LocalChat, bot: Bot
) -> None:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    await bot.set_webhook(str(server.make_url("/hook")), secret_token="s3cret-token_1")

    chat.send_text(USER, "first")
    chat.send_text(USER, "second")
    await eventually(lambda: len(receiver.updates) == 2)

    assert [u["message"]["text"] for u in receiver.updates] == ["first", "second"]
    assert receiver.updates[0]["update_id"] < receiver.updates[1]["update_id"]
    assert receiver.secrets == ["s3cret-token_1", "s3cret-token_1"]
    with pytest.raises(TelegramConflictError) as caught:
        await bot.get_updates()
    assert caught.value.message == (
        "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first"
    )
    info = await bot.get_webhook_info()
    assert info.url == str(server.make_url("/hook")) and info.pending_update_count == 0


async def test_failed_webhook_deliveries_are_retried_in_order_with_backoff(
    aiohttp_server: Server, chat: LocalChat, bot: Bot
) -> None:
    receiver = Receiver(failures=2)
    server = await aiohttp_server(receiver.app())
    await bot.set_webhook(str(server.make_url("/hook")))

    for n in range(3):
        chat.send_text(USER, f"m{n}")
    await eventually(lambda: len(receiver.updates) == 3)

    assert [u["message"]["text"] for u in receiver.updates] == ["m0", "m1", "m2"]
    assert receiver.attempts == 5
    info = await bot.get_webhook_info()
    assert info.last_error_message is not None and "500" in info.last_error_message


async def test_deleting_the_webhook_hands_pending_updates_back_to_get_updates(
    aiohttp_server: Server, chat: LocalChat, bot: Bot
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/unreachable")
    chat.send_text(USER, "lost?")
    await asyncio.sleep(0.05)

    await bot.delete_webhook()
    updates = await bot.get_updates(timeout=0)

    assert [u.message.text for u in updates if u.message] == ["lost?"]


async def test_delete_webhook_can_drop_pending_updates(chat: LocalChat, bot: Bot) -> None:
    chat.send_text(USER, "old news")
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == []


async def test_an_aiogram_webhook_handler_receives_updates_and_may_answer_in_the_reply(
    aiohttp_server: Server, client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    dp = Dispatcher()
    seen: list[Message] = []

    @dp.message()
    async def answer(message: Message) -> SendMessage:
        seen.append(message)
        # Returned instead of awaited: aiogram puts the call in the webhook response.
        return message.answer(f"got {message.text}")

    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="abc", handle_in_background=False).register(
        app, path="/tg"
    )
    server = await aiohttp_server(app)
    await bot.set_webhook(str(server.make_url("/tg")), secret_token="abc")

    chat.send_text(USER, "ping")
    reply = await (
        await client.get(f"/_local/api/users/{USER}/messages", params={"wait": "5"})
    ).json()

    assert seen[0].text == "ping"
    assert [m["text"] for m in reply["messages"]] == ["got ping"]


async def test_a_webhook_secret_with_odd_characters_is_refused(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/x", secret_token="no spaces!")

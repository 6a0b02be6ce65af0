"""Updates by webhook (production): aiogram's request handler on the web view's aiohttp app.

Each update is answered once it is in the inbox (bot/inbox.py) and handled in the background:
Telegram's retries are for deliveries that failed, not for slow handlers, and a handler that
outlived Telegram's timeout would otherwise be delivered (and handled) again. A redelivery
finds the update in the inbox and is not handled again, whichever instance gets it.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.inbox import Inbox

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"


class Webhook(SimpleRequestHandler):
    """A wrong or missing secret token is refused with 401 before the body is read.

    Shutting down, `drain` refuses new deliveries with 503 (Telegram keeps them and retries,
    on another instance or after the restart) and waits for the updates in flight. The bot
    session is not closed here: the composition root closes it after draining."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str, inbox: Inbox) -> None:
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret_token)
        self._draining = False
        self._inbox = inbox

    async def handle(self, request: web.Request) -> web.Response:
        if self._draining and self.verify_secret(
            request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot
        ):
            return web.Response(status=503, text="shutting down")
        return await super().handle(request)

    __call__ = handle

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        update = await request.json(loads=bot.session.json_loads)
        if not isinstance(update, dict):
            return web.Response(status=400, text="not an update")
        await self._inbox.receive(update)
        return web.json_response({}, dumps=bot.session.json_dumps)

    async def close(self) -> None:
        """Nothing: aiogram would close the bot session here, under the updates in flight."""

    async def drain(self, timeout: float) -> None:
        self._draining = True
        await self._inbox.settle(timeout)

"""Updates by webhook (production): aiogram's request handler on the web view's aiohttp app.

Each update is answered at once and handled in the background, as polling hands updates to
tasks: Telegram's retries are for deliveries that failed, not for slow handlers, and a handler
that outlived Telegram's timeout would otherwise be delivered (and handled) again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"


class Webhook(SimpleRequestHandler):
    """A wrong or missing secret token is refused with 401 before the body is read.

    Shutting down, `drain` refuses new deliveries with 503 (Telegram keeps them and retries,
    on another instance or after the restart) and waits for the updates in flight. The bot
    session is not closed here: the composition root closes it after draining."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str) -> None:
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret_token)
        self._draining = False

    async def handle(self, request: web.Request) -> web.Response:
        if self._draining and self.verify_secret(
            request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot
        ):
            return web.Response(status=503, text="shutting down")
        return await super().handle(request)

    __call__ = handle

    async def _background_feed_update(self, bot: Bot, update: dict[str, Any]) -> None:
        # Like polling: a failing update is logged, it does not end as an unretrieved task.
        try:
            await super()._background_feed_update(bot, update)
        except Exception:
            log.exception("webhook update %s failed", update.get("update_id"))

    async def close(self) -> None:
        """Nothing: aiogram would close the bot session here, under the updates in flight."""

    async def drain(self, timeout: float) -> None:
        self._draining = True
        in_flight = set(self._background_feed_update_tasks)
        if in_flight:
            await asyncio.wait(in_flight, timeout=timeout)

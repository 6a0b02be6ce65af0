"""Updates by webhook (production): aiogram's request handler on the web view's aiohttp app.

Each update is answered at once and handled in the background, as polling hands updates to
tasks: Telegram's retries are for deliveries that failed, not for slow handlers, and a handler
that outlived Telegram's timeout would otherwise be delivered (and handled) again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
# Telegram keeps an undelivered update for 24 hours; a redelivery comes within that.
CLAIM_TTL = 24 * 3600


class UpdateClaims(Protocol):
    async def claim(self, update_id: int) -> bool:
        """True for the first delivery of an update, False for a redelivery already taken."""


class LocalClaims:
    """One instance: the update ids seen lately, in memory."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._size = size

    async def claim(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class RedisClaims:
    """Several instances: Telegram redelivers an update whose answer it did not see (a timeout,
    a connection cut after the handler started), and a load balancer may hand the redelivery to
    another instance. The first to SET the id handles it."""

    def __init__(self, redis: Redis, prefix: str = "jijiao:update:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def claim(self, update_id: int) -> bool:
        try:
            return bool(
                await self._redis.set(f"{self._prefix}{update_id}", 1, nx=True, ex=CLAIM_TTL)
            )
        except (RedisError, OSError):
            # Better a rare duplicate answer than a trainee left without one.
            log.warning("update %s: Redis unreachable, handled without a claim", update_id)
            return True


class Webhook(SimpleRequestHandler):
    """A wrong or missing secret token is refused with 401 before the body is read.

    Shutting down, `drain` refuses new deliveries with 503 (Telegram keeps them and retries,
    on another instance or after the restart) and waits for the updates in flight. The bot
    session is not closed here: the composition root closes it after draining."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        secret_token: str,
        claims: UpdateClaims | None = None,
    ) -> None:
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret_token)
        self._draining = False
        self._claims = claims or LocalClaims()

    async def handle(self, request: web.Request) -> web.Response:
        if self._draining and self.verify_secret(
            request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot
        ):
            return web.Response(status=503, text="shutting down")
        return await super().handle(request)

    __call__ = handle

    async def _background_feed_update(self, bot: Bot, update: dict[str, Any]) -> None:
        update_id = update.get("update_id")
        if isinstance(update_id, int) and not await self._claims.claim(update_id):
            log.info("update %s delivered again: already handled", update_id)
            return
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

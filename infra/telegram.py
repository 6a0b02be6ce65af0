"""The bot's HTTP session to Telegram: flood-control answers are waited out, and a 5xx or a
timeout is tried again a couple of times, not lost.

What a retry may cost. The Bot API has no idempotency key. A 5xx or a timeout does not say
whether Telegram did the call: a 502 from its front usually means it did not, but a timeout, or
an answer lost on the way back, may come after the message was delivered. Trying again can
then send the same message twice; not trying again leaves the trainee with no answer at all.
For a reply to what a person just did, a rare duplicate is the lesser harm, so every call but
`getUpdates` (polling has its own backoff) is tried up to `attempts` times within `budget`
seconds. A button's answer tried again after the first one did arrive is refused by Telegram as
too old; that refusal is taken as the success it stands for. Past the budget the error goes to
the caller: the handler's error, logged, and the trainee hears nothing more from that update.

The outbox sender opts out (`own_retries`): it retries with its own growing delay under a
lease, honours 429s through the shared rate limiter, and must not hold a send slot for seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
from collections.abc import Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol, cast

from aiogram import methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    GetFile,
    GetMe,
    GetUpdates,
    GetWebhookInfo,
    SetWebhook,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardMarkup, InputFile
from aiohttp import ClientError, ClientTimeout
from pydantic import ValidationError

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)

# Calls that send no message to anyone: not counted against the 30 a second.
_UNCOUNTED = (
    AnswerCallbackQuery,
    DeleteWebhook,
    GetFile,
    GetMe,
    GetUpdates,
    GetWebhookInfo,
    SetWebhook,
)


def _response_models() -> tuple[type, ...]:
    """aiogram reads every answer of the Bot API through `Response[<what the method returns>]`,
    a pydantic generic model built on first use. pydantic keeps such models only weakly, so
    the garbage collector takes them and the next call builds one again (about 1 ms of schema
    building: 4 % of an instance's busy time in the load bench's profile). Built once here and
    held for the life of the process (about 45 ms at import). Methods whose return type is
    decided per call (a property) are left to aiogram."""
    returning = {
        method.__returning__
        for method in vars(methods).values()
        if isinstance(method, type)
        and issubclass(method, TelegramMethod)
        and not isinstance(getattr(method, "__returning__", None), (property, type(None)))
    }
    return tuple(Response[kind] for kind in returning)  # type: ignore[valid-type]


RESPONSE_MODELS = _response_models()

_JSON = {"Content-Type": "application/json"}


class JsonSession(AiohttpSession):
    """aiogram's session, except that a call without a file goes as one JSON body, which the
    Bot API takes as well as a form. aiogram sends every call as a form: each field prepared on
    its own, the keyboard as JSON text inside it, then the whole urlencoded; that was twice the
    CPU of preparing the fields once and one `json.dumps` (about 240 against 120 us for a bill
    with its buttons; issue 20). A call with a file (a photo, the receipt's PDF) still goes as
    aiogram's multipart form. Fields are prepared by aiogram (`prepare_value`: the bot's
    defaults, enums, dates, nested objects) and left out when aiogram's form leaves them out."""

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {}
        # Unset fields (None) are left out before preparing, as aiogram's form leaves them out
        # after: each of a keyboard's buttons has a dozen (issue 20, ninth round).
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":
                body[key] = prepared
        if files:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        data = self.json_dumps(body, ensure_ascii=False).encode()
        limit = ClientTimeout(total=self.timeout if timeout is None else timeout)
        try:
            async with session.post(url, data=data, headers=_JSON, timeout=limit) as response:
                raw_result = await response.text()
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise TelegramNetworkError(method=method, message=message) from exc
        doc = None
        if response.status == HTTPStatus.OK:
            with contextlib.suppress(ValueError):
                doc = self.json_loads(raw_result)
        if isinstance(doc, dict) and doc.get("ok") is True:
            return self._result(bot, method, doc)
        # Telegram's refusals (and an answer that is no JSON) as aiogram reads them.
        answer = self.check_response(
            bot=bot, method=method, status_code=response.status, content=raw_result
        )
        return cast(TelegramType, answer.result)

    @staticmethod
    def _result(
        bot: Bot, method: TelegramMethod[TelegramType], doc: dict[str, Any]
    ) -> TelegramType:
        """What a call returns, read as aiogram reads it, except that the inline keyboard
        Telegram echoes back in the sent message is the one just sent, not read again: a
        reply's keyboard was a third of reading its answer back (40 of 113 us for a bill;
        docs/operations.md, ninth round). Telegram returns an inline keyboard as it was sent."""
        sent = getattr(method, "reply_markup", None)
        result = doc.get("result")
        if isinstance(sent, InlineKeyboardMarkup) and isinstance(result, dict):
            if "reply_markup" in result:
                result["reply_markup"] = sent
        try:
            response = Response[method.__returning__].model_validate(  # type: ignore[name-defined]
                doc, context={"bot": bot}
            )
        except ValidationError as exc:
            raise ClientDecodeError("Failed to deserialize object", exc, doc) from exc
        return cast(TelegramType, response.result)


_OWN_RETRIES: contextvars.ContextVar[bool] = contextvars.ContextVar("own_retries", default=False)


@contextlib.contextmanager
def own_retries() -> Iterator[None]:
    """Calls made inside go to Telegram once: the caller handles 429s, 5xx and timeouts."""
    token = _OWN_RETRIES.set(True)
    try:
        yield
    finally:
        _OWN_RETRIES.reset(token)


class RetryAfter(BaseRequestMiddleware):
    """Telegram answers 429 with `retry_after` when a chat gets messages too fast (about one a
    second per private chat). A reply that waits a second is better than one that never comes;
    past `max_wait` seconds in total the error goes to the caller."""

    def __init__(self, max_wait: float = 30.0) -> None:
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        if _OWN_RETRIES.get():
            return await make_request(bot, method)
        waited = 0.0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if waited + exc.retry_after > self.max_wait:
                    raise
                log.info("flood control on %s: waiting %ss", type(method).__name__, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
                waited += exc.retry_after


class _Budget(Protocol):
    async def charge(self, channel: str = ..., chat_id: int | None = None) -> None: ...


class RepliesFirst(BaseRequestMiddleware):
    """Telegram's 30 messages a second are shared by the bot's replies and the outbox sender
    (reminders, broadcasts). A reply goes at once and is charged to the sender's limiter, so a
    broadcast yields to the people chatting instead of the two meeting at Telegram, where the
    reply would get 429 and wait a second or more (bench/bench_broadcast_chat.py). It takes
    its chat's slot too: a reminder due to the same person right after waits its second rather
    than meeting the reply at Telegram's limit of one message a second per chat."""

    def __init__(self, budget: _Budget) -> None:
        self.budget = budget

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        # The sender's own calls have been counted by its limiter already.
        if not _OWN_RETRIES.get() and not isinstance(method, _UNCOUNTED):
            try:
                chat_id = getattr(method, "chat_id", None)
                await self.budget.charge(chat_id=chat_id if isinstance(chat_id, int) else None)
            except Exception:  # Redis away: the reply goes all the same, uncounted
                log.warning("a reply could not be counted against the send limit", exc_info=True)
        return await make_request(bot, method)


class TransientErrors(BaseRequestMiddleware):
    """A 5xx or a network error (a timeout included) is tried again, `attempts` times in all,
    after `first_delay`, then three times as long, with jitter; no new try starts after
    `budget` seconds. See the module docstring for the duplicate this may cause."""

    def __init__(self, attempts: int = 3, first_delay: float = 0.5, budget: float = 30.0) -> None:
        self.attempts = attempts
        self.first_delay = first_delay
        self.budget = budget

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        if _OWN_RETRIES.get() or isinstance(method, GetUpdates):
            return await make_request(bot, method)
        loop = asyncio.get_running_loop()
        started = loop.time()
        delay = self.first_delay
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except (TelegramServerError, TelegramNetworkError) as exc:
                waited = loop.time() - started
                if attempt >= self.attempts or waited + delay > self.budget:
                    raise
                log.warning(
                    "telegram: %s failed (%s), try %s of %s in %.1fs",
                    type(method).__name__,
                    exc.message,
                    attempt + 1,
                    self.attempts,
                    delay,
                )
            except TelegramBadRequest:
                if attempt > 1 and isinstance(method, AnswerCallbackQuery):
                    return True  # the earlier try reached Telegram: the button is answered
                raise
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay *= 3
            attempt += 1

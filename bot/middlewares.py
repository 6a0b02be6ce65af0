"""Context for handlers: who is talking (account) and in which language. No decisions here."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Router
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User
from aiogram.types.update import UpdateTypeLookupError

from bot import keyboards
from bot.commands import set_chat_language
from domain.accounts import AccountRepository, ChatAccount, ChatUserId
from domain.clock import Clock
from domain.locales import DEFAULT_LOCALE, Locale, resolve_locale
from infra.logging import UPDATE_ID
from infra.metrics import Metrics
from infra.repositories.registry import one_update
from texts import common as texts
from texts.i18n import Catalogs

log = logging.getLogger(__name__)


class AccountMiddleware(BaseMiddleware):
    """Loads the account, and records when it last wrote (`clock`): a person bound on Telegram
    and WeChat is reminded on the one used last."""

    def __init__(self, accounts: AccountRepository, clock: Clock | None = None) -> None:
        self._accounts = accounts
        self._clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        with one_update():  # whom the account is bound to: read with it, once
            if user is not None and not user.is_bot:
                data["account"] = await self._accounts.seen(
                    ChatUserId(user.id),
                    user.first_name,
                    user.language_code,
                    at=self._clock.now() if self._clock is not None else None,
                )
            return await handler(event, data)


class AccountLocaleMiddleware(BaseMiddleware):
    """Handlers speak the account's language (before the account is known, the client's). In
    the staff group, a staff member who chose none and whose Telegram language we do not speak
    reads the staff group's language rather than the trainees' default."""

    def __init__(
        self,
        catalogs: Catalogs,
        staff_groups: frozenset[int] = frozenset(),
        staff_locale: Locale = DEFAULT_LOCALE,
    ) -> None:
        self._catalogs = catalogs
        self._staff_groups = staff_groups
        self._staff_locale = staff_locale

    def setup(self, router: Router) -> None:
        for name, observer in router.observers.items():
            if name != "update":  # the account is known inside the update's middlewares
                observer.outer_middleware(self)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        account: ChatAccount | None = data.get("account")
        chat: Chat | None = data.get("event_chat")
        staff = chat is not None and chat.id in self._staff_groups
        fallback = self._staff_locale if staff else DEFAULT_LOCALE
        if account is not None:
            locale = resolve_locale(account.chosen_locale, account.language_code, fallback).value
        else:
            user: User | None = data.get("event_from_user")
            locale = resolve_locale(None, user.language_code if user else None, fallback).value
        data["i18n"] = self._catalogs
        with self._catalogs.use_locale(locale):
            return await handler(event, data)


def _is_start(event: TelegramObject) -> bool:
    message = event.message if isinstance(event, Update) else None
    return message is not None and (message.text or "").split(maxsplit=1)[:1] == ["/start"]


class ClientLanguageMenu(BaseMiddleware):
    """The menu button and command list of an English Telegram client in English from its
    first update on, before any /start reply and before the person picks a language.

    What Telegram allows: set_my_commands takes a language_code, so the English command list
    is registered once at start-up for every English client (register_commands); the menu
    button has no language_code, only one default for all chats (Chinese, at start-up) and
    one per chat. A chat exists only once the person has written to the bot, so the earliest
    its button can turn English is their first update, which this sets."""

    def __init__(self, catalogs: Catalogs, webapp_url: str) -> None:
        self._catalogs = catalogs
        self._webapp_url = webapp_url

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        account: ChatAccount | None = data.get("account")
        chat: Chat | None = data.get("event_chat")
        bot: Bot | None = data.get("bot")
        if (
            account is not None
            and account.client_language_new
            and account.chosen_locale is None
            and account.locale is not DEFAULT_LOCALE
            and chat is not None
            and chat.type == "private"
            and bot is not None
            and not _is_start(event)  # the greeting sets them (the Start flow's `speak`)
        ):
            try:
                await set_chat_language(
                    bot, chat.id, self._catalogs, account.locale.value, self._webapp_url
                )
            except TelegramAPIError as error:  # the default button stays; the update goes on
                log.warning("menu button for chat %s not set: %s", chat.id, error)
        return await handler(event, data)


class UpdateMetricsMiddleware(BaseMiddleware):
    """Times every update and counts it by type and outcome. It sits inside aiogram's errors
    middleware, so a handler's exception is counted as `failed` before the errors router
    answers the user."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = "unknown"
        if isinstance(event, Update):
            try:
                kind = event.event_type
            except UpdateTypeLookupError:
                pass
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await handler(event, data)
            outcome = "unhandled" if result is UNHANDLED else "handled"
            return result
        finally:
            self._metrics.observe_update(kind, outcome, time.perf_counter() - started)


class OldButtons(BaseMiddleware):
    """A button on a message Telegram no longer lets the bot touch (older than 48 hours) or on
    an inline message: handlers edit or answer under that message, so they are not run. The
    person is told and, in a private chat, gets the menu to carry on from."""

    def __init__(self, webapp_url: str) -> None:
        self._webapp_url = webapp_url

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, CallbackQuery) or isinstance(event.message, Message):
            return await handler(event, data)
        await event.answer(texts.old_button(), show_alert=True)
        private = event.message is not None and event.message.chat.type == "private"
        if (private or event.message is None) and event.bot is not None:
            with contextlib.suppress(TelegramAPIError):  # never talked to the bot in private
                await event.bot.send_message(
                    event.from_user.id,
                    texts.menu_prompt(),
                    reply_markup=keyboards.main_menu(self._webapp_url),
                )
        return None


class AnsweredQueries(BaseRequestMiddleware):
    """Which button presses were answered already: Telegram takes one answer per press, so a
    refusal raised after a handler answered its button is said in the chat instead."""

    KEPT = 10_000

    def __init__(self) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        response = await make_request(bot, method)
        if isinstance(method, AnswerCallbackQuery):
            self._ids[method.callback_query_id] = None
            while len(self._ids) > self.KEPT:
                self._ids.popitem(last=False)
        return response

    def answered(self, query_id: str) -> bool:
        return query_id in self._ids


def answered_queries(bot: Bot) -> AnsweredQueries:
    """The bot's tracker, registered on its session the first time it is asked for."""
    for middleware in bot.session.middleware:
        if isinstance(middleware, AnsweredQueries):
            return middleware
    tracker = AnsweredQueries()
    bot.session.middleware(tracker)
    return tracker


class TrackAnswers(BaseMiddleware):
    """Makes sure the bot tracks its answers before any button handler runs."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        bot = data.get("bot")
        if isinstance(bot, Bot):
            answered_queries(bot)
        return await handler(event, data)


class LogContext(BaseMiddleware):
    """Every line logged while an update is handled carries its update_id."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = UPDATE_ID.set(event.update_id) if isinstance(event, Update) else None
        try:
            return await handler(event, data)
        finally:
            if token is not None:
                UPDATE_ID.reset(token)

"""Context for handlers: who is talking (account) and in which language. No decisions here."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update, User
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.i18n import I18nMiddleware

from domain.accounts import AccountRepository, ChatAccount, ChatUserId
from domain.locales import resolve_locale
from infra.metrics import Metrics


class AccountMiddleware(BaseMiddleware):
    def __init__(self, accounts: AccountRepository) -> None:
        self._accounts = accounts

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is not None and not user.is_bot:
            data["account"] = await self._accounts.seen(
                ChatUserId(user.id), user.first_name, user.language_code
            )
        return await handler(event, data)


class AccountLocaleMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        account: ChatAccount | None = data.get("account")
        if account is not None:
            return account.locale.value
        user: User | None = data.get("event_from_user")
        return resolve_locale(None, user.language_code if user else None).value


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

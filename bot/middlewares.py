"""Context for handlers: who is talking (account) and in which language. No decisions here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware

from domain.accounts import AccountRepository, ChatAccount, ChatUserId
from domain.locales import resolve_locale


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

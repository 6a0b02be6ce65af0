"""A chat account: the Telegram user who talks to the bot, and their language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NewType, Protocol

from domain.errors import DomainError
from domain.locales import Locale, resolve_locale

ChatUserId = NewType("ChatUserId", int)


@dataclass(frozen=True, slots=True)
class ChatAccount:
    id: ChatUserId
    first_name: str
    language_code: str | None
    chosen_locale: str | None
    # First contact, or the client's language setting changed since the last update.
    client_language_new: bool = False

    @property
    def locale(self) -> Locale:
        return resolve_locale(self.chosen_locale, self.language_code)


class AccountRepository(Protocol):
    async def seen(
        self,
        id: ChatUserId,
        first_name: str,
        language_code: str | None,
        *,
        at: datetime | None = None,
    ) -> ChatAccount:
        """Record that the account talked to us (creating it on first contact), `at` then."""

    async def set_locale(self, id: ChatUserId, locale: Locale) -> None: ...


class ChooseLanguage:
    def __init__(self, accounts: AccountRepository) -> None:
        self._accounts = accounts

    async def __call__(self, account_id: ChatUserId, locale: str) -> Locale:
        if locale not in {known.value for known in Locale}:
            raise DomainError("unsupported_locale", locale=locale)
        chosen = Locale(locale)
        await self._accounts.set_locale(account_id, chosen)
        return chosen

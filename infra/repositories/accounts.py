from __future__ import annotations

from dataclasses import replace

from domain.accounts import ChatAccount, ChatUserId
from domain.locales import Locale, resolve_locale
from infra.db.models import ChatUser


def _to_domain(row: ChatUser) -> ChatAccount:
    return ChatAccount(
        id=ChatUserId(row.id),
        first_name=row.first_name,
        language_code=row.language_code,
        chosen_locale=row.locale,
    )


class TortoiseAccountRepository:
    async def seen(self, id: ChatUserId, first_name: str, language_code: str | None) -> ChatAccount:
        row, created = await ChatUser.get_or_create(
            id=id, defaults={"first_name": first_name, "language_code": language_code}
        )
        changed = (row.first_name, row.language_code, row.unreachable) != (
            first_name,
            language_code,
            False,
        )
        language_new = created or row.language_code != language_code
        if not created and changed:
            # Writing to us again also means we can reach them again.
            row.first_name, row.language_code, row.unreachable = first_name, language_code, False
            await row.save(
                update_fields=["first_name", "language_code", "unreachable", "updated_at"]
            )
        return replace(_to_domain(row), client_language_new=language_new)

    async def set_locale(self, id: ChatUserId, locale: Locale) -> None:
        await ChatUser.filter(id=id).update(locale=locale.value)

    async def get(self, id: ChatUserId) -> ChatAccount | None:
        row = await ChatUser.get_or_none(id=id)
        return _to_domain(row) if row else None


async def locale_of(id: int) -> Locale:
    """The language a person reads, whoever triggers the message (staff deciding, a job): their
    own choice, else their Telegram language, else Chinese."""
    row = await ChatUser.get_or_none(id=id)
    return _to_domain(row).locale if row else resolve_locale(None, None)

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from domain.accounts import ChatAccount, ChatUserId
from domain.locales import Locale, resolve_locale
from infra.db.models import ChatUser
from infra.db.sql import Row, decoded, fetch
from infra.repositories.registry import BOUND_COLUMNS, bound_joins, remember_bound

# How stale an account's "last seen" may get before a message writes it again (either channel).
SEEN_GRANULARITY = timedelta(minutes=1)


def _to_domain(row: ChatUser) -> ChatAccount:
    return ChatAccount(
        id=ChatUserId(row.id),
        first_name=row.first_name,
        language_code=row.language_code,
        chosen_locale=row.locale,
    )


# Read on every update and page (infra/db/sql.py); an update's with whom it is bound to.
_COLUMNS = """chat_user.id, chat_user.first_name, chat_user.language_code, chat_user.locale,
    chat_user.unreachable, chat_user.last_inbound_at"""
_ACCOUNT = f"SELECT {_COLUMNS} FROM chat_user WHERE chat_user.id = $1"
_ACCOUNT_BOUND = (
    f"SELECT {_COLUMNS}, {BOUND_COLUMNS} FROM chat_user {bound_joins('$1')} WHERE chat_user.id = $1"
)
# An account of another channel (a WeChat openid), with whom it is bound to.
_ACCOUNT_ON_BOUND = (
    f"SELECT {_COLUMNS}, {BOUND_COLUMNS} FROM chat_user {bound_joins('chat_user.id')} "
    "WHERE chat_user.channel = $1 AND chat_user.external_id = $2"
)


@dataclass(frozen=True, slots=True)
class _Seen:
    """An account as an update finds it: whether it is marked unreachable, when it last
    wrote."""

    account: ChatAccount
    unreachable: bool
    last_inbound_at: datetime | None

    def stale(self, at: datetime | None) -> bool:
        return at is not None and (
            self.last_inbound_at is None or at - self.last_inbound_at >= SEEN_GRANULARITY
        )

    def needs_write(self, first_name: str, language_code: str | None, at: datetime | None) -> bool:
        kept = (self.account.first_name, self.account.language_code, self.unreachable)
        return kept != (first_name, language_code, False) or self.stale(at)


async def _seen(id: int, bound: bool = False) -> _Seen | None:
    rows = await fetch(ChatUser, _ACCOUNT_BOUND if bound else _ACCOUNT, [id])
    if not rows:
        return None
    if bound:
        remember_bound(id, rows[0])
    return _seen_as(rows[0])


def _seen_as(row: Row) -> _Seen:
    account = ChatAccount(
        id=ChatUserId(row["id"]),
        first_name=row["first_name"],
        language_code=row["language_code"],
        chosen_locale=row["locale"],
    )
    last = decoded(ChatUser, "last_inbound_at", row["last_inbound_at"])
    return _Seen(account, bool(row["unreachable"]), last)


class TortoiseAccountRepository:
    async def seen(
        self,
        id: ChatUserId,
        first_name: str,
        language_code: str | None,
        *,
        at: datetime | None = None,
    ) -> ChatAccount:
        """A Telegram account wrote (`at`: when, so a person bound on two channels is written
        to on the one used last; kept to the minute, not a write per update). Most updates
        only read it."""
        found = await _seen(id, bound=True)
        if found is not None and not found.needs_write(first_name, language_code, at):
            return replace(found.account, client_language_new=False)
        row, created = await ChatUser.get_or_create(
            id=id,
            defaults={
                "first_name": first_name,
                "language_code": language_code,
                "last_inbound_at": at,
            },
        )
        language_new = created or row.language_code != language_code
        was = _Seen(_to_domain(row), row.unreachable, row.last_inbound_at)
        if not created and was.needs_write(first_name, language_code, at):
            # Writing to us again also means we can reach them again.
            row.first_name, row.language_code, row.unreachable = first_name, language_code, False
            fields = ["first_name", "language_code", "unreachable", "updated_at"]
            if was.stale(at):
                row.last_inbound_at = at
                fields.append("last_inbound_at")
            await row.save(update_fields=fields)
        return replace(_to_domain(row), client_language_new=language_new)

    async def seen_on(
        self,
        channel: str,
        external_id: str,
        first_name: str,
        language_code: str | None,
        *,
        at: datetime | None = None,
    ) -> ChatAccount:
        """An account of another channel than Telegram (a WeChat openid): found by its own id
        on that channel, created on first contact with the next negative id, so the int
        ChatUserId everywhere keeps working and never meets a Telegram id (always positive).
        `at` is when the person wrote (WeChat's 48-hour window opens from it)."""
        for _ in range(5):
            rows = await fetch(ChatUser, _ACCOUNT_ON_BOUND, [channel, external_id])
            if rows:
                break
            lowest = await ChatUser.filter(id__lt=0).order_by("id").first().only("id")
            new_id = lowest.id - 1 if lowest is not None else -1
            try:
                row = await ChatUser.create(
                    id=new_id,
                    channel=channel,
                    external_id=external_id,
                    first_name=first_name,
                    language_code=language_code,
                    last_inbound_at=at,
                )
            except IntegrityError:  # another request took the id (or the same person): again
                continue
            return replace(_to_domain(row), client_language_new=True)
        else:
            raise RuntimeError(f"no account id could be allocated on {channel}")
        # Read with whom it is bound to (one_update), as a Telegram update's account is; written
        # only when it was unreachable or its last message is a minute old or more.
        remember_bound(rows[0]["id"], rows[0])
        found = _seen_as(rows[0])
        if found.unreachable or found.stale(at):
            row = await ChatUser.get(id=found.account.id)
            row.last_inbound_at = at or row.last_inbound_at
            row.unreachable = False
            await row.save(update_fields=["last_inbound_at", "unreachable", "updated_at"])
        return found.account

    async def left(self, channel: str, external_id: str) -> None:
        """The person unfollowed (WeChat's unsubscribe): nothing is sent until they write again."""
        await ChatUser.filter(channel=channel, external_id=external_id).update(unreachable=True)

    async def last_inbound(self, id: ChatUserId) -> datetime | None:
        """When the person last wrote (for WeChat's 48-hour customer-service window)."""
        row = await ChatUser.get_or_none(id=id).only("id", "last_inbound_at")
        return row.last_inbound_at if row else None

    async def external_id(self, id: ChatUserId) -> str | None:
        """The account's id on its own channel (a WeChat openid); None for Telegram."""
        row = await ChatUser.get_or_none(id=id).only("id", "external_id")
        return row.external_id if row else None

    async def external_id_on(self, id: ChatUserId, channel: str) -> str | None:
        """The account's id on `channel` (a WeChat openid), None for an account of another."""
        row = await ChatUser.get_or_none(id=id, channel=channel).only("id", "external_id")
        return row.external_id if row else None

    async def set_locale(self, id: ChatUserId, locale: Locale) -> None:
        await ChatUser.filter(id=id).update(locale=locale.value)

    async def get(self, id: ChatUserId) -> ChatAccount | None:
        found = await _seen(id)
        return found.account if found else None


async def locale_of(id: int) -> Locale:
    """The language a person reads, whoever triggers the message (staff deciding, a job): their
    own choice, else their Telegram language, else Chinese."""
    row = await ChatUser.get_or_none(id=id)
    return _to_domain(row).locale if row else resolve_locale(None, None)

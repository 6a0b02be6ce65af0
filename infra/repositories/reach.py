"""Which chat account reaches a registry person. A person may be bound on Telegram and on
WeChat (one account per channel); every reminder, decision and notice goes to ONE of them: the
one the person used last, so they read it where they are. An account that cannot be reached
(blocked the bot, unfollowed) gives way to the other. Everything that writes to a person asks
here, never `Binding` directly."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from infra.db import models

CHUNK = 500
_NEVER = datetime.min.replace(tzinfo=UTC)


def _used(row: dict[str, object]) -> datetime:
    # By the app's clock (`updated_at` is the row's bookkeeping, on the wall clock, so it is
    # not compared): an account with no recorded message counts as the oldest.
    moment = row["last_inbound_at"]
    return moment if isinstance(moment, datetime) else _NEVER


async def accounts_of(person_ids: Iterable[int]) -> dict[int, int]:
    """person id → the chat account to write to, for those bound at all."""
    ids = sorted(set(person_ids))
    bindings: dict[int, list[int]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = await models.Binding.filter(person_id__in=ids[start : start + CHUNK]).values_list(
            "person_id", "chat_user_id"
        )
        for person, account in rows:
            bindings.setdefault(person, []).append(account)
    several = sorted({a for accounts in bindings.values() if len(accounts) > 1 for a in accounts})
    seen: dict[int, tuple[bool, datetime, int]] = {}
    for start in range(0, len(several), CHUNK):
        for row in await models.ChatUser.filter(id__in=several[start : start + CHUNK]).values(
            "id", "last_inbound_at", "unreachable"
        ):
            seen[row["id"]] = (not row["unreachable"], _used(row), row["id"])
    # Ties (neither recorded): the Telegram account, whose ids are the positive ones.
    return {
        person: max(accounts, key=lambda a: seen.get(a, (True, _NEVER, a)))
        for person, accounts in bindings.items()
    }


async def account_of(person_id: int) -> int | None:
    return (await accounts_of([person_id])).get(person_id)


async def channel_of(account: int) -> str:
    """The account's channel: "telegram", or "wechat" (whose accounts have negative ids)."""
    row = await models.ChatUser.get_or_none(id=account).only("id", "channel")
    if row is not None:
        return row.channel
    return "telegram" if account > 0 else "wechat"

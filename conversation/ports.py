"""What the conversation needs from the rest of the product, besides use cases."""

from __future__ import annotations

from typing import Protocol

from conversation.replies import Say
from domain.accounts import ChatUserId


class Desk(Protocol):
    """The support desk, wherever staff work (a Telegram forum topic per person today)."""

    async def note_for(self, account: ChatUserId, note: Say) -> None:
        """A note for staff in the person's conversation with them (opened, or reopened, for
        it), worded in the staff's language."""
        ...

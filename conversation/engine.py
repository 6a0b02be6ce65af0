"""One turn of a conversation: the event goes to the flows in order; the first that takes it
answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from conversation.events import Event
from conversation.replies import Turn
from domain.accounts import ChatAccount


class ConversationState(Protocol):
    """Where a person is in a conversation, kept between events by the channel (aiogram's
    FSMContext has this shape; so does the store a test channel keeps in a dict)."""

    async def get_state(self) -> str | None: ...
    async def set_state(self, state: str | None = None) -> None: ...
    async def get_data(self) -> dict[str, Any]: ...
    async def set_data(self, data: dict[str, Any]) -> None: ...
    async def update_data(
        self, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]: ...
    async def clear(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Talk:
    """Who is talking, and their conversation state."""

    account: ChatAccount
    state: ConversationState


class Flow(Protocol):
    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        """The answer, or None when the event is not this flow's."""
        ...


class Conversations:
    def __init__(self, flows: Sequence[Flow]) -> None:
        self._flows = tuple(flows)

    async def __call__(self, event: Event, talk: Talk) -> Turn:
        for flow in self._flows:
            turn = await flow(event, talk)
            if turn is not None:
                return turn
        return Turn()

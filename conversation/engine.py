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


class TurnState:
    """The person's state for one turn: read from the channel's store once, written through at
    once, and not written when the turn already knows it is so (a command that starts afresh
    from no step). A turn asks for it several times (each flow for its step, a bill for whose
    it is); with several instances each ask and each write is a round trip to Redis
    (issue 20)."""

    __slots__ = ("_data", "_state", "_store")
    _UNREAD: Any = object()

    def __init__(self, store: ConversationState, state: str | None = _UNREAD) -> None:
        """`state`: the step, when the channel has just read it from `store` (aiogram's FSM
        middleware reads it for every update) and it need not be read again."""
        self._store = store
        self._state: str | None = state
        self._data: dict[str, Any] = self._UNREAD

    async def get_state(self) -> str | None:
        if self._state is self._UNREAD:
            self._state = await self._store.get_state()
        return self._state

    async def set_state(self, state: str | None = None) -> None:
        if state == self._state:  # (never while unread)
            return
        await self._store.set_state(state)
        self._state = state

    async def get_data(self) -> dict[str, Any]:
        if self._data is self._UNREAD:
            self._data = dict(await self._store.get_data())
        return dict(self._data)

    async def set_data(self, data: dict[str, Any]) -> None:
        if data == self._data:
            return
        await self._store.set_data(data)
        self._data = dict(data)

    async def update_data(
        self, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        merged = {**await self.get_data(), **kwargs, **(data or {})}  # as aiogram's
        await self.set_data(merged)
        return dict(merged)

    async def clear(self) -> None:
        await self.set_state(None)
        await self.set_data({})


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
        if not isinstance(talk.state, TurnState):
            talk = Talk(talk.account, TurnState(talk.state))
        for flow in self._flows:
            turn = await flow(event, talk)
            if turn is not None:
                return turn
        return Turn()

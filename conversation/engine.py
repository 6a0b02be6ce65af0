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
    """The person's state for one turn: read from the channel's store once, changed in memory
    by the flows, and written back once when the turn has its answer (`flush`), only what
    differs from what was read. A turn asks for it several times (each flow for its step, a
    bill for whose it is) and may change it several times (/pay empties it, then remembers the
    bill); with several instances each ask and each write is a round trip to Redis
    (issue 20). A turn that fails writes nothing: the person stays where they were."""

    __slots__ = ("_data", "_read_data", "_read_state", "_state", "_store")
    _UNREAD: Any = object()

    def __init__(self, store: ConversationState, state: str | None = _UNREAD) -> None:
        """`state`: the step, when the channel has just read it from `store` (aiogram's FSM
        middleware reads it for every update) and it need not be read again."""
        self._store = store
        self._state: str | None = state
        self._read_state: str | None = state
        self._data: dict[str, Any] = self._UNREAD
        self._read_data: dict[str, Any] = self._UNREAD

    async def get_state(self) -> str | None:
        if self._state is self._UNREAD:
            self._state = self._read_state = await self._store.get_state()
        return self._state

    async def set_state(self, state: str | None = None) -> None:
        self._state = state

    async def get_data(self) -> dict[str, Any]:
        if self._data is self._UNREAD:
            self._read_data = dict(await self._store.get_data())
            self._data = dict(self._read_data)
        return dict(self._data)

    async def set_data(self, data: dict[str, Any]) -> None:
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

    async def flush(self) -> None:
        """Writes what the turn changed, the step first; nothing the store already holds (what
        was not read may differ, and is written)."""
        if self._state is not self._UNREAD and self._state != self._read_state:
            await self._store.set_state(self._state)
            self._read_state = self._state
        if self._data is not self._UNREAD and self._data != self._read_data:
            await self._store.set_data(self._data)
            self._read_data = dict(self._data)


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
        state = talk.state if isinstance(talk.state, TurnState) else TurnState(talk.state)
        talk = Talk(talk.account, state)
        for flow in self._flows:
            turn = await flow(event, talk)
            if turn is not None:
                break
        else:
            turn = Turn()
        await state.flush()
        return turn

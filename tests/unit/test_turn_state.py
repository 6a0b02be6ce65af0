"""A turn reads the person's conversation state from the channel's store once and writes back
what it changed once, when it has its answer (conversation/engine.py, TurnState): each flow
asking for its step, a bill asking whose it is, /pay emptying the state and then remembering
the bill were each a round trip to Redis with several instances (issue 20)."""

from __future__ import annotations

from typing import Any

import pytest

from conversation.engine import Conversations, Talk, TurnState
from conversation.events import Command, Event
from conversation.replies import Reply, Turn
from domain.accounts import ChatAccount, ChatUserId
from tests.conversation.plaintext import DictState

ACCOUNT = ChatAccount(ChatUserId(1), "张三", "zh-hans", None)


class CountingStore(DictState):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []
        self.writes: list[str] = []

    async def get_state(self) -> str | None:
        self.reads.append("state")
        return await super().get_state()

    async def get_data(self) -> dict[str, Any]:
        self.reads.append("data")
        return await super().get_data()

    async def set_state(self, state: str | None = None) -> None:
        self.writes.append("state")
        await super().set_state(state)

    async def set_data(self, data: dict[str, Any]) -> None:
        self.writes.append("data")
        await super().set_data(data)


class AsksItsStep:
    """A flow that is not the event's: it only looks at the step, as most flows do."""

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        await talk.state.get_state()
        await talk.state.get_data()
        return None


class Answers:
    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        assert await talk.state.get_state() == "Pay:title"
        data = await talk.state.get_data()
        data["scribbled"] = True  # a flow's own copy: not what the next read gets
        await talk.state.update_data({"page": 2}, page=1, ticked=[3])
        assert await talk.state.get_data() == {"channel": "individual", "page": 2, "ticked": [3]}
        await talk.state.set_state("Pay:email")
        assert await talk.state.get_state() == "Pay:email"
        return Turn().add(Reply("ok"))


async def test_a_turn_reads_the_state_once_and_writes_it_back_once():
    store = CountingStore()
    store.state, store.data = "Pay:title", {"channel": "individual"}
    conversations = Conversations([AsksItsStep(), AsksItsStep(), AsksItsStep(), Answers()])

    turn = await conversations(Command("pay"), Talk(ACCOUNT, store))

    assert turn
    assert sorted(store.reads) == ["data", "state"]  # once each, for four flows
    assert store.writes == ["state", "data"]  # each once, when the turn has its answer
    assert (store.state, store.data) == (
        "Pay:email",
        {"channel": "individual", "page": 2, "ticked": [3]},
    )


class StartsAfresh:
    """/pay: whatever the person was doing ends, and the bill is remembered."""

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        await talk.state.clear()
        await talk.state.update_data(selected=[7])
        return Turn().add(Reply("bill"))


async def test_what_the_turn_knows_is_so_already_is_not_written_again():
    store = CountingStore()
    conversations = Conversations([AsksItsStep(), StartsAfresh()])

    assert await conversations(Command("pay"), Talk(ACCOUNT, store))

    assert store.writes == ["data"]  # no step to clear, no data to empty: only the bill
    assert (store.state, store.data) == (None, {"selected": [7]})

    # Unread, the clear is written: the turn cannot know what another turn left. The emptied
    # data and the bill are one write.
    store.state, store.data, store.writes = "Pay:title", {"channel": "individual"}, []
    assert await Conversations([StartsAfresh()])(Command("pay"), Talk(ACCOUNT, store))
    assert store.writes == ["state", "data"]
    assert (store.state, store.data) == (None, {"selected": [7]})


async def test_the_next_turn_reads_the_store_again():
    """Only one turn is remembered: another turn (another instance, a restart) may have
    moved the person on since."""
    store = CountingStore()
    conversations = Conversations([AsksItsStep()])
    await conversations(Command("status"), Talk(ACCOUNT, store))
    store.state = "Enrolment:phone"  # moved on elsewhere
    await conversations(Command("status"), Talk(ACCOUNT, store))
    assert store.reads == ["state", "data", "state", "data"]


async def test_clear_forgets_both_and_reads_nothing_more():
    store = CountingStore()
    store.state, store.data = "Pay:title", {"channel": "individual"}

    class Clears:
        async def __call__(self, event: Event, talk: Talk) -> Turn | None:
            await talk.state.clear()
            assert await talk.state.get_state() is None
            assert await talk.state.get_data() == {}
            return Turn().add(Reply("cleared"))

    await Conversations([Clears()])(Command("pay"), Talk(ACCOUNT, store))
    assert store.reads == [] and (store.state, store.data) == (None, {})


async def test_a_step_the_channel_has_read_is_not_read_again():
    """aiogram's FSM middleware reads the step of every update before any handler runs; the
    Telegram handlers hand it to the turn, which reads only the data, when it must."""
    store = CountingStore()
    store.state, store.data = "Pay:title", {"channel": "individual"}
    conversations = Conversations([AsksItsStep(), Answers()])

    assert await conversations(Command("pay"), Talk(ACCOUNT, TurnState(store, "Pay:title")))

    assert store.reads == ["data"]
    assert store.state == "Pay:email"


class MovesOnThenFails:
    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        await talk.state.set_state("Pay:email")
        await talk.state.update_data(taxpayer="91530100MA6K0000X1")
        raise ConnectionError("the database went away")


async def test_a_turn_that_fails_leaves_the_person_where_they_were():
    """Written back only with the answer: a step moved and then an outage would otherwise
    leave the person at a step whose question they never saw."""
    store = CountingStore()
    store.state, store.data = "Pay:taxpayer", {"channel": "individual"}

    with pytest.raises(ConnectionError):
        await Conversations([MovesOnThenFails()])(Command("pay"), Talk(ACCOUNT, store))

    assert store.writes == []
    assert (store.state, store.data) == ("Pay:taxpayer", {"channel": "individual"})


async def test_a_turn_no_flow_takes_writes_what_a_flow_changed_on_the_way():
    class ClearsAndPasses:
        async def __call__(self, event: Event, talk: Talk) -> Turn | None:
            await talk.state.set_state(None)
            return None

    store = CountingStore()
    store.state = "Pay:title"
    assert not await Conversations([ClearsAndPasses()])(Command("help"), Talk(ACCOUNT, store))
    assert store.writes == ["state"] and store.state is None

"""The update inbox: an update a dead instance left unfinished is handled once by whichever
instance takes it over after the lease, never twice, never while its instance still holds it;
done updates are kept for the retention, then pruned. Without the database, an update is still
answered (not durably), once per the update claims."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiogram.methods import SendMessage

from bot.inbox import Inbox, InboxConfig, LocalClaims
from infra.db import models
from infra.inbox import TortoiseInbox
from infra.pii import Pii
from infra.signing import Signer
from tests.conftest import BotHarness
from tests.support import updates
from tests.support.clock import FixedClock

PII = Pii.from_signer(Signer(b"k" * 32))
LEASE = timedelta(seconds=30)


def as_json(update: Any) -> dict[str, Any]:
    return update.model_dump(mode="json", by_alias=True, exclude_none=True)


def instance(harness: BotHarness, clock: FixedClock, worker: str) -> Inbox:
    store = TortoiseInbox(PII, harness.bot.id, worker_id=worker)
    return Inbox(harness.dispatcher, harness.bot, store, clock, config=InboxConfig(lease=LEASE))


async def left_by_a_dead_instance(harness: BotHarness, clock: FixedClock, user_id: int) -> int:
    """/start stored by an instance that died before finishing it."""
    update = as_json(updates.message("/start", updates.user(user_id, first_name="张三")))
    dead = TortoiseInbox(PII, harness.bot.id, worker_id="dead")
    assert await dead.store([(update["update_id"], update)], clock.now(), LEASE)
    return int(update["update_id"])


def greetings(harness: BotHarness) -> list[str]:
    return [m.text for m in harness.session.sent(SendMessage) if "您好" in m.text]


async def test_an_update_left_by_a_dead_instance_is_handled_once_after_its_lease(
    harness: BotHarness, clock: FixedClock
):
    update_id = await left_by_a_dead_instance(harness, clock, 100101)
    restarted = instance(harness, clock, "restarted")

    assert await restarted.turn() == 0  # its instance may still be at it
    clock.advance(seconds=31)
    assert await restarted.turn() == 1
    await restarted.settle(5)
    clock.advance(seconds=31)
    assert await restarted.turn() == 0

    assert len(greetings(harness)) == 1
    row = await models.UpdateInbox.get(update_id=update_id)
    assert row.done_at is not None and row.claimed_by == "restarted" and row.attempts == 2


async def test_two_instances_taking_over_at_once_handle_the_update_once(
    harness: BotHarness, clock: FixedClock
):
    await left_by_a_dead_instance(harness, clock, 100102)
    clock.advance(seconds=31)
    first, second = instance(harness, clock, "first"), instance(harness, clock, "second")

    taken = await asyncio.gather(first.turn(), second.turn())
    await asyncio.gather(first.settle(5), second.settle(5))

    assert sorted(taken) == [0, 1]
    assert len(greetings(harness)) == 1


async def test_an_update_being_handled_keeps_its_lease_and_is_not_taken_over(
    harness: BotHarness, clock: FixedClock
):
    release = asyncio.Event()
    handled: list[int] = []

    @harness.dispatcher.message()
    async def slow(message) -> None:  # the dispatcher's own handlers come before its routers
        handled.append(message.message_id)
        await release.wait()

    alive, other = instance(harness, clock, "alive"), instance(harness, clock, "other")
    await alive.receive(as_json(updates.message("slow", updates.user(100103))))
    for _ in range(4):  # two minutes, the handler still running, its instance renewing
        clock.advance(seconds=LEASE.total_seconds() / 3)
        await alive.turn()
        assert await other.turn() == 0
    release.set()
    await alive.settle(5)

    assert len(handled) == 1


async def test_an_update_that_killed_its_instance_three_times_is_given_up(
    harness: BotHarness, clock: FixedClock
):
    update_id = await left_by_a_dead_instance(harness, clock, 100104)
    await models.UpdateInbox.filter(update_id=update_id).update(attempts=3)
    clock.advance(seconds=31)
    restarted = instance(harness, clock, "restarted")

    assert await restarted.turn() == 1
    await restarted.settle(5)

    assert greetings(harness) == []
    assert (await models.UpdateInbox.get(update_id=update_id)).done_at is not None


async def test_a_burst_is_handled_a_few_at_a_time_and_those_waiting_keep_their_lease(
    harness: BotHarness, clock: FixedClock
):
    """After a restart an instance takes over every update its dead self left. Handled all at
    once they would queue at the database pool, where a wait past DATABASE_TIMEOUT answers
    "temporarily unavailable" (the process-kill tests saw it on a busy machine): they queue in
    the inbox instead, their leases renewed, and each is answered."""
    release = asyncio.Event()
    running, most, handled = 0, 0, []

    @harness.dispatcher.message()
    async def slow(message) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1
        handled.append(message.from_user.id)

    dead = TortoiseInbox(PII, harness.bot.id, worker_id="dead")
    users = range(100201, 100211)
    for user in users:
        update = as_json(updates.message("hi", updates.user(user)))
        await dead.store([(update["update_id"], update)], clock.now(), LEASE)
    clock.advance(seconds=31)
    store = TortoiseInbox(PII, harness.bot.id, worker_id="restarted")
    config = InboxConfig(lease=LEASE, concurrency=3)
    restarted = Inbox(harness.dispatcher, harness.bot, store, clock, config=config)
    other = instance(harness, clock, "other")

    assert await restarted.turn() == len(users)
    for _ in range(4):  # two minutes: the waiting updates stay the restarted instance's
        await asyncio.sleep(0.05)
        clock.advance(seconds=LEASE.total_seconds() / 3)
        await restarted.turn()
        assert await other.turn() == 0
    assert most == 3
    release.set()
    await restarted.settle(5)

    assert sorted(handled) == list(users) and most == 3
    assert await models.UpdateInbox.filter(done_at=None).count() == 0


async def test_a_shutdown_gives_unfinished_updates_back_at_once(
    harness: BotHarness, clock: FixedClock
):
    release = asyncio.Event()

    @harness.dispatcher.message()
    async def stuck(message) -> None:
        await release.wait()

    stopping, other = instance(harness, clock, "stopping"), instance(harness, clock, "other")
    await stopping.receive(as_json(updates.message("stuck", updates.user(100105))))
    await stopping.stop(grace=0.1)

    assert await other.turn() == 1  # no need to wait for the lease
    release.set()
    await other.settle(5)


async def test_done_updates_are_kept_for_the_retention_then_pruned(
    harness: BotHarness, clock: FixedClock
):
    inbox = instance(harness, clock, "one")
    update = as_json(updates.message("/start", updates.user(100106, first_name="张三")))
    await inbox.receive(update)
    await inbox.settle(5)

    clock.advance(days=1)
    assert await inbox.prune() == 0
    await inbox.receive(update)  # delivered again within Telegram's 24 hours
    await inbox.settle(5)
    assert len(greetings(harness)) == 1
    clock.advance(days=1, seconds=1)
    assert await inbox.prune() == 1
    assert not await models.UpdateInbox.exists()


class DatabaseAway:
    worker_id = "away"

    async def store(self, *args: Any) -> set[int]:
        raise ConnectionRefusedError("the database is away")

    async def finish(self, *args: Any) -> int:
        raise ConnectionRefusedError("the database is away")


async def test_without_the_database_an_update_is_still_answered_once(
    harness: BotHarness, clock: FixedClock
):
    inbox = Inbox(harness.dispatcher, harness.bot, DatabaseAway(), clock, claims=LocalClaims())  # type: ignore[arg-type]
    update = as_json(updates.message("/start", updates.user(100107, first_name="张三")))

    await inbox.receive(update)
    await inbox.receive(update)  # delivered again
    await inbox.settle(5)

    assert len(harness.session.sent(SendMessage)) == 1


async def test_an_update_costs_one_write_to_store_it_and_one_to_mark_it_done(
    harness: BotHarness, clock: FixedClock
):
    """The inbox is on every update's path: its own writes are one INSERT and one UPDATE
    (issue 20), whatever the handler does in between."""
    inbox = instance(harness, clock, "one")
    statements: list[str] = []
    assert await models.UpdateInbox.all().count() == 0  # (the connection opens on first use)
    connection = models.UpdateInbox._meta.db._connection  # aiosqlite's
    await connection.set_trace_callback(statements.append)
    try:
        update = as_json(updates.message("/start", updates.user(100121, first_name="张三")))
        await inbox.receive(update)
        await inbox.settle(5)
    finally:
        await connection.set_trace_callback(None)

    own = [s.split()[0] for s in statements if '"update_inbox"' in s or "update_inbox " in s]
    assert own == ["INSERT", "UPDATE"], statements
    assert greetings(harness)
    assert await models.UpdateInbox.filter(done_at__isnull=False).count() == 1


class Counting(TortoiseInbox):
    """The store's statements, each with how many updates it carried."""

    def __init__(self, bot_id: int) -> None:
        super().__init__(PII, bot_id, worker_id="counting")
        self.stores: list[int] = []
        self.finishes: list[int] = []

    async def store(self, batch: Any, now: Any, lease: Any) -> set[int]:
        self.stores.append(len(batch))
        return await super().store(batch, now, lease)

    async def finish(self, update_ids: Any, now: Any) -> int:
        self.finishes.append(len(update_ids))
        return await super().finish(update_ids, now)


async def test_updates_arriving_together_are_stored_and_marked_done_together(
    harness: BotHarness, clock: FixedClock
):
    """Under load the inbox writes one statement for the updates that arrived while the
    previous one was under way, not one each (issue 20); each delivery still returns only once
    its update is stored, and a redelivery in the same group is handled once."""
    store = Counting(harness.bot.id)
    inbox = Inbox(harness.dispatcher, harness.bot, store, clock, config=InboxConfig(lease=LEASE))
    users = range(100301, 100313)
    sent = [as_json(updates.message("/start", updates.user(u, first_name="张三"))) for u in users]

    await asyncio.gather(*(inbox.receive(update) for update in [*sent, sent[0]]))
    assert await models.UpdateInbox.filter(bot_id=harness.bot.id).count() == len(users)
    await inbox.settle(5)

    assert sum(store.stores) == len(users) + 1 and len(store.stores) < len(users)
    assert sum(store.finishes) == len(users) and len(store.finishes) < len(users)
    assert len(greetings(harness)) == len(users)  # the redelivery: not handled twice
    assert await models.UpdateInbox.filter(done_at=None).count() == 0

"""Updates are durable before Telegram hears that they arrived: nothing a trainee sends is lost
when the process dies while handling it.

Both ways in go through the inbox (infra/inbox.py): the webhook answers 200 only once the
update is stored, and polling confirms an update (the next getUpdates' offset) only once it is
stored. The instance that stored an update handles it at once, under a lease it renews while
the handler runs, and marks it done when the handler returns. If the instance dies, the lease
runs out and any instance (the restarted one included) takes the update over and handles it.

Exactly once, as far as it goes: an update is handled to its end once. A handler that had
already sent its reply when the process died sends it again when the update is taken over
(Telegram's Bot API has no idempotency key): the window is from Telegram storing the reply to
the done mark, a few milliseconds, the same window as the outbox's (docs/operations.md).

When the database cannot store an update (an outage), it is handled anyway, as before the
inbox, once per the update claims (in Redis with several instances): the trainee then hears
"temporarily unavailable" rather than nothing, and that update is not durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from redis.asyncio import Redis
from redis.exceptions import RedisError

from domain.clock import Clock
from infra.group_commit import GroupCommit
from infra.inbox import TakenOver
from infra.outages import describe, is_outage
from infra.workers import stop_task

log = logging.getLogger(__name__)

# Telegram keeps an undelivered update for 24 hours; a redelivery comes within that.
CLAIM_TTL = 24 * 3600
POLLING_TIMEOUT = 10
POLLING_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0.1)


class UpdateClaims(Protocol):
    async def claim(self, update_id: int) -> bool:
        """True for the first delivery of an update, False for a redelivery already taken."""


class LocalClaims:
    """One instance: the update ids seen lately, in memory."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._size = size

    async def claim(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class RedisClaims:
    """Several instances, the database away: Telegram redelivers an update whose answer it did
    not see, and a load balancer may hand the redelivery to another instance. The first to SET
    the id handles it."""

    def __init__(self, redis: Redis, prefix: str = "jijiao:update:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def claim(self, update_id: int) -> bool:
        try:
            return bool(
                await self._redis.set(f"{self._prefix}{update_id}", 1, nx=True, ex=CLAIM_TTL)
            )
        except (RedisError, OSError):
            # Better a rare duplicate answer than a trainee left without one.
            log.warning("update %s: Redis unreachable, handled without a claim", update_id)
            return True


class InboxStore(Protocol):
    worker_id: str

    async def store(
        self, updates: Sequence[tuple[int, dict[str, Any]]], now: datetime, lease: timedelta
    ) -> set[int]: ...

    async def renew(self, update_ids: Collection[int], now: datetime, lease: timedelta) -> int: ...

    async def finish(self, update_ids: Collection[int], now: datetime) -> int: ...

    async def release(self, update_ids: Collection[int], now: datetime) -> int: ...

    async def take_over(self, now: datetime, lease: timedelta, limit: int) -> list[TakenOver]: ...

    async def prune(self, before: datetime) -> int: ...


@dataclass(frozen=True)
class InboxConfig:
    # How long an update stays with an instance that stopped renewing: after a crash, the
    # delay before another instance (or the restarted one) handles it.
    lease: timedelta = timedelta(seconds=30)
    # Done updates kept so a redelivery (within Telegram's 24 hours) is recognised.
    retention: timedelta = timedelta(days=2)
    # An update whose handling killed the process this often is given up (logged).
    max_attempts: int = 3
    # Updates taken over per turn, and in flight at most before taking more.
    batch: int = 50
    in_flight: int = 200
    # Updates handled at once; the others in flight wait their turn in memory, their leases
    # renewed. A burst (the take-over after a restart, everyone answering a broadcast) then
    # queues here instead of at the database pool, where a wait past DATABASE_TIMEOUT would
    # answer a healthy database's trainee "temporarily unavailable".
    concurrency: int = 16


class Inbox:
    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        store: InboxStore,
        clock: Clock,
        claims: UpdateClaims | None = None,
        config: InboxConfig | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._store = store
        self._clock = clock
        self._claims = claims or LocalClaims()
        self.config = config or InboxConfig()
        self._handling: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(self.config.concurrency)
        # Updates arriving, and updates handled, while the previous statement is under way go
        # together in the next: one INSERT, one UPDATE for many under load (issue 20).
        self._stores = GroupCommit(self._store_group)
        self._finishes = GroupCommit(self._finish_group)
        # Handled, but the done mark did not reach the database: written on the next turn.
        self._unrecorded: set[int] = set()
        self._turns: asyncio.Task[None] | None = None

    @property
    def in_flight(self) -> set[asyncio.Task[None]]:
        return set(self._handling.values())

    async def receive(self, update: dict[str, Any]) -> None:
        """Returns once the update is stored (the caller may then tell Telegram it arrived);
        handling goes on in the background."""
        update_id = update.get("update_id")
        if not isinstance(update_id, int):
            log.warning("an update without an update_id: ignored")
            return
        try:
            fresh = await self._stores((update_id, update))
        except Exception as exc:
            if is_outage(exc):
                log.warning("update %s not stored (%s): handled at once", update_id, describe(exc))
            else:
                log.exception("update %s not stored: handled at once", update_id)
            if await self._claims.claim(update_id):
                self._start(update_id, update)
            return
        if not fresh:
            log.info("update %s delivered again: already in the inbox", update_id)
            return
        self._start(update_id, update)

    def _start(self, update_id: int, update: dict[str, Any]) -> None:
        if update_id in self._handling:
            return
        task = asyncio.create_task(self._handle(update_id, update), name=f"update-{update_id}")
        self._handling[update_id] = task
        task.add_done_callback(lambda _: self._handling.pop(update_id, None))

    async def _handle(self, update_id: int, update: dict[str, Any]) -> None:
        async with self._slots:
            try:
                parsed = Update.model_validate(update, context={"bot": self._bot})
                result = await self._dispatcher.feed_update(self._bot, parsed)
                if isinstance(result, TelegramMethod):
                    await self._dispatcher.silent_call_request(bot=self._bot, result=result)
            except Exception:
                # As polling did: a failing update is logged (the errors router has apologised
                # where it could), not handled again.
                log.exception("update %s failed", update_id)
        # Cancelled (shutting down, even while waiting for a slot) it is not done: it is given
        # back and handled again.
        await self._done(update_id)

    async def _done(self, update_id: int) -> None:
        try:
            await self._finishes(update_id)
        except Exception as exc:
            log.warning("update %s: done mark not written (%s)", update_id, describe(exc))
            self._unrecorded.add(update_id)

    async def _store_group(self, updates: list[tuple[int, dict[str, Any]]]) -> list[bool]:
        fresh = await self._store.store(updates, self._clock.now(), self.config.lease)
        answers = []
        for update_id, _ in updates:
            answers.append(update_id in fresh)
            fresh.discard(update_id)  # delivered twice at once: handled once
        return answers

    async def _finish_group(self, update_ids: list[int]) -> list[None]:
        await self._store.finish(update_ids, self._clock.now())
        return [None] * len(update_ids)

    def start(self) -> None:
        self._turns = asyncio.create_task(self._run(), name="update-inbox")

    async def _run(self) -> None:
        # A third of the lease: two turns may be missed before the lease runs out.
        every = self.config.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self.turn()
            except Exception as exc:
                if is_outage(exc):
                    log.warning("update inbox: turn skipped (%s)", describe(exc))
                else:
                    log.exception("update inbox: turn failed")

    async def turn(self) -> int:
        """Writes done marks left over, renews the leases of the updates in flight, takes over
        updates whose lease ran out; returns how many it took over."""
        now = self._clock.now()
        if self._unrecorded:
            left = set(self._unrecorded)
            await self._store.finish(left, now)
            self._unrecorded -= left
        await self._store.renew(list(self._handling), now, self.config.lease)
        room = min(self.config.batch, self.config.in_flight - len(self._handling))
        if room <= 0:
            return 0
        taken = await self._store.take_over(now, self.config.lease, room)
        for item in taken:
            if item.payload is None or item.attempts > self.config.max_attempts:
                log.warning(
                    "update %s given up (%s)",
                    item.update_id,
                    "unreadable" if item.payload is None else f"{item.attempts - 1} attempts",
                )
                await self._done(item.update_id)
                continue
            log.info("update %s taken over (attempt %s)", item.update_id, item.attempts)
            self._start(item.update_id, item.payload)
        return len(taken)

    async def settle(self, timeout: float) -> None:
        """Waits up to `timeout` for the updates in flight."""
        if self._handling:
            await asyncio.wait(self.in_flight, timeout=timeout)

    async def stop(self, grace: float) -> None:
        """The updates in flight get `grace` seconds; those still running then are given back
        unfinished, so another instance (or this one, started again) handles them at once."""
        await self.settle(grace)
        if self._turns is not None:
            await stop_task(self._turns)
            self._turns = None
        left = list(self._handling)
        for task in self.in_flight:
            task.cancel()
        for task in self.in_flight:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        now = self._clock.now()
        with contextlib.suppress(Exception):
            if self._unrecorded:
                await self._store.finish(self._unrecorded, now)
            await self._store.release(left, now)

    async def prune(self) -> int:
        return await self._store.prune(self._clock.now() - self.config.retention)


async def poll(bot: Bot, inbox: Inbox, allowed_updates: list[str] | None) -> None:
    """Long polling that confirms an update to Telegram (the next getUpdates' offset) only
    once the inbox has stored it. Telegram or the network failing: try again, 1 s growing to
    5 s, as aiogram's polling does."""
    backoff = Backoff(config=POLLING_BACKOFF)
    get_updates = GetUpdates(timeout=POLLING_TIMEOUT, allowed_updates=allowed_updates)
    # Longer than the long poll itself, or every quiet poll would count as a timeout.
    request_timeout = int(bot.session.timeout + POLLING_TIMEOUT)
    while True:
        try:
            updates = await bot(get_updates, request_timeout=request_timeout)
        except Exception as exc:
            log.warning(
                "getUpdates failed (%s); next try in %.1fs", describe(exc), backoff.next_delay
            )
            await backoff.asleep()
            continue
        backoff.reset()
        for update in updates:
            await inbox.receive(update.model_dump(mode="json", by_alias=True, exclude_unset=True))
            get_updates.offset = update.update_id + 1

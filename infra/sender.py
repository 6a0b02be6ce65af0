"""The outbox sender: delivers claimed rows under Telegram's rate limits, each exactly once but
for one documented window.

Limits (Bot API FAQ): about 30 messages a second overall, one a second per private chat,
20 a minute per group. They are kept by a GCRA limiter, in process or shared by every instance
through Redis, so a broadcast of 10,000 runs at the limit and Telegram never has to say 429.
When it says so anyway (another bot instance without the shared limiter, a stricter limit than
configured), the sender waits `retry_after` and sends again.

Outcomes: 403 or "chat not found" → the row is `unreachable`, the ChatUser too, no retry.
Network errors and 5xx → back to `pending` with a growing delay, `failed` after
`max_attempts`. Other 400s (bad markup, message too long) → `failed` at once: repeating them
cannot help.

Exactly once, and its one gap: a row is claimed under a lease and the lease is renewed while
the sender works, so a living sender keeps its rows and a crashed one's rows are taken over
after the lease. Claimed rows not yet handed to Telegram are simply sent later. The row is
marked `sent` by the very next statement after Telegram's answer arrives, with nothing awaited
in between (Telegram's message id is stored with it). A crash (SIGKILL, power loss) after
Telegram stored a message and before that UPDATE committed leaves the row `sending`; after the
lease another sender sends it again: that message reaches its recipient twice. The window is
Telegram's answer on its way back plus one database write (a few milliseconds), and at most
`max_in_flight` messages are in it at once; tests/faults/test_process_killed.py measures it at
the kill and finds the duplicates to be exactly the messages it held (none, in practice, when
the kill lands anywhere; every one when Telegram's answers are held back at that moment). The
same holds for an answer lost on the network after Telegram delivered, and for a mark that
cannot be written within half a lease (a database away for longer than that): the Bot API has
no idempotency key, so a second send cannot be told apart from a first. Nothing else sends
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup

from domain.clock import Clock
from domain.reminders import ANSWER_KINDS, URGENT_KINDS, QuietHours
from infra.outages import describe, is_outage
from infra.outbox import Claimed, Recipient, Status, TortoiseOutbox
from infra.telegram import own_retries
from infra.workers import stop_task

log = logging.getLogger(__name__)

UNREACHABLE_MARKERS = ("chat not found", "user is deactivated", "peer_id_invalid")
RETRYABLE = (
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,  # a token being rotated: wait, do not give the row up
    TelegramConflictError,
    asyncio.TimeoutError,
    OSError,
)
MAX_BACKOFF = 600.0
DEFAULT_LOCALE = "zh_CN"


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    photo: str | None = None
    document: str | None = None  # a Telegram file_id (an invoice)
    markup: InlineKeyboardMarkup | None = None
    # Messages in the same chat whose buttons go first: the payment QR code of an order that
    # is over, so nobody taps a dead "I have paid".
    clear_markup_of: tuple[int, ...] = ()


class Transport(Protocol):
    async def send(self, chat_id: int, message: Any) -> int:
        """Sends what the channel's `Render` made (Telegram's: `Rendered`) and returns the
        channel's message id (0 when it gives none); raises aiogram's exceptions, or for
        another channel the `Undeliverable` ones below."""
        ...


class Undeliverable(Exception):
    """A channel's transport (not Telegram's, which raises aiogram's own) could not deliver."""


class RecipientGone(Undeliverable):
    """Blocked, unfollowed, refused notices: as Telegram's 403, nothing more until they write."""


class TryLater(Undeliverable):
    """A quota or an outage: the row goes back to pending with the usual back-off."""


class Rejected(Undeliverable):
    """The channel refused the message itself: repeating it cannot help."""


TELEGRAM = "telegram"


class BotTransport:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, chat_id: int, message: Rendered) -> int:
        # One call, whatever Telegram answers: the sender retries later under its lease.
        with own_retries():
            return await self._send(chat_id, message)

    async def _send(self, chat_id: int, message: Rendered) -> int:
        for old in message.clear_markup_of:
            try:
                await self._bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=old, reply_markup=None
                )
            except TelegramBadRequest:  # gone already, deleted, or too old to edit
                pass
        markup = message.markup
        if message.photo is not None:
            sent = await self._bot.send_photo(
                chat_id, message.photo, caption=message.text or None, reply_markup=markup
            )
        elif message.document is not None:
            sent = await self._bot.send_document(
                chat_id, message.document, caption=message.text or None, reply_markup=markup
            )
        else:
            sent = await self._bot.send_message(chat_id, message.text, reply_markup=markup)
        return sent.message_id


# What to send now (a payload), or the status to leave the row in (dropped, paused, ...).
Refresh = Callable[[Claimed, datetime], Awaitable[dict[str, Any] | Status]]
# One row in one language, as its channel's message (Telegram's `Rendered`; each channel renders
# the same payload its own way).
Render = Callable[[Claimed, dict[str, Any], str, datetime], Any]
Progress = Callable[[], Awaitable[None]]


# ---- rate limits ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    global_per_second: float = 30
    private_per_second: float = 1
    group_per_minute: float = 20
    # A few messages of slack overall keep the average at the limit despite timer jitter;
    # Telegram (and the local stand-in) tolerate bursts of up to a second's worth.
    global_burst: int = 3

    # WeChat (customer-service messages and notices): its limits are daily quotas per account
    # and per recipient, kept by its own errors (45047, 45009); this only paces the calls.
    wechat_per_second: float = 20
    wechat_per_chat_per_second: float = 1

    def chat(self, chat_id: int, channel: str = TELEGRAM) -> tuple[float, int]:
        """(seconds between messages, burst) for one chat: Telegram users have positive ids,
        groups negative; another channel's accounts are negative too and never groups."""
        if channel != TELEGRAM:
            return 1 / self.wechat_per_chat_per_second, 1
        if chat_id > 0:
            return 1 / self.private_per_second, 1
        return 60 / self.group_per_minute, 1

    @property
    def global_interval(self) -> float:
        return 1 / self.global_per_second

    def global_of(self, channel: str) -> float:
        return self.global_interval if channel == TELEGRAM else 1 / self.wechat_per_second


@dataclass(frozen=True, slots=True)
class Verdict:
    wait: float  # 0: granted (and counted)
    chat_bound: bool = False  # the wait is this chat's own: other chats may go now


class RateLimiter(Protocol):
    async def try_acquire(self, chat_id: int, channel: str = TELEGRAM) -> Verdict: ...
    async def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram said 429: nothing more to this chat for `seconds`."""
        ...

    async def charge(self, channel: str = TELEGRAM, chat_id: int | None = None) -> None:
        """A message went out without asking (a reply): it takes its place in the overall
        budget and in its chat's, so the sender, not the reply, is the one that waits."""
        ...


async def acquire(limiter: RateLimiter, chat_id: int, channel: str = TELEGRAM) -> None:
    while True:
        verdict = await limiter.try_acquire(chat_id, channel)
        if verdict.wait <= 0:
            return
        await asyncio.sleep(verdict.wait)


class LocalRateLimiter:
    """GCRA (a token bucket kept as one timestamp per key) in this process."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._globals: dict[str, float] = {}
        self._chats: dict[int, float] = {}

    async def try_acquire(self, chat_id: int, channel: str = TELEGRAM) -> Verdict:
        now = self._clock()
        interval, burst = self._limits.chat(chat_id, channel)
        global_interval = self._limits.global_of(channel)
        global_tat = max(self._globals.get(channel, 0.0), now)
        chat_tat = max(self._chats.get(chat_id, 0.0), now)
        global_slack = (self._limits.global_burst - 1) * global_interval
        global_wait = global_tat - now - global_slack
        chat_wait = chat_tat - now - (burst - 1) * interval
        if global_wait > 0 or chat_wait > 0:
            return Verdict(max(global_wait, chat_wait, 0.0), chat_wait > 0)
        self._globals[channel] = global_tat + global_interval
        self._chats[chat_id] = chat_tat + interval
        if len(self._chats) > 100_000:
            self._chats = {k: v for k, v in self._chats.items() if v > now}
        return Verdict(0.0)

    async def hold(self, chat_id: int, seconds: float) -> None:
        self._chats[chat_id] = max(self._chats.get(chat_id, 0.0), self._clock() + seconds)

    async def charge(self, channel: str = TELEGRAM, chat_id: int | None = None) -> None:
        now = self._clock()
        self._globals[channel] = max(self._globals.get(channel, 0.0), now) + self._limits.global_of(
            channel
        )
        if chat_id is not None:
            # The chat's next message waits its interval after this one, not after all of a
            # burst's: replies are not paced by this limiter, so their debt must not pile up.
            interval, _ = self._limits.chat(chat_id, channel)
            self._chats[chat_id] = max(self._chats.get(chat_id, 0.0), now + interval)


# Both keys checked and advanced in one atomic step, on Redis's clock (instances' clocks may
# differ). Microseconds as integers: Lua numbers are doubles, exact up to 2^53.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function tat_of(key)
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  return tat
end
local gi, gtol = tonumber(ARGV[1]), tonumber(ARGV[2])
local ci, ctol = tonumber(ARGV[3]), tonumber(ARGV[4])
local gtat, ctat = tat_of(KEYS[1]), tat_of(KEYS[2])
local gwait, cwait = gtat - now - gtol, ctat - now - ctol
if gwait > 0 or cwait > 0 then
  return {math.max(gwait, 0), math.max(cwait, 0)}
end
local function store(key, tat)
  local ttl = math.ceil((tat - now) / 1000) + 1000
  redis.call('SET', key, string.format('%.0f', tat), 'PX', ttl)
end
store(KEYS[1], gtat + gi)
store(KEYS[2], ctat + ci)
return {0, 0}
"""

# The overall budget advanced by its interval; the chat's (when there is one) set to at least
# an interval from now. Replies are not paced by the limiter: a burst of them must not leave
# the chat owing a second for each (a reminder to that person would wait that long).
_CHARGE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function store(key, tat)
  redis.call('SET', key, string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
local gtat = tonumber(redis.call('GET', KEYS[1]) or '0')
if gtat < now then gtat = now end
store(KEYS[1], gtat + tonumber(ARGV[1]))
if KEYS[2] then
  local floor = now + tonumber(ARGV[2])
  if tonumber(redis.call('GET', KEYS[2]) or '0') < floor then store(KEYS[2], floor) end
end
return 0
"""

_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < until_ then
  local ttl = math.ceil(tonumber(ARGV[1]) / 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', ttl)
end
return 1
"""


class RedisRateLimiter:
    """The same GCRA, shared by every instance that uses the same Redis and prefix."""

    def __init__(self, redis: Any, limits: Limits, prefix: str = "jijiao:rate") -> None:
        self._redis = redis
        self._limits = limits
        self._prefix = prefix
        self._gcra = redis.register_script(_GCRA)
        self._hold = redis.register_script(_HOLD)
        self._charge = redis.register_script(_CHARGE)

    async def try_acquire(self, chat_id: int, channel: str = TELEGRAM) -> Verdict:
        interval, burst = self._limits.chat(chat_id, channel)
        global_interval = self._limits.global_of(channel)
        # Telegram's keys as they always were; another channel's budget is its own.
        scope = "" if channel == TELEGRAM else f":{channel}"
        global_wait, chat_wait = await self._gcra(
            keys=[f"{self._prefix}{scope}:global", f"{self._prefix}:chat:{chat_id}"],
            args=[
                round(global_interval * 1e6),
                round((self._limits.global_burst - 1) * global_interval * 1e6),
                round(interval * 1e6),
                round((burst - 1) * interval * 1e6),
            ],
        )
        wait = max(int(global_wait), int(chat_wait)) / 1e6
        return Verdict(wait, int(chat_wait) > 0)

    async def hold(self, chat_id: int, seconds: float) -> None:
        await self._hold(keys=[f"{self._prefix}:chat:{chat_id}"], args=[round(seconds * 1e6)])

    async def charge(self, channel: str = TELEGRAM, chat_id: int | None = None) -> None:
        scope = "" if channel == TELEGRAM else f":{channel}"
        keys = [f"{self._prefix}{scope}:global"]
        args = [round(self._limits.global_of(channel) * 1e6)]
        if chat_id is not None:
            keys.append(f"{self._prefix}:chat:{chat_id}")
            args.append(round(self._limits.chat(chat_id, channel)[0] * 1e6))
        await self._charge(keys=keys, args=args)


# ---- the sender ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SenderConfig:
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8
    max_in_flight: int = 32
    # Rows claimed at once: what the limit sends in a fraction of the lease, so a sender never
    # holds more than it can deliver before its lease would matter.
    batch: int = 200
    progress_every: float = 5.0


@dataclass(slots=True)
class _Job:
    item: Claimed
    message: Any = None
    channel: str = TELEGRAM


async def _keep_payload(item: Claimed, now: datetime) -> dict[str, Any] | Status:
    return item.payload


class OutboxSender:
    """One run drains every due row (job `send_outbox`); safe to run in several instances."""

    def __init__(
        self,
        outbox: TortoiseOutbox,
        transport: Transport,
        limiter: RateLimiter,
        clock: Clock,
        *,
        render: Render,
        refresh: Refresh = _keep_payload,
        quiet: QuietHours | None = None,
        config: SenderConfig | None = None,
        on_progress: Progress | None = None,
    ) -> None:
        """`transport` and `render` are Telegram's; `add_channel` adds another channel's (each
        row goes by its recipient's channel, rendered for it)."""
        self._outbox = outbox
        self._transport = transport
        self._channels: dict[str, Transport] = {TELEGRAM: transport}
        self._renders: dict[str, Render] = {TELEGRAM: render}
        self._limiter = limiter
        self._clock = clock
        self._refresh = refresh
        self._quiet = quiet or QuietHours()
        self._config = config or SenderConfig()
        self._on_progress = on_progress
        self._slots = asyncio.Semaphore(self._config.max_in_flight)
        self._sequence = itertools.count()
        self.stats: Counter[str] = Counter()

    def add_channel(self, channel: str, transport: Transport, render: Render) -> None:
        """Rows to accounts of `channel` are rendered by `render` and go through `transport`
        (WeChat's, once it is built)."""
        self._channels[channel] = transport
        self._renders[channel] = render

    async def __call__(self) -> int:
        """Sends until nothing is due; returns how many messages went out."""
        before = self.stats["sent"]
        keeper = asyncio.create_task(self._keep_leases())
        try:
            while True:
                # In quiet hours only the answers to what a trainee just did go out (a payment,
                # staff's decision, the receipt after a pass).
                quiet = self._quiet.contains(self._clock.now())
                batch = await self._outbox.claim(
                    self._clock.now(),
                    self._config.batch,
                    self._config.lease,
                    kinds=[*(kind.value for kind in URGENT_KINDS), *ANSWER_KINDS]
                    if quiet
                    else None,
                )
                if not batch:
                    break
                await self._deliver(batch)
        finally:
            await stop_task(keeper)
            await self._report()
        return self.stats["sent"] - before

    async def _keep_leases(self) -> None:
        every = min(self._config.lease.total_seconds() / 3, self._config.progress_every)
        while True:
            await asyncio.sleep(every)
            try:
                await self._outbox.heartbeat(self._clock.now())
            except Exception:
                log.exception("outbox: lease renewal failed; retrying in %ss", every)
            await self._report()

    async def _report(self) -> None:
        if self._on_progress is None:
            return
        try:
            await self._on_progress()
        except Exception as exc:
            if is_outage(exc):  # one line per turn, as the other jobs log an outage
                log.warning("outbox: progress report skipped: %s", describe(exc))
                return
            log.exception("outbox: progress report failed")

    async def _deliver(self, batch: list[Claimed]) -> None:
        tasks: set[asyncio.Task[None]] = set()
        handled: set[int] = set()  # rows given to a send, or settled while prepared
        try:
            await self._deliver_each(batch, tasks, handled)
        except Exception as exc:
            # The limiter (Redis) or the database failed on the way, and the job stops: the rows
            # not yet given to a send go back at once rather than stay claimed until the lease
            # runs out (CI, test_redis_outage: a broadcast waited a minute after Redis came
            # back, the limiter's connection being stale). The sends under way end as usual.
            reason = f"{type(exc).__name__}: {exc}"
            now = self._clock.now()
            with contextlib.suppress(Exception):  # the database away too: the lease's wait
                for item in batch:
                    if item.id not in handled:
                        await self._outbox.retry_later(item, now, reason)
            raise
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _deliver_each(
        self, batch: list[Claimed], tasks: set[asyncio.Task[None]], handled: set[int]
    ) -> None:
        recipients = await self._outbox.recipients(item.chat_id for item in batch)
        ready: deque[_Job] = deque(_Job(item) for item in batch)
        later: list[tuple[float, int, _Job]] = []
        while ready or later:
            while later and later[0][0] <= time.monotonic():
                ready.append(heapq.heappop(later)[2])
            if not ready:
                await asyncio.sleep(max(0.0, later[0][0] - time.monotonic()))
                continue
            job = ready.popleft()
            if job.message is None:
                recipient = recipients.get(job.item.chat_id, Recipient(DEFAULT_LOCALE))
                job.channel = recipient.channel
                job.message = await self._prepare(job.item, recipient)
                if job.message is None:
                    handled.add(job.item.id)
                    continue
            verdict = await self._limiter.try_acquire(job.item.chat_id, job.channel)
            if verdict.wait > 0:
                if verdict.chat_bound:
                    # This chat is busy; others may go meanwhile.
                    entry = (time.monotonic() + verdict.wait, next(self._sequence), job)
                    heapq.heappush(later, entry)
                else:
                    ready.appendleft(job)
                    await asyncio.sleep(verdict.wait)
                continue
            await self._slots.acquire()
            task = asyncio.create_task(self._send(job.item, job.message, job.channel))
            handled.add(job.item.id)
            tasks.add(task)
            task.add_done_callback(self._done(tasks))

    def _done(self, tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
        def release(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            self._slots.release()
            if not task.cancelled() and task.exception() is not None:
                log.error("outbox: send task failed", exc_info=task.exception())

        return release

    async def _prepare(self, item: Claimed, recipient: Recipient) -> Any:
        """The message to send now, or None after settling the row without sending."""
        now = self._clock.now()
        if recipient.unreachable:
            await self._settle(item, Status.UNREACHABLE, "blocked earlier")
            return None
        if recipient.channel not in self._channels:
            await self._settle(item, Status.FAILED, f"no transport for {recipient.channel}")
            return None
        if recipient.muted and not item.essential:
            await self._settle(item, Status.DROPPED, "muted")
            return None
        if item.attempts > self._config.max_attempts:
            await self._settle(item, Status.FAILED, "too many attempts")
            return None
        try:
            payload = await self._refresh(item, now)
            if isinstance(payload, Status):
                await self._settle(item, payload, "no longer relevant")
                return None
            return self._renders[recipient.channel](item, payload, recipient.locale, now)
        except Exception as exc:
            if is_outage(exc):
                # The database (or Redis) is away for a moment: the row is as good as before,
                # so it waits its turn; marked failed, it would never be sent (issue 22 soak).
                log.warning("outbox: row %s not prepared: %s", item.id, describe(exc))
                await self._retry(item, exc)
                return None
            log.exception("outbox: row %s cannot be prepared", item.id)
            await self._settle(item, Status.FAILED, f"prepare: {exc!r}")
            return None

    async def _settle(self, item: Claimed, status: Status, error: str | None) -> None:
        self.stats[status.value] += 1
        await self._outbox.finish(item, status, error)

    async def _send(self, item: Claimed, message: Any, channel: str = TELEGRAM) -> None:
        try:
            await self._send_and_settle(item, message, channel)
        except Exception as exc:
            # Not the message's fault (a limiter or database call failed on the way): the row
            # is given back now rather than left claimed until its lease runs out.
            log.warning("outbox: row %s not sent: %s", item.id, describe(exc))
            await self._retry(item, exc)

    async def _send_and_settle(self, item: Claimed, message: Any, channel: str) -> None:
        transport = self._channels[channel]
        while True:
            try:
                message_id = await transport.send(item.chat_id, message)
            except TelegramRetryAfter as exc:
                self.stats["retry_after"] += 1
                log.warning("outbox: 429 for chat %s, waiting %ss", item.chat_id, exc.retry_after)
                await self._wait_out(item.chat_id, exc.retry_after, channel)
                continue
            except RecipientGone as exc:
                await self._unreachable(item, str(exc))
            except TryLater as exc:
                await self._retry(item, exc)
            except Rejected as exc:
                await self._settle(item, Status.FAILED, str(exc))
            except TelegramForbiddenError as exc:
                await self._unreachable(item, exc.message)
            except TelegramBadRequest as exc:
                if any(marker in exc.message.lower() for marker in UNREACHABLE_MARKERS):
                    await self._unreachable(item, exc.message)
                else:
                    await self._settle(item, Status.FAILED, exc.message)
            except RETRYABLE as exc:
                await self._retry(item, exc)
            except TelegramAPIError as exc:
                await self._settle(item, Status.FAILED, exc.message)
            else:
                # Nothing between Telegram's answer and this write: see the module docstring.
                await self._mark_sent(item, message_id)
            return

    async def _wait_out(self, chat_id: int, seconds: float, channel: str) -> None:
        """Telegram's 429 for one chat: every sender is told (the shared limiter), then this one
        waits its turn. With the limiter away (Redis restarting) it waits the time it was told."""
        try:
            await self._limiter.hold(chat_id, seconds)
            await acquire(self._limiter, chat_id, channel)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("outbox: rate limiter away (%s); waiting %ss", describe(exc), seconds)
            await asyncio.sleep(seconds)

    async def _mark_sent(self, item: Claimed, message_id: int) -> None:
        """The message is out; a mark lost for good would send it again after the lease. The
        row stays ours until then, so a database that is away for a moment (restarting) is
        waited for, up to half a lease: the lease was renewed at most a third of a lease before
        the send, and the update is conditional on still holding the row anyway."""
        self.stats["sent"] += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.lease.total_seconds() / 2
        delay = 0.05
        attempt = 1
        while True:
            try:
                if not await self._outbox.mark_sent(item, message_id, self._clock.now()):
                    log.warning("outbox: row %s was sent after its lease ran out", item.id)
                return
            except Exception as exc:
                if loop.time() + delay > deadline:
                    log.exception("outbox: row %s sent but not marked: it goes out again", item.id)
                    return
                if attempt == 1:
                    log.warning(
                        "outbox: row %s sent but not marked yet (%s); trying again",
                        item.id,
                        describe(exc),
                    )
                else:
                    log.debug("outbox: row %s still not marked (try %s)", item.id, attempt)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            attempt += 1

    async def _unreachable(self, item: Claimed, reason: str) -> None:
        await self._outbox.mark_unreachable(item.chat_id)
        await self._settle(item, Status.UNREACHABLE, reason)

    async def _retry(self, item: Claimed, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        if item.attempts >= self._config.max_attempts:
            await self._settle(item, Status.FAILED, reason)
            return
        delay = min(MAX_BACKOFF, 2.0**item.attempts) * random.uniform(0.8, 1.2)
        self.stats["retried"] += 1
        log.warning("outbox: row %s failed (%s), again in %.0fs", item.id, reason, delay)
        await self._outbox.retry_later(item, self._clock.now() + timedelta(seconds=delay), reason)

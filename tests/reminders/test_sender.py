"""The sender against the local Telegram stand-in and its flood limits: everything arrives,
once, without 429s; blocked users are marked and left alone; errors are retried; a sender
that dies leaves its rows to another."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendMessage

from domain.reminders import BroadcastStatus
from infra.db import models
from infra.outbox import Claimed, TortoiseBroadcasts, TortoiseOutbox
from infra.sender import BotTransport, Limits, LocalRateLimiter, Rendered
from localchat import FloodLimits
from tests.reminders import world
from tests.reminders.conftest import StandInFactory
from tests.support.clock import FixedClock

# Telegram's per-chat limits; the overall one raised to match in stand-in and sender, so 2,000
# messages take seconds instead of the 67 s that 30 a second needs (bench_reminders measures
# the real 30 a second).
FAST_GLOBAL = 600
USERS = range(200_001, 202_001)


async def sent_rows() -> int:
    return await models.Outbox.filter(status="sent").count()


async def test_two_thousand_reminders_arrive_once_each_without_a_single_429(
    database, clock: FixedClock, i18n, standin: StandInFactory
):
    telegram = await standin(FloodLimits(global_per_second=FAST_GLOBAL))
    telegram.start_users(USERS)
    await world.broadcast_to(USERS, clock.now())
    limiter = LocalRateLimiter(Limits(global_per_second=FAST_GLOBAL))
    send = world.sender(i18n, clock, BotTransport(telegram.bot), limiter=limiter, batch=500)

    started = time.monotonic()
    assert await send() == len(USERS)
    elapsed = time.monotonic() - started

    assert telegram.chat.stats["rejected_429"] == 0
    assert telegram.chat.stats["sent"] == len(USERS)
    assert {telegram.received(user) for user in USERS} == {1}  # none missing, none twice
    assert await sent_rows() == len(USERS)
    assert elapsed >= (len(USERS) - FAST_GLOBAL) / FAST_GLOBAL  # the limit was kept


async def test_messages_to_one_chat_are_spaced_a_second_apart(
    database, clock: FixedClock, i18n, standin: StandInFactory
):
    telegram = await standin(FloodLimits())
    telegram.start_users([300_001])
    for text in ("one", "two", "three", "four"):
        await world.broadcast_to([300_001], clock.now(), text)
    send = world.sender(i18n, clock, BotTransport(telegram.bot), limiter=LocalRateLimiter(Limits()))

    started = time.monotonic()
    assert await send() == 4

    assert time.monotonic() - started >= 2.9
    assert telegram.chat.stats["rejected_429"] == 0 and telegram.received(300_001) == 4


async def test_a_429_is_waited_out_and_the_message_still_arrives_once(
    database, clock: FixedClock, i18n, standin: StandInFactory
):
    telegram = await standin(FloodLimits())
    telegram.start_users([300_001])
    for text in ("one", "two", "three", "four", "five"):
        await world.broadcast_to([300_001], clock.now(), text)
    # A limiter that believes in 100 a second per chat: Telegram (the stand-in) disagrees.
    careless = LocalRateLimiter(Limits(private_per_second=100))
    send = world.sender(i18n, clock, BotTransport(telegram.bot), limiter=careless)

    assert await send() == 5

    assert telegram.chat.stats["rejected_429"] >= 1 and send.stats["retry_after"] >= 1
    assert telegram.received(300_001) == 5
    assert await sent_rows() == 5


async def test_a_user_who_blocked_the_bot_is_marked_unreachable_and_not_retried(
    database, clock: FixedClock, i18n, standin: StandInFactory
):
    telegram = await standin(FloodLimits())
    telegram.start_users([300_001, 300_002])
    await models.ChatUser.create(id=300_001, first_name="blocked")
    telegram.chat.block(300_001)
    await world.broadcast_to([300_001, 300_002], clock.now())
    send = world.sender(i18n, clock, BotTransport(telegram.bot))

    assert await send() == 1
    assert await send() == 0

    blocked = await models.Outbox.get(chat_id=300_001)
    assert (blocked.status, blocked.attempts) == ("unreachable", 1)
    assert "blocked" in (blocked.error or "")
    assert (await models.ChatUser.get(id=300_001)).unreachable
    assert telegram.received(300_002) == 1

    # Known unreachable: the next message to them is settled without calling Telegram.
    requests = telegram.chat.stats["bot_requests"]
    await world.broadcast_to([300_001], clock.now(), "again")
    await send()
    assert telegram.chat.stats["bot_requests"] == requests
    assert await models.Outbox.filter(chat_id=300_001, status="unreachable").count() == 2


async def test_a_chat_that_does_not_exist_is_unreachable(
    database, clock: FixedClock, i18n, standin: StandInFactory
):
    telegram = await standin(FloodLimits())
    await world.broadcast_to([399_999], clock.now())
    await world.sender(i18n, clock, BotTransport(telegram.bot))()
    row = await models.Outbox.get()
    assert row.status == "unreachable" and "chat not found" in (row.error or "")


class FlakyTelegram(world.RecordingTransport):
    """Answers 502 a few times, then works."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def send(self, chat_id: int, message: Rendered) -> int:
        if self.failures > 0:
            self.failures -= 1
            raise TelegramServerError(SendMessage(chat_id=chat_id, text="x"), "Bad Gateway")
        return await super().send(chat_id, message)


async def test_server_errors_are_retried_later_with_a_growing_delay(
    database, clock: FixedClock, i18n
):
    telegram = FlakyTelegram(failures=2)
    await world.broadcast_to([300_001], clock.now())
    send = world.sender(i18n, clock, telegram)

    assert await send() == 0
    first = await models.Outbox.get()
    assert first.status == "pending" and "Bad Gateway" in (first.error or "")
    first_delay = first.not_before - clock.now()
    clock.current = first.not_before
    assert await send() == 0
    second = await models.Outbox.get()
    assert timedelta(0) < first_delay < second.not_before - clock.now()

    clock.current = second.not_before
    assert await send() == 1
    row = await models.Outbox.get()
    assert (row.status, row.attempts) == ("sent", 3)
    assert len(telegram.sent) == 1


async def test_a_row_that_keeps_failing_gives_up_after_the_last_attempt(
    database, clock: FixedClock, i18n
):
    telegram = FlakyTelegram(failures=100)
    await world.broadcast_to([300_001], clock.now())
    send = world.sender(i18n, clock, telegram, max_attempts=3)
    for _ in range(3):
        await send()
        clock.advance(hours=1)
    row = await models.Outbox.get()
    assert (row.status, row.attempts) == ("failed", 3)


async def test_rows_of_a_crashed_sender_are_taken_over_after_the_lease(
    database, clock: FixedClock, i18n
):
    await world.broadcast_to([300_001, 300_002], clock.now())
    crashed = TortoiseOutbox(worker_id="crashed")
    taken = await crashed.claim(clock.now(), 10, timedelta(seconds=60))
    assert len(taken) == 2  # claimed, then the process died before sending
    telegram = world.RecordingTransport()
    send = world.sender(i18n, clock, telegram, lease=timedelta(seconds=60))

    clock.advance(seconds=59)
    assert await send() == 0  # still someone else's
    clock.advance(seconds=2)
    assert await send() == 2
    assert sorted(chat for chat, _ in telegram.sent) == [300_001, 300_002]


async def test_a_sender_marks_its_rows_only_while_it_holds_them(database, clock: FixedClock):
    await world.broadcast_to([300_001], clock.now())
    slow = TortoiseOutbox(worker_id="slow")
    [item] = await slow.claim(clock.now(), 1, timedelta(seconds=60))
    clock.advance(seconds=61)
    [again] = await TortoiseOutbox(worker_id="fast").claim(clock.now(), 1, timedelta(seconds=60))
    assert isinstance(again, Claimed) and again.attempts == 2

    assert not await slow.mark_sent(item, 1, clock.now())
    row = await models.Outbox.get()
    assert (row.status, row.claimed_by) == ("sending", "fast")


async def test_a_paused_broadcast_waits_and_a_cancelled_one_sends_nothing_more(
    database, clock: FixedClock, i18n
):
    paused = await world.broadcast_to([300_001, 300_002], clock.now(), "paused")
    cancelled = await world.broadcast_to([300_003], clock.now(), "cancelled")
    broadcasts = TortoiseBroadcasts(TortoiseOutbox())
    await broadcasts.change_status(paused, BroadcastStatus.RUNNING, BroadcastStatus.PAUSED)
    await broadcasts.change_status(cancelled, BroadcastStatus.RUNNING, BroadcastStatus.CANCELLED)
    telegram = world.RecordingTransport()
    send = world.sender(i18n, clock, telegram)

    assert await send() == 0

    await broadcasts.change_status(paused, BroadcastStatus.PAUSED, BroadcastStatus.RUNNING)
    assert await send() == 2
    assert sorted(chat for chat, _ in telegram.sent) == [300_001, 300_002]
    progress = await broadcasts.progress(cancelled, clock.now())
    assert progress is not None and (progress.sent, progress.dropped) == (0, 1)


async def test_staff_hear_once_a_day_who_could_not_be_reached(
    database, clock: FixedClock, i18n, standin: StandInFactory
):
    from application.reminders import StaffDailySummary
    from texts.reminders import render

    telegram = await standin(FloodLimits())
    telegram.start_users([300_003])
    await models.ChatUser.create(id=300_003, first_name="Blocked")
    telegram.chat.block(300_003)
    await world.broadcast_to([300_003], clock.now())
    await world.sender(i18n, clock, BotTransport(telegram.bot))()

    summary = StaffDailySummary(TortoiseOutbox(), -1001000000001, clock)
    await summary()
    await summary()  # a second instance, or the next hourly run: still one message a day

    [row] = await models.Outbox.filter(chat_id=-1001000000001)
    with i18n.context(), i18n.use_locale("en"):
        text = render(row.payload, clock.now())
    assert "1 recipients could not be reached" in text and "B****** (300003)" in text


async def test_a_row_that_cannot_be_prepared_during_an_outage_waits_and_is_sent_after(
    database, clock: FixedClock, i18n
):
    """Issue 22 soak: a reminder whose preparation met the database away was marked failed
    and never sent."""
    from infra.sender import OutboxSender

    await world.broadcast_to([300_002], clock.now())
    telegram = world.RecordingTransport()
    send = world.sender(i18n, clock, telegram)
    assert isinstance(send, OutboxSender)
    real_refresh = send._refresh
    away = True

    async def refresh(item, now):  # the database is away for the first turn
        if away:
            raise ConnectionRefusedError("127.0.0.1:5432 refused")
        return await real_refresh(item, now)

    send._refresh = refresh
    await send()
    row = await models.Outbox.get()
    assert row.status == "pending" and telegram.texts_to(300_002) == []

    away = False
    clock.advance(minutes=5)
    await send()
    assert (await models.Outbox.get()).status == "sent"
    assert len(telegram.texts_to(300_002)) == 1


class RetryAfterOnce(world.RecordingTransport):
    """Telegram's 429 for the first message to each chat, then the message goes."""

    def __init__(self) -> None:
        super().__init__()
        self.told: set[int] = set()

    async def send(self, chat_id: int, message: Rendered) -> int:
        if chat_id not in self.told:
            self.told.add(chat_id)
            raise TelegramRetryAfter(SendMessage(chat_id=chat_id, text="x"), "Too Many", 0)
        return await super().send(chat_id, message)


class LimiterAway(LocalRateLimiter):
    """Grants sends but cannot be told about a 429 (Redis restarting), or fails outright."""

    def __init__(self, error: Exception) -> None:
        super().__init__(Limits(global_per_second=10_000, private_per_second=10_000))
        self.error = error

    async def hold(self, chat_id: int, seconds: float) -> None:
        raise self.error


async def test_a_429_while_the_shared_limiter_is_away_is_waited_out_and_the_message_sent(
    database, clock: FixedClock, i18n
):
    """CI (test_redis_outage): the limiter's Redis connection was stale right after Redis came
    back; the send task died on it and the broadcast waited for its lease to run out."""
    telegram = RetryAfterOnce()
    await world.broadcast_to([300_003], clock.now())
    send = world.sender(
        i18n, clock, telegram, limiter=LimiterAway(ConnectionError("Connection reset by peer"))
    )

    assert await send() == 1
    assert len(telegram.texts_to(300_003)) == 1
    assert (await models.Outbox.get()).status == "sent"


class LimiterStale(LocalRateLimiter):
    """The shared limiter's first answer fails: its Redis connection was stale."""

    def __init__(self) -> None:
        super().__init__(Limits(global_per_second=10_000, private_per_second=10_000))
        self.failed = False

    async def try_acquire(self, chat_id: int, channel: str = "telegram") -> Any:
        if not self.failed:
            self.failed = True
            raise ConnectionError("Connection closed by server.")
        return await super().try_acquire(chat_id, channel)


async def test_rows_claimed_when_the_limiter_fails_go_back_at_once(
    database, clock: FixedClock, i18n
):
    """CI (test_redis_outage, again): right after Redis came back, the limiter's first call
    failed on a stale connection, the job stopped, and the broadcast it had claimed waited a
    minute for its lease. The rows not yet sent are given back, due at once."""
    telegram = RetryAfterOnce()
    telegram.told.update({300_005, 300_006})  # no 429 here
    await world.broadcast_to([300_005, 300_006], clock.now())
    send = world.sender(i18n, clock, telegram, limiter=LimiterStale())

    with pytest.raises(ConnectionError):
        await send()
    rows = await models.Outbox.all()
    assert [(r.status, r.claimed_by) for r in rows] == [("pending", None)] * 2
    assert all(r.not_before <= clock.now() for r in rows)

    assert await send() == 2
    assert len(telegram.texts_to(300_005)) == len(telegram.texts_to(300_006)) == 1


async def test_a_send_that_fails_on_the_way_gives_its_row_back_at_once(
    database, clock: FixedClock, i18n
):
    telegram = RetryAfterOnce()
    await world.broadcast_to([300_004], clock.now())
    send = world.sender(i18n, clock, telegram, limiter=LimiterAway(RuntimeError("a bug")))

    assert await send() == 0
    row = await models.Outbox.get()
    assert row.status == "pending" and row.claimed_by is None, "still claimed: a lease's wait"
    assert "a bug" in (row.error or "")
    assert row.not_before - clock.now() < timedelta(seconds=10)

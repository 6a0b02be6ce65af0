"""Telegram (the local chat behind a faulty network) answering 5xx or not answering at all.

The outbox sender retries later with a growing delay and delivers each message once after
Telegram recovers; a chat Telegram keeps failing is given up after the last attempt. A reply to
a trainee is tried again a couple of times at once (infra/telegram.py). Where Telegram did the
call and only its answer was lost, the retry is a second message: the Bot API has no
idempotency key, and these tests count that duplicate instead of hiding it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiogram import Bot

from infra.db import models
from infra.sender import BotTransport
from infra.settings import Settings
from jijiao.app import Runtime, make_bot
from tests.faults.conftest import TIMEOUT, Telegram, updates_done
from tests.reminders import world
from tests.support.app import running
from tests.support.clock import FixedClock
from tests.support.waiting import eventually


async def send_until_settled(send: Callable, clock: FixedClock, rounds: int = 30) -> None:
    """Runs the sender, then moves the clock to the next retry, until no row waits."""
    for _ in range(rounds):
        await send()
        waiting = await models.Outbox.filter(status__in=["pending", "sending"]).order_by(
            "not_before"
        )
        if not waiting:
            return
        clock.current = max(clock.current, waiting[0].not_before)
    raise AssertionError(f"the outbox did not settle in {rounds} rounds")


# ---- the outbox sender ----------------------------------------------------------------------

USERS = list(range(610_001, 610_021))
HOPELESS = 610_099


async def test_the_outbox_delivers_each_message_once_through_5xx_and_timeouts(
    database, clock: FixedClock, i18n, telegram: Telegram, bot: Bot
):
    telegram.start_users([*USERS, HOPELESS])
    await world.broadcast_to([*USERS, HOPELESS], clock.now(), "停电通知 Power cut")
    # One chat Telegram never manages; for the others, a rough patch: 500s, 502s, timeouts.
    telegram.faults.fail("sendMessage", times=None, status=502, chats=[HOPELESS])
    telegram.faults.fail("sendMessage", times=8, status=500)
    telegram.faults.hang("sendMessage", times=3)
    telegram.faults.fail("sendMessage", times=4, status=502)
    send = world.sender(i18n, clock, BotTransport(bot), max_attempts=4)

    await send_until_settled(send, clock)

    for user in USERS:
        texts = [m["text"] for m in telegram.received(user)]
        assert texts == ["停电通知 Power cut"], (user, texts)
    assert telegram.received(HOPELESS) == []
    assert telegram.faults.faults["hang"] == 3
    assert telegram.faults.faults["fail"] == 8 + 4 + 4  # the hopeless chat tried 4 times
    sent = await models.Outbox.filter(status="sent").values("chat_id", "telegram_message_id")
    assert {row["chat_id"]: row["telegram_message_id"] for row in sent} == {
        user: telegram.received(user)[0]["message_id"] for user in USERS
    }
    hopeless = await models.Outbox.get(chat_id=HOPELESS)
    assert (hopeless.status, hopeless.attempts) == ("failed", 4)
    assert "Bad Gateway" in (hopeless.error or "")
    assert send.stats["retried"] == 8 + 3 + 4 + 3  # the hopeless chat's last try fails it


async def test_an_answer_lost_after_telegram_delivered_is_the_one_duplicate(
    database, clock: FixedClock, i18n, telegram: Telegram, bot: Bot
):
    """infra/sender.py's documented window, on the network: Telegram delivered, the answer
    never came back, so the row is sent again. Each lost answer is one duplicate, no more."""
    users = USERS[:6]
    telegram.start_users(users)
    await world.broadcast_to(users, clock.now(), "Notice")
    telegram.faults.lose_answers("sendMessage", times=2)
    send = world.sender(i18n, clock, BotTransport(bot))

    await send_until_settled(send, clock)

    received = [len(telegram.received(user)) for user in users]
    assert min(received) == 1
    assert sum(received) - len(users) == telegram.faults.faults["lose"] == 2
    assert await models.Outbox.filter(status="sent").count() == len(users)


async def test_the_outbox_is_tried_once_per_turn_by_the_apps_bot_not_again_at_once(
    database, clock: FixedClock, i18n, telegram: Telegram, make_settings
):
    """The app's bot retries a reply in place (below); the outbox opts out, since it retries
    later by itself under its lease and must not hold a send slot meanwhile."""
    bot = make_bot(make_settings(telegram={"api_url": telegram.faults.api_url}))
    try:
        telegram.start_users([USERS[0]])
        await world.broadcast_to([USERS[0]], clock.now())
        telegram.faults.fail("sendMessage", times=1, status=502)
        send = world.sender(i18n, clock, BotTransport(bot))

        assert await send() == 0
        assert telegram.faults.calls["sendmessage"] == 1
        row = await models.Outbox.get()
        assert (row.status, row.attempts) == ("pending", 1)

        await send_until_settled(send, clock)
        assert len(telegram.received(USERS[0])) == 1
    finally:
        await bot.session.close()


# ---- replies to a trainee ---------------------------------------------------------------------

TRAINEE = 620_001


@pytest.fixture
async def app(telegram: Telegram, make_settings) -> AsyncIterator[Runtime]:
    """The whole product in this process, its bot talking to Telegram through the faults."""
    settings: Settings = make_settings(
        telegram={"api_url": telegram.faults.api_url, "request_timeout": TIMEOUT}
    )
    async with running(settings) as runtime:
        yield runtime


async def say_start(telegram: Telegram) -> None:
    telegram.chat.send_text(TRAINEE, "/start", first_name="Lin", language_code="en")


async def test_a_reply_refused_with_5xx_is_sent_again_and_arrives_once(
    app: Runtime, telegram: Telegram
):
    telegram.faults.fail("sendMessage", times=2, status=502)

    await say_start(telegram)
    greeting = await telegram.next_message(TRAINEE, 0)
    await updates_done(app.settings, 1)

    assert greeting["text"].startswith("Hello, Lin!")
    assert len(telegram.received(TRAINEE)) == 1
    assert telegram.faults.calls["sendmessage"] == 3
    assert telegram.faults.forwarded["sendmessage"] == 1


async def test_a_reply_that_times_out_is_sent_again_and_arrives_once(
    app: Runtime, telegram: Telegram
):
    telegram.faults.hang("sendMessage", times=1)

    await say_start(telegram)
    greeting = await telegram.next_message(TRAINEE, 0)
    await updates_done(app.settings, 1)

    assert greeting["text"].startswith("Hello, Lin!")
    assert len(telegram.received(TRAINEE)) == 1
    assert telegram.faults.faults["hang"] == 1


async def test_a_reply_whose_answer_was_lost_arrives_twice_rather_than_never(
    app: Runtime, telegram: Telegram
):
    """The price of retrying (infra/telegram.py): Telegram sent it, we could not know."""
    telegram.faults.lose_answers("sendMessage", times=1)

    await say_start(telegram)
    await updates_done(app.settings, 1)

    texts = [m["text"] for m in telegram.received(TRAINEE)]
    assert len(texts) == 2 and texts[0] == texts[1] and texts[0].startswith("Hello, Lin!")


async def test_a_reply_that_fails_past_the_retries_is_followed_by_an_apology(
    app: Runtime, telegram: Telegram
):
    telegram.faults.fail("sendMessage", times=3, status=500)

    await say_start(telegram)
    apology = await telegram.next_message(TRAINEE, 0)

    assert apology["text"].startswith("Sorry, something went wrong on our side")
    assert telegram.faults.faults["fail"] == 3


async def test_after_telegram_was_down_the_bot_answers_what_was_said_meanwhile(
    app: Runtime, telegram: Telegram
):
    telegram.faults.outage()

    async def polls_failed() -> bool:
        return telegram.faults.failed["getupdates"] >= 2

    await eventually(polls_failed, what="the bot polled in vain during the outage")
    await say_start(telegram)  # waits at Telegram: nothing can fetch it now
    telegram.faults.clear()

    greeting = await telegram.next_message(TRAINEE, 0)
    await updates_done(app.settings, 1)
    assert greeting["text"].startswith("Hello, Lin!")
    assert len(telegram.received(TRAINEE)) == 1
    assert telegram.faults.failed["sendmessage"] == 0  # answered once Telegram was back

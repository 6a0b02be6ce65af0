"""The bot's replies and the outbox sender share Telegram's 30 messages a second: a reply goes at
once and takes its place in the sender's limiter, so a broadcast waits for the people chatting
rather than their replies meeting the broadcast at Telegram (429, a second or more each)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from redis.asyncio import Redis

from infra.sender import Limits, LocalRateLimiter, RateLimiter, RedisRateLimiter
from infra.telegram import RepliesFirst, RetryAfter, own_retries
from localchat import FloodLimits, LocalChat
from tests.support.serving import bare_config, localchat_app

TOKEN = "7000000001:replies-first"
LIMITS = Limits(global_per_second=8)  # a burst of 3 overall, then one each 0.125 s


class Frozen:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_replies_take_the_overall_budget_first_and_the_sender_waits_for_it():
    limiter = LocalRateLimiter(LIMITS, clock=Frozen())
    for _ in range(3):
        await limiter.charge()

    verdict = await limiter.try_acquire(700_001)  # a chat the sender has never written to

    assert verdict.wait == pytest.approx(0.125)
    assert not verdict.chat_bound


async def test_a_charge_is_one_slot_so_the_sender_goes_again_once_it_has_passed():
    clock = Frozen()
    limiter = LocalRateLimiter(LIMITS, clock=clock)
    await limiter.charge()

    assert (await limiter.try_acquire(700_001)).wait == 0
    assert (await limiter.try_acquire(700_002)).wait == 0
    assert (await limiter.try_acquire(700_003)).wait > 0
    clock.now += 0.125
    assert (await limiter.try_acquire(700_003)).wait == 0


@pytest.mark.redis
async def test_with_redis_every_instance_sender_waits_for_another_instances_replies(
    redis: Redis,
):
    prefix = f"jijiao:test-rate:{secrets.token_hex(4)}"
    replying, sending = (
        RedisRateLimiter(redis, LIMITS, prefix),
        RedisRateLimiter(redis, LIMITS, prefix),
    )
    for _ in range(3):
        await replying.charge()

    verdict = await sending.try_acquire(700_001)

    assert 0.1 < verdict.wait <= 0.125
    assert not verdict.chat_bound


@pytest.fixture
async def stand_in(aiohttp_server) -> AsyncIterator[tuple[LocalChat, str]]:
    chat = LocalChat(bare_config(TOKEN, FloodLimits(enabled=False)))
    server = await aiohttp_server(localchat_app(chat))
    for user in (100001, 100002, 100003):
        chat.send_text(user, "hi")  # a bot may only write to users who wrote first
    yield chat, str(server.make_url("/_local"))
    await chat.close()


def bot_with(limiter: RateLimiter, base: str) -> Bot:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    bot.session.middleware(RetryAfter())
    bot.session.middleware(RepliesFirst(limiter))
    return bot


async def test_the_bots_replies_are_charged_and_the_senders_own_calls_are_not(stand_in):
    _, base = stand_in
    replies, sends = LocalRateLimiter(LIMITS, Frozen()), LocalRateLimiter(LIMITS, Frozen())
    replying, sending = bot_with(replies, base), bot_with(sends, base)
    try:
        for user in (100001, 100002, 100003):
            await replying.send_message(user, "您好")
            with own_retries():  # how the outbox sender calls (BotTransport)
                await sending.send_message(user, "通知")
    finally:
        await replying.session.close()
        await sending.session.close()

    assert (await replies.try_acquire(700_001)).wait > 0
    assert (await sends.try_acquire(700_001)).wait == 0
    # Each reply took its chat's second too: a reminder to that person waits for it.
    verdict = await replies.try_acquire(100_001)
    assert verdict.chat_bound and verdict.wait == pytest.approx(1.0)
    assert not (await sends.try_acquire(100_001)).chat_bound


async def test_a_reply_takes_its_chats_second_so_a_reminder_to_the_same_person_waits():
    """CI (test_redis_outage): a broadcast went to a trainee right after the bot's answer to
    them, met Telegram's one message a second per chat, and waited on a 429."""
    limiter = LocalRateLimiter(LIMITS, clock=Frozen())
    await limiter.charge(chat_id=100_001)

    to_them = await limiter.try_acquire(100_001)
    to_another = await limiter.try_acquire(100_002)

    assert to_them.chat_bound and to_them.wait == pytest.approx(1.0)
    assert to_another.wait == 0


@pytest.mark.redis
async def test_with_redis_a_reply_takes_its_chats_second_for_every_instance(redis: Redis):
    prefix = f"jijiao:test-rate:{secrets.token_hex(4)}"
    replying, sending = (
        RedisRateLimiter(redis, LIMITS, prefix),
        RedisRateLimiter(redis, LIMITS, prefix),
    )
    await replying.charge(chat_id=100_001)

    to_them = await sending.try_acquire(100_001)

    assert to_them.chat_bound and 0.9 < to_them.wait <= 1.0
    assert (await sending.try_acquire(100_002)).wait == 0


class Away:
    async def charge(self, channel: str = "telegram", chat_id: int | None = None) -> None:
        raise ConnectionError("Redis is restarting")


async def test_a_reply_goes_even_when_the_shared_limiter_cannot_be_reached(stand_in):
    chat, base = stand_in
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    bot.session.middleware(RepliesFirst(Away()))
    try:
        await bot.send_message(100001, "您好")
    finally:
        await bot.session.close()

    assert [m["text"] for m in chat.messages(100001)["messages"]][-1] == "您好"


async def test_a_burst_of_replies_leaves_the_chat_one_interval_not_one_each():
    """CI (test_far_machine_date_e2e): every reply took a second of its chat, and retried
    replies took it again, so after a conversation the paid confirmation owed more than 10 s."""
    limiter = LocalRateLimiter(LIMITS, clock=Frozen())
    for _ in range(5):
        await limiter.charge(chat_id=100_001)

    assert (await limiter.try_acquire(100_001)).wait == pytest.approx(1.0)


@pytest.mark.redis
async def test_with_redis_a_burst_of_replies_leaves_the_chat_one_interval(redis: Redis):
    prefix = f"jijiao:test-rate:{secrets.token_hex(4)}"
    replying, sending = (
        RedisRateLimiter(redis, LIMITS, prefix),
        RedisRateLimiter(redis, LIMITS, prefix),
    )
    for _ in range(5):
        await replying.charge(chat_id=100_001)

    assert 0.9 < (await sending.try_acquire(100_001)).wait <= 1.0

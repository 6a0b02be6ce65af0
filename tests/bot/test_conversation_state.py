"""What a conversation left half-way keeps in Redis, where the product's conversation state
lives when instances share it: an ID number typed before the phone is shared stays there for
days (FSM_TTL), so it is sealed like the registry's columns and never readable in a copy of
Redis (a dump, a replica, `MONITOR`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.callbacks import EnrolAction, EnrolCallback
from infra.settings import load_settings
from jijiao.app import make_storage
from tests.conftest import BotHarness
from tests.support import registry, updates
from tests.support.clock import days_from_today

pytestmark = pytest.mark.redis

ZHANG = updates.user(100001, "张三")
KEY = StorageKey(bot_id=7000000001, chat_id=100001, user_id=100001)


@pytest.fixture
async def storage(redis_url: str) -> AsyncIterator[BaseStorage]:
    """The storage the product builds when REDIS_URL is set."""
    storage = make_storage(load_settings(redis={"url": redis_url}), registry.PII)
    yield storage
    await storage.close()


async def everything_in(redis_url: str) -> str:
    """All that Redis holds for ZHANG's chat (keys `fsm:BOT:CHAT:USER:state|data`)."""
    redis = Redis.from_url(redis_url)
    try:
        values = [await redis.get(key) for key in await redis.keys(f"fsm:*:{KEY.chat_id}:*")]
    finally:
        await redis.aclose()
    return "\n".join(value.decode(errors="replace") for value in values if value)


def runs_of(digits: str, length: int = 6) -> set[str]:
    return {digits[i : i + length] for i in range(len(digits) - length + 1)}


async def test_an_id_number_typed_half_way_is_not_readable_in_redis(
    harness: BotHarness, redis_url: str
):
    zhang = await registry.person(1, "张三", "13800000001")
    await registry.certificate(zhang, "云建安B(2024)0001234", "safety_b", days_from_today(124))
    id_number = registry.id_number(1)

    await harness.feed(updates.click(EnrolCallback(action=EnrolAction.MYSELF).pack(), ZHANG))
    await harness.feed(updates.message(id_number, ZHANG))
    assert "姓名" in harness.last_text()  # the ID number is kept until the phone is shared

    kept = await everything_in(redis_url)
    assert kept  # the conversation's step and data are there...
    assert not [run for run in runs_of(id_number) if run in kept]  # ...the ID number is not

    await harness.feed(updates.message("张三", ZHANG))
    await harness.feed(updates.contact("+86 138-0000-0001", ZHANG))
    assert any("身份已确认：张*，身份证 530102********0011" in t for t in harness.session.texts())


async def test_conversations_written_before_the_seal_are_still_read(
    storage: BaseStorage, redis_url: str
):
    """An instance of the version before wrote them in plain JSON; they end within FSM_TTL."""
    older = RedisStorage.from_url(redis_url)
    await older.set_state(KEY, "Enrolment:name")
    await older.set_data(KEY, {"id_number": registry.id_number(1)})
    await older.close()

    assert await storage.get_state(KEY) == "Enrolment:name"
    assert await storage.get_data(KEY) == {"id_number": registry.id_number(1)}
    await storage.update_data(KEY, {"name": "张三"})
    assert await storage.get_data(KEY) == {"id_number": registry.id_number(1), "name": "张三"}
    assert registry.id_number(1) not in await everything_in(redis_url)

from collections.abc import Awaitable, Callable

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiohttp.test_utils import TestClient

from localchat import FloodLimits, LocalChat, LocalChatConfig
from tests.localchat.conftest import GROUP_ID, TOKEN, FakeClock
from tests.support.serving import localchat_app

USER = 100001


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> LocalChatConfig:
    return LocalChatConfig(token=TOKEN, limits=FloodLimits())


@pytest.fixture
def chat(config: LocalChatConfig, clock: FakeClock) -> LocalChat:
    return LocalChat(config, clock=clock)


async def test_sending_faster_than_one_message_per_second_to_a_user_gets_429_with_retry_after(
    client: TestClient, chat: LocalChat, bot: Bot, clock: FakeClock
) -> None:
    chat.send_text(USER, "/start")
    for n in range(3):  # a short burst is tolerated
        await bot.send_message(USER, f"burst {n}")

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "one too many")
    clock.advance(caught.value.retry_after)
    await bot.send_message(USER, "after waiting")

    assert caught.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in caught.value.message
    stats = await (await client.get("/_local/api/stats")).json()
    assert stats["sent"] == 4 and stats["rejected_429"] == 1


async def test_the_raw_429_carries_retry_after_in_parameters(
    client: TestClient, chat: LocalChat
) -> None:
    chat.send_text(USER, "/start")
    url = f"/_local/bot{TOKEN}/sendMessage"
    for _ in range(3):
        await client.post(url, data={"chat_id": str(USER), "text": "x"})

    response = await client.post(url, data={"chat_id": str(USER), "text": "x"})

    assert response.status == 429
    assert await response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


async def test_more_than_twenty_messages_a_minute_to_the_group_gets_429(
    bot: Bot, clock: FakeClock
) -> None:
    for n in range(20):
        await bot.send_message(GROUP_ID, f"ticket {n}")
        clock.advance(0.1)

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(GROUP_ID, "ticket 21")

    assert 1 <= caught.value.retry_after <= 3
    clock.advance(caught.value.retry_after)
    await bot.send_message(GROUP_ID, "ticket 21 again")


async def test_more_than_thirty_messages_a_second_across_chats_gets_429(
    chat: LocalChat, bot: Bot
) -> None:
    users = [200000 + n for n in range(31)]
    for user_id in users:
        chat.send_text(user_id, "/start")
    for user_id in users[:30]:
        await bot.send_message(user_id, "broadcast")

    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(users[30], "broadcast")


async def test_copies_count_against_the_limits_too(chat: LocalChat, bot: Bot) -> None:
    question = chat.send_text(USER, "/start")
    for _ in range(3):
        await bot.copy_message(USER, USER, question["message_id"])
    with pytest.raises(TelegramRetryAfter):
        await bot.copy_message(USER, USER, question["message_id"])


async def test_limits_switched_off_never_answer_429(
    aiohttp_client: Callable[..., Awaitable[TestClient]], clock: FakeClock
) -> None:
    local = LocalChat(LocalChatConfig(token=TOKEN, limits=FloodLimits(enabled=False)), clock=clock)
    client = await aiohttp_client(localchat_app(local))
    local.send_text(USER, "/start")

    statuses = [
        (
            await client.post(
                f"/_local/bot{TOKEN}/sendMessage", data={"chat_id": str(USER), "text": "x"}
            )
        ).status
        for _ in range(50)
    ]

    assert set(statuses) == {200}

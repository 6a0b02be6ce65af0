from __future__ import annotations

import gc
import weakref

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.methods.base import Response

from infra.telegram import RESPONSE_MODELS, RetryAfter
from localchat import FloodLimits, LocalChat
from tests.support.serving import bare_config, localchat_app

TOKEN = "7000000001:session-test"


@pytest.fixture
async def stand_in(aiohttp_server):
    chat = LocalChat(bare_config(TOKEN, FloodLimits(private_per_second=1, private_burst=2)))
    server = await aiohttp_server(localchat_app(chat))
    chat.send_text(100001, "hi")  # a bot may only write to users who wrote first
    yield chat, str(server.make_url("/_local"))
    await chat.close()


async def test_replies_sent_faster_than_telegram_allows_wait_and_all_arrive(stand_in):
    chat, base = stand_in
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    bot.session.middleware(RetryAfter(max_wait=10))
    for n in range(4):
        await bot.send_message(100001, f"第{n}条")
    await bot.session.close()

    texts = [m["text"] for m in chat.messages(100001)["messages"]]
    assert texts == ["第0条", "第1条", "第2条", "第3条"]
    assert chat.stats["rejected_429"] >= 1


async def test_a_wait_longer_than_allowed_is_reported_not_hidden(stand_in):
    _, base = stand_in
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    bot.session.middleware(RetryAfter(max_wait=0))
    with pytest.raises(TelegramRetryAfter):
        for n in range(4):
            await bot.send_message(100001, f"{n}")
    await bot.session.close()


def test_the_models_aiogram_reads_answers_with_are_built_once_and_kept():
    """pydantic holds `Response[...]` weakly: collected, it is built again on the next call
    (about 1 ms each, 4 % of an instance's busy time in bench/bench_load.py's profile)."""
    kept = weakref.ref(Response[SendMessage.__returning__])
    answered = weakref.ref(Response[AnswerCallbackQuery.__returning__])

    gc.collect()

    assert kept() is not None and answered() is not None
    assert kept() in RESPONSE_MODELS

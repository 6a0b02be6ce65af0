from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import weakref
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import AnswerCallbackQuery, AnswerInlineQuery, EditMessageText, SendMessage
from aiogram.methods.base import Response
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
)
from aiohttp import web

from infra.telegram import RESPONSE_MODELS, JsonSession, RetryAfter
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


# ---- JsonSession: calls without a file as one JSON body ---------------------------------------

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="去缴费", callback_data="pay:7")]]
)


def json_bot(base: str, timeout: float = 5) -> Bot:
    """As the product makes it (jijiao/app.py: make_bot): HTML by default."""
    return Bot(
        TOKEN,
        session=JsonSession(api=TelegramAPIServer.from_base(base), timeout=timeout),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


@pytest.fixture
async def recorder(aiohttp_server):
    """A Bot API that records what it is sent and answers as Telegram does."""
    seen: list[tuple[str, str, bytes]] = []
    answer: dict[str, Any] = {"status": 200}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append((request.match_info["method"], request.content_type, body))
        if answer.get("hang"):
            await asyncio.sleep(5)
        if "raw" in answer:
            return web.Response(text=answer["raw"], content_type="application/json")
        if answer["status"] != 200:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                status=400,
            )
        result = {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 100001, "type": "private"},
            "text": "ok",
        }
        return web.json_response({"ok": True, "result": result})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", handle)
    server = await aiohttp_server(app)
    yield seen, answer, str(server.make_url(""))


async def test_a_call_without_a_file_goes_as_one_json_body(recorder):
    seen, _, base = recorder
    bot = json_bot(base)
    sent = await bot.send_message(100001, "合计：<b>¥30</b>", reply_markup=KEYBOARD)
    await bot.session.close()

    assert sent.message_id == 1  # Telegram's answer read as aiogram reads it
    [(method, content_type, body)] = seen
    assert (method, content_type) == ("sendMessage", "application/json")
    assert json.loads(body) == {
        "chat_id": 100001,
        "text": "合计：<b>¥30</b>",
        "parse_mode": "HTML",  # the bot's default, as aiogram's form resolves it
        "reply_markup": {"inline_keyboard": [[{"text": "去缴费", "callback_data": "pay:7"}]]},
    }
    assert "合计".encode() in body  # UTF-8 as it is, not \\u escapes: a smaller body


@pytest.mark.parametrize(
    "method",
    [
        SendMessage(
            chat_id=100001,
            text="<b>合计</b>",
            reply_markup=KEYBOARD,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        EditMessageText(chat_id=100001, message_id=3, text="已付", reply_markup=None),
        AnswerInlineQuery(
            inline_query_id="q",
            results=[
                InlineQueryResultArticle(
                    id="1",
                    title="回执",
                    input_message_content=InputTextMessageContent(message_text="<i>1</i>"),
                )
            ],
        ),
    ],
    ids=["keyboard", "removed-keyboard", "nested-defaults"],
)
async def test_the_json_body_holds_what_aiograms_form_holds(recorder, method):
    """Unset fields are left out before preparing, where aiogram's form leaves them out
    after; the bot's defaults (parse mode) are filled in at every depth all the same."""
    seen, _, base = recorder
    bot = json_bot(base)
    aiograms = {}
    for key, value in method.model_dump(warnings=False).items():
        prepared = bot.session.prepare_value(value, bot=bot, files={}, _dumps_json=False)
        if prepared is not None and prepared != "":
            aiograms[key] = prepared
    with contextlib.suppress(ClientDecodeError):  # the recorder answers every call with a message
        await bot(method)
    await bot.session.close()

    [(_, _, body)] = seen
    assert json.loads(body) == json.loads(json.dumps(aiograms))


async def test_a_call_with_a_file_still_goes_as_aiograms_multipart_form(recorder):
    seen, _, base = recorder
    bot = json_bot(base)
    photo = BufferedInputFile(b"\x89PNG not really", filename="receipt.png")
    await bot.send_photo(100001, photo, caption="回执")
    await bot.session.close()

    [(method, content_type, body)] = seen
    assert (method, content_type) == ("sendPhoto", "multipart/form-data")
    assert b'filename="receipt.png"' in body and "回执".encode() in body


async def test_telegrams_refusal_and_a_timeout_are_aiograms_own_errors(recorder):
    """What the middlewares (RetryAfter, TransientErrors) and the handlers catch."""
    _, answer, base = recorder
    bot = json_bot(base, timeout=0.2)
    answer["status"] = 400
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(100001, "hi")
    answer.update(status=200, hang=True)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(100001, "hi")
    await bot.session.close()


async def test_an_answer_that_is_no_message_is_aiograms_decode_error(recorder):
    _, answer, base = recorder
    bot = json_bot(base)
    for raw in ("<html>bad gateway</html>", '{"ok": true, "result": {"message_id": "x"}}'):
        answer["raw"] = raw
        with pytest.raises(ClientDecodeError):
            await bot.send_message(100001, "hi")
    await bot.session.close()


async def test_the_answer_carries_the_keyboard_just_sent_not_a_copy_read_again(stand_in):
    """Telegram echoes an inline keyboard as it was sent; reading it back was a third of
    reading a reply's answer (docs/operations.md, ninth round)."""
    _, base = stand_in
    bot = json_bot(base)
    sent = await bot.send_message(100001, "合计：<b>¥30</b>", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text(
        "已付", chat_id=100001, message_id=sent.message_id, reply_markup=None
    )
    await bot.session.close()

    assert sent.reply_markup is KEYBOARD
    # The rest of the answer read as aiogram reads it: Telegram's entities, the bot attached.
    assert sent.entities is not None and sent.entities[0].type == "bold"
    assert sent.chat.id == 100001 and sent.bot is bot
    assert isinstance(edited, Message) and edited.reply_markup is None


async def test_the_stand_in_shows_what_a_json_call_sent(stand_in):
    chat, base = stand_in
    bot = json_bot(base)
    await bot.send_message(100001, "合计：<b>¥30</b>", reply_markup=KEYBOARD)
    await bot.session.close()

    [message] = [m for m in chat.messages(100001)["messages"]]
    assert message["text"] == "合计：¥30"
    assert message["entities"][0]["type"] == "bold"
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "pay:7"

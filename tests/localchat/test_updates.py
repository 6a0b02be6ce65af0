import asyncio
import time

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramConflictError, TelegramUnauthorizedError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    MenuButtonWebApp,
    WebAppInfo,
)
from aiohttp.test_utils import TestClient

from localchat import LocalChat
from tests.localchat.conftest import TOKEN

USER = 100001


async def test_get_updates_waits_for_the_next_update_and_returns_as_soon_as_it_comes(
    chat: LocalChat, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    chat.send_text(USER, "hello")
    updates = await poll

    assert time.monotonic() - started < 4  # not the 5 s timeout, however busy the machine
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_get_updates_returns_empty_when_nothing_arrives_within_the_timeout(
    bot: Bot,
) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9


async def test_an_offset_confirms_the_updates_before_it_and_limit_caps_the_batch(
    chat: LocalChat, bot: Bot
) -> None:
    for n in range(3):
        chat.send_text(USER, f"m{n}")
    everything = await bot.get_updates()
    ids = [u.update_id for u in everything]

    two = await bot.get_updates(offset=ids[1], limit=1)
    rest = await bot.get_updates(offset=ids[1])
    after = await bot.get_updates(offset=ids[2] + 1)

    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [u.update_id for u in two] == [ids[1]]
    assert [u.update_id for u in rest] == ids[1:]
    assert after == []
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_allowed_updates_filters_new_updates_and_is_remembered(
    chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "/start")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]
    )
    sent = await bot.send_message(USER, "pick", reply_markup=keyboard)
    first = await bot.get_updates(allowed_updates=["message"])

    clicked = chat.click(USER, sent.message_id, "a")
    chat.send_text(USER, "typed")
    later = await bot.get_updates(offset=first[-1].update_id + 1)

    assert clicked["update_id"] is None
    assert [u.message.text for u in later if u.message] == ["typed"]
    assert all(u.callback_query is None for u in later)


async def test_a_second_poller_terminates_the_first_with_409(chat: LocalChat, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(bot.get_updates(timeout=1))

    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    assert await second == []


async def test_method_names_are_case_insensitive_and_unknown_ones_are_404(
    client: TestClient,
) -> None:
    me = await client.post(f"/_local/bot{TOKEN}/GETME")
    unknown = await client.post(f"/_local/bot{TOKEN}/sendTelepathy")

    assert (await me.json())["result"]["is_bot"] is True
    assert unknown.status == 404
    assert await unknown.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }


async def test_a_wrong_token_is_unauthorized(client: TestClient) -> None:
    response = await client.post("/_local/bot123456:wrong/getMe")
    assert response.status == 401
    assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    api = TelegramAPIServer.from_base(str(client.make_url("/_local")))
    other = Bot("123456:wrong", session=AiohttpSession(api=api))
    with pytest.raises(TelegramUnauthorizedError):
        await other.get_me()
    await other.session.close()


async def test_commands_are_kept_per_scope_and_language_and_shown_to_the_user(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "/start", language_code="zh")
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [
            BotCommand(command="start", description="开始"),
            BotCommand(command="help", description="帮助"),
        ],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="zh",
    )

    default = await bot.get_my_commands()
    chinese = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="zh")
    for_chat = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=USER))
    shown = await (await client.get(f"/_local/api/users/{USER}/messages")).json()
    await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="zh")
    after_delete = await (await client.get(f"/_local/api/users/{USER}/messages")).json()

    assert [c.description for c in default] == ["Start"]
    assert [c.command for c in chinese] == ["start", "help"]
    assert for_chat == []
    assert [c["description"] for c in shown["commands"]] == ["开始", "帮助"]
    assert [c["description"] for c in after_delete["commands"]] == ["Start"]


async def test_the_menu_button_can_be_a_mini_app_for_one_chat_or_for_everyone(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "/start")
    chat.send_text(100002, "/start")
    app = MenuButtonWebApp(text="学习", web_app=WebAppInfo(url="http://127.0.0.1:8080/app"))

    assert isinstance(await bot.get_chat_menu_button(), MenuButtonCommands)
    await bot.set_chat_menu_button(chat_id=USER, menu_button=app)
    mine = await bot.get_chat_menu_button(chat_id=USER)
    theirs = await bot.get_chat_menu_button(chat_id=100002)
    await bot.set_chat_menu_button(menu_button=app)
    everyone = await bot.get_chat_menu_button(chat_id=100002)
    shown = await (await client.get(f"/_local/api/users/{USER}/messages")).json()

    assert isinstance(mine, MenuButtonWebApp) and mine.web_app.url.endswith("/app")
    assert isinstance(theirs, MenuButtonCommands)
    assert isinstance(everyone, MenuButtonWebApp)
    assert shown["menu_button"]["type"] == "web_app"


async def test_blocking_the_bot_is_announced_as_a_my_chat_member_update(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "/start")
    await client.post(f"/_local/api/users/{USER}/block")
    updates = await bot.get_updates()

    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    assert member.from_user.id == USER


async def test_descriptions_and_names_are_kept_per_language(bot: Bot) -> None:
    await bot.set_my_description("继续教育助手")
    await bot.set_my_short_description("Continuing education", language_code="en")

    assert (await bot.get_my_description()).description == "继续教育助手"
    assert (await bot.get_my_description(language_code="en")).description == "继续教育助手"
    assert (await bot.get_my_short_description(language_code="en")).short_description == (
        "Continuing education"
    )
    assert (await bot.get_my_name()).name == "继教 jijiao"


async def test_polls_arriving_after_shutdown_began_answer_at_once() -> None:
    import asyncio

    from localchat import FloodLimits, LocalChat
    from tests.support.serving import bare_config

    chat = LocalChat(bare_config("1:t", FloodLimits(enabled=False)))
    chat.begin_shutdown()
    async with asyncio.timeout(5):  # each would otherwise wait its full 30 s
        await chat.wait_messages(100001, wait=30)
        assert await chat.get_updates(None, 100, 30, None) == []
    await chat.close()

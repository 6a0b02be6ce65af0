from collections.abc import Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp.test_utils import TestClient

from localchat import LocalChat
from tests.localchat.conftest import BOT_ID, Polling, eventually

USER = 100001


async def get_json(client: TestClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params={k: str(v) for k, v in params.items()})
    assert response.status == 200, await response.text()
    return await response.json()


async def post_json(client: TestClient, path: str, body: Any) -> Any:
    response = await client.post(path, json=body)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_user_message_reaches_the_polling_bot_and_its_reply_shows_in_the_users_chat(
    client: TestClient, polling: Callable[[Dispatcher], Polling]
) -> None:
    dp = Dispatcher()
    seen: list[Message] = []

    @dp.message(CommandStart())
    async def greet(message: Message) -> None:
        seen.append(message)
        await message.answer(f"<b>你好</b>, {message.from_user.first_name}", parse_mode="HTML")

    async with polling(dp):
        sent = await post_json(
            client,
            f"/_local/api/users/{USER}/send",
            {"text": "/start", "first_name": "王芳", "language_code": "zh"},
        )
        reply = await get_json(client, f"/_local/api/users/{USER}/messages", wait=5)

    assert sent["message_id"] == 1 and isinstance(sent["update_id"], int)
    assert seen[0].chat.id == USER and seen[0].chat.type == "private"
    assert seen[0].from_user.language_code == "zh"
    assert seen[0].entities[0].type == "bot_command"
    [message] = reply["messages"]
    assert message["from_bot"] is True
    assert message["text"] == "你好, 王芳"
    assert message["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    assert message["message_id"] > sent["message_id"]


async def test_the_users_chat_lists_only_the_bots_messages_unless_all_is_asked(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "hello")
    await bot.send_message(USER, "hi there")

    bot_only = await get_json(client, f"/_local/api/users/{USER}/messages")
    everything = await get_json(client, f"/_local/api/users/{USER}/messages", all=1)
    after_first = await get_json(client, f"/_local/api/users/{USER}/messages", all=1, after=1)

    assert [m["text"] for m in bot_only["messages"]] == ["hi there"]
    assert [m["text"] for m in everything["messages"]] == ["hello", "hi there"]
    assert [m["text"] for m in after_first["messages"]] == ["hi there"]


async def test_waiting_for_messages_returns_empty_after_the_wait_when_the_bot_is_silent(
    client: TestClient, chat: LocalChat
) -> None:
    chat.send_text(USER, "anyone?")
    result = await get_json(client, f"/_local/api/users/{USER}/messages", wait=0.2)
    assert result["messages"] == []


async def test_clicking_an_inline_button_brings_a_callback_the_bot_answers_and_edits(
    client: TestClient, polling: Callable[[Dispatcher], Polling]
) -> None:
    dp = Dispatcher()
    answered: list[CallbackQuery] = []

    @dp.message(F.text == "menu")
    async def menu(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="报名 Enrol", callback_data="enrol:7")],
            ]
        )
        await message.answer("Choose", reply_markup=keyboard)

    @dp.callback_query(F.data.startswith("enrol:"))
    async def enrol(query: CallbackQuery) -> None:
        answered.append(query)
        await query.answer("已报名", show_alert=True)
        assert isinstance(query.message, Message)
        await query.message.edit_text("Enrolled in course 7")

    async with polling(dp):
        await post_json(client, f"/_local/api/users/{USER}/send", {"text": "menu"})
        shown = await get_json(client, f"/_local/api/users/{USER}/messages", wait=5)
        menu_message = shown["messages"][0]
        clicked = await post_json(
            client,
            f"/_local/api/users/{USER}/click",
            {"message_id": menu_message["message_id"], "data": "enrol:7"},
        )
        revision = shown["revision"]
        edited: dict[str, Any] = {}
        for _ in range(10):
            changes = await get_json(
                client, f"/_local/api/users/{USER}/messages", changed_after=revision, wait=5
            )
            revision = changes["revision"]
            edited.setdefault("toasts", []).extend(changes["toasts"])
            if changes["messages"]:
                edited["message"] = changes["messages"][-1]
                break

    assert answered[0].data == "enrol:7"
    assert answered[0].chat_instance
    assert clicked["callback_query_id"] == answered[0].id
    assert edited["toasts"][0]["text"] == "已报名" and edited["toasts"][0]["show_alert"] is True
    assert edited["message"]["text"] == "Enrolled in course 7"
    assert edited["message"]["edited"] is True
    assert edited["message"]["reply_markup"] is None  # the edit did not repeat the keyboard


async def test_clicking_a_button_the_message_does_not_have_is_refused(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "hi")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]
    )
    sent = await bot.send_message(USER, "pick", reply_markup=keyboard)

    response = await client.post(
        f"/_local/api/users/{USER}/click", json={"message_id": sent.message_id, "data": "b"}
    )

    assert response.status == 400
    assert (await response.json())["ok"] is False


async def test_a_user_shares_their_own_contact_or_forwards_someone_elses(
    client: TestClient, polling: Callable[[Dispatcher], Polling]
) -> None:
    dp = Dispatcher()
    contacts: list[Message] = []

    @dp.message(F.contact)
    async def got_contact(message: Message) -> None:
        contacts.append(message)

    async with polling(dp):
        await post_json(
            client,
            f"/_local/api/users/{USER}/send",
            {"contact": {"phone_number": "+8613800000000"}, "first_name": "李雷"},
        )
        await post_json(
            client,
            f"/_local/api/users/{USER}/send",
            {
                "contact": {
                    "phone_number": "+8613900000000",
                    "first_name": "韩梅梅",
                    "user_id": 100777,
                },
                "forwarded": True,
            },
        )
        await eventually(lambda: len(contacts) == 2)

    own, other = contacts
    assert own.contact.user_id == own.from_user.id == USER
    assert own.contact.first_name == "李雷"
    assert own.forward_origin is None
    assert other.contact.user_id == 100777 and other.contact.user_id != other.from_user.id
    assert other.forward_origin is not None


async def test_a_reply_keyboard_with_a_contact_button_becomes_the_chats_keyboard_until_removed(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "/start")
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📱 Share phone", request_contact=True)]],
        resize_keyboard=True,
    )
    await bot.send_message(USER, "Please share your phone", reply_markup=keyboard)
    shown = await get_json(client, f"/_local/api/users/{USER}/messages")
    await bot.send_message(USER, "Thanks", reply_markup=ReplyKeyboardRemove())
    removed = await get_json(client, f"/_local/api/users/{USER}/messages")

    assert shown["keyboard"]["keyboard"][0][0]["request_contact"] is True
    assert removed["keyboard"] is None


async def test_a_user_edit_reaches_the_bot_as_an_edited_message(
    client: TestClient, chat: LocalChat, polling: Callable[[Dispatcher], Polling]
) -> None:
    dp = Dispatcher()
    edits: list[Message] = []

    @dp.edited_message()
    async def on_edit(message: Message) -> None:
        edits.append(message)
        await message.answer("noted")

    async with polling(dp):
        sent = chat.send_text(USER, "姓名: 张三")
        await post_json(
            client,
            f"/_local/api/users/{USER}/edit",
            {"message_id": sent["message_id"], "text": "姓名: 张三丰"},
        )
        await get_json(client, f"/_local/api/users/{USER}/messages", wait=5)

    assert edits[0].text == "姓名: 张三丰" and edits[0].edit_date is not None
    assert edits[0].message_id == sent["message_id"]


async def test_a_user_who_blocked_the_bot_makes_sends_fail_with_403_until_unblocked(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "/start")
    await post_json(client, f"/_local/api/users/{USER}/block", {})

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "still there?")
    users = await get_json(client, "/_local/api/users")
    await post_json(client, f"/_local/api/users/{USER}/unblock", {})
    await bot.send_message(USER, "welcome back")

    assert users["users"][0]["blocked"] is True


async def test_the_bot_cannot_write_first_to_a_user_who_never_opened_the_chat(
    client: TestClient, bot: Bot
) -> None:
    created = await post_json(
        client, "/_local/api/users", {"first_name": "Lurker", "language_code": "en"}
    )

    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(created["id"], "hello?")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(555, "nobody")


async def test_created_users_get_fresh_ids_and_are_listed(client: TestClient) -> None:
    first = await post_json(client, "/_local/api/users", {"first_name": "A"})
    second = await post_json(
        client, "/_local/api/users", {"first_name": "B", "language_code": "en"}
    )
    listed = await get_json(client, "/_local/api/users")

    assert second["id"] != first["id"] and first["id"] >= 100001
    assert {u["id"]: u["language_code"] for u in listed["users"]} == {
        first["id"]: "zh",
        second["id"]: "en",
    }
    assert all(u["blocked"] is False for u in listed["users"])


async def test_deleting_a_message_shows_as_deleted_to_a_page_watching_changes(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "hi")
    sent = await bot.send_message(USER, "temporary")
    before = await get_json(client, f"/_local/api/users/{USER}/messages")
    await bot.delete_message(USER, sent.message_id)
    changes = await get_json(
        client, f"/_local/api/users/{USER}/messages", changed_after=before["revision"]
    )

    assert [(m["message_id"], m["deleted"]) for m in changes["messages"]] == [
        (sent.message_id, True)
    ]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == BOT_ID and me.is_bot and me.username == "jijiao_local_bot"
    assert me.can_join_groups is True


async def test_chat_actions_show_as_typing_to_the_page(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "hi")
    await bot.send_chat_action(USER, "typing")
    shown = await get_json(client, f"/_local/api/users/{USER}/messages")
    assert shown["chat_action"] == "typing"

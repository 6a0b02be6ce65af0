from collections.abc import Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberLeft,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    WebAppInfo,
)
from aiohttp.test_utils import TestClient

from localchat import LocalChat
from tests.localchat.conftest import BOT_ID, GROUP_ID, STAFF_ID, Polling, eventually

USER = 100001


async def chat_messages(client: TestClient, **params: Any) -> Any:
    response = await client.get(
        f"/_local/api/chats/{GROUP_ID}/messages", params={k: str(v) for k, v in params.items()}
    )
    assert response.status == 200
    return await response.json()


async def test_the_staff_group_is_a_forum_supergroup_listed_with_its_topics(
    client: TestClient, bot: Bot
) -> None:
    topic = await bot.create_forum_topic(GROUP_ID, "王芳 #100001", icon_color=16766590)
    listed = await (await client.get("/_local/api/chats")).json()

    [group] = listed["chats"]
    assert group["id"] == GROUP_ID and group["is_forum"] is True
    assert group["topics"] == [
        {
            "message_thread_id": topic.message_thread_id,
            "name": "王芳 #100001",
            "icon_color": 16766590,
            "closed": False,
            "deleted": False,
        }
    ]
    info = await bot.get_chat(GROUP_ID)
    assert info.type == "supergroup" and info.is_forum is True


async def test_a_users_message_copied_into_a_topic_and_a_staff_reply_copied_back(
    client: TestClient, chat: LocalChat, bot: Bot, polling: Callable[[Dispatcher], Polling]
) -> None:
    dp = Dispatcher()
    staff_replies: list[Message] = []

    @dp.message(F.chat.id == GROUP_ID, F.message_thread_id)
    async def from_staff(message: Message) -> None:
        staff_replies.append(message)
        await bot.copy_message(USER, GROUP_ID, message.message_id)

    question = chat.send_text(USER, "证书什么时候发?")
    topic = await bot.create_forum_topic(GROUP_ID, "王芳")
    copied = await bot.copy_message(
        GROUP_ID, USER, question["message_id"], message_thread_id=topic.message_thread_id
    )
    async with polling(dp):
        response = await client.post(
            f"/_local/api/chats/{GROUP_ID}/send",
            json={
                "from_user_id": STAFF_ID,
                "text": "明天发放",
                "message_thread_id": topic.message_thread_id,
            },
        )
        assert response.status == 200
        await eventually(lambda: len(staff_replies) == 1)
        reply = await (
            await client.get(f"/_local/api/users/{USER}/messages", params={"wait": "5"})
        ).json()

    in_topic = await chat_messages(client, all=1, thread_id=topic.message_thread_id)
    assert [m["text"] for m in in_topic["messages"]] == [None, "证书什么时候发?", "明天发放"]
    assert in_topic["messages"][0]["service"]["type"] == "forum_topic_created"
    assert in_topic["messages"][1]["message_id"] == copied.message_id
    assert in_topic["messages"][2]["from"] == {
        "id": STAFF_ID,
        "first_name": "客服小李",
        "is_bot": False,
    }
    assert staff_replies[0].is_topic_message is True
    assert staff_replies[0].chat.is_forum is True
    assert [m["text"] for m in reply["messages"]] == ["明天发放"]


async def test_closing_reopening_and_deleting_a_topic(chat: LocalChat, bot: Bot) -> None:
    topic = await bot.create_forum_topic(GROUP_ID, "Ticket 1")
    thread = topic.message_thread_id
    await bot.send_message(GROUP_ID, "opened", message_thread_id=thread)

    await bot.close_forum_topic(GROUP_ID, thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(GROUP_ID, thread)
    await bot.reopen_forum_topic(GROUP_ID, thread)
    await bot.edit_forum_topic(GROUP_ID, thread, name="Ticket 1 (done)")
    await bot.delete_forum_topic(GROUP_ID, thread)

    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(GROUP_ID, "too late", message_thread_id=thread)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(GROUP_ID, "never existed", message_thread_id=99999)
    left = chat.messages(GROUP_ID, include_user=True, thread_id=thread)["messages"]
    assert left and all(m["deleted"] for m in left)


async def test_topics_exist_only_in_forums(chat: LocalChat, bot: Bot) -> None:
    chat.send_text(USER, "hi")
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(USER, "nope")


async def test_the_staff_see_a_forwarded_user_message_with_its_origin(
    client: TestClient, chat: LocalChat, bot: Bot
) -> None:
    question = chat.send_text(USER, "help", first_name="王芳")
    forwarded = await bot.forward_message(GROUP_ID, USER, question["message_id"])

    assert forwarded.forward_origin.sender_user.id == USER
    assert forwarded.text == "help"
    shown = await chat_messages(client)
    assert shown["messages"][-1]["forward_origin"]["sender_user"]["first_name"] == "王芳"


async def test_membership_staff_are_administrators_and_others_have_left(
    chat: LocalChat, bot: Bot
) -> None:
    chat.send_text(USER, "hi")
    staff = await bot.get_chat_member(GROUP_ID, STAFF_ID)
    outsider = await bot.get_chat_member(GROUP_ID, USER)
    itself = await bot.get_chat_member(GROUP_ID, BOT_ID)

    assert isinstance(staff, ChatMemberAdministrator)
    assert isinstance(outsider, ChatMemberLeft)
    assert isinstance(itself, ChatMemberAdministrator) and itself.can_manage_topics
    assert (await bot.get_chat_member(USER, USER)).status == "member"


async def test_posting_in_the_group_as_a_non_member_is_forbidden(
    client: TestClient, chat: LocalChat
) -> None:
    chat.send_text(USER, "hi")
    for user_id in (USER, 424242):
        response = await client.post(
            f"/_local/api/chats/{GROUP_ID}/send",
            json={"from_user_id": user_id, "text": "let me in"},
        )
        assert response.status == 403
        assert (await response.json())["error_code"] == 403


async def test_staff_click_buttons_in_the_group(
    client: TestClient, bot: Bot, polling: Callable[[Dispatcher], Polling]
) -> None:
    dp = Dispatcher()
    clicks: list[str] = []

    @dp.callback_query()
    async def on_click(query: Any) -> None:
        clicks.append(f"{query.from_user.id}:{query.data}")
        await query.answer()

    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Close", callback_data="close:1")]]
    )
    sent = await bot.send_message(GROUP_ID, "Ticket", reply_markup=keyboard)
    async with polling(dp):
        response = await client.post(
            f"/_local/api/chats/{GROUP_ID}/click",
            json={"from_user_id": STAFF_ID, "message_id": sent.message_id, "data": "close:1"},
        )
        assert response.status == 200
        await eventually(lambda: len(clicks) == 1)

    assert clicks == [f"{STAFF_ID}:close:1"]


async def test_mini_app_buttons_are_refused_in_groups_like_telegram_does(bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Open", web_app=WebAppInfo(url="https://example.test/app"))]
        ]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_TYPE_INVALID"):
        await bot.send_message(GROUP_ID, "x", reply_markup=keyboard)

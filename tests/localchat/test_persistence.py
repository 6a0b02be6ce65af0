import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonWebApp,
    WebAppInfo,
)
from aiohttp.test_utils import TestClient

from localchat import FloodLimits, LocalChat, LocalChatConfig
from tests.localchat.conftest import GROUP_ID, TOKEN
from tests.support.serving import localchat_app

USER = 100001


def persistent(tmp_path: Path) -> LocalChatConfig:
    return LocalChatConfig(
        token=TOKEN,
        state_path=tmp_path / "chat.json",
        files_dir=tmp_path / "files",
        limits=FloodLimits(enabled=False),
    )


async def test_a_restart_from_the_same_state_path_keeps_the_conversation(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    first = LocalChat(persistent(tmp_path))
    client = await aiohttp_client(localchat_app(first))
    bot = Bot(
        TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(str(client.make_url("/_local")))),
    )
    first.send_text(USER, "/start", first_name="王芳")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]]
    )
    await bot.send_message(USER, "Welcome", reply_markup=keyboard)
    certificate = await bot.send_document(USER, BufferedInputFile(b"certificate", "cert.pdf"))
    await bot.create_forum_topic(GROUP_ID, "王芳")
    await bot.set_my_commands([BotCommand(command="start", description="开始")])
    await bot.set_chat_menu_button(
        USER, MenuButtonWebApp(text="Open", web_app=WebAppInfo(url="https://example.test/app"))
    )
    first.send_text(USER, "unread")
    await bot.session.close()
    await first.close()

    second = LocalChat(persistent(tmp_path))

    shown = second.messages(USER, include_user=True)
    assert [m["text"] for m in shown["messages"]] == ["/start", "Welcome", None, "unread"]
    assert shown["messages"][1]["reply_markup"] == keyboard.model_dump(exclude_none=True)
    assert shown["menu_button"]["web_app"]["url"] == "https://example.test/app"
    assert shown["commands"] == [{"command": "start", "description": "开始"}]
    assert second.users[USER].first_name == "王芳"
    assert second.file_content(certificate.document.file_id) == (b"certificate", "application/pdf")
    assert [t["name"] for t in second.list_chats()[0]["topics"]] == ["王芳"]
    pending = [u["message"]["text"] for u in second.updates]
    assert pending[-1] == "unread"
    next_update = second.send_text(USER, "after restart")
    assert next_update["update_id"] > max(
        u["update_id"] for u in second.updates if u["update_id"] != next_update["update_id"]
    )
    assert next_update["message_id"] == 5


async def test_changes_are_written_shortly_after_they_happen(tmp_path: Path) -> None:
    chat = LocalChat(persistent(tmp_path))
    chat.send_text(USER, "hello")
    await asyncio.sleep(0.8)

    assert "hello" in (tmp_path / "chat.json").read_text(encoding="utf-8")
    await chat.close()


async def test_an_unreadable_snapshot_is_set_aside_and_the_chat_starts_empty(
    tmp_path: Path,
) -> None:
    (tmp_path / "chat.json").write_text("{not json", encoding="utf-8")

    chat = LocalChat(persistent(tmp_path))

    assert chat.list_users() == []
    assert (tmp_path / "chat.json.corrupt").exists()

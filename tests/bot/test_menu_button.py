"""The button beside the message field speaks the person's language: Chinese by default from
start-up, English for an English Telegram client from its very first update, before any reply
and before a language is picked (Telegram has no per-language default for it)."""

from __future__ import annotations

from aiogram.methods import SetChatMenuButton, SetMyCommands

from bot.commands import register_commands, register_menu_button
from tests.conftest import WEBAPP_URL, BotHarness
from tests.support import updates


async def test_start_up_sets_the_default_menu_button_in_chinese_and_english_commands(
    recording_bot, i18n
):
    bot, session = recording_bot
    await register_commands(bot, i18n)
    await register_menu_button(bot, i18n, WEBAPP_URL)

    [button] = session.sent(SetChatMenuButton)
    assert button.chat_id is None  # every chat's default
    assert button.menu_button.text == "学习" and button.menu_button.web_app.url == WEBAPP_URL
    by_language = {c.language_code: c.commands[0].description for c in session.sent(SetMyCommands)}
    assert by_language == {None: "欢迎与主菜单", "en": "Welcome and main menu"}


async def test_an_english_client_gets_an_english_menu_button_with_its_first_update(
    harness: BotHarness,
):
    tom = updates.user(100091, "Tom", "en")
    await harness.feed(updates.message("hello", tom))

    [button] = harness.session.sent(SetChatMenuButton)
    assert button.chat_id == tom["id"] and button.menu_button.text == "Study"
    [commands] = harness.session.sent(SetMyCommands)
    assert commands.commands[0].description == "Welcome and main menu"

    await harness.feed(updates.message("thanks", tom))  # once is enough
    assert len(harness.session.sent(SetChatMenuButton)) == 1


async def test_a_chinese_client_keeps_the_default_button_without_a_call(harness: BotHarness):
    await harness.feed(updates.message("/start", updates.user(100092, "张三")))
    assert not harness.session.sent(SetChatMenuButton)

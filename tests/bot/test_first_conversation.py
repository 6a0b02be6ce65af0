from __future__ import annotations

from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendMessage,
    SetChatMenuButton,
    SetMyCommands,
)

from bot.callbacks import LanguageCallback
from domain.accounts import ChatUserId
from domain.locales import Locale
from tests.conftest import WEBAPP_URL, BotHarness
from tests.support import updates


def _buttons(request: SendMessage) -> list[tuple[str, str | None]]:
    markup = request.reply_markup
    assert markup is not None
    return [
        (button.text, button.callback_data or (button.web_app.url if button.web_app else None))
        for row in markup.inline_keyboard  # type: ignore[union-attr]
        for button in row
    ]


async def test_start_greets_a_chinese_user_in_chinese_with_the_main_menu(harness: BotHarness):
    await harness.feed(updates.message("/start", updates.user(first_name="张三")))

    [reply] = harness.session.sent(SendMessage)
    assert "张三，您好" in reply.text
    labels = [text for text, _ in _buttons(reply)]
    assert labels[:4] == ["📝 报名", "📋 我的进度", "💳 缴费", "📖 学习"]
    assert ("📖 学习", WEBAPP_URL) in _buttons(reply)
    assert ("🗂 学习记录", f"{WEBAPP_URL}/records") in _buttons(reply)


async def test_start_greets_an_english_telegram_user_in_english(harness: BotHarness):
    await harness.feed(updates.message("/start", updates.user(first_name="Li", language_code="en")))

    assert harness.last_text().startswith("Hello, Li!")


async def test_a_language_we_do_not_speak_falls_back_to_chinese(harness: BotHarness):
    await harness.feed(updates.message("/start", updates.user(language_code="ru")))
    await harness.feed(updates.message("/start", updates.user(user_id=5, language_code=None)))

    assert all("您好" in text for text in harness.session.texts())


async def test_switching_to_english_is_remembered_for_later_messages(harness: BotHarness):
    chinese_user = updates.user(first_name="王五")
    await harness.feed(
        updates.click(LanguageCallback(locale=Locale.EN).pack(), chinese_user, message_id=7)
    )

    [edit] = harness.session.sent(EditMessageText)
    assert edit.text == "Done: I will talk to you in English from now on."
    [commands] = harness.session.sent(SetMyCommands)
    assert commands.commands[0].description == "Welcome and main menu"
    [menu] = harness.session.sent(SetChatMenuButton)
    assert (menu.chat_id, menu.menu_button.text) == (chinese_user["id"], "Study")  # type: ignore[union-attr]
    account = await harness.accounts.get(ChatUserId(chinese_user["id"]))
    assert account is not None and account.locale is Locale.EN

    await harness.feed(updates.message("/start", chinese_user))
    assert harness.last_text().startswith("Hello, 王五!")


async def test_switching_back_to_chinese_answers_in_chinese(harness: BotHarness):
    english_user = updates.user(first_name="Tom", language_code="en")
    await harness.feed(updates.click(LanguageCallback(locale=Locale.ZH_CN).pack(), english_user))

    assert harness.session.sent(EditMessageText)[0].text == "好的，之后我会用简体中文和您交流。"
    assert harness.session.sent(SetChatMenuButton)[-1].menu_button.text == "学习"  # type: ignore[union-attr]
    await harness.feed(updates.message("/help", english_user))
    assert harness.last_text().startswith("<b>帮助</b>")


async def test_help_lists_the_commands(harness: BotHarness):
    from bot.callbacks import HelpCallback, HelpTopic

    english = updates.user(language_code="en")
    await harness.feed(updates.click(HelpCallback(topic=HelpTopic.COMMANDS).pack(), english))

    text = harness.last_text()
    for command in ("/start", "/enrol", "/pay", "/apply", "/support", "/language", "/help"):
        assert command in text


async def test_a_question_typed_in_the_chat_gets_the_matching_answer(harness: BotHarness):
    await harness.feed(updates.message("我的证书什么时候到期？"))

    [reply] = harness.session.sent(SendMessage)
    assert reply.text.startswith("这可能就是您要的答案")
    assert "有效期满前 3 个月" in reply.text
    assert [data for _, data in _buttons(reply)] == ["menu:status", "menu:help", "menu:support"]
    assert "没有看懂" not in reply.text


async def test_an_enterprise_contact_asking_how_employees_study_is_told_how(
    harness: BotHarness,
):
    await harness.feed(updates.message("你好，我们公司的员工怎么学习？"))

    text = harness.last_text()
    assert "统一社会信用代码" in text and "每位员工" in text
    assert "没有看懂" not in text


async def test_an_english_question_is_answered_in_english(harness: BotHarness):
    await harness.feed(updates.message("How do I pay?", updates.user(language_code="en")))

    [reply] = harness.session.sent(SendMessage)
    assert reply.text.startswith("This may answer your question")
    assert "To pay: tap 💳 Pay" in reply.text and "An order lasts 30 minutes" in reply.text
    assert ("💳 Pay", "menu:pay") in _buttons(reply)


async def test_words_self_help_cannot_match_lead_to_the_desk_and_the_topics(harness: BotHarness):
    await harness.feed(updates.message("asdfgh"))

    [reply] = harness.session.sent(SendMessage)
    assert "客服" in reply.text and "没有看懂" not in reply.text
    buttons = [data for _, data in _buttons(reply)]
    assert buttons[0] == "menu:support"  # the desk first: self-help did not understand
    assert "help:how" in buttons and "help:order" in buttons


async def test_a_photo_without_context_is_answered_not_ignored(harness: BotHarness):
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}]
    await harness.feed(updates.message("", photo=photo))

    assert "没有看懂" in harness.last_text()


async def test_a_button_from_an_unknown_old_message_is_answered(harness: BotHarness):
    await harness.feed(updates.click("something-stale:1"))

    [answer] = harness.session.sent(AnswerCallbackQuery)
    assert answer.show_alert and "没有看懂" in (answer.text or "")


async def test_web_hands_out_a_signed_link_that_signs_the_person_in(harness: BotHarness, clock):
    from webview.auth import Sessions

    await harness.feed(updates.message("/web", updates.user(100123, "Li", "en")))

    [reply] = harness.session.sent(SendMessage)
    assert "10 minutes" in reply.text  # the harness signs links for 600 s
    url = reply.reply_markup.inline_keyboard[0][0].url  # type: ignore[union-attr]
    assert url.startswith(f"{WEBAPP_URL}/login?token=")
    sessions: Sessions = harness.dispatcher["sessions"]
    viewer = sessions.from_link(url.split("token=", 1)[1], clock.now())
    assert (viewer.user_id, viewer.first_name) == (100123, "Li")


async def test_web_links_are_never_posted_in_a_group(harness: BotHarness):
    from aiogram.types import Update

    group = Update.model_validate(
        {
            "update_id": 77,
            "message": {
                "message_id": 7,
                "date": 0,
                "text": "/web",
                "from": updates.user(100124, "Li", "en"),
                "chat": {"id": -100777, "type": "supergroup", "title": "somewhere"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 4}],
            },
        }
    )
    await harness.feed(group)
    assert not any("login?token=" in str(m.reply_markup) for m in harness.session.sent(SendMessage))


async def test_an_english_client_gets_its_commands_and_menu_button_in_english_at_once(
    harness: BotHarness,
):
    await harness.feed(
        updates.message("/start", updates.user(first_name="Tom", language_code="en"))
    )
    await harness.feed(updates.message("/start", updates.user(user_id=6, first_name="王五")))

    [menu] = harness.session.sent(SetChatMenuButton)  # the Chinese chat keeps the default
    assert menu.chat_id == 100001 and menu.menu_button.text == "Study"  # type: ignore[union-attr]
    [commands] = harness.session.sent(SetMyCommands)
    assert commands.commands[0].description == "Welcome and main menu"


async def test_someone_not_yet_enrolled_is_offered_enrol_wherever_they_are_told_to_enrol(
    harness: BotHarness,
):
    await harness.feed(updates.message("/status"))
    [status] = harness.session.sent(SendMessage)
    assert ("📝 报名", "menu:enrol") in _buttons(status)

    await harness.feed(updates.message("asdfgh"))
    words = harness.session.sent(SendMessage)[-1]
    assert "点「📝 报名」" in words.text and ("📝 报名", "menu:enrol") in _buttons(words)

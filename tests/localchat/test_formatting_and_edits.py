import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)

from localchat import LocalChat

USER = 100001


@pytest.fixture
def started(chat: LocalChat) -> LocalChat:
    chat.send_text(USER, "/start")
    return chat


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=data, callback_data=data)]]
    )


@pytest.mark.usefixtures("started")
async def test_html_becomes_plain_text_with_entities_counted_in_utf16(bot: Bot) -> None:
    sent = await bot.send_message(
        USER,
        '👷 <b>学时</b> <i>72</i> <a href="https://example.test/c">课程</a> '
        '<pre><code class="language-python">x = 1</code></pre> 1 &lt; 2',
        parse_mode="HTML",
    )

    assert sent.text == "👷 学时 72 课程 x = 1 1 < 2"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 3, 2),
        ("italic", 6, 2),
        ("text_link", 9, 2),
        ("pre", 12, 5),
    ]
    assert sent.entities[2].url == "https://example.test/c"
    assert sent.entities[3].language == "python"


@pytest.mark.usefixtures("started")
@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("1 < 2", 'Unsupported start tag ""'),
        ("<blink>x</blink>", 'Unsupported start tag "blink"'),
    ],
)
async def test_malformed_html_is_refused_with_cant_parse_entities(
    bot: Bot, text: str, detail: str
) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as caught:
        await bot.send_message(USER, text, parse_mode="HTML")
    assert detail in caught.value.message


@pytest.mark.usefixtures("started")
async def test_markdown_v2_needs_reserved_characters_escaped(bot: Bot) -> None:
    sent = await bot.send_message(USER, r"*粗体* _斜体_ `code` 版本 1\.2", parse_mode="MarkdownV2")
    assert sent.text == "粗体 斜体 code 版本 1.2"
    assert [e.type for e in sent.entities] == ["bold", "italic", "code"]
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(USER, "版本 1.2", parse_mode="MarkdownV2")


@pytest.mark.usefixtures("started")
async def test_text_over_4096_characters_or_empty_is_refused(bot: Bot) -> None:
    await bot.send_message(USER, "字" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "字" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "   ")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "<b></b>", parse_mode="HTML")


@pytest.mark.usefixtures("started")
async def test_an_edit_that_changes_nothing_is_refused_as_not_modified(bot: Bot) -> None:
    sent = await bot.send_message(USER, "Pay 480 元", reply_markup=keyboard("pay"))

    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new"):
        await bot.edit_message_text(
            "Pay 480 元", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("pay")
        )
    edited = await bot.edit_message_text("Paid", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("receipt")
    )


@pytest.mark.usefixtures("started")
async def test_editing_a_message_that_does_not_exist_is_refused(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=9999)


async def test_the_bot_cannot_edit_what_the_user_wrote(started: LocalChat, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("changed", chat_id=USER, message_id=1)


@pytest.mark.usefixtures("started")
async def test_captions_are_edited_with_edit_message_caption(bot: Bot) -> None:
    sent = await bot.send_document(USER, BufferedInputFile(b"abc", "a.txt"), caption="draft")
    edited = await bot.edit_message_caption(
        chat_id=USER, message_id=sent.message_id, caption="<b>final</b>", parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.caption == "final"
    with pytest.raises(TelegramBadRequest, match="there is no caption in the message"):
        text = await bot.send_message(USER, "plain")
        await bot.edit_message_caption(chat_id=USER, message_id=text.message_id, caption="x")


@pytest.mark.usefixtures("started")
async def test_replies_quote_the_message_they_answer(bot: Bot) -> None:
    sent = await bot.send_message(USER, "答复", reply_parameters=ReplyParameters(message_id=1))
    assert sent.reply_to_message is not None and sent.reply_to_message.text == "/start"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(USER, "x", reply_parameters=ReplyParameters(message_id=777))


@pytest.mark.usefixtures("started")
async def test_inline_buttons_need_an_action_and_short_callback_data(bot: Bot) -> None:
    too_long = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "x", reply_markup=too_long)

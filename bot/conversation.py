"""The Telegram side of the conversation core: updates in as events, turns out as messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    WebAppInfo,
)

from bot.commands import set_chat_language
from conversation.engine import Conversations, Talk, TurnState
from conversation.events import Command, Event, FileSent, PhoneShared, Pressed, Typed
from conversation.replies import (
    Ask,
    Attachment,
    FileKind,
    OpenPage,
    OpenUrl,
    Press,
    Reply,
    Turn,
)
from domain.accounts import ChatAccount
from domain.identifiers import normalise_phone
from texts import enrolment as enrolment_texts
from texts.i18n import Catalogs

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
# Keeps a sent message under a reply's `track` name: (chat, name, Telegram's message id).
KeepSent = Callable[[int, str, int], Awaitable[None]]


def event_of(message: Message) -> Event | None:
    if message.contact is not None:
        own = (
            message.forward_origin is None
            and message.from_user is not None
            and message.contact.user_id == message.from_user.id
        )
        return PhoneShared(normalise_phone(message.contact.phone_number), own)
    if message.document is not None:
        document = message.document
        return FileSent(FileKind.DOCUMENT, document.file_id, document.file_name, message.caption)
    if message.photo:
        return FileSent(FileKind.PHOTO, message.photo[-1].file_id, None, message.caption)
    if message.text is not None:
        if message.text.startswith("/") and len(message.text) > 1:
            name, _, args = message.text[1:].partition(" ")
            return Command(name.split("@", 1)[0].lower(), args.strip())
        return Typed(message.text)
    return None


class TelegramReplies:
    """Replies as Telegram messages: inline keyboards for buttons, the contact button for a
    phone, the Mini App for pages of the web view."""

    def __init__(
        self, webapp_url: str, catalogs: Catalogs, keep_sent: KeepSent | None = None
    ) -> None:
        self._webapp_url = webapp_url
        self._catalogs = catalogs
        self._keep_sent = keep_sent

    def markup(self, reply: Reply) -> Markup:
        if reply.ask is Ask.PHONE:
            return ReplyKeyboardMarkup(
                keyboard=[
                    [
                        KeyboardButton(
                            text=enrolment_texts.share_phone_button(), request_contact=True
                        )
                    ],
                    [KeyboardButton(text=enrolment_texts.cancel_button())],
                ],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
        if reply.buttons:
            return InlineKeyboardMarkup(
                inline_keyboard=[
                    [self._button(b.label, b.action) for b in row] for row in reply.buttons
                ]
            )
        if reply.asked:
            return ReplyKeyboardRemove()
        return None

    def _button(self, label: object, action: Press | OpenPage | OpenUrl) -> InlineKeyboardButton:
        text = str(label)
        if isinstance(action, Press):
            return InlineKeyboardButton(text=text, callback_data=action.pack())
        if isinstance(action, OpenPage):
            return InlineKeyboardButton(
                text=text, web_app=WebAppInfo(url=f"{self._webapp_url}{action.path}")
            )
        return InlineKeyboardButton(text=text, url=action.url)

    async def send(self, bot: Bot, chat_id: int, reply: Reply, source: Message | None) -> None:
        text, markup = str(reply.text), self.markup(reply)
        sent: Message | bool
        if reply.attachment is not None:
            sent = await self._attach(bot, chat_id, reply.attachment, text, markup)
        elif reply.edit and source is not None and isinstance(markup, InlineKeyboardMarkup | None):
            sent = await source.edit_text(text, reply_markup=markup)
        else:
            sent = await bot.send_message(chat_id, text, reply_markup=markup)
        if reply.track is not None and self._keep_sent is not None and isinstance(sent, Message):
            await self._keep_sent(chat_id, reply.track, sent.message_id)

    async def _attach(
        self, bot: Bot, chat_id: int, attachment: Attachment, caption: str, markup: Markup
    ) -> Message:
        content = (
            BufferedInputFile(attachment.data, filename=attachment.name)
            if attachment.data is not None
            else attachment.file_ref or ""
        )
        words = caption or None  # a file alone (the receipt's PDF) has no caption
        if attachment.kind is FileKind.PHOTO:
            return await bot.send_photo(chat_id, content, caption=words, reply_markup=markup)
        return await bot.send_document(chat_id, content, caption=words, reply_markup=markup)

    async def render(
        self, bot: Bot, chat_id: int, turn: Turn, query: CallbackQuery | None = None
    ) -> None:
        if turn.speak is None:
            await self._render(bot, chat_id, turn, query)
            return
        with self._catalogs.use_locale(turn.speak.value):
            await self._render(bot, chat_id, turn, query)
        # The command list and the menu button in the chosen language, whatever the client's.
        await set_chat_language(bot, chat_id, self._catalogs, turn.speak.value, self._webapp_url)

    async def _render(
        self, bot: Bot, chat_id: int, turn: Turn, query: CallbackQuery | None
    ) -> None:
        if query is not None:
            notice = turn.notice
            if notice is None:
                await query.answer()
            else:
                await query.answer(str(notice.text), show_alert=notice.alert)
        source = query.message if query is not None and isinstance(query.message, Message) else None
        for reply in turn.replies:
            await self.send(bot, chat_id, reply, source)
        if turn.unbutton and source is not None:
            await source.edit_reply_markup(reply_markup=None)


def make_router() -> Router:
    """Private chats: everything the core answers; what it does not goes on to the routers
    after this one (the support relay, the fallback)."""
    router = Router(name="conversation")
    router.message.filter(F.chat.type == "private")
    # Its menus carry Mini App buttons, which Telegram allows in private chats only.
    router.callback_query.filter(F.message.chat.type == "private")

    @router.message()
    async def message(
        message: Message,
        state: FSMContext,
        raw_state: str | None,
        account: ChatAccount,
        conversations: Conversations,
        replies: TelegramReplies,
        bot: Bot,
    ) -> None:
        event = event_of(message)
        if event is None:
            raise SkipHandler
        talk = Talk(account, TurnState(state, raw_state))  # the step aiogram has read already
        await answer(event, message, talk, conversations, replies, bot)

    @router.callback_query(F.data)
    async def press(
        query: CallbackQuery,
        state: FSMContext,
        raw_state: str | None,
        account: ChatAccount,
        conversations: Conversations,
        replies: TelegramReplies,
        bot: Bot,
    ) -> None:
        assert query.data is not None
        talk = Talk(account, TurnState(state, raw_state))  # the step aiogram has read already
        turn = await conversations(Pressed(Press.unpack(query.data)), talk)
        if not turn:
            raise SkipHandler
        await replies.render(bot, query.from_user.id, turn, query)

    return router


async def answer(
    event: Event,
    message: Message,
    talk: Talk,
    conversations: Conversations,
    replies: TelegramReplies,
    bot: Bot,
) -> None:
    """The core's answer to a message's event; none goes on to the next handler."""
    turn = await conversations(event, talk)
    if not turn:
        raise SkipHandler
    await replies.render(bot, message.chat.id, turn)

"""The staff group as a help desk: one forum topic per trainee, messages copied both ways."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from aiogram import Bot
from aiogram.enums import ContentType, ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, InputFile, Message, MessageId

from conversation.events import Leftover
from conversation.ports import DeskRoute, Heard
from conversation.replies import Say
from domain.accounts import ChatUserId
from domain.clock import Clock
from domain.desks import DeskId, desks_for, group_for
from domain.locales import DEFAULT_LOCALE
from infra.db import models
from infra.repositories.desk_log import TortoiseDeskLog
from infra.repositories.support import QueuedMessage, TortoiseTickets
from texts import support as texts
from texts.i18n import Catalogs

log = logging.getLogger(__name__)
# How long a sender may hold a trainee's relay without progress before another takes over.
RELAY_LEASE = timedelta(minutes=2)
# A burst becomes one message in the topic up to this many characters (Telegram's cap: 4096).
BURST_CHARS = 3500
CAPTIONED = frozenset(
    {
        ContentType.PHOTO,
        ContentType.VIDEO,
        ContentType.DOCUMENT,
        ContentType.AUDIO,
        ContentType.ANIMATION,
        ContentType.VOICE,
    }
)


def _bursts(queued: list[QueuedMessage]) -> list[list[QueuedMessage]]:
    """In order: runs of plain texts joined (up to BURST_CHARS), anything else alone."""
    groups: list[list[QueuedMessage]] = []
    size = 0
    for item in queued:
        last = groups[-1] if groups else None
        fits = item.text is not None and size + len(item.text) + 3 <= BURST_CHARS
        if last is not None and last[-1].text is not None and fits:
            last.append(item)
            size += len(item.text or "") + 3
        else:
            groups.append([item])
            size = len(item.text or "") + 3
    return groups


def _topic_gone(error: TelegramBadRequest) -> bool:
    text = error.message.lower()
    return "thread not found" in text or "topic_id_invalid" in text or "topic_deleted" in text


TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024  # Telegram's, in UTF-16 code units


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Desk:
    def __init__(
        self,
        bot: Bot,
        i18n: Catalogs,
        tickets: TortoiseTickets,
        staff_group_id: int | None,
        clock: Clock,
        per_minute: int = 12,
        settle: float = 0.2,
        staff_locale: str = DEFAULT_LOCALE.value,
        desk_groups: Mapping[DeskId, int] | None = None,
    ) -> None:
        self.bot = bot
        self.i18n = i18n
        self.tickets = tickets
        self.staff_group_id = staff_group_id
        self.clock = clock
        self.per_minute = per_minute
        self.settle = settle
        # What the whole group reads (STAFF_LANGUAGE); a staff member's own commands answer in
        # their own language instead.
        self.staff_locale = staff_locale
        # A desk with a group of its own gets its cases' topics there; the rest, the staff group.
        self.desk_groups = dict(desk_groups or {})
        self._recent: dict[int, deque[float]] = defaultdict(deque)
        # The desk's own record of every conversation (the staff console's), when kept.
        self.desk_log: TortoiseDeskLog | None = None
        # Staff's words for a person on another channel (WeChat), which the bot cannot reach:
        # (account, words, staff id, staff name) -> delivered. Filled by the composition root.
        self.other_channel: Callable[[int, str, int, str], Awaitable[bool]] | None = None

    def too_fast(self, user_id: int) -> bool:
        """True once per minute of a flood (more than `per_minute` messages within a minute),
        so the trainee hears once that it takes a while, never that something was dropped."""
        window = self._recent[user_id]
        now = time.monotonic()
        while window and now - window[0] > 60:
            window.popleft()
        window.append(now)
        return len(window) == self.per_minute + 1

    @property
    def staff_groups(self) -> frozenset[int]:
        """Every group where staff answer trainees: the staff group and the desks' own."""
        default = {self.staff_group_id} if self.staff_group_id is not None else set()
        return frozenset(default | set(self.desk_groups.values()))

    def group_of(self, ticket: models.SupportTicket) -> int:
        group = ticket.group_id or self.staff_group_id
        assert group is not None
        return group

    async def _new_topic(self, ticket: models.SupportTicket) -> None:
        assert self.staff_group_id is not None
        card = await self.tickets.card(ticket.chat_user_id)
        # Unknown track: both tracks' desks are named, and the case stays in the staff group
        # unless they share one group.
        routed = {
            group_for(desk, self.desk_groups, self.staff_group_id)
            for desk in desks_for(card.track, card.desk_topic)
        }
        group = routed.pop() if len(routed) == 1 else self.staff_group_id
        assert group is not None
        with self.i18n.context(), self.i18n.use_locale(self.staff_locale):
            name = texts.topic_title(card, ticket.id)
        topic = await self.bot.create_forum_topic(group, name)
        await self.tickets.set_topic(ticket, topic.message_thread_id, name, group)
        await self.post_card(ticket)

    async def post_card(self, ticket: models.SupportTicket) -> None:
        assert self.staff_group_id is not None and ticket.thread_id is not None
        with self.i18n.context(), self.i18n.use_locale(self.staff_locale):
            text = texts.card(await self.tickets.card(ticket.chat_user_id))
        sent = await self.bot.send_message(
            self.group_of(ticket), text, message_thread_id=ticket.thread_id
        )
        await self.tickets.set_card(ticket, sent.message_id)

    async def open_ticket(self, user_id: int) -> models.SupportTicket:
        ticket, reopened = await self.tickets.open(user_id)
        if ticket.thread_id is None:
            await self._new_topic(ticket)
        elif reopened:
            try:
                await self.bot.reopen_forum_topic(self.group_of(ticket), ticket.thread_id)
            except TelegramBadRequest as error:
                if _topic_gone(error):
                    await self._new_topic(ticket)
                elif "not_modified" not in error.message.lower():
                    raise
        return ticket

    async def _into_topic(
        self, ticket: models.SupportTicket, send: Callable[[int | None], Awaitable[int]]
    ) -> int:
        """Sends into the trainee's topic; a topic staff deleted is recreated with a new card
        (the usual failure of such bots is to go silent here)."""
        try:
            return int(await send(ticket.thread_id))
        except TelegramBadRequest as error:
            if not _topic_gone(error):
                raise
            log.info("topic of ticket %s is gone; recreating it", ticket.id)
            await self._new_topic(ticket)
            return int(await send(ticket.thread_id))

    async def note_for(self, account: ChatUserId, note: Say) -> None:
        """The conversation core's port: a note in the person's topic, in the staff's words."""
        ticket = await self.open_ticket(account)
        with self.i18n.use_locale(self.staff_locale):
            text = str(note)
        await self.note(ticket, text)

    async def note(self, ticket: models.SupportTicket, text: str) -> None:
        assert self.staff_group_id is not None

        async def send(thread_id: int | None) -> int:
            sent = await self.bot.send_message(
                self.group_of(ticket),
                text,
                message_thread_id=thread_id,
            )
            return sent.message_id

        await self._into_topic(ticket, send)

    async def file_into_topic(
        self,
        ticket: models.SupportTicket,
        file: str | InputFile,
        *,
        is_document: bool,
        caption: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> int:
        """A document or photo with a caption (and buttons) in the trainee's topic."""
        assert self.staff_group_id is not None

        async def send(thread_id: int | None) -> int:
            group = self.group_of(ticket)
            method = self.bot.send_document if is_document else self.bot.send_photo
            sent = await method(
                group, file, caption=caption, reply_markup=markup, message_thread_id=thread_id
            )
            return sent.message_id

        return await self._into_topic(ticket, send)

    async def connect(self, account: ChatUserId) -> DeskRoute | None:
        """The conversation core's port: the person's ticket, open, with its topic."""
        ticket = await self.open_ticket(account)
        if ticket.banned:
            return None
        card = await self.tickets.card(account)
        return DeskRoute(card.track, card.desk_topic)

    async def hear(self, account: ChatUserId, said: Leftover) -> Heard:
        """The conversation core's port: once a trainee has talked to the desk, what the bot
        does not understand goes to staff; a message after staff closed the ticket reopens it.
        `said.ref` is the message's id in the trainee's chat, copied into the topic. Queued
        first, then relayed by whoever holds this trainee's relay (this call, another update's,
        another instance's, or the sweep job): in the chat's order, however fast it came. Plain
        texts that queued up behind each other go as one message."""
        ticket = await self.tickets.get(account)
        if ticket is None:
            return Heard.NOT_OPEN
        if ticket.banned:
            return Heard.PAUSED
        slowly = self.too_fast(account)
        await self.tickets.queue(account, int(said.ref), said.text, self.clock.now())
        await self.relay(account)
        return Heard.RELAYED_SLOWLY if slowly else Heard.RELAYED

    async def relay(self, user_id: int) -> None:
        while await self.tickets.claim_relay(
            user_id, self.clock.now(), self.clock.now() + RELAY_LEASE
        ):
            try:
                # The rest of a burst is a few updates behind this one: let it queue first.
                await asyncio.sleep(self.settle)
                await self._drain(user_id)
            finally:
                await self.tickets.release_relay(user_id)
            # Queued by an update whose claim lost just before the release: ours to send.
            if not await self.tickets.queued(user_id, limit=1):
                return

    async def _drain(self, user_id: int) -> None:
        ticket: models.SupportTicket | None = None
        while queued := await self.tickets.queued(user_id):
            if ticket is None:
                ticket = await self.open_ticket(user_id)
            for group in _bursts(queued):
                group_id = await self._send_group(ticket, group)
                now = self.clock.now()
                for item in group:
                    if group_id is not None:
                        await self.tickets.relayed(ticket, "in", item.message_id, group_id, now)
                await self.tickets.dequeue([item.id for item in group])
                await self.tickets.extend_relay(user_id, now + RELAY_LEASE)

    async def _send_group(
        self, ticket: models.SupportTicket, group: list[QueuedMessage]
    ) -> int | None:
        assert self.staff_group_id is not None
        if len(group) > 1:
            with self.i18n.context(), self.i18n.use_locale(self.staff_locale):
                text = texts.burst([item.text or "" for item in group])

            async def send(thread_id: int | None) -> int:
                sent = await self.bot.send_message(
                    self.group_of(ticket), text, message_thread_id=thread_id
                )
                return sent.message_id

            return await self._into_topic(ticket, send)
        item = group[0]

        async def copy(thread_id: int | None) -> int:
            copied = await self.bot.copy_message(
                self.group_of(ticket),
                ticket.chat_user_id,
                item.message_id,
                message_thread_id=thread_id,
            )
            return copied.message_id

        try:
            return await self._into_topic(ticket, copy)
        except TelegramBadRequest as error:
            # A poll, a deleted message...: staff hear of it, and the queue moves on.
            log.warning("message %s of ticket %s not copied: %s", item.message_id, ticket.id, error)
            with self.i18n.context(), self.i18n.use_locale(self.staff_locale):
                await self.note(ticket, texts.not_copied())
            return None

    async def to_trainee(self, message: Message, ticket: models.SupportTicket) -> None:
        """A staff member's words reach the trainee as the desk's, labelled in the trainee's
        language, so an answer is not taken for the bot's."""
        if ticket.chat_user_id < 0:  # another channel's account: words only, by its own way
            await self._to_other_channel(message, ticket)
            return
        with self.i18n.context(), self.i18n.use_locale(await self.tickets.locale_of(ticket)):
            label = texts.staff_label()
        chat = ticket.chat_user_id
        sent: Message | MessageId
        # A text or caption at Telegram's limit has no room for the label: it goes just before.
        room = TEXT_LIMIT if message.text is not None else CAPTION_LIMIT
        if _units(label) + _units(message.text or message.caption or "") > room:
            await self.bot.send_message(chat, label.strip())
            sent = await self.bot.copy_message(chat, message.chat.id, message.message_id)
        elif message.text is not None:
            sent = await self.bot.send_message(
                chat, label + message.html_text, parse_mode=ParseMode.HTML
            )
        elif message.content_type in CAPTIONED:
            sent = await self.bot.copy_message(
                chat,
                message.chat.id,
                message.message_id,
                caption=label + message.html_text if message.caption else label,
                parse_mode=ParseMode.HTML,
            )
        else:  # a sticker, a location...: the label goes just before it
            await self.bot.send_message(chat, label.strip())
            sent = await self.bot.copy_message(chat, message.chat.id, message.message_id)
        await self.tickets.relayed(
            ticket, "out", sent.message_id, message.message_id, self.clock.now()
        )
        if self.desk_log is not None and message.from_user is not None:
            with self.i18n.context(), self.i18n.use_locale(self.staff_locale):
                words = message.text or message.caption or texts.a_file()
            await self.desk_log.answered(
                chat,
                words,
                self.clock.now(),
                staff_id=message.from_user.id,
                staff_name=message.from_user.full_name,
                delivered=True,
                audited=False,
            )

    async def _to_other_channel(self, message: Message, ticket: models.SupportTicket) -> None:
        words = message.text or message.caption
        delivered = False
        if self.other_channel is not None and words and message.from_user is not None:
            delivered = await self.other_channel(
                ticket.chat_user_id, words, message.from_user.id, message.from_user.full_name
            )
        if not delivered:
            with self.i18n.context(), self.i18n.use_locale(self.staff_locale):
                await self.note(ticket, texts.not_delivered_elsewhere(bool(words)))

    async def edit_in_topic(self, message: Message) -> bool:
        ticket = await self.tickets.get(message.chat.id)
        if ticket is None or message.text is None:
            return False
        group_id = await self.tickets.group_copy_of(ticket, message.message_id)
        if group_id is None:
            return False
        if await self.tickets.shares_group_copy(ticket, group_id):
            with self.i18n.context(), self.i18n.use_locale(self.staff_locale):
                note = texts.edited_in_burst(message.text)
            await self.bot.send_message(
                self.group_of(ticket),
                note,
                message_thread_id=ticket.thread_id,
                reply_to_message_id=group_id,
            )
            return True
        await self.bot.edit_message_text(
            f"{message.text}\n\n✏️", chat_id=self.group_of(ticket), message_id=group_id
        )
        return True

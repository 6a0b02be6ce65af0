"""The staff group as a help desk: one forum topic per trainee, messages copied both ways."""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message

from conversation.replies import Say
from domain.accounts import ChatUserId
from domain.clock import Clock
from domain.masking import mask_name
from infra.db import models
from infra.repositories.support import TortoiseTickets
from texts import support as texts
from texts.enrolment import cert_type_name
from texts.i18n import Catalogs

log = logging.getLogger(__name__)
STAFF_LOCALE = "zh_CN"


def _topic_gone(error: TelegramBadRequest) -> bool:
    text = error.message.lower()
    return "thread not found" in text or "topic_id_invalid" in text or "topic_deleted" in text


class Desk:
    def __init__(
        self,
        bot: Bot,
        i18n: Catalogs,
        tickets: TortoiseTickets,
        staff_group_id: int | None,
        clock: Clock,
        per_minute: int = 12,
    ) -> None:
        self.bot = bot
        self.i18n = i18n
        self.tickets = tickets
        self.staff_group_id = staff_group_id
        self.clock = clock
        self.per_minute = per_minute
        self._recent: dict[int, deque[float]] = defaultdict(deque)

    def allow(self, user_id: int) -> bool:
        """Anti-spam: a trainee may send `per_minute` messages a minute to the desk."""
        window = self._recent[user_id]
        now = time.monotonic()
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True

    async def _new_topic(self, ticket: models.SupportTicket) -> None:
        assert self.staff_group_id is not None
        card = await self.tickets.card(ticket.chat_user_id)
        kind = cert_type_name(card.enrolments[0].cert_type) if card.enrolments else "—"
        who = card.name or mask_name(card.first_name) or str(ticket.chat_user_id)
        name = f"{who} · {kind} · #{ticket.id}"[:128]
        topic = await self.bot.create_forum_topic(self.staff_group_id, name)
        await self.tickets.set_topic(ticket, topic.message_thread_id, name)
        await self.post_card(ticket)

    async def post_card(self, ticket: models.SupportTicket) -> None:
        assert self.staff_group_id is not None and ticket.thread_id is not None
        with self.i18n.context(), self.i18n.use_locale(STAFF_LOCALE):
            text = texts.card(await self.tickets.card(ticket.chat_user_id))
        sent = await self.bot.send_message(
            self.staff_group_id, text, message_thread_id=ticket.thread_id
        )
        await self.tickets.set_card(ticket, sent.message_id)

    async def open_ticket(self, user_id: int) -> models.SupportTicket:
        ticket, reopened = await self.tickets.open(user_id)
        if ticket.thread_id is None:
            await self._new_topic(ticket)
        elif reopened:
            try:
                await self.bot.reopen_forum_topic(self.staff_group_id, ticket.thread_id)  # type: ignore[arg-type]
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
        with self.i18n.use_locale(STAFF_LOCALE):
            text = str(note)
        await self.note(ticket, text)

    async def note(self, ticket: models.SupportTicket, text: str) -> None:
        assert self.staff_group_id is not None

        async def send(thread_id: int | None) -> int:
            sent = await self.bot.send_message(
                self.staff_group_id,
                text,
                message_thread_id=thread_id,  # type: ignore[arg-type]
            )
            return sent.message_id

        await self._into_topic(ticket, send)

    async def file_into_topic(
        self,
        ticket: models.SupportTicket,
        file_id: str,
        *,
        is_document: bool,
        caption: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> int:
        """A document or photo with a caption (and buttons) in the trainee's topic."""
        assert self.staff_group_id is not None
        group = self.staff_group_id

        async def send(thread_id: int | None) -> int:
            method = self.bot.send_document if is_document else self.bot.send_photo
            sent = await method(
                group, file_id, caption=caption, reply_markup=markup, message_thread_id=thread_id
            )
            return sent.message_id

        return await self._into_topic(ticket, send)

    async def to_staff(self, message: Message) -> None:
        ticket = await self.open_ticket(message.chat.id)

        async def send(thread_id: int | None) -> int:
            copied = await self.bot.copy_message(
                self.staff_group_id,
                message.chat.id,
                message.message_id,  # type: ignore[arg-type]
                message_thread_id=thread_id,
            )
            return copied.message_id

        group_id = await self._into_topic(ticket, send)
        await self.tickets.relayed(ticket, "in", message.message_id, group_id, self.clock.now())

    async def to_trainee(self, message: Message, ticket: models.SupportTicket) -> None:
        copied = await self.bot.copy_message(
            ticket.chat_user_id, message.chat.id, message.message_id
        )
        await self.tickets.relayed(
            ticket, "out", copied.message_id, message.message_id, self.clock.now()
        )

    async def edit_in_topic(self, message: Message) -> bool:
        ticket = await self.tickets.get(message.chat.id)
        if ticket is None or message.text is None:
            return False
        group_id = await self.tickets.group_copy_of(ticket, message.message_id)
        if group_id is None:
            return False
        await self.bot.edit_message_text(
            f"{message.text}\n\n✏️", chat_id=self.staff_group_id, message_id=group_id
        )
        return True

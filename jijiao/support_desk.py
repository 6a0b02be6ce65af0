"""The support desk across channels, put together here because it needs both of them: a router
behind the conversation core's `SupportDesk` port (a Telegram trainee's messages are copied into
their forum topic as before; a WeChat user's, which cannot be copied, are posted as text), the
desk's own record of every conversation (what the staff console holds), and the console's way
to answer a person on their own channel."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.desk import Desk as TelegramDesk
from conversation.events import Leftover
from conversation.ports import DeskRoute, Heard
from conversation.replies import Say
from domain.accounts import ChatUserId
from domain.clock import Clock
from infra.db import models
from infra.repositories.desk_log import TortoiseDeskLog
from infra.repositories.support import TortoiseTickets
from texts import support as texts
from texts.i18n import Catalogs
from wechat.api import WeChatApi, WeChatError
from wechat.channel import CHANNEL as WECHAT
from wechat.channel import window_open

log = logging.getLogger(__name__)


def on_telegram(account: ChatUserId) -> bool:
    """Telegram accounts have the user's own (positive) id; another channel's are negative."""
    return account > 0


class ChannelDesk:
    """The `SupportDesk` port, by the account's channel: Telegram trainees through the staff
    group's desk (their messages also recorded), anyone else straight into the desk's record,
    and, when there is a staff group, as text into their topic labelled with the channel."""

    def __init__(
        self,
        telegram: TelegramDesk,
        tickets: TortoiseTickets,
        desk_log: TortoiseDeskLog,
        i18n: Catalogs,
        clock: Clock,
    ) -> None:
        self.telegram = telegram
        self._tickets = tickets
        self._log = desk_log
        self._i18n = i18n
        self._clock = clock

    @property
    def _group(self) -> bool:
        return self.telegram.staff_group_id is not None

    async def connect(self, account: ChatUserId) -> DeskRoute | None:
        if on_telegram(account):
            return await self.telegram.connect(account)
        if self._group:
            ticket = await self.telegram.open_ticket(account)
        else:
            ticket, _ = await self._tickets.open(account)
        if ticket.banned:
            return None
        card = await self._tickets.card(account)
        return DeskRoute(card.track, card.desk_topic)

    async def hear(self, account: ChatUserId, said: Leftover) -> Heard:
        with self._i18n.context(), self._i18n.use_locale(self.telegram.staff_locale):
            words = said.text if said.text is not None else texts.a_file()
        if on_telegram(account):
            heard = await self.telegram.hear(account, said)
            if heard in (Heard.RELAYED, Heard.RELAYED_SLOWLY):
                await self._log.heard(account, words, self._clock.now())
            return heard
        ticket = await self._tickets.get(account)
        if ticket is None:
            return Heard.NOT_OPEN
        if ticket.banned:
            return Heard.PAUSED
        if ticket.status != "open":
            await self._tickets.open(account)
        await self._log.heard(account, words, self._clock.now())
        if self._group:
            with self._i18n.context(), self._i18n.use_locale(self.telegram.staff_locale):
                text = f"{texts.from_channel(WECHAT)}\n{words}"
            try:  # recorded already: the console holds it whatever Telegram does
                await self.telegram.note(await self.telegram.open_ticket(account), text)
            except TelegramAPIError:
                log.warning(
                    "a WeChat message of %s not posted to its topic", account, exc_info=True
                )
        return Heard.RELAYED

    async def note_for(self, account: ChatUserId, note: Say) -> None:
        if on_telegram(account) or self._group:
            await self.telegram.note_for(account, note)
        if not on_telegram(account) and not self._group:
            await self._tickets.open(account)


class ConsoleAnswers:
    """The console's answer to a person, on their channel, labelled as the desk's in their
    language; kept in the desk's record with who and when, delivered or not (WeChat takes it
    only within 48 hours of the person's last message)."""

    def __init__(
        self,
        bot: Bot,
        telegram: TelegramDesk,
        tickets: TortoiseTickets,
        desk_log: TortoiseDeskLog,
        i18n: Catalogs,
        clock: Clock,
    ) -> None:
        self._bot = bot
        self._telegram = telegram
        self._tickets = tickets
        self._log = desk_log
        self._i18n = i18n
        self._clock = clock
        # Filled once the WeChat channel is made (None: no WeChat channel configured).
        self.wechat: Callable[[], WeChatApi | None] = lambda: None

    async def exists(self, account: int) -> bool:
        return await self._log.exists(account)

    async def from_topic(self, account: int, text: str, staff_id: int, staff_name: str) -> bool:
        """A staff member's answer in the person's topic in the staff group (the bot cannot
        write to a WeChat user): kept and delivered the same way, nothing posted back."""
        return await self.answer(
            account, text, staff_id=staff_id, staff_name=staff_name, in_topic=True
        )

    async def answer(
        self, account: int, text: str, *, staff_id: int, staff_name: str, in_topic: bool = False
    ) -> bool:
        user = await models.ChatUser.get_or_none(id=account)
        if user is None:
            return False
        ticket, _ = await self._tickets.open(account)
        with self._i18n.context(), self._i18n.use_locale(await self._tickets.locale_of(ticket)):
            label = texts.staff_label()
        delivered = await self._deliver(user, label + text)
        await self._log.answered(
            account,
            text,
            self._clock.now(),
            staff_id=staff_id,
            staff_name=staff_name,
            delivered=delivered,
            audited=not in_topic,
        )
        if in_topic:
            return delivered
        if self._telegram.staff_group_id is not None and ticket.thread_id is not None:
            with self._i18n.context(), self._i18n.use_locale(self._telegram.staff_locale):
                note = f"{texts.answered_in_console(staff_name)}\n{text}"
            try:
                await self._telegram.note(ticket, note)
            except TelegramAPIError:
                log.warning("a console answer not posted to topic of %s", account, exc_info=True)
        return delivered

    async def deliver_kept(self, account: int) -> int:
        """Answers kept because WeChat's 48 hours were over, sent now that the person wrote
        again (their message opened a new window), oldest first; how many reached them."""
        kept = await self._log.kept(account)
        if not kept:
            return 0
        user = await models.ChatUser.get_or_none(id=account)
        ticket = await self._tickets.get(account)
        if user is None or ticket is None:
            return 0
        with self._i18n.context(), self._i18n.use_locale(await self._tickets.locale_of(ticket)):
            label = texts.staff_label()
        sent = 0
        for row_id, text in kept:
            if not await self._log.claim_delivery(row_id):
                continue  # another instance is sending it
            delivered = await self._deliver(user, label + text)
            await self._log.delivered_late(account, row_id, sent=delivered)
            if not delivered:
                break
            sent += 1
        return sent

    async def _deliver(self, user: models.ChatUser, text: str) -> bool:
        if user.channel == WECHAT:
            api = self.wechat()
            if api is None or user.external_id is None:
                return False
            if not window_open(user.last_inbound_at, self._clock.now()):
                return False
            try:
                await api.send(user.external_id, {"msgtype": "text", "text": {"content": text}})
            except WeChatError:
                log.warning("a console answer to %s not taken by WeChat", user.id, exc_info=True)
                return False
            return True
        if user.unreachable:
            return False
        try:
            await self._bot.send_message(user.id, text, parse_mode=None)
        except TelegramAPIError:
            log.warning("a console answer to %s not delivered", user.id, exc_info=True)
            return False
        return True

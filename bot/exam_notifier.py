"""The exam's messages on the bot's initiative: the receipt on a pass, a time-out, 10 minutes
left. Each in the trainee's language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.conversation import TelegramReplies
from conversation.receipts import receipt_turn
from conversation.replies import Turn
from domain.accounts import ChatUserId
from domain.exam import Attempt
from domain.timezone import CHINA
from infra.repositories.accounts import TortoiseAccountRepository
from texts import exam as texts
from texts.faces import face_reason
from texts.i18n import Catalogs

if TYPE_CHECKING:
    from application.exam import Exams


# Delivers a turn to an account of another channel (WeChat); False: not one of its accounts.
OtherChannel = Callable[[int, Turn], Awaitable[bool]]


def _clock(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%H:%M")


class BotExamNotifier:
    def __init__(
        self, bot: Bot, i18n: Catalogs, accounts: TortoiseAccountRepository, webapp_url: str
    ) -> None:
        self._bot = bot
        self._i18n = i18n
        self._accounts = accounts
        self._webapp_url = webapp_url
        self._exams: Exams | None = None
        self._replies = TelegramReplies(webapp_url, i18n)
        # Set by the composition root when the WeChat channel is on.
        self.other_channel: OtherChannel | None = None

    def attach(self, exams: Exams) -> None:
        """The receipts come from the exam service, which is built with this notifier."""
        self._exams = exams

    async def _locale(self, user_id: int) -> str:
        account = await self._accounts.get(ChatUserId(user_id))
        return account.locale.value if account else self._i18n.default_locale

    async def passed(self, user_id: int, receipt_id: int) -> None:
        if self.other_channel is not None:
            if await self.other_channel(user_id, await self.receipt(receipt_id)):
                return
        await self.send_receipt(self._bot, user_id, receipt_id)

    async def receipt(self, receipt_id: int) -> Turn:
        """The image to look at and the PDF to print, or why not (revoked)."""
        assert self._exams is not None
        receipt = await self._exams.receipt(receipt_id)
        if receipt.revoked_at is not None:
            return receipt_turn(receipt.number, receipt.score, None)
        files = await self._exams.receipt_files(receipt_id)
        return receipt_turn(receipt.number, receipt.score, files)

    async def send_receipt(self, bot: Bot, chat_id: int, receipt_id: int) -> None:
        turn = await self.receipt(receipt_id)
        with self._i18n.context(), self._i18n.use_locale(await self._locale(chat_id)):
            for reply in turn.replies:
                await self._replies.send(bot, chat_id, reply, None)

    async def timed_out(self, user_id: int, attempt: Attempt, passed: bool) -> None:
        with self._i18n.context(), self._i18n.use_locale(await self._locale(user_id)):
            await self._bot.send_message(user_id, texts.timed_out(attempt, passed))

    async def held(self, user_id: int, attempt: Attempt) -> None:
        with self._i18n.context(), self._i18n.use_locale(await self._locale(user_id)):
            await self._bot.send_message(user_id, texts.held(attempt))

    async def identity_rejected(
        self, user_id: int, attempt: Attempt, reasons: list[tuple[datetime, str]]
    ) -> None:
        """`reasons`: when each face check failed and its refusal code."""
        with self._i18n.context(), self._i18n.use_locale(await self._locale(user_id)):
            gettext = self._i18n.gettext
            lines = [f"{_clock(at)} {face_reason(gettext, code) or code}" for at, code in reasons]
            await self._bot.send_message(user_id, texts.identity_rejected(attempt, lines))

    async def ten_minutes_left(self, user_id: int, attempt_id: int, deadline: datetime) -> None:
        with self._i18n.context(), self._i18n.use_locale(await self._locale(user_id)):
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=texts.open_exam_button(),
                            web_app=WebAppInfo(url=f"{self._webapp_url}/exam/attempt/{attempt_id}"),
                        )
                    ]
                ]
            )
            await self._bot.send_message(
                user_id, texts.ten_minutes_left(deadline), reply_markup=markup
            )

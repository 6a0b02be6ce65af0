"""The exam's messages on the product's initiative: the receipt on a pass, a time-out, an
attempt held or refused for identity, 10 minutes left. Each as a turn of the conversation core,
in the trainee's language, on their channel (WeChat's through `other_channel`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from aiogram import Bot

from bot.conversation import TelegramReplies
from conversation.receipts import receipt_turn
from conversation.replies import Button, OpenPage, Reply, Turn, rows, say
from domain.accounts import ChatUserId
from domain.exam import Attempt
from infra.repositories.accounts import TortoiseAccountRepository
from texts import exam as texts
from texts.i18n import Catalogs

if TYPE_CHECKING:
    from application.exam import Exams


# Delivers a turn to an account of another channel (WeChat, through the outbox); False: not one
# of its accounts. Its arguments after the turn: what the turn is about, unique per account (the
# row's dedup key), and how the turn's picture is made again at send time (or None).
OtherChannel = Callable[[int, Turn, str, str | None], Awaitable[bool]]
# A receipt's picture by reference: the WeChat transport makes it again from the receipt's id.
RECEIPT_PICTURE = "receipt:"


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

    async def _notify(self, user_id: int, turn: Turn, key: str, picture: str | None = None) -> None:
        """On the account's own channel: WeChat's when it is a WeChat account (queued in the
        outbox, `key` naming the event), else the chat."""
        if self.other_channel is not None and await self.other_channel(user_id, turn, key, picture):
            return
        with self._i18n.context(), self._i18n.use_locale(await self._locale(user_id)):
            for reply in turn.replies:
                await self._replies.send(self._bot, user_id, reply, None)

    async def passed(self, user_id: int, receipt_id: int) -> None:
        await self._notify(
            user_id,
            await self.receipt(receipt_id),
            f"receipt:{receipt_id}",
            f"{RECEIPT_PICTURE}{receipt_id}",
        )

    async def receipt(self, receipt_id: int) -> Turn:
        """The image to look at and the PDF to print, or why not (revoked)."""
        assert self._exams is not None
        receipt = await self._exams.receipt(receipt_id)
        if receipt.revoked_at is not None:
            return receipt_turn(receipt.number, receipt.score, None)
        files = await self._exams.receipt_files(receipt_id)
        return receipt_turn(receipt.number, receipt.score, files)

    async def timed_out(self, user_id: int, attempt: Attempt, passed: bool) -> None:
        turn = Turn().add(Reply(say(texts.timed_out, attempt, passed)))
        await self._notify(user_id, turn, _about("timed_out", attempt))

    async def held(self, user_id: int, attempt: Attempt) -> None:
        turn = Turn().add(Reply(say(texts.held, attempt)))
        await self._notify(user_id, turn, _about("held", attempt))

    async def identity_rejected(
        self, user_id: int, attempt: Attempt, reasons: list[tuple[datetime, str]]
    ) -> None:
        """`reasons`: when each face check failed and its refusal code."""
        words = say(texts.identity_rejected_for, attempt, tuple(reasons))
        await self._notify(user_id, Turn().add(Reply(words)), _about("identity_rejected", attempt))

    async def ten_minutes_left(self, user_id: int, attempt_id: int, deadline: datetime) -> None:
        page = OpenPage(f"/exam/attempt/{attempt_id}")
        back = rows([Button(say(texts.open_exam_button), page)])
        turn = Turn().add(Reply(say(texts.ten_minutes_left, deadline), back))
        await self._notify(user_id, turn, f"ten_minutes_left:{attempt_id}")


def _about(event: str, attempt: Attempt) -> str:
    """An attempt's event, once per account: the attempt is its number and its start."""
    return f"{event}:{attempt.number}:{attempt.started_at.isoformat()}"

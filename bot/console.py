"""What the staff console (webview/console.py) does through the bot: the staff group's own use
cases, so a decision made in a browser is told to the trainee and shown on the group's card
exactly as one made in the chat."""

from __future__ import annotations

import logging

from aiogram.types import BufferedInputFile

from bot.applications import Applications
from bot.desk import Desk
from bot.tell import TelegramTell
from conversation.ports import Tell
from conversation.replies import say
from domain.accounts import ChatUserId
from domain.checkout import AttachInvoice
from domain.enrolment import CategoryCorrected, CorrectCategory, EnrolmentRefused
from domain.payment import PaymentRefused
from infra.repositories.support import audit
from texts import console as texts
from texts import enrolment as enrolment_texts
from texts import support as support_texts

log = logging.getLogger(__name__)


async def correct_and_tell(
    correct_category: CorrectCategory,
    desk: Desk,
    staff_id: int,
    number: str,
    category: str,
    tell: Tell | None = None,
) -> CategoryCorrected:
    """R-ENROL-4: the category set, audit-logged, the holder told in their language on their
    channel (`tell`; Telegram's chat unless given); from the staff group's /category and from
    the console alike. EnrolmentRefused says why not."""
    done = await correct_category(number, category)
    await audit(
        staff_id,
        "category_corrected",
        f"certificate:{done.certificate.number}",
        old=done.old,
        new=done.certificate.category,
    )
    if done.holder is not None:
        tell = tell or TelegramTell(desk.bot, desk.i18n)
        told = say(enrolment_texts.category_corrected, done.certificate, done.old)
        if not await tell(ChatUserId(done.holder), told):
            log.warning("holder %s not told of the category", done.holder)
    return done


class ConsoleActions:
    def __init__(
        self,
        applications: Applications,
        desk: Desk,
        attach_invoice: AttachInvoice,
        correct_category: CorrectCategory,
        tell: Tell | None = None,
    ) -> None:
        self._applications = applications
        self._desk = desk
        self._attach_invoice = attach_invoice
        self._correct_category = correct_category
        # How a person is told (on their own channel; Telegram's chat unless given).
        self._told_by = tell

    @property
    def _tell(self) -> Tell:
        return self._told_by or TelegramTell(self._desk.bot, self._desk.i18n)

    async def correct_category(self, staff_id: int, number: str, category: str) -> str | None:
        """None when set (or already so), else why not, in the staff member's words."""
        try:
            await correct_and_tell(
                self._correct_category, self._desk, staff_id, number, category, self._tell
            )
        except EnrolmentRefused as refused:
            return support_texts.category_refused(refused.code, refused.params)
        return None

    async def attach_invoice(self, number: str, filename: str, pdf: bytes) -> str | None:
        """The file goes to the staff group first (the invoice's copy on record, and the
        file id the payer's message is sent with); then the same use case as `/invoice`.
        None when done, else why not."""
        group = self._desk.staff_group_id
        if group is None:
            return "no_staff_group"
        with self._desk.i18n.use_locale(self._desk.staff_locale):
            caption = texts.invoice_archived(number)
        sent = await self._desk.bot.send_document(
            group, BufferedInputFile(pdf, filename=filename), caption=caption
        )
        assert sent.document is not None
        try:
            await self._attach_invoice(number, sent.document.file_id)
        except PaymentRefused as refused:
            return refused.code
        return None

    async def decide(
        self,
        application_id: int,
        *,
        approved: bool,
        staff_id: int,
        staff_name: str,
        reason: str | None,
    ) -> bool:
        return await self._applications.decide(
            application_id,
            approved=approved,
            staff_id=staff_id,
            staff_name=staff_name,
            reason=reason,
            desk=self._desk,
        )

    async def tell_attempt_back(self, account: int, number: int, left: int) -> None:
        if not await self._tell(
            ChatUserId(account), say(texts.attempt_back_for_trainee, number, left)
        ):
            log.warning("account %s not told of the attempt given back", account)

    async def tell_rebound(self, new_account: int, old_account: int | None) -> None:
        """The new account may go on; the old one learns it lost the identity (a takeover
        would be noticed by the person who still holds the old phone)."""
        for account, words in (
            (new_account, texts.moved_here_for_trainee),
            (old_account, texts.moved_away_for_trainee),
        ):
            if account is not None and not await self._tell(ChatUserId(account), say(words)):
                log.warning("account %s not told of the rebind", account)

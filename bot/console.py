"""What the staff console (webview/console.py) does through the bot: the staff group's own use
cases, so a decision made in a browser is told to the trainee and shown on the group's card
exactly as one made in the chat."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BufferedInputFile

from bot.applications import Applications
from bot.desk import Desk
from domain.checkout import AttachInvoice
from domain.enrolment import CategoryCorrected, CorrectCategory, EnrolmentRefused
from domain.payment import PaymentRefused
from infra.repositories.accounts import locale_of
from infra.repositories.support import audit
from texts import console as texts
from texts import enrolment as enrolment_texts
from texts import support as support_texts

log = logging.getLogger(__name__)


async def correct_and_tell(
    correct_category: CorrectCategory, desk: Desk, staff_id: int, number: str, category: str
) -> CategoryCorrected:
    """R-ENROL-4: the category set, audit-logged, the holder told in their language; from
    the staff group's /category and from the console alike. EnrolmentRefused says why not."""
    done = await correct_category(number, category)
    await audit(
        staff_id,
        "category_corrected",
        f"certificate:{done.certificate.number}",
        old=done.old,
        new=done.certificate.category,
    )
    if done.holder is not None:
        with desk.i18n.use_locale(await locale_of(done.holder)):
            told = enrolment_texts.category_corrected(done.certificate, done.old)
        try:
            await desk.bot.send_message(done.holder, told)
        except (TelegramForbiddenError, TelegramBadRequest) as error:
            log.warning("holder %s not told of the category: %s", done.holder, error.message)
    return done


class ConsoleActions:
    def __init__(
        self,
        applications: Applications,
        desk: Desk,
        attach_invoice: AttachInvoice,
        correct_category: CorrectCategory,
    ) -> None:
        self._applications = applications
        self._desk = desk
        self._attach_invoice = attach_invoice
        self._correct_category = correct_category

    async def correct_category(self, staff_id: int, number: str, category: str) -> str | None:
        """None when set (or already so), else why not, in the staff member's words."""
        try:
            await correct_and_tell(self._correct_category, self._desk, staff_id, number, category)
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
        with self._desk.i18n.use_locale(await locale_of(account)):
            text = texts.attempt_back_for_trainee(number, left)
        try:
            await self._desk.bot.send_message(account, text)
        except (TelegramForbiddenError, TelegramBadRequest) as error:
            log.warning("account %s not told of the attempt given back: %s", account, error.message)

    async def tell_rebound(self, new_account: int, old_account: int | None) -> None:
        """The new account may go on; the old one learns it lost the identity (a takeover
        would be noticed by the person who still holds the old phone)."""
        i18n = self._desk.i18n
        for account, words in (
            (new_account, texts.moved_here_for_trainee),
            (old_account, texts.moved_away_for_trainee),
        ):
            if account is None:
                continue
            with i18n.use_locale(await locale_of(account)):
                text = words()
            try:
                await self._desk.bot.send_message(account, text)
            except (TelegramForbiddenError, TelegramBadRequest) as error:
                log.warning("account %s not told of the rebind: %s", account, error.message)

"""Extension, make-up and re-study applications: eligibility, the form, the card, the one
decision."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from html import escape

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
)
from tortoise.transactions import in_transaction

from bot.callbacks import ApplyAction, ApplyCallback
from bot.desk import Desk
from bot.tell import TelegramTell
from conversation.ports import BlankForm, FilledForm, Tell
from conversation.replies import FileKind, say
from domain.accounts import ChatUserId
from domain.certrules import rules_for
from domain.clock import Clock
from domain.locales import DEFAULT_LOCALE
from domain.masking import mask_id_number, redact_text
from domain.registry import CertType
from domain.support import (
    Applicable,
    ApplicationKind,
    ApplicationStatus,
    Eligibility,
    extension_eligibility,
    makeup_eligibility,
    phone_desk_only,
    restudy_eligibility,
    window_after_approval,
)
from domain.timezone import CHINA
from infra.db import models
from infra.db.study_models import LessonProgress
from infra.forms import Closed, FormFacts, SignedForm, application_form, application_pdf
from infra.pii import Pii
from infra.repositories import reach
from infra.repositories.exams import exam_standing
from texts import support as texts
from texts.enrolment import cert_type_name, masked_number
from texts.i18n import Catalogs

PASSED = "passed"
NOTE_LIMIT = 600  # of a card's 1,024 characters (Telegram's caption limit)
REASON_ON_CARD = 200
log = logging.getLogger(__name__)


def _local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(CHINA).strftime(pattern) if moment else ""


class Applications:
    def __init__(
        self,
        clock: Clock,
        i18n: Catalogs,
        extension_days: int = 30,
        *,
        pii: Pii | None = None,
        webapp_url: str = "",
        tell: Tell | None = None,
    ) -> None:
        self._clock = clock
        self._i18n = i18n
        self._extension_days = extension_days
        self._pii = pii
        self._webapp_url = webapp_url
        # How a decision reaches the person who applied (Telegram's chat unless given).
        self._tell = tell

    async def enrolments(self, user_id: int) -> list[models.Enrolment]:
        """Paid enrolments the account may apply for: its own, and its company's employees'
        when it is an enterprise contact."""
        binding = await models.Binding.get_or_none(chat_user_id=user_id)
        contact = await models.EnterpriseContact.get_or_none(chat_user_id=user_id)
        found: dict[int, models.Enrolment] = {}
        if binding is not None:
            for row in await models.Enrolment.filter(
                certificate__person_id=binding.person_id,
                paid_at__isnull=False,
            ).select_related("certificate__person"):
                found[row.id] = row
        if contact is not None:
            for row in await models.Enrolment.filter(
                enterprise_id=contact.enterprise_id,
                paid_at__isnull=False,
            ).select_related("certificate__person"):
                found[row.id] = row
        return list(found.values())

    async def offers(self, user_id: int) -> list[Applicable]:
        """The paid enrolments the account may apply for, each with where every kind stands."""
        found = []
        for enrolment in await self.enrolments(user_id):
            certificate = enrolment.certificate
            eligibility = tuple(
                [(kind, await self.eligibility(enrolment, kind)) for kind in ApplicationKind]
            )
            found.append(
                Applicable(
                    enrolment.id,
                    certificate.person.name,
                    CertType(certificate.cert_type),
                    certificate.number,
                    eligibility,
                )
            )
        return found

    async def is_enterprise(self, user_id: int) -> bool:
        return await models.EnterpriseContact.exists(chat_user_id=user_id)

    async def eligibility(self, enrolment: models.Enrolment, kind: ApplicationKind) -> Eligibility:
        passed = enrolment.state == PASSED
        if not isinstance(enrolment.certificate, models.Certificate):
            await enrolment.fetch_related("certificate")
        desk = phone_desk_only(rules_for(enrolment.certificate.cert_type).applications_desk)
        if desk is not None and not passed:
            return desk
        if not passed and await models.Application.exists(
            enrolment_id=enrolment.id, kind=kind.value, status=ApplicationStatus.PENDING.value
        ):
            return Eligibility(False, "already_pending")
        now = self._clock.now()
        if kind is ApplicationKind.EXTENSION:
            return extension_eligibility(enrolment.study_deadline, passed, now)
        used, _, passed_exam = await exam_standing(enrolment.id)
        if kind is ApplicationKind.MAKEUP:
            return makeup_eligibility(failed_attempts=used, passed=passed or passed_exam)
        granted = await models.Application.filter(
            enrolment_id=enrolment.id, status=ApplicationStatus.APPROVED.value
        ).count()
        return restudy_eligibility(
            enrolment.study_deadline, used, passed or passed_exam, granted, now
        )

    @staticmethod
    def label(enrolment: models.Enrolment) -> str:
        certificate = enrolment.certificate
        return texts.enrolment_label(
            certificate.person.name, CertType(certificate.cert_type), certificate.number
        )

    async def eligible(
        self, user_id: int, kind: ApplicationKind, enrolment_id: int
    ) -> list[models.Enrolment]:
        """The one enrolment asked for, or with id 0 every eligible one (an enterprise applying
        for several employees in one go)."""
        return [
            e
            for e in await self.enrolments(user_id)
            if enrolment_id in (0, e.id) and (await self.eligibility(e, kind)).allowed
        ]

    async def blank_form(
        self, user_id: int, kind: ApplicationKind, enrolment_id: int
    ) -> BlankForm | None:
        if not await self.eligible(user_id, kind, enrolment_id):
            return None
        several = enrolment_id == 0 and await self.is_enterprise(user_id)
        form = application_form(kind.value, "enterprise" if several else "individual")
        # One enrolment: filled and signed in the Mini App in a minute; the .docx stays for
        # whoever prefers it (and for an enterprise's list of employees, which has no page).
        signable = bool(enrolment_id and self._webapp_url)
        return BlankForm(f"{kind.value}-application.docx", form, signable)

    async def submit(
        self,
        user_id: int,
        kind: ApplicationKind,
        enrolment_id: int,
        form: FilledForm,
        desk: Desk,
    ) -> list[int]:
        """One application per enrolment (one filled form may cover several employees)."""
        created = []
        note = form.note[:NOTE_LIMIT] if form.note else None
        data, name = form.data, "form.pdf" if form.kind is FileKind.DOCUMENT else "form.jpg"

        def card_file(_: models.Application) -> str | InputFile:
            # A file another channel holds (a WeChat photo) goes to staff's topic as bytes.
            return form.file_ref if data is None else BufferedInputFile(data, filename=name)

        for enrolment in await self.eligible(user_id, kind, enrolment_id):
            application_id = await self._submit_one(
                user_id,
                kind,
                enrolment,
                card_file,
                form_file_id=form.file_ref if data is None else None,
                is_document=form.kind is FileKind.DOCUMENT,
                note=note,
                desk=desk,
            )
            if application_id is not None:
                created.append(application_id)
        return created

    async def form(
        self, user_id: int, kind: ApplicationKind, enrolment_id: int
    ) -> FormFacts | Closed | None:
        """What the Mini App's form shows: None for an enrolment this account may not apply
        for (somebody else's, or none), why not when it may not apply now."""
        found = [e for e in await self.enrolments(user_id) if e.id == enrolment_id]
        if not found:
            return None
        enrolment = found[0]
        eligibility = await self.eligibility(enrolment, kind)
        if not eligibility.allowed:
            return Closed(self.label(enrolment), eligibility)
        return await self._facts(enrolment, kind)

    async def _facts(self, enrolment: models.Enrolment, kind: ApplicationKind) -> FormFacts:
        certificate = enrolment.certificate
        person = certificate.person
        id_number = self._pii.open(person.id_number_sealed) if self._pii else ""
        if kind is not ApplicationKind.MAKEUP:
            situation = _local(enrolment.study_deadline)
        else:
            used, _, _ = await exam_standing(enrolment.id)
            situation = str(used)
        return FormFacts(
            enrolment_id=enrolment.id,
            kind=kind.value,
            name=person.name,
            id_number=mask_id_number(id_number) if id_number else "",
            cert_type=CertType(certificate.cert_type),
            cert_number=masked_number(certificate.number),
            paid_on=_local(enrolment.paid_at, "%Y-%m-%d"),
            situation=situation,
            label=self.label(enrolment),
        )

    async def submit_signed(
        self,
        user_id: int,
        kind: ApplicationKind,
        enrolment_id: int,
        reason: str,
        signature_png: bytes,
        desk: Desk,
    ) -> int | None:
        """A form filled and signed in the Mini App: the same application, card and decision
        as an uploaded .docx, the card carrying the form as a PDF. None when this enrolment
        may not be applied for now (not this account's, or one is already waiting)."""
        eligible = await self.eligible(user_id, kind, enrolment_id) if enrolment_id else []
        if not eligible:
            return None
        enrolment = eligible[0]
        facts = await self._facts(enrolment, kind)
        reason = redact_text(reason)
        signed_on = _local(self._clock.now(), "%Y-%m-%d %H:%M")

        def pdf(application: models.Application) -> BufferedInputFile:
            # The centre's form is a Chinese document, whatever language staff read.
            with self._i18n.use_locale(DEFAULT_LOCALE.value):
                cert = f"{cert_type_name(facts.cert_type)} {facts.cert_number}"
            document = application_pdf(
                SignedForm(
                    application_id=application.id,
                    kind=kind.value,
                    name=facts.name,
                    id_number=facts.id_number,
                    certificate=cert,
                    paid_on=facts.paid_on,
                    situation=facts.situation,
                    reason=reason,
                    signed_on=signed_on,
                ),
                signature_png,
            )
            return BufferedInputFile(
                document, filename=f"{kind.value}-application-{application.id}.pdf"
            )

        return await self._submit_one(
            user_id, kind, enrolment, pdf, is_document=True, note=reason[:NOTE_LIMIT], desk=desk
        )

    async def _submit_one(
        self,
        user_id: int,
        kind: ApplicationKind,
        enrolment: models.Enrolment,
        form: Callable[[models.Application], str | InputFile],
        *,
        form_file_id: str | None = None,
        is_document: bool,
        note: str | None,
        desk: Desk,
    ) -> int | None:
        application = await self._create(user_id, kind, enrolment, form_file_id)
        if application is None:
            return None
        ticket = await desk.open_ticket(user_id)
        with self._i18n.use_locale(desk.staff_locale):
            caption = texts.application_card(application.id, kind.value, self.label(enrolment))
            if note:  # what the trainee wrote with the form reaches staff with it
                caption += "\n" + texts.trainee_note(escape(note))
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=texts.approve_button(),
                            callback_data=ApplyCallback(
                                action=ApplyAction.APPROVE, item=application.id
                            ).pack(),
                        ),
                        InlineKeyboardButton(
                            text=texts.reject_button(),
                            callback_data=ApplyCallback(
                                action=ApplyAction.REJECT, item=application.id
                            ).pack(),
                        ),
                    ]
                ]
            )

        application.staff_message_id = await desk.file_into_topic(
            ticket,
            form(application),
            is_document=is_document,
            caption=caption,
            markup=markup,
        )
        await application.save(update_fields=["staff_message_id"])
        return application.id

    async def _create(
        self,
        user_id: int,
        kind: ApplicationKind,
        enrolment: models.Enrolment,
        form_file_id: str | None,
    ) -> models.Application | None:
        """One pending application per enrolment and kind, however many forms arrive at once
        (a double tap, the Mini App and the .docx together): the enrolment's row is locked
        while the waiting one is looked for (PostgreSQL; SQLite writes one at a time)."""
        async with in_transaction(models.Application._meta.default_connection or "default") as db:
            await models.Enrolment.filter(id=enrolment.id).select_for_update().using_db(db).first()
            if (
                await models.Application.filter(
                    enrolment_id=enrolment.id,
                    kind=kind.value,
                    status=ApplicationStatus.PENDING.value,
                )
                .using_db(db)
                .exists()
            ):
                return None
            return await models.Application.create(
                kind=kind.value,
                enrolment=enrolment,
                chat_user_id=user_id,
                form_file_id=form_file_id,
                created_at=self._clock.now(),  # the app's clock: staff sort and read it
                using_db=db,
            )

    async def decide(
        self,
        application_id: int,
        *,
        approved: bool,
        staff_id: int,
        staff_name: str,
        reason: str | None,
        desk: Desk,
        card: Message | None = None,
        query: CallbackQuery | None = None,
        reply: Message | None = None,
    ) -> bool:
        """`card` is the application's card in the topic: it is rewritten to show the decision,
        who made it and when, and loses its buttons. False when the application was decided
        already (by this staff member or another): nothing changes."""
        status = ApplicationStatus.APPROVED if approved else ApplicationStatus.REJECTED
        decided = await self._record_decision(application_id, status, staff_id, reason)
        if decided is None:
            earlier = await models.Application.get_or_none(id=application_id)
            # To the staff member who pressed, in their language (the update's).
            if earlier is not None and earlier.decided_by == staff_id:
                answer = texts.decided_by_you(earlier.status == ApplicationStatus.APPROVED)
            else:
                answer = texts.decided_by_other()
            if query is not None:
                await query.answer(answer, show_alert=True)
            elif reply is not None:
                await reply.reply(answer)
            return False
        application, new_deadline = decided
        deadline = (
            new_deadline.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if new_deadline else None
        )
        # The one who filed it (the holder, or their company's contact) and the holder, once
        # each: an employee learns their window reopened even when the company applied.
        # The holder on the channel they used last (a person may be bound on two).
        holder = await reach.account_of(application.enrolment.certificate.person.id)
        recipients = dict.fromkeys([application.chat_user_id, holder or 0])
        tell = self._tell or TelegramTell(desk.bot, self._i18n)
        certificate = application.enrolment.certificate
        decision = say(texts.decision_for_trainee, application.kind, approved, reason, deadline)
        about = say(
            texts.about_enrolment,
            certificate.person.name,
            CertType(certificate.cert_type),
            certificate.number,
        )
        for account in (ChatUserId(a) for a in recipients if a):
            lines = (decision,) if holder and account == holder else (about, decision)
            if not await tell(account, *lines):
                # Blocked the bot, or deleted the account: the decision stands, /status says it.
                log.warning("application %s: %s not told", application_id, account)
        await self._close_card(application, card, approved, staff_name, reason, desk)
        recorded = texts.decision_recorded(approved)
        if query is not None:
            await query.answer(recorded)
        elif reply is not None:
            await reply.reply(recorded)
        return True

    async def _record_decision(
        self, application_id: int, status: ApplicationStatus, staff_id: int, reason: str | None
    ) -> tuple[models.Application, datetime | None] | None:
        """The decision, what it opens and its audit entry, together or not at all (a crash
        between them would leave an approved application with the window still closed).
        None when the application was decided already: a conditional update, so of two staff
        pressing at once one decision counts."""
        now = self._clock.now()
        approved = status is ApplicationStatus.APPROVED
        async with in_transaction(models.Application._meta.default_connection or "default") as db:
            won = (
                await models.Application.filter(
                    id=application_id, status=ApplicationStatus.PENDING.value
                )
                .using_db(db)
                .update(status=status.value, decided_by=staff_id, decided_at=now, reason=reason)
            )
            if not won:
                return None
            application = (
                await models.Application.filter(id=application_id)
                .using_db(db)
                .select_related("enrolment__certificate__person")
                .get()
            )
            new_deadline: datetime | None = None
            if approved:
                # Each kind opens the window its rule gives (domain.support.window_after_approval):
                # a make-up's five attempts are no use with the exam closed.
                kind = ApplicationKind(application.kind)
                enrolment = application.enrolment
                new_deadline = window_after_approval(
                    kind, enrolment.study_deadline, now, self._extension_days
                )
                await (
                    models.Enrolment.filter(id=enrolment.id)
                    .using_db(db)
                    .update(study_deadline=new_deadline, state="studying")
                )
                enrolment.study_deadline, enrolment.state = new_deadline, "studying"
                if kind is ApplicationKind.RESTUDY:  # the course again, from the first lesson
                    await LessonProgress.filter(enrolment_id=enrolment.id).using_db(db).delete()
            await models.AuditLog.create(
                actor_id=staff_id,
                action=f"application_{status.value}",
                subject=f"application:{application_id}",
                details={"reason": reason, "kind": application.kind},
                using_db=db,
            )
        return application, new_deadline

    async def _close_card(
        self,
        application: models.Application,
        card: Message | None,
        approved: bool,
        staff_name: str,
        reason: str | None,
        desk: Desk,
    ) -> None:
        message_id = card.message_id if card else application.staff_message_id
        if message_id is None or desk.staff_group_id is None:
            return
        # The card is in the trainee's topic, in their desk's group.
        ticket = await desk.tickets.get(application.chat_user_id)
        group = card.chat.id if card else desk.group_of(ticket) if ticket else desk.staff_group_id
        is_text = card is not None and card.text is not None
        # Telegram's limits (4,096 characters of text, 1,024 of a caption) hold for the card
        # with its decision too: the reason (the trainee has it whole) and the card's words
        # are shortened when they would not fit.
        limit = 4096 if is_text else 1024
        short = (
            reason
            if reason is None or len(reason) <= REASON_ON_CARD
            else (reason[:REASON_ON_CARD] + "…")
        )
        with self._i18n.use_locale(desk.staff_locale):
            when = self._clock.now().astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
            decided = texts.decision_line(approved, escape(staff_name[:64]), when, short)
            room = limit - len(decided) - 4
            words = (card.caption or card.text) if card else None
            if not words:
                words = texts.application_card(
                    application.id, application.kind, self.label(application.enrolment)
                )
            else:
                words = escape(words if len(words) <= room else words[: room - 1] + "…")
        try:
            if is_text:
                await desk.bot.edit_message_text(
                    f"{words}\n\n{decided}", chat_id=group, message_id=message_id
                )
            else:
                await desk.bot.edit_message_caption(
                    chat_id=group,
                    message_id=message_id,
                    caption=f"{words}\n\n{decided}",
                )
        except TelegramBadRequest as error:  # deleted meanwhile: the decision stands anyway
            log.warning("application card not updated: %s", error.message)


class ChatApplications:
    """The conversation core's way to the applications (conversation.ports.ApplicationDesk):
    the same use case, with the desk that carries the card to staff."""

    def __init__(self, applications: Applications, desk: Desk) -> None:
        self._applications = applications
        self._desk = desk

    async def offers(self, account: ChatUserId) -> list[Applicable]:
        return await self._applications.offers(account)

    async def blank_form(
        self, account: ChatUserId, kind: ApplicationKind, enrolment_id: int
    ) -> BlankForm | None:
        return await self._applications.blank_form(account, kind, enrolment_id)

    async def file(
        self, account: ChatUserId, kind: ApplicationKind, enrolment_id: int, form: FilledForm
    ) -> list[int]:
        return await self._applications.submit(account, kind, enrolment_id, form, self._desk)

    async def still_open(
        self, account: ChatUserId, kind: ApplicationKind, enrolment_id: int
    ) -> bool:
        return bool(await self._applications.eligible(account, kind, enrolment_id))


class SignedApplications:
    """The Mini App's way to the applications (webview.applications.ApplicationForms): the
    same use case as the chat's, with the desk that carries the card to staff."""

    def __init__(self, applications: Applications, desk: Desk) -> None:
        self._applications = applications
        self._desk = desk

    async def form(
        self, user_id: int, kind: ApplicationKind, enrolment_id: int
    ) -> FormFacts | Closed | None:
        return await self._applications.form(user_id, kind, enrolment_id)

    async def submit(
        self,
        user_id: int,
        kind: ApplicationKind,
        enrolment_id: int,
        reason: str,
        signature_png: bytes,
    ) -> int | None:
        return await self._applications.submit_signed(
            user_id, kind, enrolment_id, reason, signature_png, self._desk
        )

"""✍️ Exam in the chat: where each enrolment stands (S13, S14), the button into the exam page,
the receipt again at any time (/receipt); for staff, /exam and /revoke."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    WebAppInfo,
)

from application.exam import Exams
from bot.callbacks import MenuAction, MenuCallback, ReceiptCallback, RenewalCallback
from bot.exam_notifier import BotExamNotifier
from domain.clock import Clock
from infra.db import models
from texts import exam as texts
from texts import reminders as reminder_texts
from texts.enrolment import cert_type_name, masked_number, type_and_role
from texts.i18n import current_locale


async def _show_exam(message: Message, user_id: int, exams: Exams, clock: Clock, url: str) -> None:
    study = exams.study
    enrolments = await study.enrolments(user_id)
    if not enrolments:
        await message.answer(texts.no_paid_enrolment())
        return
    lang = current_locale()
    paragraphs, buttons = [], []
    for enrolment in enrolments:
        overview = await exams.overview(user_id, enrolment, clock.now())
        titles = {lesson.key: lesson.title[lang] for lesson in study.course(enrolment).lessons}
        label = (
            f"{cert_type_name(enrolment.cert_type)} {masked_number(enrolment.certificate_number)}"
        )
        paragraphs.append(texts.standing(label, overview.eligibility, overview.best, titles))
        if overview.eligibility.allowed and message.chat.type == "private":
            buttons.append(
                [
                    InlineKeyboardButton(
                        text=texts.open_exam_button(),
                        web_app=WebAppInfo(url=f"{url}/exam?enrolment={enrolment.id}"),
                    )
                ]
            )
        if overview.receipt_id is not None:
            buttons.append(
                [
                    InlineKeyboardButton(
                        text=texts.receipt_button(),
                        callback_data=ReceiptCallback(receipt=overview.receipt_id).pack(),
                    )
                ]
            )
    await message.answer(
        "\n\n".join(paragraphs),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None,
    )


def make_router() -> Router:
    router = Router(name="exam")
    router.message.filter(F.chat.type == "private")

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.EXAM))
    async def exam_menu(query: CallbackQuery, exams: Exams, clock: Clock, webapp_url: str) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await _show_exam(query.message, query.from_user.id, exams, clock, webapp_url)

    @router.message(Command("exam"))
    async def exam_command(message: Message, exams: Exams, clock: Clock, webapp_url: str) -> None:
        assert message.from_user is not None
        await _show_exam(message, message.from_user.id, exams, clock, webapp_url)

    @router.message(Command("receipt"))
    async def receipt_command(
        message: Message, bot: Bot, exams: Exams, exam_notifier: BotExamNotifier
    ) -> None:
        assert message.from_user is not None
        receipts = await exams.receipts_of(message.from_user.id)
        if not receipts:
            await message.answer(texts.no_receipt())
            return
        for receipt in receipts:
            await exam_notifier.send_receipt(bot, message.chat.id, receipt.id)

    @router.callback_query(ReceiptCallback.filter())
    async def receipt_again(
        query: CallbackQuery,
        callback_data: ReceiptCallback,
        bot: Bot,
        exams: Exams,
        exam_notifier: BotExamNotifier,
    ) -> None:
        await query.answer()
        mine = {r.id for r in await exams.receipts_of(query.from_user.id)}
        if callback_data.receipt in mine:
            await exam_notifier.send_receipt(bot, query.from_user.id, callback_data.receipt)

    @router.callback_query(RenewalCallback.filter())
    async def renewal_applied(
        query: CallbackQuery, callback_data: RenewalCallback, exams: Exams, clock: Clock
    ) -> None:
        if await exams.renewal_applied(callback_data.receipt, query.from_user.id, clock.now()):
            await query.answer(reminder_texts.renewal_applied(), show_alert=True)
            if isinstance(query.message, Message):
                await query.message.edit_reply_markup(reply_markup=None)
        else:
            await query.answer()

    return router


def make_staff_router(staff_group_id: int | None) -> Router:
    router = Router(name="staff_exam")
    router.message.filter(F.chat.id == staff_group_id)

    @router.message(Command("exam"))
    async def attempts(message: Message, command: CommandObject, exams: Exams) -> None:
        """Every attempt of the enrolment of a certificate, with its timeline."""
        number = (command.args or "").strip()
        if not number:
            await message.reply(texts.staff_exam_usage())
            return
        enrolment = (
            await models.Enrolment.filter(certificate__number=number, paid_at__isnull=False)
            .order_by("-paid_at")
            .first()
        )
        if enrolment is None:
            await message.reply(texts.staff_not_found())
            return
        rows = await exams.attempt_rows(enrolment.id)
        if not rows:
            await message.reply(texts.staff_not_found())
            return
        lines = []
        for attempt_id, attempt in rows:
            lines.append(texts.staff_attempt_line(attempt_id, attempt))
            lines += [texts.staff_event_line(event) for event in await exams.timeline(attempt_id)]
        await message.reply("\n".join(lines)[:4000])

    @router.message(Command("courses"))
    async def courses(message: Message, exams: Exams) -> None:
        """Each certificate type's course: lessons, required minutes and class hours, and the
        size of its question bank (content/courses, content/exams)."""
        lang = current_locale()
        lines = [texts.courses_heading()]
        for course in exams.study.courses.all():
            lines.append(
                texts.course_line(
                    type_and_role(course.cert_type, course.role),
                    course.title[lang],
                    course.version,
                    len(course.lessons),
                    course.minutes,
                    course.class_hours,
                    len(exams.banks[course.exam_bank].questions),
                    course.illustrative,
                )
            )
        await message.reply("\n".join(lines))

    @router.message(Command("revoke"))
    async def revoke(message: Message, command: CommandObject, exams: Exams, clock: Clock) -> None:
        number, _, reason = (command.args or "").strip().partition(" ")
        if not number or not reason.strip():
            await message.reply(texts.staff_revoke_usage())
            return
        assert message.from_user is not None
        if await exams.revoke(number, message.from_user.id, reason.strip(), clock.now()):
            await message.reply(texts.staff_revoked(number))
        else:
            await message.reply(texts.staff_not_revoked(number))

    return router

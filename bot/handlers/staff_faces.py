"""Staff and face data: the review after three failed checks (clear or reject), and a new
enrolment photo when the trainee's was wrong (R-STUDY-1: only staff change it)."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from application.exam import Exams
from application.study import ReviewKind, Study
from bot.callbacks import FaceReviewCallback, ReviewAction
from domain.clock import Clock
from infra.db import models
from infra.repositories.accounts import locale_of
from texts import faces as texts
from texts.i18n import Catalogs


async def _tell(bot: Bot, i18n: Catalogs, user_id: int, text_of: Callable[[], str]) -> None:
    """In the trainee's language, not the staff member's."""
    with i18n.context(), i18n.use_locale(await locale_of(user_id)):
        await bot.send_message(user_id, text_of())


def make_router(staff_group_id: int | None) -> Router:
    router = Router(name="staff_faces")
    router.message.filter(F.chat.id == staff_group_id)
    router.callback_query.filter(F.message.chat.id == staff_group_id)

    @router.callback_query(FaceReviewCallback.filter())
    async def decide(
        query: CallbackQuery,
        callback_data: FaceReviewCallback,
        study: Study,
        exams: Exams,
        clock: Clock,
        i18n: Catalogs,
    ) -> None:
        cleared = callback_data.action is ReviewAction.CLEAR
        review = await study.decide_review(
            callback_data.review, cleared=cleared, staff_id=query.from_user.id, now=clock.now()
        )
        if review is None:
            await query.answer(texts.review_decided_by_other(), show_alert=True)
            return
        kind = ReviewKind(review.kind)
        await query.answer(texts.review_recorded(cleared, kind.value))
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        if kind is ReviewKind.EXAM:
            # The receipt, or why the attempt does not count: the exam's notifier tells them.
            staff = query.from_user.id
            await exams.settle(review, cleared=cleared, staff_id=staff, now=clock.now())
            return
        assert query.bot is not None
        told = {
            (ReviewKind.PHOTO, True): texts.photo_approved_for_trainee,
            (ReviewKind.PHOTO, False): texts.photo_refused_for_trainee,
            (ReviewKind.CHECKS, True): texts.review_cleared_for_trainee,
            (ReviewKind.CHECKS, False): texts.review_rejected_for_trainee,
        }[(kind, cleared)]
        await _tell(query.bot, i18n, review.chat_user_id, told)

    @router.message(Command("newphoto"))
    async def new_photo(
        message: Message, command: CommandObject, study: Study, clock: Clock, i18n: Catalogs
    ) -> None:
        """/newphoto CERTIFICATE: the trainee takes the enrolment photo again; consent stays."""
        number = (command.args or "").strip()
        binding = (
            await models.Binding.filter(person__certificates__number=number).first()
            if number
            else None
        )
        if binding is None:
            await message.reply(texts.new_photo_usage())
            return
        assert message.from_user is not None
        await study.allow_new_photo(binding.chat_user_id, message.from_user.id, clock.now())
        await message.reply(texts.new_photo_done(number))
        assert message.bot is not None
        await _tell(message.bot, i18n, binding.chat_user_id, texts.new_photo_for_trainee)

    return router

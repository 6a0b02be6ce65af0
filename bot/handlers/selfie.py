"""A face check answered in the chat, for phones whose Mini App cannot open the camera (some
iOS Telegram versions): a video note (the round video) for a check that asks for a head turn,
a photo or a video note otherwise; or, with neither, the check goes to staff. The page says so
and waits for the result."""

from __future__ import annotations

import io

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from application.study import CheckOutcome, PendingCheck, Study
from bot.callbacks import FaceHelpCallback
from domain.clock import Clock
from domain.study import CheckResult
from infra.faces.video import MAX_VIDEO_BYTES
from texts.faces import face_reason, record_a_video, sent_to_staff
from texts.i18n import gettext as _


def _ask_staff(check: PendingCheck) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🙋 I cannot record a video: ask staff"),
                    callback_data=FaceHelpCallback(check=check.id).pack(),
                )
            ]
        ]
    )


async def _tell(message: Message, outcome: CheckOutcome, check: PendingCheck) -> None:
    if outcome.result is CheckResult.PASSED:
        await message.answer(_("✅ Face check passed. Carry on in the study page."))
    elif outcome.result is CheckResult.FAILED:
        await message.answer(face_reason(_, outcome.reason))
    elif outcome.reason == "video_needed":
        await message.answer(record_a_video(check.challenge), reply_markup=_ask_staff(check))
    else:
        again = (
            _("Record another round video within the minute.")
            if check.challenge
            else _("Send another selfie within the minute.")
        )
        await message.answer(face_reason(_, outcome.reason) + "\n" + again)


def make_router() -> Router:
    router = Router(name="selfie")
    router.message.filter(F.chat.type == "private")

    @router.message(F.photo, StateFilter(None))
    async def selfie_for_a_check(message: Message, bot: Bot, study: Study, clock: Clock) -> None:
        assert message.from_user is not None and message.photo
        check = await study.pending_check(message.from_user.id, clock.now())
        if check is None:
            raise SkipHandler  # not a selfie: the support desk or the fallback answers it
        buffer = io.BytesIO()
        await bot.download(message.photo[-1].file_id, destination=buffer)
        outcome = await study.answer_check(
            message.from_user.id, check.id, buffer.getvalue(), clock.now(), from_chat=True
        )
        if outcome is None:
            raise SkipHandler
        await _tell(message, outcome, check)

    @router.message(F.video_note | F.video, StateFilter(None))
    async def video_for_a_check(message: Message, bot: Bot, study: Study, clock: Clock) -> None:
        assert message.from_user is not None
        video = message.video_note or message.video
        assert video is not None
        check = await study.pending_check(message.from_user.id, clock.now())
        if check is None:
            raise SkipHandler
        if video.file_size is not None and video.file_size > MAX_VIDEO_BYTES:
            await message.answer(face_reason(_, "not_a_video"))
            return
        buffer = io.BytesIO()
        await bot.download(video.file_id, destination=buffer)
        outcome = await study.answer_with_video(
            message.from_user.id, check.id, buffer.getvalue(), clock.now()
        )
        if outcome is None:
            raise SkipHandler
        await _tell(message, outcome, check)

    @router.callback_query(FaceHelpCallback.filter())
    async def ask_staff(
        query: CallbackQuery, callback_data: FaceHelpCallback, study: Study, clock: Clock
    ) -> None:
        sent = await study.ask_staff(query.from_user.id, callback_data.check, clock.now())
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(sent_to_staff() if sent else face_reason(_, "too_late"))

    return router

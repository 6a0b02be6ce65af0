"""Face reviews reach staff in the trainee's topic: the enrolment photo and the failed selfies,
every check's time, reason and score, and Clear / Reject; for a held exam attempt, its number
and score too. Each time the photos are shown to staff it is written to the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
)

from application.study import ReviewKind, Study
from bot.callbacks import FaceReviewCallback, ReviewAction
from bot.desk import Desk
from infra.db import models
from texts import faces as texts
from texts.i18n import Catalogs

if TYPE_CHECKING:
    from application.exam import Exams


class FaceReviewDesk:
    def __init__(
        self, bot: Bot, i18n: Catalogs, desk: Desk, study: Study, exams: Exams | None = None
    ) -> None:
        self._bot = bot
        self._i18n = i18n
        self._desk = desk
        self._study = study
        self._exams = exams

    async def post(self, review_id: int) -> None:
        """Called from a web request or the chat: in the staff group's language, whoever
        triggered it."""
        if self._desk.staff_group_id is None:
            return
        with self._i18n.context(), self._i18n.use_locale(self._desk.staff_locale):
            await self._post(review_id, self._desk.staff_group_id)

    async def _post(self, review_id: int, group: int) -> None:
        evidence = await self._study.review_evidence(review_id)
        if evidence is None:
            return
        ticket = await self._desk.open_ticket(evidence.user_id)
        thread = ticket.thread_id
        named = [("enrolment", evidence.enrolment_photo)] + [
            (f"selfie-{n}", selfie) for n, selfie in enumerate(evidence.selfies, 1)
        ]
        photos = [
            InputMediaPhoto(media=BufferedInputFile(data, filename=f"{name}.jpg"))
            for name, data in named
            if data is not None
        ]
        if len(photos) == 1:  # an album takes 2-10
            await self._bot.send_photo(group, photos[0].media, message_thread_id=thread)
        elif photos:
            await self._bot.send_media_group(group, photos, message_thread_id=thread)  # type: ignore[arg-type]
            await models.AuditLog.create(
                actor_id=0,
                action="face_photos_shown_to_staff",
                subject=f"chat_user:{evidence.user_id}",
            )
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=texts.clear_button(),
                        callback_data=FaceReviewCallback(
                            action=ReviewAction.CLEAR, review=review_id
                        ).pack(),
                    ),
                    InlineKeyboardButton(
                        text=texts.reject_button(),
                        callback_data=FaceReviewCallback(
                            action=ReviewAction.REJECT, review=review_id
                        ).pack(),
                    ),
                ]
            ]
        )
        if evidence.kind is ReviewKind.PHOTO:
            card = texts.photo_review_card(review_id, has_photo=bool(photos))
        elif evidence.kind is ReviewKind.EXAM and self._exams is not None:
            attempt = await self._exams.held_attempt(evidence.attempt_id or 0)
            card = texts.exam_review_card(review_id, attempt, evidence.checks)
        else:
            card = texts.review_card(review_id, evidence.checks, has_photos=bool(photos))
        await self._bot.send_message(group, card, message_thread_id=thread, reply_markup=markup)

"""Three failed face checks in a row reach staff in the trainee's topic: the enrolment photo and
the last failed selfie, every check's time, reason and score, and Clear / Reject. Each time the
photos are shown to staff it is written to the audit log."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
)

from bot.callbacks import FaceReviewCallback, ReviewAction
from bot.desk import Desk
from infra.db import models
from infra.study import Study
from texts import faces as texts
from texts.i18n import Catalogs


class FaceReviewDesk:
    def __init__(self, bot: Bot, i18n: Catalogs, desk: Desk, study: Study) -> None:
        self._bot = bot
        self._i18n = i18n
        self._desk = desk
        self._study = study

    async def post(self, review_id: int) -> None:
        """Called from a web request or the chat: staff read Chinese, whoever triggered it."""
        if self._desk.staff_group_id is None:
            return
        with self._i18n.context(), self._i18n.use_locale(self._i18n.default_locale):
            await self._post(review_id, self._desk.staff_group_id)

    async def _post(self, review_id: int, group: int) -> None:
        evidence = await self._study.review_evidence(review_id)
        if evidence is None:
            return
        ticket = await self._desk.open_ticket(evidence.user_id)
        thread = ticket.thread_id
        photos = [
            InputMediaPhoto(media=BufferedInputFile(data, filename=f"{name}.jpg"))
            for name, data in (("enrolment", evidence.enrolment_photo), ("selfie", evidence.selfie))
            if data is not None
        ]
        if photos:
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
        await self._bot.send_message(
            group,
            texts.review_card(review_id, evidence.checks, has_photos=bool(photos)),
            message_thread_id=thread,
            reply_markup=markup,
        )

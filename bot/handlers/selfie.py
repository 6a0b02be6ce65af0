"""A face check answered with a photo in the chat, for phones whose Mini App cannot open the
camera (some iOS Telegram versions): the page says so and waits for the result."""

from __future__ import annotations

import io

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import StateFilter
from aiogram.types import Message

from domain.clock import Clock
from domain.study import CheckResult
from infra.study import Study
from texts.faces import face_reason
from texts.i18n import gettext as _


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
        if outcome.result is CheckResult.PASSED:
            await message.answer(_("✅ Face check passed. Carry on in the study page."))
        elif outcome.result is CheckResult.FAILED:
            await message.answer(face_reason(_, outcome.reason))
        else:
            await message.answer(
                face_reason(_, outcome.reason) + "\n" + _("Send another selfie within the minute.")
            )

    return router

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bot.texts import common as texts
from domain.errors import DomainError

log = logging.getLogger(__name__)


async def _tell(event: ErrorEvent, text: str) -> None:
    update = event.update
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


def make_router() -> Router:
    router = Router(name="errors")

    @router.errors(ExceptionTypeFilter(DomainError))
    async def explain_refusal(event: ErrorEvent) -> None:
        assert isinstance(event.exception, DomainError)
        await _tell(event, texts.error_text(event.exception.code))

    @router.errors()
    async def apologise(event: ErrorEvent) -> None:
        log.exception("update %s failed", event.update.update_id, exc_info=event.exception)
        await _tell(event, texts.something_went_wrong())

    return router

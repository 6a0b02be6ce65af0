from __future__ import annotations

import contextlib
import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bot.middlewares import answered_queries
from domain.errors import DomainError
from infra.outages import describe, is_outage
from texts import common as texts

log = logging.getLogger(__name__)


async def _tell(event: ErrorEvent, text: str) -> None:
    update = event.update
    if update.callback_query is not None:
        query = update.callback_query
        if query.bot is not None and answered_queries(query.bot).answered(query.id):
            # The handler had answered the button already: say it in the chat instead.
            chat = query.message.chat.id if query.message is not None else query.from_user.id
            with contextlib.suppress(TelegramAPIError):
                await query.bot.send_message(chat, text)
            return
        await query.answer(text, show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


def make_router() -> Router:
    router = Router(name="errors")

    @router.errors(lambda event: is_outage(event.exception))
    async def temporarily_unavailable(event: ErrorEvent) -> None:
        """PostgreSQL or Redis unreachable: one line in the log (it is not a bug) and a clear
        answer; the drivers reconnect by themselves, so the next try after the outage works."""
        log.warning(
            "update %s: a dependency is unavailable (%s)",
            event.update.update_id,
            describe(event.exception),
        )
        await _tell(event, texts.temporarily_unavailable())

    @router.errors(ExceptionTypeFilter(DomainError))
    async def explain_refusal(event: ErrorEvent) -> None:
        assert isinstance(event.exception, DomainError)
        await _tell(event, texts.error_text(event.exception.code))

    @router.errors(ExceptionTypeFilter(TelegramBadRequest))
    async def unchanged_or_apologise(event: ErrorEvent) -> None:
        """The same button pressed twice edits its message into what it already shows, which
        Telegram refuses: nothing went wrong for the person, so nothing is said."""
        if "message is not modified" in str(event.exception):
            query = event.update.callback_query
            if query is not None and query.bot is not None:
                if not answered_queries(query.bot).answered(query.id):
                    with contextlib.suppress(TelegramAPIError):
                        await query.answer()
            return
        await apologise(event)

    @router.errors()
    async def apologise(event: ErrorEvent) -> None:
        log.exception("update %s failed", event.update.update_id, exc_info=event.exception)
        await _tell(event, texts.something_went_wrong())

    return router

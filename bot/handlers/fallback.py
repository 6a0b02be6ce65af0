"""Last in line: whatever nobody else handled still gets a helpful answer."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot import keyboards
from texts import common as texts


def make_router() -> Router:
    router = Router(name="fallback")
    router.message.filter(F.chat.type == "private")

    @router.message()
    async def answer_unknown(message: Message, webapp_url: str) -> None:
        await message.answer(texts.not_understood(), reply_markup=keyboards.main_menu(webapp_url))

    @router.callback_query()
    async def answer_stale_button(query: CallbackQuery) -> None:
        await query.answer(texts.not_understood(), show_alert=True)

    return router

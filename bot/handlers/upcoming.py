"""Menu items whose feature is not in the chat yet: say so, and who helps meanwhile."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot import keyboards
from bot.callbacks import MenuCallback
from bot.texts import common as texts


def make_router() -> Router:
    router = Router(name="upcoming")

    @router.callback_query(MenuCallback.filter())
    async def explain_upcoming(query: CallbackQuery, callback_data: MenuCallback) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(
                texts.upcoming(callback_data.action), reply_markup=keyboards.back_to_menu()
            )

    return router

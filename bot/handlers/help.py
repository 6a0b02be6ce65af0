from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot import keyboards
from bot.callbacks import MenuAction, MenuCallback
from bot.texts import common as texts


def make_router() -> Router:
    router = Router(name="help")

    @router.message(Command("help"))
    async def show_help(message: Message) -> None:
        await message.answer(texts.help_text(), reply_markup=keyboards.back_to_menu())

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.HELP))
    async def show_help_from_menu(query: CallbackQuery) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(texts.help_text(), reply_markup=keyboards.back_to_menu())

    return router

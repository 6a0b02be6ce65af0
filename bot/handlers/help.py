"""Help: first what fits the trainee's own situation, then topics; support is one tap away."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot import keyboards
from bot.callbacks import (
    HelpCallback,
    HelpTopic,
    MenuAction,
    MenuCallback,
    PayAction,
    PayCallback,
)
from domain.clock import Clock
from domain.selfhelp import Advice, suggestions
from infra.repositories.selfhelp import situation_of
from texts import common as texts
from texts import payment as payment_texts
from texts import selfhelp


def _support_row() -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=selfhelp.still_stuck(),
            callback_data=MenuCallback(action=MenuAction.SUPPORT).pack(),
        )
    ]


async def _help(message: Message, user_id: int, clock: Clock) -> None:
    found = suggestions(await situation_of(user_id), clock.now())
    rows: list[list[InlineKeyboardButton]] = []
    if any(s.advice is Advice.ORDER_EXPIRED for s in found):
        rows.append(
            [
                InlineKeyboardButton(
                    text=payment_texts.new_qr(),
                    callback_data=PayCallback(action=PayAction.RENEW).pack(),
                )
            ]
        )
    topics = list(HelpTopic)
    for pair in (topics[i : i + 2] for i in range(0, len(topics), 2)):
        rows.append(
            [
                InlineKeyboardButton(
                    text=selfhelp.topic_name(t), callback_data=HelpCallback(topic=t).pack()
                )
                for t in pair
            ]
        )
    rows.append(_support_row())
    await message.answer(
        selfhelp.intro([selfhelp.for_you(s) for s in found]),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


def make_router() -> Router:
    router = Router(name="help")

    @router.message(Command("help"), F.chat.type == "private")
    async def show_help(message: Message, clock: Clock) -> None:
        assert message.from_user is not None
        await _help(message, message.from_user.id, clock)

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.HELP))
    async def show_help_from_menu(query: CallbackQuery, clock: Clock) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await _help(query.message, query.from_user.id, clock)

    @router.callback_query(HelpCallback.filter())
    async def answer_topic(query: CallbackQuery, callback_data: HelpCallback) -> None:
        await query.answer()
        if not isinstance(query.message, Message):
            return
        if callback_data.topic is HelpTopic.COMMANDS:
            await query.message.answer(texts.help_text(), reply_markup=keyboards.back_to_menu())
            return
        await query.message.answer(
            selfhelp.answer(callback_data.topic),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[_support_row()]),
        )

    return router

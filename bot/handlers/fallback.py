"""Last in line: whatever nobody else handled still gets a helpful answer."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot import keyboards
from bot.conversation import TelegramReplies, answer
from conversation.engine import Conversations, Talk
from conversation.events import Unanswered
from domain.accounts import ChatAccount
from texts import common as texts


def make_router() -> Router:
    router = Router(name="fallback")
    router.message.filter(F.chat.type == "private")

    @router.message(F.text)
    async def answer_question(
        message: Message,
        state: FSMContext,
        account: ChatAccount,
        conversations: Conversations,
        replies: TelegramReplies,
        bot: Bot,
    ) -> None:
        """Words no step was waiting for are a question: self-help answers, or points to the
        desk (a core without self-help goes on to the handler below)."""
        assert message.text is not None
        event = Unanswered(message.text)
        await answer(event, message, Talk(account, state), conversations, replies, bot)

    @router.message()
    async def answer_unknown(message: Message, webapp_url: str) -> None:
        await message.answer(texts.not_understood(), reply_markup=keyboards.main_menu(webapp_url))

    @router.callback_query()
    async def answer_stale_button(query: CallbackQuery) -> None:
        await query.answer(texts.not_understood(), show_alert=True)

    return router

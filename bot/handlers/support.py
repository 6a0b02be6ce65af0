"""The trainee side of the support desk in Telegram: what nobody else handled is offered to
the conversation core's desk flow (conversation/flows/support.py), after every other router and
before the fallback; an edit of a message already in the topic is shown there."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.conversation import TelegramReplies, answer
from bot.desk import Desk
from conversation.engine import Conversations, Talk
from conversation.events import Leftover
from domain.accounts import ChatAccount


def make_relay_router() -> Router:
    """Last before the fallback: with a ticket, what nobody else handled goes to staff."""
    router = Router(name="support_relay")
    router.message.filter(F.chat.type == "private")
    router.edited_message.filter(F.chat.type == "private")

    @router.message()
    async def relay_to_staff(
        message: Message,
        state: FSMContext,
        account: ChatAccount,
        conversations: Conversations,
        replies: TelegramReplies,
        bot: Bot,
    ) -> None:
        # Plain words queued behind each other reach the topic as one message; anything else
        # (formatting, a photo, a sticker) is copied whole.
        plain = message.text if message.text is not None and not message.entities else None
        event = Leftover(str(message.message_id), plain)
        await answer(event, message, Talk(account, state), conversations, replies, bot)

    @router.edited_message()
    async def relay_edit(message: Message, desk: Desk) -> None:
        await desk.edit_in_topic(message)

    return router

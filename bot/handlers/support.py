"""Trainee side of the support desk: connect, and everything written goes to the topic."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import MenuAction, MenuCallback
from bot.desk import Desk
from infra.db.models import SupportTicket
from texts import support as texts


async def _connect(message: Message, user_id: int, desk: Desk) -> None:
    ticket = await desk.open_ticket(user_id)
    if ticket.banned:
        await message.answer(texts.banned_for_trainee())
        return
    await message.answer(texts.connected(await desk.tickets.card(user_id)))


def make_router() -> Router:
    router = Router(name="support")
    router.message.filter(F.chat.type == "private")

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.SUPPORT))
    async def connect_from_menu(query: CallbackQuery, desk: Desk) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await _connect(query.message, query.from_user.id, desk)

    @router.message(Command("support"))
    async def connect_by_command(message: Message, desk: Desk) -> None:
        assert message.from_user is not None
        await _connect(message, message.from_user.id, desk)

    return router


async def has_ticket(message: Message, desk: Desk) -> bool | dict[str, SupportTicket]:
    """Once a trainee has talked to the desk, what the bot does not understand goes to staff;
    a message after staff closed the ticket reopens it."""
    ticket = await desk.tickets.get(message.chat.id)
    return {"ticket": ticket} if ticket is not None else False


def make_relay_router() -> Router:
    """Last before the fallback: with an open ticket, what nobody else handled goes to staff."""
    router = Router(name="support_relay")
    router.message.filter(F.chat.type == "private")
    router.edited_message.filter(F.chat.type == "private")

    @router.message(has_ticket)
    async def relay_to_staff(message: Message, desk: Desk, ticket: SupportTicket) -> None:
        if ticket.banned:
            await message.answer(texts.banned_for_trainee())
            return
        if desk.too_fast(message.chat.id):
            await message.answer(texts.too_fast())
        await desk.to_staff(message)

    @router.edited_message()
    async def relay_edit(message: Message, desk: Desk) -> None:
        await desk.edit_in_topic(message)

    return router

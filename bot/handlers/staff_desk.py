"""Staff side of the desk, in the staff group: replies in topics, commands, decisions."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import F, Router
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.applications import Applications
from bot.callbacks import ApplyAction, ApplyCallback
from bot.console import correct_and_tell
from bot.desk import Desk
from conversation.ports import Tell
from domain.enrolment import CorrectCategory, EnrolmentRefused
from domain.support import is_staff_note
from domain.timezone import CHINA
from infra.db.models import SupportTicket
from infra.repositories.support import audit
from texts import console as console_texts
from texts import support as texts
from texts.i18n import current_locale

CANNED = ("order", "invoice", "paid", "browser")
# (staff id, name, supervisor, locale) -> the console's one-time sign-in address
ConsoleLink = Callable[[int, str, bool, str], str]


class Deciding(StatesGroup):
    reason = State()


async def in_topic(message: Message, desk: Desk) -> bool | dict[str, SupportTicket]:
    if message.message_thread_id is None:
        return False
    ticket = await desk.tickets.by_thread(
        message.message_thread_id, message.chat.id, desk.staff_group_id
    )
    return {"ticket": ticket} if ticket is not None else False


def make_router(staff_groups: frozenset[int]) -> Router:
    """In the staff group and in each desk's own group (STAFF_DESK_GROUPS)."""
    router = Router(name="staff_desk")
    router.message.filter(F.chat.id.in_(staff_groups))
    router.callback_query.filter(F.message.chat.id.in_(staff_groups))

    @router.message(Command("close"), in_topic)
    async def close_ticket(
        message: Message, command: CommandObject, desk: Desk, ticket: SupportTicket
    ) -> None:
        await desk.tickets.close(ticket)
        await desk.bot.send_message(ticket.chat_user_id, texts.closed_for_trainee(command.args))
        await desk.bot.close_forum_topic(message.chat.id, ticket.thread_id)
        await message.reply(texts.staff_done("closed"))

    @router.message(Command("card"), in_topic)
    async def refresh_card(message: Message, desk: Desk, ticket: SupportTicket) -> None:
        await desk.post_card(ticket)

    @router.message(Command("ban"), in_topic)
    async def ban(message: Message, desk: Desk, ticket: SupportTicket) -> None:
        await desk.tickets.set_banned(ticket, True)
        assert message.from_user is not None
        await audit(message.from_user.id, "ban", str(ticket.chat_user_id))
        await desk.bot.send_message(ticket.chat_user_id, texts.banned_for_trainee())
        await message.reply(texts.staff_done("banned"))

    @router.message(Command("unban"), in_topic)
    async def unban(message: Message, desk: Desk, ticket: SupportTicket) -> None:
        await desk.tickets.set_banned(ticket, False)
        assert message.from_user is not None
        await audit(message.from_user.id, "unban", str(ticket.chat_user_id))
        await desk.bot.send_message(ticket.chat_user_id, texts.unbanned_for_trainee())
        await message.reply(texts.staff_done("unbanned"))

    @router.message(Command("a"), in_topic)
    async def canned_answer(
        message: Message, command: CommandObject, desk: Desk, ticket: SupportTicket
    ) -> None:
        name = (command.args or "").strip()
        card = await desk.tickets.card(ticket.chat_user_id)
        locale = card.locale or desk.i18n.default_locale
        with desk.i18n.use_locale(locale):
            text = texts.canned(name)
        if text is None:
            await message.reply(texts.staff_done("unknown_canned").format(names=", ".join(CANNED)))
            return
        await desk.bot.send_message(ticket.chat_user_id, text)

    @router.message(Command("category"))
    async def correct_category(
        message: Message,
        command: CommandObject,
        desk: Desk,
        correct_category: CorrectCategory,
        tell: Tell | None = None,
    ) -> None:
        """R-ENROL-4: /category CERTIFICATE CATEGORY, audit-logged; the holder is told."""
        number, _, category = (command.args or "").strip().rpartition(" ")
        if not number.strip():
            await message.reply(texts.category_usage())
            return
        assert message.from_user is not None
        try:
            done = await correct_and_tell(
                correct_category, desk, message.from_user.id, number, category, tell
            )
        except EnrolmentRefused as exc:
            await message.reply(texts.category_refused(exc.code, exc.params))
            return
        await message.reply(texts.category_set(done.certificate, done.old, done.holder is not None))

    @router.message(Command("open"))
    async def list_open(message: Message, desk: Desk) -> None:
        rows = [
            (
                t.id,
                t.topic_name,
                t.last_message_at.astimezone(CHINA).strftime("%m-%d %H:%M")
                if t.last_message_at
                else "—",
            )
            for t in await desk.tickets.open_by_age()
        ]
        await message.reply(texts.open_tickets(rows))

    @router.message(Command("console"))
    async def console(message: Message, desk: Desk, console_link: ConsoleLink) -> None:
        """A one-time sign-in link to the staff console, privately when the bot may write to
        this member; the group's administrators are supervisors there."""
        staff = message.from_user
        assert staff is not None
        member = await desk.bot.get_chat_member(message.chat.id, staff.id)
        supervisor = member.status in (ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR)
        url = console_link(staff.id, staff.full_name, supervisor, current_locale())
        try:
            await desk.bot.send_message(staff.id, console_texts.sign_in_link(url, supervisor))
        except (TelegramForbiddenError, TelegramBadRequest):
            await message.reply(console_texts.sign_in_here(url, supervisor))
            return
        await message.reply(console_texts.sign_in_link_sent())

    @router.message(Command("find"))
    async def find(message: Message, command: CommandObject, desk: Desk) -> None:
        cards = [
            await desk.tickets.card(user) for user in await desk.tickets.find(command.args or "")
        ]
        await message.reply(texts.found(cards))

    @router.message(Deciding.reason, in_topic, F.text)
    async def reject_with_reason(
        message: Message,
        state: FSMContext,
        applications: Applications,
        desk: Desk,
    ) -> None:
        data = await state.get_data()
        await state.clear()
        assert message.from_user is not None
        card = data.get("card")
        await applications.decide(
            data["application"],
            approved=False,
            staff_id=message.from_user.id,
            staff_name=message.from_user.full_name,
            reason=message.text,
            desk=desk,
            card=Message.model_validate(card) if card else None,
            reply=message,
        )

    # Commands are not relayed; they go on to the other staff routers (/exam, /revoke, ...).
    @router.message(in_topic, ~F.text.regexp(r"^/[A-Za-z]"))
    async def reply_to_trainee(message: Message, desk: Desk, ticket: SupportTicket) -> None:
        if is_staff_note(message.text or message.caption):
            return
        await desk.to_trainee(message, ticket)

    @router.callback_query(ApplyCallback.filter(F.action == ApplyAction.APPROVE))
    async def approve(
        query: CallbackQuery,
        callback_data: ApplyCallback,
        applications: Applications,
        desk: Desk,
    ) -> None:
        await applications.decide(
            callback_data.item,
            approved=True,
            staff_id=query.from_user.id,
            staff_name=query.from_user.full_name,
            reason=None,
            desk=desk,
            card=query.message if isinstance(query.message, Message) else None,
            query=query,
        )

    @router.callback_query(ApplyCallback.filter(F.action == ApplyAction.REJECT))
    async def ask_reason(
        query: CallbackQuery, callback_data: ApplyCallback, state: FSMContext
    ) -> None:
        await state.set_state(Deciding.reason)
        # The card is rewritten with the decision once the reason comes.
        card = query.message if isinstance(query.message, Message) else None
        await state.update_data(
            application=callback_data.item,
            card=card.model_dump(mode="json", exclude_none=True) if card else None,
        )
        await query.answer(texts.ask_reject_reason(), show_alert=True)

    return router

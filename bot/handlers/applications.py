"""Extension, make-up and re-study applications in the chat (R-EXT-1..3, S17, S18)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.applications import Applications
from bot.callbacks import ApplyAction, ApplyCallback, MenuAction, MenuCallback
from bot.desk import Desk
from domain.support import ApplicationKind
from texts import support as texts


class Applying(StatesGroup):
    form = State()


async def _overview(message: Message, user_id: int, applications: Applications) -> None:
    enrolments = await applications.enrolments(user_id)
    if not enrolments:
        await message.answer(texts.no_paid_enrolments())
        return
    lines = [texts.applications_intro()]
    buttons = []
    for kind in ApplicationKind:
        several = [e for e in enrolments if (await applications.eligibility(e, kind)).allowed]
        if len(several) > 1:
            buttons.append(
                [
                    InlineKeyboardButton(
                        text=texts.apply_for_all(kind.value, len(several)),
                        callback_data=ApplyCallback(
                            action=ApplyAction.START, kind=kind, item=0
                        ).pack(),
                    )
                ]
            )
    for enrolment in enrolments:
        label = applications.label(enrolment)
        for kind in ApplicationKind:
            eligibility = await applications.eligibility(enrolment, kind)
            lines.append(texts.eligibility_line(label, kind.value, eligibility))
            if eligibility.code == "phone_desk":  # one desk for every kind: said once
                break
            if eligibility.allowed:
                buttons.append(
                    [
                        InlineKeyboardButton(
                            text=f"📨 {texts.apply_button(kind.value)}: {label}",
                            callback_data=ApplyCallback(
                                action=ApplyAction.START, kind=kind, item=enrolment.id
                            ).pack(),
                        )
                    ]
                )
    await message.answer(
        "\n".join(lines),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None,
    )


def make_router() -> Router:
    router = Router(name="applications")
    router.message.filter(F.chat.type == "private")

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.APPLICATIONS))
    async def show_from_menu(query: CallbackQuery, applications: Applications) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await _overview(query.message, query.from_user.id, applications)

    @router.message(Command("apply"))
    async def show_by_command(message: Message, applications: Applications) -> None:
        assert message.from_user is not None
        await _overview(message, message.from_user.id, applications)

    @router.callback_query(
        ApplyCallback.filter(F.action == ApplyAction.START), ApplyCallback.filter(F.kind)
    )
    async def send_form(
        query: CallbackQuery,
        callback_data: ApplyCallback,
        state: FSMContext,
        applications: Applications,
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        assert callback_data.kind is not None  # the filter above
        kind = callback_data.kind
        # Waiting for the form before it is sent: a quick reply must not arrive too early.
        await state.set_state(Applying.form)
        await state.update_data(kind=kind.value, enrolment=callback_data.item)
        if not await applications.start(
            query.message, query.from_user.id, kind, callback_data.item
        ):
            await state.clear()
            await _overview(query.message, query.from_user.id, applications)

    @router.message(Applying.form, F.document | F.photo)
    async def take_form(
        message: Message, state: FSMContext, applications: Applications, desk: Desk
    ) -> None:
        assert message.from_user is not None
        data = await state.get_data()
        file_id = message.document.file_id if message.document else message.photo[-1].file_id  # type: ignore[index]
        created = await applications.submit(
            message,
            message.from_user.id,
            ApplicationKind(data["kind"]),
            data["enrolment"],
            file_id,
            desk,
        )
        await state.clear()
        if not created:
            await _overview(message, message.from_user.id, applications)
            return
        await message.answer(texts.application_received(", #".join(map(str, created))))

    @router.message(Applying.form)
    async def ask_for_the_form(
        message: Message, state: FSMContext, applications: Applications
    ) -> None:
        assert message.from_user is not None
        data = await state.get_data()
        kind, enrolment_id = ApplicationKind(data["kind"]), data["enrolment"]
        if await applications.eligible(message.from_user.id, kind, enrolment_id):
            await message.answer(texts.send_the_form_again())
            return
        # Filed meanwhile (signed in the Mini App): no form is awaited any more.
        await state.clear()
        await _overview(message, message.from_user.id, applications)

    return router

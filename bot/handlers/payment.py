"""Paying by QR code: the bill, invoice details, the order and its QR, checking, renewing."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot import payment_keyboards as kb
from bot.callbacks import (
    MenuAction,
    MenuCallback,
    PayAction,
    PayCallback,
    PickAction,
    PickCallback,
)
from bot.notifier import BotPaymentNotifier
from domain.accounts import ChatAccount, ChatUserId
from domain.checkout import (
    Bill,
    CheckOrder,
    Order,
    PlaceOrder,
    RemoveEnrolment,
    SaveInvoiceDetails,
    ShowBill,
    pick_key,
    ticked,
)
from domain.enrolment import Channel
from domain.payment import OrderStatus, PaymentRefused
from texts import payment as texts

QrRenderer = Callable[[str, str, str, str], bytes]


class Paying(StatesGroup):
    title = State()
    taxpayer = State()
    email = State()
    credit_code = State()


def _account(event: Message | CallbackQuery) -> ChatUserId:
    assert event.from_user is not None
    return ChatUserId(event.from_user.id)


# The pick lives in the chat's state under these keys: whom the payer unticked (everything due
# starts ticked), the page, and whose bill (own or company's) when the account has both.
UNTICKED, PAGE, PAYING_AS, PICKED = "pay_off", "pay_page", "pay_as", "pay_ids"


async def _channel(state: FSMContext) -> Channel | None:
    value = (await state.get_data()).get(PAYING_AS)
    return Channel(value) if value else None


async def _unticked(state: FSMContext) -> set[int]:
    return set((await state.get_data()).get(UNTICKED, []))


async def _keep_only_the_pick(state: FSMContext) -> None:
    """Leaves a step (invoice details) without forgetting whom the payer ticked."""
    data = await state.get_data()
    await state.set_state(None)
    await state.set_data({k: v for k, v in data.items() if k in (UNTICKED, PAGE, PAYING_AS)})


def make_router() -> Router:
    router = Router(name="payment")
    router.message.filter(F.chat.type == "private")

    async def present_bill(
        message: Message,
        account: ChatUserId,
        show: ShowBill,
        state: FSMContext,
        edit: bool = False,
    ) -> Bill | None:
        try:
            bill = await show(account, await _channel(state))
        except PaymentRefused as exc:
            await message.answer(texts.refusal(exc.code))
            return None
        if not bill.items and not bill.open_orders:
            await message.answer(texts.nothing_to_pay(), reply_markup=kb.nothing_left())
            return None
        if bill.items:
            data = await state.get_data()
            due = {item.enrolment_id for item in bill.items}
            unticked = set(data.get(UNTICKED, [])) & due
            page = min(max(int(data.get(PAGE, 0)), 0), kb.pages(bill) - 1)
            await state.update_data(
                {UNTICKED: sorted(unticked), PAGE: page, PAYING_AS: bill.channel.value}
            )
            shown = {item.enrolment_id for item in kb.page_of(bill, page)}
            text, markup = texts.bill(bill, unticked, shown), kb.bill(bill, unticked, page)
            if edit:
                await message.edit_text(text, reply_markup=markup)
            else:
                await message.answer(text, reply_markup=markup)
        return bill

    async def start(
        message: Message, account: ChatUserId, show: ShowBill, state: FSMContext
    ) -> Bill | None:
        """A fresh pick, everything ticked; first the question whose, when the account can pay
        both for itself and for its company."""
        await state.clear()
        try:
            bill = await show(account)
        except PaymentRefused as exc:
            await message.answer(texts.refusal(exc.code))
            return None
        if bill.others and bill.enterprise is not None:
            await message.answer(texts.who_pays(bill.enterprise.name), reply_markup=kb.who_pays())
            return None
        return await present_bill(message, account, show, state)

    async def send_order(
        message: Message, order: Order, notifier: BotPaymentNotifier, qr: QrRenderer
    ) -> None:
        # In the trainee's language, as the message beside it.
        amount, deadline = texts.qr_amount(order.amount_fen), texts.qr_deadline(order.expires_at)
        png = qr(order.pay_url, amount, order.number, deadline)
        await notifier.send_order(message.chat.id, order, png)

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.PAY))
    async def pay_from_menu(
        query: CallbackQuery,
        show_bill: ShowBill,
        state: FSMContext,
        notifier: BotPaymentNotifier,
        payment_qr: QrRenderer,
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        bill = await start(query.message, _account(query), show_bill, state)
        if bill is not None and not bill.items:
            await send_order(query.message, bill.open_orders[0], notifier, payment_qr)

    @router.message(Command("pay"))
    async def pay_by_command(
        message: Message,
        show_bill: ShowBill,
        state: FSMContext,
        notifier: BotPaymentNotifier,
        payment_qr: QrRenderer,
    ) -> None:
        bill = await start(message, _account(message), show_bill, state)
        if bill is not None and not bill.items:
            await send_order(message, bill.open_orders[0], notifier, payment_qr)

    @router.callback_query(PayCallback.filter(F.action == PayAction.INVOICE))
    async def ask_invoice_title(
        query: CallbackQuery,
        state: FSMContext,
        show_bill: ShowBill,
        account: ChatAccount,
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        bill = await show_bill(_account(query), await _channel(state))
        suggestion = bill.enterprise.name if bill.enterprise else account.first_name
        if bill.items and not bill.enterprise:
            suggestion = bill.items[0].certificate.holder_name
        await state.set_state(Paying.title)
        await state.update_data(
            suggestion=suggestion,
            taxpayer=bill.enterprise.credit_code if bill.enterprise else None,
        )
        await query.message.answer(
            texts.ask_title(suggestion), reply_markup=kb.suggestion(suggestion)
        )

    async def after_title(message: Message, state: FSMContext, title: str) -> None:
        await state.update_data(title=title)
        await state.set_state(Paying.taxpayer)
        data = await state.get_data()
        if data.get("taxpayer"):  # a company's taxpayer ID is its credit code: known already
            await state.set_state(Paying.email)
            await message.answer(texts.ask_email(), reply_markup=kb.skip())
            return
        await message.answer(texts.ask_taxpayer(), reply_markup=kb.skip())

    @router.message(Paying.title, F.text)
    async def take_title(message: Message, state: FSMContext) -> None:
        await after_title(message, state, message.text or "")

    @router.callback_query(Paying.title, PayCallback.filter(F.action == PayAction.USE_SUGGESTION))
    async def take_suggested_title(query: CallbackQuery, state: FSMContext) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        await after_title(query.message, state, (await state.get_data())["suggestion"])

    @router.message(Paying.taxpayer, F.text)
    async def take_taxpayer(message: Message, state: FSMContext) -> None:
        await state.update_data(taxpayer=message.text)
        await state.set_state(Paying.email)
        await message.answer(texts.ask_email(), reply_markup=kb.skip())

    @router.callback_query(Paying.taxpayer, PayCallback.filter(F.action == PayAction.SKIP))
    async def skip_taxpayer(query: CallbackQuery, state: FSMContext) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        await state.set_state(Paying.email)
        await query.message.answer(texts.ask_email(), reply_markup=kb.skip())

    async def save_invoice(
        message: Message,
        account: ChatUserId,
        state: FSMContext,
        email: str | None,
        save: SaveInvoiceDetails,
        show: ShowBill,
    ) -> None:
        data = await state.get_data()
        try:
            await save(account, data.get("title", ""), data.get("taxpayer"), email)
        except PaymentRefused as exc:
            await message.answer(texts.refusal(exc.code))
            if exc.code == "bad_email":
                return
            await state.set_state(Paying.title)
            await message.answer(texts.ask_title(data.get("suggestion", "")))
            return
        await _keep_only_the_pick(state)
        await present_bill(message, account, show, state)

    @router.message(Paying.email, F.text)
    async def take_email(
        message: Message,
        state: FSMContext,
        save_invoice_details: SaveInvoiceDetails,
        show_bill: ShowBill,
    ) -> None:
        await save_invoice(
            message,
            _account(message),
            state,
            message.text,
            save_invoice_details,
            show_bill,
        )

    @router.callback_query(Paying.email, PayCallback.filter(F.action == PayAction.SKIP))
    async def skip_email(
        query: CallbackQuery,
        state: FSMContext,
        save_invoice_details: SaveInvoiceDetails,
        show_bill: ShowBill,
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        await save_invoice(
            query.message,
            _account(query),
            state,
            None,
            save_invoice_details,
            show_bill,
        )

    async def place(
        message: Message,
        account: ChatUserId,
        state: FSMContext,
        place_order: PlaceOrder,
        show: ShowBill,
        notifier: BotPaymentNotifier,
        qr: QrRenderer,
        credit_code: str | None = None,
    ) -> None:
        data = await state.get_data()
        picked = data.get(PICKED)
        try:
            order = await place_order(
                account,
                credit_code,
                channel=await _channel(state),
                only=set(picked) if picked is not None else None,
            )
        except PaymentRefused as exc:
            await message.answer(texts.refusal(exc.code))
            if exc.code == "selection_changed":
                await present_bill(message, account, show, state)
            return
        await state.clear()
        await send_order(message, order, notifier, qr)

    @router.callback_query(PayCallback.filter(F.action.in_({PayAction.CONFIRM, PayAction.RENEW})))
    async def confirm(
        query: CallbackQuery,
        callback_data: PayCallback,
        state: FSMContext,
        show_bill: ShowBill,
        place_order: PlaceOrder,
        notifier: BotPaymentNotifier,
        payment_qr: QrRenderer,
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        account = _account(query)
        bill = await show_bill(account, await _channel(state))
        picked = [item.enrolment_id for item in ticked(bill.items, await _unticked(state))]
        # The button carries what the payer saw: a list that changed since (paid, ordered,
        # removed) or a pick the chat forgot is shown again rather than ordered.
        if callback_data.order and callback_data.order != pick_key(picked):
            await query.message.answer(texts.pick_changed())
            await present_bill(query.message, account, show_bill, state)
            return
        await _keep_only_the_pick(state)
        await state.update_data({PICKED: picked} if bill.items else {})
        if bill.enterprise is not None and bill.items:
            await state.set_state(Paying.credit_code)
            await query.message.answer(texts.ask_credit_code_again())
            return
        await place(query.message, account, state, place_order, show_bill, notifier, payment_qr)

    @router.message(Paying.credit_code, F.text)
    async def confirm_with_credit_code(
        message: Message,
        state: FSMContext,
        place_order: PlaceOrder,
        show_bill: ShowBill,
        notifier: BotPaymentNotifier,
        payment_qr: QrRenderer,
    ) -> None:
        await state.set_state(None)
        account = _account(message)
        await place(
            message, account, state, place_order, show_bill, notifier, payment_qr, message.text
        )

    # ---- the pick list: ticking, paging, whose bill, removing a mistaken enrolment ----

    @router.callback_query(
        PickCallback.filter(
            F.action.in_({PickAction.TOGGLE, PickAction.PAGE, PickAction.ALL, PickAction.NONE})
        )
    )
    async def tick(
        query: CallbackQuery, callback_data: PickCallback, state: FSMContext, show_bill: ShowBill
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        action, item = callback_data.action, callback_data.item
        unticked = await _unticked(state)
        if action is PickAction.TOGGLE:
            unticked.symmetric_difference_update({item})  # only due ids survive present_bill
        elif action is PickAction.PAGE:
            await state.update_data({PAGE: item})
        elif action is PickAction.NONE:
            bill = await show_bill(_account(query), await _channel(state))
            unticked = {i.enrolment_id for i in bill.items}
        else:
            unticked = set()
        await state.update_data({UNTICKED: sorted(unticked)})
        await present_bill(query.message, _account(query), show_bill, state, edit=True)

    @router.callback_query(PickCallback.filter(F.action.in_({PickAction.OWN, PickAction.COMPANY})))
    async def choose_whose(
        query: CallbackQuery, callback_data: PickCallback, state: FSMContext, show_bill: ShowBill
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        whose = (
            Channel.ENTERPRISE if callback_data.action is PickAction.COMPANY else Channel.INDIVIDUAL
        )
        await state.clear()
        await state.update_data({PAYING_AS: whose.value})
        await present_bill(query.message, _account(query), show_bill, state)

    @router.callback_query(PickCallback.filter(F.action == PickAction.REMOVE))
    async def ask_remove(
        query: CallbackQuery, callback_data: PickCallback, state: FSMContext, show_bill: ShowBill
    ) -> None:
        bill = await show_bill(_account(query), await _channel(state))
        item = next((i for i in bill.items if i.enrolment_id == callback_data.item), None)
        if item is None:
            await query.answer(texts.refusal("cannot_remove"), show_alert=True)
            return
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.answer(
            texts.confirm_remove(item, holder=True),
            reply_markup=kb.confirm_remove(item),
        )

    @router.callback_query(PickCallback.filter(F.action == PickAction.REMOVE_YES))
    async def remove(
        query: CallbackQuery,
        callback_data: PickCallback,
        state: FSMContext,
        show_bill: ShowBill,
        remove_enrolment: RemoveEnrolment,
    ) -> None:
        channel = await _channel(state)
        try:
            item = await remove_enrolment(_account(query), callback_data.item, channel)
        except PaymentRefused as exc:
            await query.answer(texts.refusal(exc.code), show_alert=True)
            return
        await query.answer()
        assert isinstance(query.message, Message)
        holder = channel is Channel.ENTERPRISE or item.certificate.holder_name != ""
        await query.message.edit_text(
            texts.removed(item, holder and channel is not Channel.INDIVIDUAL)
        )
        await present_bill(query.message, _account(query), show_bill, state)

    @router.callback_query(PickCallback.filter(F.action == PickAction.KEEP))
    async def keep(query: CallbackQuery, state: FSMContext, show_bill: ShowBill) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.edit_text(texts.kept())
        await present_bill(query.message, _account(query), show_bill, state)

    @router.callback_query(PayCallback.filter(F.action == PayAction.CHECK))
    async def check(
        query: CallbackQuery, callback_data: PayCallback, check_order: CheckOrder
    ) -> None:
        try:
            order = await check_order(_account(query), callback_data.order)
        except PaymentRefused as exc:
            await query.answer(texts.refusal(exc.code), show_alert=True)
            return
        if order.status is OrderStatus.PAID:
            await query.answer(texts.already_paid(), show_alert=True)
            return
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(texts.not_paid_yet(order))

    return router

"""Paying by QR code: the bill, invoice details, the order and its QR, checking, renewing."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot import payment_keyboards as kb
from bot.callbacks import MenuAction, MenuCallback, PayAction, PayCallback
from bot.notifier import BotPaymentNotifier
from domain.accounts import ChatAccount, ChatUserId
from domain.checkout import (
    Bill,
    CheckOrder,
    Order,
    PlaceOrder,
    SaveInvoiceDetails,
    ShowBill,
)
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


def make_router() -> Router:
    router = Router(name="payment")
    router.message.filter(F.chat.type == "private")

    async def present_bill(message: Message, account: ChatUserId, show: ShowBill) -> Bill | None:
        try:
            bill = await show(account)
        except PaymentRefused as exc:
            await message.answer(texts.refusal(exc.code))
            return None
        if not bill.items and not bill.open_orders:
            await message.answer(texts.nothing_to_pay())
            return None
        if bill.items:
            await message.answer(texts.bill(bill), reply_markup=kb.bill(bill))
        return bill

    async def send_order(
        message: Message, order: Order, notifier: BotPaymentNotifier, qr: QrRenderer
    ) -> None:
        # In the trainee's language, as the message beside it.
        amount, deadline = texts.qr_amount(order.amount_fen), texts.qr_deadline(order.expires_at)
        png = qr(order.pay_url, amount, order.number, deadline)
        await notifier.send_order(message.chat.id, order, png)

    async def place(
        message: Message,
        account: ChatUserId,
        place_order: PlaceOrder,
        notifier: BotPaymentNotifier,
        qr: QrRenderer,
        credit_code: str | None = None,
    ) -> None:
        try:
            order = await place_order(account, credit_code)
        except PaymentRefused as exc:
            await message.answer(texts.refusal(exc.code))
            return
        await send_order(message, order, notifier, qr)

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.PAY))
    async def pay_from_menu(
        query: CallbackQuery,
        show_bill: ShowBill,
        state: FSMContext,
        notifier: BotPaymentNotifier,
        payment_qr: QrRenderer,
    ) -> None:
        await query.answer()
        await state.clear()
        assert isinstance(query.message, Message)
        bill = await present_bill(query.message, _account(query), show_bill)
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
        await state.clear()
        bill = await present_bill(message, _account(message), show_bill)
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
        bill = await show_bill(_account(query))
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
        await state.clear()
        await present_bill(message, account, show)

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

    @router.callback_query(PayCallback.filter(F.action.in_({PayAction.CONFIRM, PayAction.RENEW})))
    async def confirm(
        query: CallbackQuery,
        state: FSMContext,
        show_bill: ShowBill,
        place_order: PlaceOrder,
        notifier: BotPaymentNotifier,
        payment_qr: QrRenderer,
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        bill = await show_bill(_account(query))
        if bill.enterprise is not None and bill.items:
            await state.set_state(Paying.credit_code)
            await query.message.answer(texts.ask_credit_code_again())
            return
        await place(query.message, _account(query), place_order, notifier, payment_qr)

    @router.message(Paying.credit_code, F.text)
    async def confirm_with_credit_code(
        message: Message,
        state: FSMContext,
        place_order: PlaceOrder,
        notifier: BotPaymentNotifier,
        payment_qr: QrRenderer,
    ) -> None:
        await state.clear()
        await place(message, _account(message), place_order, notifier, payment_qr, message.text)

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

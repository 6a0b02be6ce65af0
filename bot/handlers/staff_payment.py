"""Staff attach issued invoices to orders, and see which are overdue (R-PAY-4, S7)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from domain.checkout import AttachInvoice, OverdueInvoices
from domain.payment import PaymentRefused
from texts import payment as texts


def make_router(staff_group_id: int | None) -> Router:
    router = Router(name="staff_payment")
    router.message.filter(F.chat.id == staff_group_id)

    @router.message(Command("invoice"), F.document)
    async def attach_invoice(
        message: Message, command: CommandObject, attach_invoice: AttachInvoice
    ) -> None:
        assert message.document is not None
        number = (command.args or "").strip()
        try:
            await attach_invoice(number, message.document.file_id)
        except PaymentRefused as exc:
            await message.reply(texts.refusal(exc.code))
            return
        await message.reply(texts.invoice_attached(number.upper()))

    @router.message(Command("invoices"))
    async def list_overdue(message: Message, overdue_invoices: OverdueInvoices) -> None:
        overdue = await overdue_invoices()
        await message.reply(texts.overdue_invoices([order.number for order in overdue]))

    return router

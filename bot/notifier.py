"""Messages the bot sends on its own initiative (not as a reply), in each person's language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import I18n

from bot import payment_keyboards as kb
from bot.texts import payment as texts
from domain.accounts import ChatUserId
from domain.checkout import Order
from domain.payment import Outcome, study_deadline
from domain.timezone import CHINA
from infra.repositories.accounts import TortoiseAccountRepository


class BotPaymentNotifier:
    def __init__(
        self,
        bot: Bot,
        i18n: I18n,
        accounts: TortoiseAccountRepository,
        staff_group_id: int | None,
        webapp_url: str,
    ) -> None:
        self._bot = bot
        self._i18n = i18n
        self._accounts = accounts
        self._staff_group_id = staff_group_id
        self._webapp_url = webapp_url

    async def _locale(self, user_id: ChatUserId) -> str:
        account = await self._accounts.get(user_id)
        return account.locale.value if account else self._i18n.default_locale

    async def paid(self, order: Order, *, late: bool, found_by_reconciliation: bool) -> None:
        assert order.paid_at is not None
        deadline = study_deadline(order.paid_at).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        with self._i18n.context(), self._i18n.use_locale(await self._locale(order.payer)):
            await self._bot.send_message(
                order.payer,
                texts.paid(order, deadline, found_by_reconciliation=found_by_reconciliation),
                reply_markup=kb.start_studying(self._webapp_url),
            )

    async def expiring(self, order: Order) -> None:
        with self._i18n.context(), self._i18n.use_locale(await self._locale(order.payer)):
            await self._bot.send_message(order.payer, texts.expiring(order))

    async def expired(self, order: Order) -> None:
        with self._i18n.context(), self._i18n.use_locale(await self._locale(order.payer)):
            await self._bot.send_message(order.payer, texts.expired(order), reply_markup=kb.renew())

    async def for_staff(self, order_number: str, outcome: Outcome) -> None:
        if self._staff_group_id is None:
            return
        with self._i18n.context(), self._i18n.use_locale(self._i18n.default_locale):
            await self._bot.send_message(
                self._staff_group_id, texts.for_staff(order_number, outcome)
            )

    async def overdue_invoices(self, numbers: list[str]) -> None:
        if self._staff_group_id is None:
            return
        with self._i18n.context(), self._i18n.use_locale(self._i18n.default_locale):
            await self._bot.send_message(self._staff_group_id, texts.overdue_invoices(numbers))

    async def invoice_ready(self, order: Order) -> None:
        assert order.invoice_file_id is not None
        with self._i18n.context(), self._i18n.use_locale(await self._locale(order.payer)):
            await self._bot.send_document(
                order.payer, order.invoice_file_id, caption=texts.invoice_ready(order)
            )

    async def send_order(self, chat_id: int, order: Order, qr_png: bytes) -> None:
        await self._bot.send_photo(
            chat_id,
            BufferedInputFile(qr_png, filename=f"{order.number}.png"),
            caption=texts.order_caption(order),
            reply_markup=kb.order(order),
        )

"""Messages the bot sends on its own initiative (not as a reply), in each person's language."""

from __future__ import annotations

from typing import Any

from aiogram import Bot

from bot.reminder_messages import render_urgent
from conversation.flows.payment import ORDER_QR
from domain.accounts import ChatUserId
from domain.checkout import Order
from domain.clock import Clock
from domain.locales import DEFAULT_LOCALE
from domain.payment import Outcome, study_deadline
from domain.reminders import ReminderKind
from domain.timezone import CHINA
from infra.outbox import NewMessage, TortoiseOutbox
from infra.repositories.accounts import TortoiseAccountRepository
from texts import payment as texts
from texts.i18n import Catalogs

QR_KIND = ORDER_QR  # recorded as sent (the flow's QR reply), never queued: see record_sent


class BotPaymentNotifier:
    def __init__(
        self,
        bot: Bot,
        i18n: Catalogs,
        accounts: TortoiseAccountRepository,
        staff_group_id: int | None,
        webapp_url: str,
        outbox: TortoiseOutbox | None = None,
        clock: Clock | None = None,
        staff_locale: str = DEFAULT_LOCALE.value,
    ) -> None:
        self._staff_locale = staff_locale
        self._bot = bot
        self._i18n = i18n
        self._accounts = accounts
        self._staff_group_id = staff_group_id
        self._webapp_url = webapp_url
        self._outbox = outbox
        self._clock = clock

    async def _locale(self, user_id: ChatUserId) -> str:
        account = await self._accounts.get(user_id)
        return account.locale.value if account else self._i18n.default_locale

    async def confirmation(
        self, order: Order, *, late: bool, found_by_reconciliation: bool
    ) -> NewMessage | None:
        """The confirmation's outbox row, which the payment store writes with the payment
        (ApplyPayment): it goes out once even if this process dies right after the commit.
        Made from the order alone (the QR codes are found when it is sent), so nothing is read
        for it. None without an outbox: `paid` then sends it once the payment is applied."""
        if self._outbox is None:
            return None
        return self._message(
            order, ReminderKind.ORDER_PAID, *self._paid_notice(order, found_by_reconciliation)
        )

    async def paid(self, order: Order, *, late: bool, found_by_reconciliation: bool) -> None:
        """The confirmation now: sent without an outbox (ApplyPayment asks once the payment is
        applied), queued on its own with one."""
        await self._outbox_or_send(
            order, ReminderKind.ORDER_PAID, *self._paid_notice(order, found_by_reconciliation)
        )

    def _paid_notice(
        self, order: Order, found_by_reconciliation: bool
    ) -> tuple[str, dict[str, Any]]:
        """The confirmation's key and parameters."""
        assert order.paid_at is not None
        deadline = study_deadline(order.paid_at).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        return (
            f"{ReminderKind.ORDER_PAID.value}|{order.number}",
            {
                "order": order.number,
                "amount_fen": order.amount_fen,
                "deadline": deadline,
                "invoice_due": order.invoice_due_on.isoformat() if order.invoice_due_on else None,
                "found_by_reconciliation": found_by_reconciliation,
                "webapp_url": self._webapp_url,
                # An enterprise contact paid for employees, who each study on their own phone.
                "for_employees": order.enterprise_credit_code is not None,
                "qr_of": self._qr_of(order),
            },
        )

    async def expiring(self, order: Order) -> None:
        await self._outbox_or_send(
            order,
            ReminderKind.ORDER_EXPIRING,
            f"{ReminderKind.ORDER_EXPIRING.value}|{order.number}",
            {"order": order.number, "expires_at": order.expires_at.isoformat()},
        )

    async def expired(self, order: Order) -> None:
        await self._outbox_or_send(
            order,
            ReminderKind.ORDER_EXPIRED,
            f"{ReminderKind.ORDER_EXPIRED.value}|{order.number}",
            {"order": order.number, "qr_of": self._qr_of(order)},
        )

    async def failed(self, order: Order) -> None:
        await self._outbox_or_send(
            order,
            ReminderKind.ORDER_FAILED,
            f"{ReminderKind.ORDER_FAILED.value}|{order.number}",
            {"order": order.number, "qr_of": self._qr_of(order)},
        )

    @staticmethod
    def _qr_of(order: Order) -> str:
        """Which of the payer's messages are the order's QR codes, whose buttons go with the
        notice: found when it is sent (OutboxRefresh), not in the payment's transaction, so a
        QR code sent meanwhile is included too."""
        return f"{QR_KIND}|{order.number}|"

    def _message(
        self, order: Order, kind: ReminderKind, key: str, params: dict[str, Any]
    ) -> NewMessage:
        return NewMessage(
            chat_id=int(order.payer),
            kind=kind.value,
            dedup_key=key,
            payload={"text_key": kind.value, "params": params},
            essential=True,
            not_before=self._clock.now() if self._clock else order.created_at,
        )

    async def _outbox_or_send(
        self, order: Order, kind: ReminderKind, key: str, params: dict[str, Any]
    ) -> None:
        """Through the outbox (durable, once per key, under the rate limits) when there is
        one; directly otherwise."""
        if self._outbox is not None:
            await self._outbox.enqueue([self._message(order, kind, key, params)])
            return
        with self._i18n.context(), self._i18n.use_locale(await self._locale(order.payer)):
            rendered = render_urgent(kind, params)
            if rendered.document is not None:
                await self._bot.send_document(order.payer, rendered.document, caption=rendered.text)
            else:
                await self._bot.send_message(
                    order.payer, rendered.text, reply_markup=rendered.markup
                )

    async def for_staff(self, order_number: str, outcome: Outcome) -> None:
        if self._staff_group_id is None:
            return
        with self._i18n.context(), self._i18n.use_locale(self._staff_locale):
            await self._bot.send_message(
                self._staff_group_id, texts.for_staff(order_number, outcome)
            )

    async def overdue_invoices(self, numbers: list[str]) -> None:
        if self._staff_group_id is None:
            return
        with self._i18n.context(), self._i18n.use_locale(self._staff_locale):
            await self._bot.send_message(self._staff_group_id, texts.overdue_invoices(numbers))

    async def invoice_ready(self, order: Order) -> None:
        assert order.invoice_file_id is not None
        await self._outbox_or_send(
            order,
            ReminderKind.INVOICE_READY,
            # A corrected invoice (another file) is another message.
            f"{ReminderKind.INVOICE_READY.value}|{order.number}|{order.invoice_file_id[-24:]}",
            {"order": order.number, "file_id": order.invoice_file_id},
        )

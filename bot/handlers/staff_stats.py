"""/stats in the staff group: the numbers, a weekly chart and the spreadsheet."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

from domain.clock import Clock
from domain.enrolment import EnrolmentState
from domain.payment import format_yuan
from domain.registry import CertType
from infra.pii import Pii
from infra.reports import overview, trainees_workbook, weekly_chart
from texts.enrolment import cert_type_name, state_name
from texts.i18n import gettext as _


def make_router(staff_group_id: int | None) -> Router:
    router = Router(name="staff_stats")
    router.message.filter(F.chat.id == staff_group_id)

    @router.message(Command("stats"))
    async def show_stats(message: Message, clock: Clock, pii: Pii) -> None:
        numbers = await overview(clock.now())
        lines = [_("<b>Overview</b>")]
        lines += [
            f"• {state_name(EnrolmentState(state))}: {count}"
            for state, count in sorted(numbers.by_state.items())
        ]
        lines.append(_("By certificate type:"))
        lines += [
            f"• {cert_type_name(CertType(kind))}: {count}"
            for kind, count in sorted(numbers.by_type.items())
        ]
        lines.append(
            _("Paid today: {count} orders, ¥{amount}").format(
                count=numbers.paid_today, amount=format_yuan(numbers.paid_today_fen)
            )
        )
        lines.append(
            _("Open tickets: {tickets} · pending applications: {applications}").format(
                tickets=numbers.open_tickets, applications=numbers.pending_applications
            )
        )
        await message.reply("\n".join(lines))
        chart = weekly_chart(
            numbers.weekly, "Enrolments and passes per week", ("enrolled", "passed")
        )
        await message.reply_photo(BufferedInputFile(chart, filename="weekly.png"))
        workbook = await trainees_workbook(
            [
                _("Name"),
                _("ID number"),
                _("Phone"),
                _("Enterprise"),
                _("Certificate type"),
                _("Certificate number"),
                _("State"),
                _("Study deadline"),
            ],
            pii,
        )
        await message.reply_document(
            BufferedInputFile(workbook, filename="trainees.xlsx"),
            caption=_("Trainees and their states"),
        )

    return router

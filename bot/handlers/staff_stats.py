"""/stats in the staff group: the numbers, a weekly chart and the spreadsheet, in the language
of the staff member who asked."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

from domain.clock import Clock
from infra.pii import Pii
from infra.reports import overview, trainees_workbook, weekly_chart
from texts import staff as texts


def make_router(staff_group_id: int | None) -> Router:
    router = Router(name="staff_stats")
    router.message.filter(F.chat.id == staff_group_id)

    @router.message(Command("stats"))
    async def show_stats(message: Message, clock: Clock, pii: Pii) -> None:
        numbers = await overview(clock.now())
        await message.reply(texts.overview(numbers))
        chart = weekly_chart(numbers.weekly, texts.chart_words())
        await message.reply_photo(
            BufferedInputFile(chart, filename="weekly.png"),
            caption=texts.chart_caption(numbers.weekly),
        )
        workbook = await trainees_workbook(texts.workbook_words(), pii)
        await message.reply_document(
            BufferedInputFile(workbook, filename=texts.workbook_file_name(clock.now())),
            caption=texts.workbook_caption(),
        )

    return router

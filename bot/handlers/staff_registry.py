"""Staff send the provincial roster file to the bot in the staff group; it is imported."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiogram import Bot, F, Router
from aiogram.types import FSInputFile, Message

from domain.errors import DomainError
from texts import staff as texts

ImportRegistry = Callable[..., Awaitable[object]]
PROGRESS_EVERY = 1.0  # seconds between edits: a group takes ~20 messages a minute


def make_router(staff_group_id: int | None) -> Router:
    router = Router(name="staff_registry")
    router.message.filter(F.chat.id == staff_group_id)

    @router.message(F.document.file_name.lower().endswith((".xlsx", ".csv")))
    async def import_roster(message: Message, bot: Bot, import_registry: ImportRegistry) -> None:
        assert message.document is not None
        progress = await message.reply(texts.import_started(message.document.file_name or ""))
        last_edit = 0.0

        async def show(done: int, total: int) -> None:
            nonlocal last_edit
            if time.monotonic() - last_edit >= PROGRESS_EVERY and done < total:
                last_edit = time.monotonic()
                await progress.edit_text(texts.import_progress(done, total))

        with tempfile.TemporaryDirectory() as folder:
            # Our own short name: Telegram allows file names longer than the disk does.
            path = Path(folder) / f"roster{Path(message.document.file_name or '').suffix.lower()}"
            await bot.download(message.document, destination=path)
            try:
                report = await import_registry(path, source="chat", progress=show)
            except DomainError as exc:
                await progress.edit_text(texts.import_failed(exc.code))
                return
            await progress.edit_text(texts.import_report(report))
            rejection_path = getattr(report, "rejection_path", None)
            if rejection_path is not None:
                await message.reply_document(
                    FSInputFile(rejection_path), caption=texts.rejections_caption()
                )

    return router

"""Files the chat holds (an invoice staff attached), read back for the web view."""

from __future__ import annotations

import io
from pathlib import PurePosixPath

from aiogram import Bot


class TelegramFiles:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def read(self, file_id: str) -> tuple[bytes, str]:
        file = await self._bot.get_file(file_id)
        path = file.file_path or ""
        buffer = io.BytesIO()
        await self._bot.download_file(path, buffer)
        return buffer.getvalue(), PurePosixPath(path).suffix or ".pdf"

"""A Bot API session that records what the bot sends and answers like Telegram would."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    CreateForumTopic,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from tests.support.clock import EPOCH


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(1000)
        # What getFile + download return, by file_id (a photo a user "sent").
        self.files: dict[str, bytes] = {}

    def _result(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, SendMessage | SendPhoto | SendDocument | EditMessageText):
            chat_id = getattr(method, "chat_id", None) or 0
            message: dict[str, Any] = {
                "message_id": getattr(method, "message_id", None) or next(self._ids),
                "date": int(EPOCH.timestamp()),
                "chat": {"id": chat_id, "type": "private" if int(chat_id) > 0 else "supergroup"},
            }
            text = getattr(method, "text", None)
            if isinstance(text, str):
                message["text"] = text
            return message
        if isinstance(method, CreateForumTopic):
            return {"message_thread_id": next(self._ids), "name": method.name, "icon_color": 0}
        if isinstance(method, CopyMessage):
            return {"message_id": next(self._ids)}
        if isinstance(method, EditMessageReplyMarkup):
            return True
        if isinstance(method, AnswerCallbackQuery):
            return True
        if isinstance(method, SendMediaGroup):
            return [
                {
                    "message_id": next(self._ids),
                    "date": int(EPOCH.timestamp()),
                    "chat": {"id": int(method.chat_id), "type": "supergroup"},
                }
                for _ in method.media
            ]
        if isinstance(method, GetFile):
            return {"file_id": method.file_id, "file_unique_id": "u", "file_path": method.file_id}
        return True

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.requests.append(method)
        content = json.dumps({"ok": True, "result": self._result(method)})
        return self.check_response(bot, method, 200, content).result  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield self.files.get(url.rsplit("/", 1)[-1], b"")

    async def close(self) -> None:
        return None

    def sent(self, kind: type[TelegramMethod[Any]] = SendMessage) -> list[Any]:
        return [request for request in self.requests if isinstance(request, kind)]

    def texts(self) -> list[str]:
        return [request.text for request in self.sent(SendMessage)]


def buttons(request: SendMessage | EditMessageText) -> list[tuple[str, str]]:
    """The inline keyboard of a message the bot sent or edited, as (label, callback data)."""
    markup = request.reply_markup
    assert markup is not None and hasattr(markup, "inline_keyboard")
    return [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]

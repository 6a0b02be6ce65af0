"""A recording Bot API session that refuses what Telegram refuses.

The plain RecordingSession accepts anything; Telegram does not. Text the bot sends in HTML mode
must parse as Telegram's HTML, messages are 1..4096 characters, captions at most 1024, button
data at most 64 bytes, Mini App buttons only in private chats, an edit to identical content is
"message is not modified", and a callback query is answered once. The checks are the local chat
stand-in's (localchat.formatting, localchat.markup), so the two agree on what Telegram says.
Every refusal is kept in `refused`: each is a message a real user would never have received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from localchat.errors import ApiError
from localchat.formatting import format_text
from localchat.limits import MAX_CAPTION, MAX_TEXT
from localchat.markup import validate_markup
from tests.support.recording import RecordingSession


@dataclass(frozen=True)
class Refusal:
    method: str
    chat_id: Any
    description: str
    text: str | None


def _resolved(bot: Bot, value: Any) -> Any:
    return bot.default[value.name] if isinstance(value, Default) else value


def _markup_json(markup: Any) -> Any:
    if markup is None:
        return None
    return json.loads(markup.model_dump_json(exclude_none=True))


def _private(chat_id: Any) -> bool:
    try:
        return int(chat_id) > 0
    except (TypeError, ValueError):
        return True


class TelegramLikeSession(RecordingSession):
    def __init__(self) -> None:
        super().__init__()
        self.refused: list[Refusal] = []
        self._answered: set[str] = set()
        # (chat, message) -> (text, markup) of what the bot last put there.
        self._content: dict[tuple[str, int], tuple[str | None, Any]] = {}

    def _check(self, bot: Bot, method: TelegramMethod[Any]) -> None:
        parse_mode = _resolved(bot, getattr(method, "parse_mode", None))
        chat_id = getattr(method, "chat_id", None)
        if isinstance(method, SendMessage | EditMessageText):
            text, _ = format_text(method.text, parse_mode, None)
            if not text:
                raise ApiError(400, "Bad Request: message text is empty")
            if len(text) > MAX_TEXT:
                raise ApiError(400, "Bad Request: message is too long")
        caption = getattr(method, "caption", None)
        if isinstance(method, SendPhoto | SendDocument | CopyMessage) and isinstance(caption, str):
            plain, _ = format_text(caption, parse_mode, None)
            if len(plain) > MAX_CAPTION:
                raise ApiError(400, "Bad Request: message caption is too long")
        markup = getattr(method, "reply_markup", None)
        if markup is not None and not isinstance(method, AnswerCallbackQuery):
            validate_markup(_markup_json(markup), _private(chat_id))
        if isinstance(method, AnswerCallbackQuery):
            if method.callback_query_id in self._answered:
                raise ApiError(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID "
                    "is invalid",
                )
            if method.text is not None and len(method.text) > 200:
                raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
            self._answered.add(method.callback_query_id)
        if isinstance(method, EditMessageText) and method.message_id is not None:
            key = (str(chat_id), int(method.message_id))
            if self._content.get(key) == (method.text, _markup_json(markup)):
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )

    def _result(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetMe):  # commands addressed as /pay@jijiao_bot ask who we are
            return {
                "id": 7000000001,
                "is_bot": True,
                "first_name": "jijiao",
                "username": "jijiao_bot",
            }
        return super()._result(method)

    def _remember(self, method: TelegramMethod[Any], result: Any) -> None:
        if isinstance(method, SendMessage | EditMessageText) and isinstance(result, dict):
            key = (str(method.chat_id), int(result["message_id"]))
            self._content[key] = (method.text, _markup_json(method.reply_markup))

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        try:
            self._check(bot, method)
        except ApiError as error:
            self.refused.append(
                Refusal(
                    type(method).__name__,
                    getattr(method, "chat_id", None),
                    error.description,
                    getattr(method, "text", None) or getattr(method, "caption", None),
                )
            )
            content = json.dumps(
                {"ok": False, "error_code": error.code, "description": error.description}
            )
            self.check_response(bot, method, error.code, content)
            raise AssertionError("unreachable: check_response raises") from error
        self.requests.append(method)
        result = self._result(method)
        self._remember(method, result)
        content = json.dumps({"ok": True, "result": result})
        return self.check_response(bot, method, 200, content).result  # type: ignore[return-value]

    def message_ids(self, chat_id: int) -> list[int]:
        """The messages the bot put into a chat, oldest first: what a person can press on."""
        return sorted(m for (chat, m) in self._content if chat == str(chat_id))

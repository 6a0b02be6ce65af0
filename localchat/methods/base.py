"""What every Bot API method shares: the stand-in it acts on, dispatch by name, and Telegram's
checks of the common arguments (chat_id, message_id, threads, replies, markup, text, caption)."""

import re
from collections.abc import Awaitable, Callable
from typing import Any

from localchat.errors import ApiError, bad_request
from localchat.formatting import format_text
from localchat.limits import MAX_CAPTION, MAX_TEXT
from localchat.markup import validate_markup
from localchat.model import Chat, Json, Msg
from localchat.state import LocalChat
from localchat.wire import Params

Method = Callable[[Params], Awaitable[Any]]


class MethodBase:
    chat: LocalChat
    methods: dict[str, Method]

    async def call(self, method: str, params: Params) -> Any:
        handler = self.methods.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        self.chat.stats["bot_requests"] += 1
        return await handler(params)

    # -- shared argument handling --

    def target(self, params: Params, name: str = "chat_id") -> Chat:
        """The chat the bot writes to, refusing where Telegram refuses."""
        chat = self.existing_chat(params, name)
        if chat.private:
            user = self.chat.users[chat.id]
            if user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def existing_chat(self, params: Params, name: str = "chat_id") -> Chat:
        raw = params.raw(name)
        if raw is None:
            raise bad_request("chat_id is empty")
        chat_id: int | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            chat_id = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,20}\s*", raw):
            chat_id = int(raw)
        chat = self.chat.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            user = self.chat.users.get(chat_id) if chat_id is not None else None
            if user is not None and not user.blocked:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        return chat

    def message(self, params: Params, chat: Chat, missing: str) -> Msg:
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        msg = self.chat.find_message(chat, message_id)
        if msg is None:
            raise bad_request(missing)
        return msg

    def thread(self, params: Params, chat: Chat, reply_to: Msg | None) -> int | None:
        thread_id = params.integer("message_thread_id")
        if not chat.is_forum:
            return None
        if thread_id is None:
            return reply_to.thread_id if reply_to is not None else None
        topic = chat.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        return thread_id

    def reply_to(self, params: Params, chat: Chat) -> Msg | None:
        raw = params.json("reply_parameters", "can't parse reply parameters JSON object")
        message_id = params.integer("reply_to_message_id")
        lenient = params.flag("allow_sending_without_reply")
        if raw is not None:
            if not isinstance(raw, dict) or not isinstance(raw.get("message_id"), int):
                raise bad_request("can't parse reply parameters JSON object")
            message_id = raw["message_id"]
            lenient = bool(raw.get("allow_sending_without_reply"))
            other = raw.get("chat_id")
            if other is not None and str(other) != str(chat.id):
                if lenient:
                    return None
                raise bad_request("message to be replied not found")
        if message_id is None:
            return None
        msg = self.chat.find_message(chat, message_id)
        if msg is None and not lenient:
            raise bad_request("message to be replied not found")
        return msg

    def markup(self, params: Params, chat: Chat, *, inline_only: bool = False) -> Json | None:
        raw = params.json("reply_markup", "can't parse reply keyboard markup JSON object")
        return validate_markup(raw, chat.private, inline_only=inline_only)

    def text(self, params: Params) -> tuple[str, list[Json]]:
        raw = params.text("text")
        if raw is None:
            raise bad_request("message text is empty")
        text, entities = format_text(raw, params.text("parse_mode"),
                                     params.json("entities", "can't parse entities JSON object"))
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        return text, entities

    def caption(self, params: Params) -> Json:
        raw = params.text("caption")
        if raw is None:
            return {}
        caption, entities = format_text(
            raw, params.text("parse_mode"),
            params.json("caption_entities", "can't parse entities JSON object"),
        )
        if len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        content: Json = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    def send(self, chat: Chat, content: Json, thread_id: int | None, reply_to: Msg | None,
             markup: Json | None) -> Msg:
        msg = self.chat.add_message(chat, dict(self.chat.bot_user), content,
                                    thread_id=thread_id, reply_to=reply_to, markup=markup)
        self.chat.stats["sent"] += 1
        return msg

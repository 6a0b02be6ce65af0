"""JSON API that plays the humans: users writing to the bot and staff writing in the group."""

import json
import re
from typing import Any
from urllib.parse import quote

from aiohttp import web

from localchat.errors import ApiError, bad_request
from localchat.model import Json
from localchat.state import LocalChat
from localchat.wire import Upload, json_reply, read_form

JSON_LIMIT = 64 * 1024
FILE_LIMIT = 20 * 1024 * 1024 + JSON_LIMIT
MAX_WAIT = 60
_INT_RE = re.compile(r"-?\d{1,18}")


def _path_int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not _INT_RE.fullmatch(raw):
        raise bad_request(f"{name} must be an integer")
    return int(raw)


def _user_id(request: web.Request) -> int:
    user_id = _path_int(request, "user_id")
    if user_id <= 0:
        raise bad_request("user_id must be a positive integer")
    return user_id


def _query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    if not _INT_RE.fullmatch(raw.strip()):
        raise bad_request(f"{name} must be an integer")
    return int(raw)


def _query_flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


def _string(values: Json, name: str, *, required: bool = False) -> str | None:
    value = values.get(name)
    if value is None:
        if required:
            raise bad_request(f'field "{name}" is required')
        return None
    if not isinstance(value, str):
        raise bad_request(f'field "{name}" must be a string')
    return value


def _integer(values: Json, name: str, *, required: bool = False) -> int | None:
    value = values.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(f'field "{name}" is required')
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value)
    raise bad_request(f'field "{name}" must be an integer')


def _forwarded(values: Json) -> bool | int:
    value = values.get("forwarded", False)
    if isinstance(value, str):  # multipart fields are strings
        value = {"true": True, "1": True, "false": False, "0": False, "": False}.get(
            value.lower(), int(value) if _INT_RE.fullmatch(value) else None)
    if value is None or not isinstance(value, (bool, int)):
        raise bad_request('field "forwarded" must be a boolean or a user id')
    return value


class UserApi:
    def __init__(self, chat: LocalChat) -> None:
        self.chat = chat

    async def body(self, request: web.Request) -> tuple[Json, dict[str, Upload]]:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not content_type.startswith("multipart/") and \
                content_type != "application/x-www-form-urlencoded":
            # Anything that is not a form is taken as JSON, whatever it claims to be.
            headers = {**request.headers, "Content-Type": "application/json"}
            return await read_form(headers, request.content, JSON_LIMIT)
        return await read_form(request.headers, request.content, FILE_LIMIT,
                               json_limit=JSON_LIMIT)

    def files_base(self, request: web.Request) -> str:
        return str(request.app.router["localchat-file"].url_for(file_id="_"))[:-1]

    # -- users --

    async def list_users(self, request: web.Request) -> web.Response:
        return json_reply({"users": self.chat.list_users()})

    async def create_user(self, request: web.Request) -> web.Response:
        values, _ = await self.body(request)
        user = self.chat.create_user(
            _string(values, "first_name"),
            _string(values, "language_code"),
            last_name=_string(values, "last_name"),
            username=_string(values, "username"),
            user_id=_integer(values, "id"),
        )
        return json_reply(user)

    async def user_send(self, request: web.Request) -> web.Response:
        user_id = _user_id(request)
        values, uploads = await self.body(request)
        content = self._content(values, uploads)
        first_name = _string(values, "first_name")
        language_code = _string(values, "language_code")
        self.chat.ensure_user(user_id, first_name, language_code)
        result = self.chat.post(user_id, **content,
                                reply_to_message_id=_integer(values, "reply_to_message_id"),
                                forwarded=_forwarded(values))
        return json_reply(result)

    def _content(self, values: Json, uploads: dict[str, Upload]) -> Json:
        content: Json = {}
        text = _string(values, "text")
        if text is not None:
            content["text"] = text
        contact = values.get("contact")
        if isinstance(contact, str):
            try:
                contact = json.loads(contact)
            except ValueError:
                raise bad_request('field "contact" must be an object') from None
        if contact is not None:
            if not isinstance(contact, dict):
                raise bad_request('field "contact" must be an object')
            content["contact"] = contact
        if "photo" in uploads:
            content["photo"] = uploads["photo"].data
        if "document" in uploads:
            doc = uploads["document"]
            content["document"] = (doc.data, doc.filename, doc.content_type)
        if "voice" in uploads:
            content["voice"] = (uploads["voice"].data, _integer(values, "duration") or 0)
        if "video_note" in uploads:
            content["video_note"] = (
                uploads["video_note"].data,
                _integer(values, "duration") or 0,
                _integer(values, "length") or 384,
            )
        if len(content) != 1:
            raise bad_request(
                "send exactly one of text, contact, photo, document, voice, video_note"
            )
        caption = _string(values, "caption")
        if caption is not None:
            content["caption"] = caption
        return content

    async def user_click(self, request: web.Request) -> web.Response:
        user_id = _user_id(request)
        values, _ = await self.body(request)
        message_id = _integer(values, "message_id", required=True)
        data = _string(values, "data", required=True)
        assert message_id is not None and data is not None
        return json_reply(self.chat.click(user_id, message_id, data))

    async def user_edit(self, request: web.Request) -> web.Response:
        user_id = _user_id(request)
        values, _ = await self.body(request)
        message_id = _integer(values, "message_id", required=True)
        text = _string(values, "text", required=True)
        assert message_id is not None and text is not None
        return json_reply(self.chat.edit_text(user_id, message_id, text))

    async def user_block(self, request: web.Request) -> web.Response:
        return json_reply(self.chat.block(_user_id(request)))

    async def user_unblock(self, request: web.Request) -> web.Response:
        return json_reply(self.chat.unblock(_user_id(request)))

    async def user_messages(self, request: web.Request) -> web.Response:
        return await self._messages(request, _user_id(request))

    async def user_webapp(self, request: web.Request) -> web.Response:
        user_id = _user_id(request)
        url = request.query.get("url", "")
        if not url:
            raise bad_request('parameter "url" is required')
        return json_reply({"url": self.chat.webapp_url(user_id, url)})

    # -- group chats --

    async def list_chats(self, request: web.Request) -> web.Response:
        return json_reply({"chats": self.chat.list_chats()})

    def _group(self, request: web.Request) -> int:
        chat_id = _path_int(request, "chat_id")
        chat = self.chat.chats.get(chat_id)
        if chat is None or chat.private:
            raise bad_request("chat not found")
        return chat_id

    def _member(self, values: Json) -> int:
        user_id = _integer(values, "from_user_id", required=True)
        assert user_id is not None
        if user_id not in self.chat.users:
            raise ApiError(403, "Forbidden: user is not a member of the chat")
        return user_id

    async def chat_messages(self, request: web.Request) -> web.Response:
        return await self._messages(request, self._group(request))

    async def chat_send(self, request: web.Request) -> web.Response:
        chat_id = self._group(request)
        values, uploads = await self.body(request)
        user_id = self._member(values)
        content = self._content(values, uploads)
        result = self.chat.post(
            user_id,
            chat_id=chat_id,
            **content,
            thread_id=_integer(values, "message_thread_id"),
            reply_to_message_id=_integer(values, "reply_to_message_id"),
            forwarded=_forwarded(values),
        )
        return json_reply(result)

    async def chat_click(self, request: web.Request) -> web.Response:
        chat_id = self._group(request)
        values, _ = await self.body(request)
        user_id = self._member(values)
        message_id = _integer(values, "message_id", required=True)
        data = _string(values, "data", required=True)
        assert message_id is not None and data is not None
        return json_reply(self.chat.click(user_id, message_id, data, chat_id=chat_id))

    async def chat_edit(self, request: web.Request) -> web.Response:
        chat_id = self._group(request)
        values, _ = await self.body(request)
        user_id = self._member(values)
        message_id = _integer(values, "message_id", required=True)
        text = _string(values, "text", required=True)
        assert message_id is not None and text is not None
        return json_reply(self.chat.edit_text(user_id, message_id, text, chat_id=chat_id))

    async def _messages(self, request: web.Request, chat_id: int) -> web.Response:
        after = _query_int(request, "after", 0)
        changed_after = _query_int(request, "changed_after")
        thread_id = _query_int(request, "thread_id")
        try:
            wait = float(request.query.get("wait") or 0)
        except ValueError:
            raise bad_request("wait must be a number of seconds") from None
        if not 0 <= wait <= MAX_WAIT:
            raise bad_request(f"wait must be between 0 and {MAX_WAIT} seconds")
        result = await self.chat.wait_messages(
            chat_id,
            after or 0,
            _query_flag(request, "all"),
            changed_after=changed_after,
            thread_id=thread_id,
            wait=wait,
            files_base=self.files_base(request),
        )
        return json_reply(result)

    # -- the rest --

    async def file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        content = self.chat.file_content(file_id)
        if content is None:
            raise ApiError(404, "Not Found: file not found")
        data, mime = content
        response = web.Response(body=data, content_type=mime)
        record = self.chat.files[file_id]
        if record.file_name:
            response.headers["Content-Disposition"] = (
                f"inline; filename*=UTF-8''{quote(record.file_name)}"
            )
        response.headers["Cache-Control"] = "private, max-age=86400"
        return response

    async def stats(self, request: web.Request) -> web.Response:
        return json_reply(self.chat.get_stats())

    async def bot(self, request: web.Request) -> web.Response:
        config = self.chat.config
        return json_reply({
            **self.chat.bot_user,
            "staff_group_id": config.staff_group_id,
            "staff_members": [{"id": uid, "first_name": name}
                              for uid, name in config.staff_members],
        })


def add_user_api_routes(app: web.Application, api: UserApi) -> None:
    add = app.router.add_route
    routes: list[tuple[str, str, Any, str]] = [
        ("GET", "/api/bot", api.bot, "bot"),
        ("GET", "/api/stats", api.stats, "stats"),
        ("GET", "/api/users", api.list_users, "users"),
        ("POST", "/api/users", api.create_user, "users-create"),
        ("POST", "/api/users/{user_id}/send", api.user_send, "user-send"),
        ("POST", "/api/users/{user_id}/click", api.user_click, "user-click"),
        ("POST", "/api/users/{user_id}/edit", api.user_edit, "user-edit"),
        ("POST", "/api/users/{user_id}/block", api.user_block, "user-block"),
        ("POST", "/api/users/{user_id}/unblock", api.user_unblock, "user-unblock"),
        ("GET", "/api/users/{user_id}/messages", api.user_messages, "user-messages"),
        ("GET", "/api/users/{user_id}/webapp", api.user_webapp, "user-webapp"),
        ("GET", "/api/chats", api.list_chats, "chats"),
        ("GET", "/api/chats/{chat_id}/messages", api.chat_messages, "chat-messages"),
        ("POST", "/api/chats/{chat_id}/send", api.chat_send, "chat-send"),
        ("POST", "/api/chats/{chat_id}/click", api.chat_click, "chat-click"),
        ("POST", "/api/chats/{chat_id}/edit", api.chat_edit, "chat-edit"),
        ("GET", "/api/files/{file_id}", api.file, "file"),
    ]
    for method, path, handler, name in routes:
        add(method, path, handler, name=f"localchat-{name}")

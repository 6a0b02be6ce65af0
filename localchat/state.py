"""The stand-in's world: users, chats, messages, files and the update queue, kept in memory and
snapshotted to one JSON file so a restart keeps the conversation."""

import asyncio
import hashlib
import io
import itertools
import json
import logging
import mimetypes
import os
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from localchat.limits import FloodGate, FloodLimits
from localchat.webapp import launch_url, make_init_data

log = logging.getLogger(__name__)

Json = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
SAVE_DELAY = 0.5
FIRST_USER_ID = 100001
DEFAULT_LANGUAGE = "zh"
CHAT_ACTION_SECONDS = 5
# Telegram delivers everything but these three unless asked for them.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
SERVICE_KEYS = (
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
)
CONTENT_KEYS = ("text", "entities", "photo", "document", "voice", "video_note", "contact",
                "caption", "caption_entities")
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)


class ApiError(Exception):
    """A Telegram-shaped failure: HTTP status == error_code."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> Json:
        body: Json = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@dataclass
class User:
    id: int
    first_name: str
    language_code: str = DEFAULT_LANGUAGE
    last_name: str | None = None
    username: str | None = None
    blocked: bool = False
    # Telegram refuses to let a bot write first to someone who never opened the chat.
    started: bool = False

    def to_tg(self) -> Json:
        user: Json = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        user["language_code"] = self.language_code
        return user

    def to_api(self) -> Json:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "blocked": self.blocked,
            "started": self.started,
        }


@dataclass
class Topic:
    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False

    def to_tg(self) -> Json:
        topic: Json = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            topic["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return topic

    def to_api(self) -> Json:
        return {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
            "closed": self.closed,
            "deleted": self.deleted,
        }


@dataclass(eq=False)
class Msg:
    tg: Json  # exactly what the Bot API returns for it
    revision: int = 0
    markup: Json | None = None  # as sent, including reply keyboards Telegram does not echo
    deleted: bool = False

    @property
    def id(self) -> int:
        return int(self.tg["message_id"])

    @property
    def thread_id(self) -> int | None:
        return self.tg.get("message_thread_id")

    @property
    def sender_id(self) -> int | None:
        sender = self.tg.get("from")
        return int(sender["id"]) if sender else None

    @property
    def is_service(self) -> bool:
        return any(key in self.tg for key in SERVICE_KEYS)


@dataclass(eq=False)
class Chat:
    id: int
    type: str  # "private" | "supergroup"
    title: str | None = None
    is_forum: bool = False
    members: dict[int, str] = field(default_factory=dict)
    messages: dict[int, Msg] = field(default_factory=dict)
    # message ids, least recently changed first, so "changed after revision R" reads the tail
    changes: OrderedDict[int, None] = field(default_factory=OrderedDict)
    next_message_id: int = 1
    revision: int = 0
    topics: dict[int, Topic] = field(default_factory=dict)
    keyboard: Json | None = None
    menu_button: Json | None = None
    toasts: deque[Json] = field(default_factory=lambda: deque(maxlen=20))
    action: Json | None = None
    event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def private(self) -> bool:
        return self.type == "private"

    def pulse(self) -> None:
        self.event.set()
        self.event = asyncio.Event()

    def dump(self) -> Json:
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "is_forum": self.is_forum,
            "members": [[uid, status] for uid, status in self.members.items()],
            "next_message_id": self.next_message_id,
            "revision": self.revision,
            "topics": [asdict(topic) for topic in self.topics.values()],
            "keyboard": self.keyboard,
            "menu_button": self.menu_button,
            "messages": [
                {"tg": m.tg, "revision": m.revision, "markup": m.markup, "deleted": m.deleted}
                for m in self.messages.values()
            ],
        }

    @classmethod
    def load(cls, data: Json) -> "Chat":
        chat = cls(
            id=int(data["id"]),
            type=str(data["type"]),
            title=data.get("title"),
            is_forum=bool(data.get("is_forum")),
            members={int(uid): str(status) for uid, status in data.get("members", [])},
            next_message_id=int(data.get("next_message_id", 1)),
            revision=int(data.get("revision", 0)),
            topics={int(t["thread_id"]): Topic(**t) for t in data.get("topics", [])},
            keyboard=data.get("keyboard"),
            menu_button=data.get("menu_button"),
        )
        msgs = [Msg(m["tg"], int(m["revision"]), m.get("markup"), bool(m.get("deleted")))
                for m in data.get("messages", [])]
        chat.messages = {m.id: m for m in msgs}
        for m in sorted(msgs, key=lambda m: m.revision):
            chat.changes[m.id] = None
        return chat


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: str  # photo | document | voice | video_note
    file_path: str
    file_size: int
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None
    sizes: list[str] = field(default_factory=list)  # a photo's sizes, smallest first

    def photo_size(self) -> Json:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.file_size,
        }

    def document(self) -> Json:
        doc: Json = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        doc["file_size"] = self.file_size
        return doc

    def voice(self) -> Json:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "duration": self.duration or 0,
            "mime_type": self.mime_type or "audio/ogg",
            "file_size": self.file_size,
        }

    def video_note(self) -> Json:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "length": self.width or 0,
            "duration": self.duration or 0,
            "file_size": self.file_size,
        }

    def to_file(self) -> Json:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


@dataclass
class LocalChatConfig:
    token: str = "123456:local-dev-token"
    bot_username: str = "jijiao_local_bot"
    bot_first_name: str = "继教 jijiao"
    staff_group_id: int = -1001000000001
    staff_group_title: str = "继教客服 Support desk"
    staff_members: list[tuple[int, str]] = field(default_factory=lambda: [(900001, "客服小李")])
    state_path: Path | None = None
    files_dir: Path | None = None
    limits: FloodLimits = field(default_factory=FloodLimits)
    # Seconds between webhook retries start here and double up to the max.
    webhook_retry_first: float = 0.1
    webhook_retry_max: float = 10.0


class _Own:
    """Marker: the contact is the sender's own."""


OWN = _Own()

_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_URL_RE = re.compile(r"https?://[^\s<>\"']+")


def auto_entities(text: str) -> list[Json]:
    """The entities a Telegram client adds to what a user types."""
    found: list[Json] = []
    for kind, pattern in (("bot_command", _COMMAND_RE), ("url", _URL_RE)):
        for match in pattern.finditer(text):
            offset = utf16_len(text[: match.start()])
            found.append({"type": kind, "offset": offset, "length": utf16_len(match.group())})
    return sorted(found, key=lambda e: e["offset"])


def _reply_copy(tg: Json) -> Json:
    # Telegram nests replies one level deep only.
    return {k: v for k, v in tg.items() if k != "reply_to_message"}


def make_thumbnail(data: bytes) -> tuple[int, int, str, bytes, int, int]:
    """(width, height, extension, thumbnail jpeg, its width, its height).

    Raises IMAGE_PROCESS_FAILED for anything Pillow cannot decode."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            extension = (image.format or "jpeg").lower().replace("jpeg", "jpg")
            box = (320, 320) if max(width, height) > 320 else (90, 90)
            image.draft("RGB", box)
            thumb = image.convert("RGB")
            thumb.thumbnail(box)
            buf = io.BytesIO()
            thumb.save(buf, "JPEG", quality=80)
    except Exception as exc:  # Pillow raises a zoo of types for undecodable input
        raise bad_request("IMAGE_PROCESS_FAILED") from exc
    if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return width, height, extension, buf.getvalue(), thumb.width, thumb.height


class LocalChat:
    """The whole stand-in world; the Bot API and the user-playing API are two views on it."""

    def __init__(
        self,
        config: LocalChatConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.wall_clock = wall_clock
        try:
            self.bot_id = int(config.token.split(":", 1)[0])
        except ValueError as exc:
            raise ValueError("token must look like '<digits>:<secret>'") from exc
        self.bot_user: Json = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": config.bot_first_name,
            "username": config.bot_username,
        }
        self.flood = FloodGate(config.limits, clock)
        self.stats: dict[str, int] = {
            "updates": 0,
            "sent": 0,
            "rejected_429": 0,
            "bot_requests": 0,
            "webhook_deliveries": 0,
            "webhook_failures": 0,
        }
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, str] = {}
        self._file_data: dict[str, bytes] = {}
        self._file_counter = 0
        self.updates: deque[Json] = deque()
        self.update_id = 0
        self.allowed_updates: list[str] | None = None
        self.webhook: Json | None = None
        self.commands: dict[tuple[str, str], list[Json]] = {}
        self.default_menu_button: Json | None = None
        self.descriptions: dict[str, str] = {}
        self.callbacks: OrderedDict[str, Json] = OrderedDict()
        self._callback_tag = str(secrets.randbelow(9 * 10**8) + 10**8)
        self._callback_counter = itertools.count(1)
        self._next_user_id = FIRST_USER_ID
        self._updates_event = asyncio.Event()
        self._poll_generation = 0
        # Bumped on shutdown so every long poll and message wait returns at once.
        self.epoch = 0
        self.shutting_down = False
        self._dirty = False
        self._save_handle: asyncio.TimerHandle | None = None
        self._save_loop: asyncio.AbstractEventLoop | None = None
        self.background: dict[str, asyncio.Task[None]] = {}
        if config.files_dir is not None:
            config.files_dir.mkdir(parents=True, exist_ok=True)
        if config.state_path is not None and config.state_path.exists():
            self._load(config.state_path)
        self._ensure_staff_group()

    # ---- identity and lookups -------------------------------------------------------------

    def now(self) -> int:
        return int(self.wall_clock())

    def _ensure_staff_group(self) -> None:
        cfg = self.config
        group = self.chats.get(cfg.staff_group_id)
        if group is None:
            group = Chat(id=cfg.staff_group_id, type="supergroup", is_forum=True)
            self.chats[group.id] = group
        group.title = cfg.staff_group_title
        group.members[self.bot_id] = "administrator"
        for user_id, name in cfg.staff_members:
            if user_id not in self.users:
                self.users[user_id] = User(id=user_id, first_name=name)
            group.members[user_id] = "administrator"

    def chat_tg(self, chat: Chat) -> Json:
        if chat.private:
            user = self.users[chat.id]
            tg: Json = {"id": chat.id, "type": "private", "first_name": user.first_name}
            if user.last_name:
                tg["last_name"] = user.last_name
            if user.username:
                tg["username"] = user.username
            return tg
        tg = {"id": chat.id, "title": chat.title or "", "type": chat.type}
        if chat.is_forum:
            tg["is_forum"] = True
        return tg

    def user_tg(self, user_id: int) -> Json:
        if user_id == self.bot_id:
            return dict(self.bot_user)
        return self.users[user_id].to_tg()

    def chat_instance(self, chat_id: int) -> str:
        digest = hashlib.sha256(f"{self.bot_id}:{chat_id}".encode()).digest()
        return str(int.from_bytes(digest[:8], "big", signed=True))

    def find_message(self, chat: Chat, message_id: int) -> Msg | None:
        msg = chat.messages.get(message_id)
        return None if msg is None or msg.deleted else msg

    def user(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        return user

    # ---- change tracking ------------------------------------------------------------------

    def touch(self, chat: Chat, msg: Msg | None = None) -> None:
        chat.revision += 1
        if msg is not None:
            msg.revision = chat.revision
            chat.changes[msg.id] = None
            chat.changes.move_to_end(msg.id)
        chat.pulse()
        self.mark_dirty()

    def _pulse_updates(self) -> None:
        self._updates_event.set()
        self._updates_event = asyncio.Event()

    def push_update(self, kind: str, payload: Json) -> int | None:
        allowed = self.allowed_updates
        if (kind in OPT_IN_UPDATES) if not allowed else (kind not in allowed):
            return None
        self.update_id += 1
        self.updates.append({"update_id": self.update_id, kind: payload})
        self.stats["updates"] += 1
        self._pulse_updates()
        self.mark_dirty()
        return self.update_id

    def set_allowed_updates(self, allowed: list[str]) -> None:
        self.allowed_updates = list(allowed) or None
        self.mark_dirty()

    def confirm_updates(self, offset: int) -> None:
        popped = False
        if offset < 0:
            while len(self.updates) > -offset:
                self.updates.popleft()
                popped = True
        else:
            while self.updates and self.updates[0]["update_id"] < offset:
                self.updates.popleft()
                popped = True
        if popped:
            self.mark_dirty()

    def drop_pending_updates(self) -> None:
        self.updates.clear()
        self.mark_dirty()

    async def get_updates(
        self, offset: int | None, limit: int, poll_seconds: float, allowed: list[str] | None
    ) -> list[Json]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if allowed is not None:
            self.set_allowed_updates(allowed)
        if offset is not None:
            self.confirm_updates(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._pulse_updates()  # lets an older poll find out it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (0 if self.shutting_down else poll_seconds)
        epoch = self.epoch
        while not self.updates and self.epoch == epoch:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            if not await self._wait(self._updates_event, remaining):
                break
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self.webhook is not None:
                break
        return list(itertools.islice(self.updates, limit))

    async def wait_for_updates(self, seconds: float) -> None:
        if not self.updates:
            await self._wait(self._updates_event, seconds)

    @staticmethod
    async def _wait(event: asyncio.Event, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            return False
        return True

    def begin_shutdown(self) -> None:
        """From now on no poll waits: a page that re-polls must not hold the shutdown."""
        self.shutting_down = True
        self.wake_all()

    def wake_all(self) -> None:
        self.epoch += 1
        self._pulse_updates()
        for chat in self.chats.values():
            chat.pulse()

    # ---- flood control ------------------------------------------------------------------

    def check_flood(self, chat: Chat) -> None:
        retry_after = self.flood.acquire(chat.id, chat.private)
        if retry_after is not None:
            self.stats["rejected_429"] += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    # ---- messages -------------------------------------------------------------------------

    def add_message(
        self,
        chat: Chat,
        sender: Json,
        content: Json,
        *,
        thread_id: int | None = None,
        reply_to: Msg | None = None,
        markup: Json | None = None,
    ) -> Msg:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        tg: Json = {"message_id": message_id, "from": sender, "chat": self.chat_tg(chat),
                    "date": self.now()}
        if thread_id is not None:
            tg["message_thread_id"] = thread_id
            tg["is_topic_message"] = True
        if reply_to is not None:
            tg["reply_to_message"] = _reply_copy(reply_to.tg)
        elif thread_id is not None and thread_id in chat.messages:
            # Telegram shows an ordinary topic message as a reply to the topic's first message.
            tg["reply_to_message"] = _reply_copy(chat.messages[thread_id].tg)
        tg.update(content)
        if markup is not None and "inline_keyboard" in markup:
            tg["reply_markup"] = markup
        msg = Msg(tg, markup=markup)
        chat.messages[message_id] = msg
        if sender.get("id") == self.bot_id and markup is not None:
            if "keyboard" in markup:
                chat.keyboard = markup
            elif "remove_keyboard" in markup:
                chat.keyboard = None
        self.touch(chat, msg)
        return msg

    def delete_message(self, chat: Chat, msg: Msg) -> None:
        msg.deleted = True
        self.touch(chat, msg)

    def chat_for_user(self, user_id: int) -> Chat:
        chat = self.chats.get(user_id)
        if chat is None:
            chat = Chat(id=user_id, type="private")
            self.chats[user_id] = chat
        return chat

    # ---- files ---------------------------------------------------------------------------

    def _new_file(self, kind: str, data: bytes, extension: str, **extra: Any) -> FileRecord:
        self._file_counter += 1
        n = self._file_counter
        unique = f"{kind[:2].upper()}{n:06d}{secrets.token_hex(3)}"
        folder = {
            "photo": "photos", "document": "documents", "voice": "voice",
            "video_note": "video_notes",
        }[kind]
        record = FileRecord(
            file_id=f"LC{unique}{secrets.token_urlsafe(9)}",
            file_unique_id=unique,
            kind=kind,
            file_path=f"{folder}/file_{n}.{extension or 'bin'}",
            file_size=len(data),
            **extra,
        )
        if self.config.files_dir is not None:
            (self.config.files_dir / unique).write_bytes(data)
        else:
            self._file_data[unique] = data
        self.files[record.file_id] = record
        self.files_by_path[record.file_path] = record.file_id
        self.mark_dirty()
        return record

    def file_data(self, record: FileRecord) -> bytes | None:
        if self.config.files_dir is not None:
            path = self.config.files_dir / record.file_unique_id
            return path.read_bytes() if path.is_file() else None
        return self._file_data.get(record.file_unique_id)

    def store_photo(self, data: bytes) -> list[Json]:
        if not data:
            raise bad_request("file must be non-empty")
        if len(data) > MAX_PHOTO_BYTES:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        width, height, ext, thumb, tw, th = make_thumbnail(data)
        small = self._new_file("photo", thumb, "jpg", mime_type="image/jpeg", width=tw, height=th)
        mime = mimetypes.types_map.get(f".{ext}", "image/jpeg")
        big = self._new_file("photo", data, ext, mime_type=mime, width=width, height=height)
        small.sizes = big.sizes = [small.file_id, big.file_id]
        return [small.photo_size(), big.photo_size()]

    def store_document(self, data: bytes, file_name: str | None, mime_type: str | None) -> Json:
        if not data:
            raise bad_request("file must be non-empty")
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        name = file_name or "file"
        guessed = mimetypes.guess_type(name)[0]
        if mime_type in (None, "", "application/octet-stream"):
            mime_type = guessed or "application/octet-stream"
        ext = Path(name).suffix.lstrip(".")[:8] or "bin"
        return self._new_file("document", data, ext, mime_type=mime_type,
                              file_name=name).document()

    def store_voice(self, data: bytes, duration: int, mime_type: str | None) -> Json:
        if not data:
            raise bad_request("file must be non-empty")
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        return self._new_file("voice", data, "oga", mime_type=mime_type or "audio/ogg",
                              duration=duration).voice()

    def store_video_note(self, data: bytes, duration: int, length: int) -> Json:
        """A round video: square, up to 640 px and 60 s (Telegram's limits for video notes)."""
        if not data:
            raise bad_request("file must be non-empty")
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        if not 0 < length <= 640 or not 0 <= duration <= 60:
            raise bad_request("VIDEO_NOTE_INVALID: square, up to 640 px and 60 s")
        return self._new_file("video_note", data, "mp4", mime_type="video/mp4", width=length,
                              height=length, duration=duration).video_note()

    def photo_sizes(self, record: FileRecord) -> list[Json]:
        return [self.files[fid].photo_size() for fid in record.sizes if fid in self.files]

    # ---- acting as users ----------------------------------------------------------------

    def create_user(
        self,
        first_name: str | None = None,
        language_code: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        user_id: int | None = None,
    ) -> Json:
        if user_id is None:
            while self._next_user_id in self.users or self._next_user_id == self.bot_id:
                self._next_user_id += 1
            user_id = self._next_user_id
        elif user_id in self.users:
            raise bad_request("user already exists")
        self._check_user_id(user_id)
        user = User(
            id=user_id,
            first_name=first_name or f"User {user_id}",
            language_code=language_code or DEFAULT_LANGUAGE,
            last_name=last_name,
            username=username,
        )
        self.users[user_id] = user
        self.mark_dirty()
        return user.to_api()

    def _check_user_id(self, user_id: int) -> None:
        if user_id <= 0 or user_id >= 2**52 or user_id == self.bot_id:
            raise bad_request("invalid user id")

    def ensure_user(
        self, user_id: int, first_name: str | None = None, language_code: str | None = None
    ) -> User:
        user = self.users.get(user_id)
        if user is None:
            self.create_user(first_name, language_code, user_id=user_id)
            return self.users[user_id]
        if first_name and first_name != user.first_name:
            user.first_name = first_name
            self.mark_dirty()
        if language_code and language_code != user.language_code:
            user.language_code = language_code
            self.mark_dirty()
        return user

    def list_users(self) -> list[Json]:
        staff = {uid for uid, _ in self.config.staff_members}
        return [u.to_api() for u in self.users.values() if u.id not in staff]

    def post(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        text: str | None = None,
        contact: Json | None = None,
        photo: bytes | None = None,
        document: tuple[bytes, str | None, str | None] | None = None,
        voice: tuple[bytes, int] | None = None,
        video_note: tuple[bytes, int, int] | None = None,
        caption: str | None = None,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        forwarded: bool | int = False,
    ) -> Json:
        """One message typed by a user, into their chat with the bot or a group they are in."""
        user = self.user(user_id)
        chat = self._chat_writable_by(user, chat_id)
        if thread_id is not None and not chat.private:
            topic = chat.topics.get(thread_id)
            if topic is None or topic.deleted:
                raise bad_request("message thread not found")
        elif chat.private:
            thread_id = None
        reply_to = None
        if reply_to_message_id is not None:
            reply_to = self.find_message(chat, reply_to_message_id)
            if reply_to is None:
                raise bad_request("message to be replied not found")
            if thread_id is None and reply_to.thread_id is not None:
                thread_id = reply_to.thread_id
        # Last of the checks, because it stores uploaded files.
        content = self._user_content(
            text, contact, photo, document, voice, caption, user, video_note=video_note
        )
        if forwarded is not False:
            content["forward_origin"] = self._forward_origin(forwarded, content)
        if chat.private:
            user.started = True
            if chat.keyboard is not None and chat.keyboard.get("one_time_keyboard"):
                chat.keyboard = None
        msg = self.add_message(chat, user.to_tg(), content, thread_id=thread_id,
                               reply_to=reply_to)
        # Updates are snapshots: later edits of the stored message must not leak into them.
        update_id = self.push_update("message", dict(msg.tg))
        return {"update_id": update_id, "message_id": msg.id}

    def _chat_writable_by(self, user: User, chat_id: int | None) -> Chat:
        if chat_id is None or chat_id == user.id:
            if user.blocked:
                raise ApiError(403, "Forbidden: the user has blocked the bot; unblock first")
            return self.chat_for_user(user.id)
        chat = self.chats.get(chat_id)
        if chat is None or chat.private:
            raise bad_request("chat not found")
        if chat.members.get(user.id) not in ("creator", "administrator", "member"):
            raise ApiError(403, "Forbidden: user is not a member of the chat")
        return chat

    def _user_content(
        self,
        text: str | None,
        contact: Json | None,
        photo: bytes | None,
        document: tuple[bytes, str | None, str | None] | None,
        voice: tuple[bytes, int] | None,
        caption: str | None,
        user: User,
        *,
        video_note: tuple[bytes, int, int] | None = None,
    ) -> Json:
        if sum(x is not None for x in (text, contact, photo, document, voice, video_note)) != 1:
            raise bad_request(
                "send exactly one of text, contact, photo, document, voice, video_note"
            )
        if caption is not None and len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        content: Json
        if text is not None:
            text = text.strip()
            if not text:
                raise bad_request("message text is empty")
            if len(text) > MAX_TEXT:
                raise bad_request("message is too long")
            content = {"text": text}
            entities = auto_entities(text)
            if entities:
                content["entities"] = entities
            return content
        if contact is not None:
            return {"contact": self._contact(contact, user)}
        if photo is not None:
            content = {"photo": self.store_photo(photo)}
        elif document is not None:
            content = {"document": self.store_document(*document)}
        elif video_note is not None:
            # Telegram shows no caption under a round video.
            return {"video_note": self.store_video_note(*video_note)}
        else:
            assert voice is not None
            content = {"voice": self.store_voice(voice[0], voice[1], None)}
        if caption and caption.strip():
            content["caption"] = caption.strip()
        return content

    def _contact(self, contact: Json, user: User) -> Json:
        phone = contact.get("phone_number")
        if not isinstance(phone, str) or not phone.strip():
            raise bad_request("contact phone_number is required")
        owner = contact.get("user_id", OWN)
        result: Json = {"phone_number": phone.strip()}
        if owner is OWN or owner == user.id:
            result["first_name"] = contact.get("first_name") or user.first_name
            last_name = contact.get("last_name", user.last_name)
            result["user_id"] = user.id
        else:
            if owner is not None and (not isinstance(owner, int) or isinstance(owner, bool)):
                raise bad_request("contact user_id must be an integer")
            known = self.users.get(owner) if owner is not None else None
            result["first_name"] = contact.get("first_name") or (
                known.first_name if known else "Contact"
            )
            last_name = contact.get("last_name")
            if owner is not None:
                result["user_id"] = owner
        if last_name:
            result["last_name"] = str(last_name)
        for key in ("first_name", "last_name"):
            if key in result and not isinstance(result[key], str):
                raise bad_request(f"contact {key} must be a string")
        return result

    def _forward_origin(self, forwarded: bool | int, content: Json) -> Json:
        origin_id = forwarded if not isinstance(forwarded, bool) else None
        if origin_id is None and "contact" in content:
            origin_id = content["contact"].get("user_id")
        if origin_id is not None and origin_id in self.users:
            return {"type": "user", "date": self.now(), "sender_user": self.user_tg(origin_id)}
        name = content.get("contact", {}).get("first_name") or "Hidden user"
        return {"type": "hidden_user", "date": self.now(), "sender_user_name": name}

    def send_text(
        self,
        user_id: int,
        text: str,
        first_name: str | None = None,
        language_code: str | None = None,
        *,
        reply_to_message_id: int | None = None,
    ) -> Json:
        self.ensure_user(user_id, first_name, language_code)
        return self.post(user_id, text=text, reply_to_message_id=reply_to_message_id)

    def send_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        contact_user_id: int | _Own | None = OWN,
        first_name: str | None = None,
        last_name: str | None = None,
        forwarded: bool = False,
    ) -> Json:
        self.ensure_user(user_id)
        contact: Json = {"phone_number": phone_number, "first_name": first_name,
                         "last_name": last_name}
        if not isinstance(contact_user_id, _Own):
            contact["user_id"] = contact_user_id
        contact = {k: v for k, v in contact.items() if v is not None or k == "user_id"}
        return self.post(user_id, contact=contact, forwarded=forwarded)

    def send_photo(self, user_id: int, data: bytes, caption: str | None = None) -> Json:
        self.ensure_user(user_id)
        return self.post(user_id, photo=data, caption=caption)

    def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> Json:
        self.ensure_user(user_id)
        return self.post(user_id, document=(data, file_name, mime_type), caption=caption)

    def group_send(
        self,
        chat_id: int,
        from_user_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> Json:
        return self.post(from_user_id, chat_id=chat_id, text=text, thread_id=thread_id,
                         reply_to_message_id=reply_to_message_id)

    def edit_text(
        self, user_id: int, message_id: int, text: str, chat_id: int | None = None
    ) -> Json:
        user = self.user(user_id)
        chat = self._chat_writable_by(user, chat_id)
        msg = self.find_message(chat, message_id)
        if msg is None:
            raise bad_request("message to edit not found")
        if msg.sender_id != user.id:
            raise bad_request("message can't be edited")
        if "text" not in msg.tg:
            raise bad_request("there is no text in the message to edit")
        text = text.strip()
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        entities = auto_entities(text)
        if text == msg.tg["text"] and entities == msg.tg.get("entities", []):
            raise bad_request("message is not modified")
        msg.tg["text"] = text
        msg.tg.pop("entities", None)
        if entities:
            msg.tg["entities"] = entities
        msg.tg["edit_date"] = self.now()
        self.touch(chat, msg)
        return {"update_id": self.push_update("edited_message", dict(msg.tg)),
                "message_id": msg.id}

    def click(
        self, user_id: int, message_id: int, data: str, chat_id: int | None = None
    ) -> Json:
        user = self.user(user_id)
        chat = self._chat_writable_by(user, chat_id)
        msg = self.find_message(chat, message_id)
        if msg is None:
            raise bad_request("message not found")
        markup = msg.tg.get("reply_markup") or {}
        buttons = itertools.chain.from_iterable(markup.get("inline_keyboard", []))
        if not any(b.get("callback_data") == data for b in buttons):
            raise bad_request("the message has no button with this callback data")
        query_id = f"{self._callback_tag}{next(self._callback_counter)}"
        self.callbacks[query_id] = {"chat_id": chat.id, "message_id": msg.id, "answered": False}
        while len(self.callbacks) > 10000:
            self.callbacks.popitem(last=False)
        payload = {
            "id": query_id,
            "from": user.to_tg(),
            "message": dict(msg.tg),
            "chat_instance": self.chat_instance(chat.id),
            "data": data,
        }
        return {"update_id": self.push_update("callback_query", payload),
                "callback_query_id": query_id}

    def answer_callback(
        self, query_id: str, text: str | None, show_alert: bool, url: str | None
    ) -> None:
        query = self.callbacks.get(query_id)
        if query is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        query["answered"] = True
        chat = self.chats[query["chat_id"]]
        chat.revision += 1
        chat.toasts.append({
            "text": text or "",
            "show_alert": show_alert,
            "url": url,
            "callback_query_id": query_id,
            "message_id": query["message_id"],
            "revision": chat.revision,
        })
        chat.pulse()

    def set_blocked(self, user_id: int, blocked: bool) -> Json:
        user = self.user(user_id)
        if user.blocked == blocked:
            return user.to_api()
        user.blocked = blocked
        chat = self.chat_for_user(user_id)
        bot = dict(self.bot_user)
        member: Json = {"status": "member", "user": bot}
        kicked: Json = {"status": "kicked", "user": bot, "until_date": 0}
        self.push_update("my_chat_member", {
            "chat": self.chat_tg(chat),
            "from": user.to_tg(),
            "date": self.now(),
            "old_chat_member": member if blocked else kicked,
            "new_chat_member": kicked if blocked else member,
        })
        self.mark_dirty()
        return user.to_api()

    def block(self, user_id: int) -> Json:
        return self.set_blocked(user_id, True)

    def unblock(self, user_id: int) -> Json:
        return self.set_blocked(user_id, False)

    def webapp_url(self, user_id: int, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise bad_request("url must be http(s)")
        user = self.user(user_id)
        webapp_user: Json = {"id": user.id, "first_name": user.first_name}
        if user.last_name:
            webapp_user["last_name"] = user.last_name
        if user.username:
            webapp_user["username"] = user.username
        webapp_user["language_code"] = user.language_code
        webapp_user["allows_write_to_pm"] = True
        return launch_url(url, make_init_data(self.config.token, webapp_user, self.now()))

    # ---- reading chats back ------------------------------------------------------------

    def list_chats(self) -> list[Json]:
        return [
            {
                "id": chat.id,
                "title": chat.title,
                "type": chat.type,
                "is_forum": chat.is_forum,
                "revision": chat.revision,
                "members": [
                    {"id": uid, "first_name": self.user_tg(uid)["first_name"], "status": status}
                    for uid, status in chat.members.items()
                ],
                "topics": [topic.to_api() for topic in chat.topics.values()],
            }
            for chat in self.chats.values()
            if not chat.private
        ]

    def messages(
        self,
        chat_id: int,
        after: int = 0,
        include_user: bool = False,
        *,
        changed_after: int | None = None,
        thread_id: int | None = None,
        files_base: str = "/api/files/",
    ) -> Json:
        """What a client shows: the bot's messages after `after` (or every message changed
        after a revision), plus toasts, the reply keyboard and the menu button."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return {"messages": [], "revision": 0, "toasts": [], "keyboard": None,
                    "menu_button": self.menu_button_for(chat_id), "chat_action": None,
                    "commands": self.commands_for(chat_id)}
        picked = [self._view(m, files_base) for m in self._select(
            chat, after, include_user, changed_after, thread_id)]
        since = changed_after if changed_after is not None else -1
        action = chat.action if chat.action and chat.action["until"] > self.wall_clock() else None
        return {
            "messages": picked,
            "revision": chat.revision,
            "toasts": [t for t in chat.toasts if t["revision"] > since],
            "keyboard": chat.keyboard,
            "menu_button": self.menu_button_for(chat.id) if chat.private else None,
            "chat_action": action["action"] if action else None,
            "commands": self.commands_for(chat.id) if chat.private else [],
        }

    async def wait_messages(
        self,
        chat_id: int,
        after: int = 0,
        include_user: bool = False,
        *,
        changed_after: int | None = None,
        thread_id: int | None = None,
        wait: float = 0,
        files_base: str = "/api/files/",
    ) -> Json:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (0 if self.shutting_down else min(max(wait, 0), 60))
        epoch = self.epoch
        while True:
            chat = self.chats.get(chat_id)
            if chat is not None:
                if changed_after is not None:
                    ready = chat.revision > changed_after
                else:
                    ready = next(iter(self._select(chat, after, include_user, None, thread_id)),
                                 None) is not None
                if ready:
                    break
            remaining = deadline - loop.time()
            if remaining <= 0 or chat is None or self.epoch != epoch:
                break
            if not await self._wait(chat.event, remaining):
                break
        return self.messages(chat_id, after, include_user, changed_after=changed_after,
                             thread_id=thread_id, files_base=files_base)

    def _select(
        self,
        chat: Chat,
        after: int,
        include_user: bool,
        changed_after: int | None,
        thread_id: int | None,
    ) -> Iterable[Msg]:
        def wanted(msg: Msg) -> bool:
            if not include_user and msg.sender_id != self.bot_id:
                return False
            return thread_id is None or (msg.thread_id or 0) == thread_id

        if changed_after is not None:
            picked = []
            for message_id in reversed(chat.changes):
                msg = chat.messages[message_id]
                if msg.revision <= changed_after:
                    break
                if wanted(msg):
                    picked.append(msg)
            return sorted(picked, key=lambda m: m.id)
        picked = []
        for message_id in reversed(chat.messages):
            if message_id <= after:
                break
            msg = chat.messages[message_id]
            if wanted(msg):
                picked.append(msg)
        picked.reverse()
        return picked

    def _view(self, msg: Msg, files_base: str) -> Json:
        tg = msg.tg
        sender = tg.get("from")
        photo = document = voice = video_note = service = None
        if "photo" in tg:
            biggest = tg["photo"][-1]
            photo = {"url": files_base + biggest["file_id"], "width": biggest["width"],
                     "height": biggest["height"], "file_id": biggest["file_id"]}
        if "document" in tg:
            doc = tg["document"]
            document = {"url": files_base + doc["file_id"], "file_name": doc.get("file_name"),
                        "mime_type": doc.get("mime_type"), "file_id": doc["file_id"],
                        "file_size": doc.get("file_size")}
        if "voice" in tg:
            v = tg["voice"]
            voice = {"url": files_base + v["file_id"], "duration": v["duration"],
                     "mime_type": v.get("mime_type"), "file_id": v["file_id"]}
        if "video_note" in tg:
            v = tg["video_note"]
            video_note = {"url": files_base + v["file_id"], "duration": v["duration"],
                          "length": v["length"], "file_id": v["file_id"]}
        for key in SERVICE_KEYS:
            if key in tg:
                service = {"type": key, **tg[key]}
        reply = tg.get("reply_to_message")
        reply_id = reply["message_id"] if reply else None
        if reply_id is not None and reply_id == tg.get("message_thread_id"):
            reply_id = None  # the implicit reply to the topic's first message
        return {
            "message_id": msg.id,
            "date": tg["date"],
            "from_bot": msg.sender_id == self.bot_id,
            "from": {"id": sender["id"], "first_name": sender["first_name"],
                     "is_bot": sender["is_bot"]} if sender else None,
            "text": tg.get("text"),
            "entities": tg.get("entities", []),
            "caption": tg.get("caption"),
            "caption_entities": tg.get("caption_entities", []),
            "reply_markup": msg.markup,
            "photo": photo,
            "document": document,
            "voice": voice,
            "video_note": video_note,
            "contact": tg.get("contact"),
            "forward_origin": tg.get("forward_origin"),
            "service": service,
            "edited": "edit_date" in tg,
            "deleted": msg.deleted,
            "message_thread_id": tg.get("message_thread_id"),
            "reply_to_message_id": reply_id,
            "revision": msg.revision,
        }

    def file_content(self, file_id: str) -> tuple[bytes, str] | None:
        record = self.files.get(file_id)
        if record is None:
            return None
        data = self.file_data(record)
        if data is None:
            return None
        return data, record.mime_type or "application/octet-stream"

    def get_stats(self) -> Json:
        return {
            **self.stats,
            "updates_pending": len(self.updates),
            "users": len(self.users),
            "messages": sum(len(c.messages) for c in self.chats.values()),
        }

    # ---- commands and menu buttons ---------------------------------------------------------

    @staticmethod
    def scope_key(scope: Json | None) -> str:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True, separators=(",", ":"))

    def commands_for(self, chat_id: int) -> list[Json]:
        user = self.users.get(chat_id)
        language = user.language_code if user else ""
        for scope in ({"type": "chat", "chat_id": chat_id}, {"type": "all_private_chats"},
                      {"type": "default"}):
            key = self.scope_key(scope)
            for lang in (language, ""):
                found = self.commands.get((key, lang))
                if found:
                    return found
        return []

    def menu_button_for(self, chat_id: int | None) -> Json:
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is not None and chat.menu_button is not None:
            return chat.menu_button
        return self.default_menu_button or {"type": "commands"}

    # ---- persistence ---------------------------------------------------------------------

    def mark_dirty(self) -> None:
        self._dirty = True
        if self.config.state_path is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: close() will write
        # A timer left on a loop that has since ended would never fire.
        if self._save_handle is not None and self._save_loop is loop:
            return
        self._save_loop = loop
        self._save_handle = loop.call_later(SAVE_DELAY, self._save_soon)

    def _save_soon(self) -> None:
        self._save_handle = None
        self.save()

    def save(self) -> None:
        path = self.config.state_path
        if path is None or not self._dirty:
            return
        self._dirty = False
        try:
            text = json.dumps(self.snapshot(), ensure_ascii=False, separators=(",", ":"))
            tmp = path.with_name(path.name + ".tmp")
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            log.exception("localchat: could not write snapshot to %s", path)

    def snapshot(self) -> Json:
        return {
            "version": 1,
            "update_id": self.update_id,
            "updates": list(self.updates),
            "allowed_updates": self.allowed_updates,
            "users": [asdict(user) for user in self.users.values()],
            "chats": [chat.dump() for chat in self.chats.values()],
            "files": [asdict(record) for record in self.files.values()],
            "file_counter": self._file_counter,
            "next_user_id": self._next_user_id,
            "commands": [
                {"scope": scope, "language_code": lang, "commands": commands}
                for (scope, lang), commands in self.commands.items()
            ],
            "default_menu_button": self.default_menu_button,
            "descriptions": self.descriptions,
            "webhook": self.webhook,
        }

    def _load(self, path: Path) -> None:
        try:
            self._restore(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # A broken snapshot must not stop local development: keep it aside, start fresh.
            aside = path.with_name(path.name + ".corrupt")
            log.warning("localchat: unreadable snapshot %s (%s), moved to %s", path, exc, aside)
            try:
                os.replace(path, aside)
            except OSError:
                pass

    def _restore(self, data: Json) -> None:
        # Everything is parsed before anything is assigned, so a bad snapshot changes nothing.
        user_fields = {f.name for f in fields(User)}
        file_fields = {f.name for f in fields(FileRecord)}
        users = {
            int(u["id"]): User(**{k: v for k, v in u.items() if k in user_fields})
            for u in data.get("users", [])
        }
        chats = {int(c["id"]): Chat.load(c) for c in data.get("chats", [])}
        for chat in chats.values():
            if chat.private and chat.id not in users:
                raise KeyError(f"private chat {chat.id} without its user")
        files = {
            f["file_id"]: FileRecord(**{k: v for k, v in f.items() if k in file_fields})
            for f in data.get("files", [])
        }
        commands = {
            (str(c["scope"]), str(c["language_code"])): list(c["commands"])
            for c in data.get("commands", [])
        }
        update_id = int(data.get("update_id", 0))
        updates = deque(dict(u) for u in data.get("updates", []))
        file_counter = int(data.get("file_counter", len(files)))
        next_user_id = int(data.get("next_user_id", FIRST_USER_ID))
        descriptions = {str(k): str(v) for k, v in (data.get("descriptions") or {}).items()}
        self.users, self.chats, self.files, self.commands = users, chats, files, commands
        self.files_by_path = {r.file_path: r.file_id for r in files.values()}
        self.update_id, self.updates = update_id, updates
        self._file_counter, self._next_user_id = file_counter, next_user_id
        self.allowed_updates = data.get("allowed_updates")
        self.default_menu_button = data.get("default_menu_button")
        self.descriptions = descriptions
        self.webhook = data.get("webhook")

    async def close(self) -> None:
        """Stop background work and write the snapshot; the object stays usable."""
        self.wake_all()
        tasks = list(self.background.values())
        self.background.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        self.save()

"""What the stand-in's world is made of: users, forum topics, messages, chats and files, each
with the shape the Bot API gives it, and the stand-in's configuration."""

import asyncio
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from localchat.limits import FloodLimits

Json = dict[str, Any]

FIRST_USER_ID = 100001
DEFAULT_LANGUAGE = "zh"
SERVICE_KEYS = (
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
)
CONTENT_KEYS = ("text", "entities", "photo", "document", "voice", "video_note", "contact",
                "caption", "caption_entities")
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)


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

"""The snapshot: the whole world written to one JSON file shortly after each change, and read
back at start, so a restart keeps the conversation."""

import asyncio
import json
import logging
import os
from collections import deque
from dataclasses import asdict, fields
from pathlib import Path

from localchat.model import (
    FIRST_USER_ID,
    Chat,
    FileRecord,
    Json,
    LocalChatConfig,
    User,
)

log = logging.getLogger(__name__)

SAVE_DELAY = 0.5


class Persisted:
    """The state the snapshot holds (World.__init__ sets it) and the writing and reading."""

    config: LocalChatConfig
    users: dict[int, User]
    chats: dict[int, Chat]
    files: dict[str, FileRecord]
    files_by_path: dict[str, str]
    updates: deque[Json]
    update_id: int
    allowed_updates: list[str] | None
    webhook: Json | None
    commands: dict[tuple[str, str], list[Json]]
    default_menu_button: Json | None
    descriptions: dict[str, str]
    _file_counter: int
    _next_user_id: int
    _dirty: bool
    _save_handle: asyncio.TimerHandle | None
    _save_loop: asyncio.AbstractEventLoop | None

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

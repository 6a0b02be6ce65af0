"""The stand-in's world: users, chats, messages and the update queue, with what both APIs need
of it (lookups, change tracking, the update queue and long polls, flood control, adding
messages, commands and menu buttons)."""

import asyncio
import hashlib
import itertools
import json
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from localchat.errors import ApiError, bad_request
from localchat.limits import FloodGate
from localchat.model import (
    FIRST_USER_ID,
    Chat,
    FileRecord,
    Json,
    LocalChatConfig,
    Msg,
    User,
)
from localchat.persistence import Persisted

# Telegram delivers everything but these three unless asked for them.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def _reply_copy(tg: Json) -> Json:
    # Telegram nests replies one level deep only.
    return {k: v for k, v in tg.items() if k != "reply_to_message"}


class World(Persisted):
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

    # ---- shutting down -------------------------------------------------------------------

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

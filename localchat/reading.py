"""Reading chats back as a client shows them: messages after an id or changed after a revision,
toasts, the reply keyboard, the menu button, and waiting for any of them to change."""

import asyncio
from collections.abc import Iterable

from localchat.model import SERVICE_KEYS, Chat, Json, Msg
from localchat.world import World


class Reading(World):
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

    def get_stats(self) -> Json:
        return {
            **self.stats,
            "updates_pending": len(self.updates),
            "users": len(self.users),
            "messages": sum(len(c.messages) for c in self.chats.values()),
        }

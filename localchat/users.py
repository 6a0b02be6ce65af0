"""Acting as the humans: creating users, what they type, send, edit and tap, blocking the bot,
and opening a Mini App as one of them."""

import itertools

from localchat.errors import ApiError, bad_request
from localchat.filestore import FileStore
from localchat.formatting import auto_entities
from localchat.limits import MAX_CAPTION, MAX_TEXT
from localchat.model import DEFAULT_LANGUAGE, Chat, Json, User
from localchat.webapp import launch_url, make_init_data


class _Own:
    """Marker: the contact is the sender's own."""


OWN = _Own()


class ActingAsUsers(FileStore):
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

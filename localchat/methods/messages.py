"""Messages: sendMessage, sendContact, copyMessage, forwardMessage, the edits, deleting, and
answering a button's callback query."""

from localchat.errors import bad_request
from localchat.methods.base import MethodBase
from localchat.model import CONTENT_KEYS, Chat, Json, Msg
from localchat.wire import Params


class MessageMethods(MethodBase):
    # -- sending --

    async def send_message(self, params: Params) -> Json:
        chat = self.target(params)
        text, entities = self.text(params)
        markup = self.markup(params, chat)
        reply_to = self.reply_to(params, chat)
        thread_id = self.thread(params, chat, reply_to)
        self.chat.check_flood(chat)
        content: Json = {"text": text}
        if entities:
            content["entities"] = entities
        return self.send(chat, content, thread_id, reply_to, markup).tg

    async def send_contact(self, params: Params) -> Json:
        chat = self.target(params)
        phone, first_name = params.text("phone_number"), params.text("first_name")
        if not phone:
            raise bad_request("phone number is empty")
        if not first_name:
            raise bad_request("first name is empty")
        contact: Json = {"phone_number": phone, "first_name": first_name}
        if params.text("last_name"):
            contact["last_name"] = params.text("last_name")
        markup = self.markup(params, chat)
        reply_to = self.reply_to(params, chat)
        thread_id = self.thread(params, chat, reply_to)
        self.chat.check_flood(chat)
        return self.send(chat, {"contact": contact}, thread_id, reply_to, markup).tg

    def _source(self, params: Params, missing: str) -> Msg:
        source_chat = self.existing_chat(params, "from_chat_id")
        msg = self.message(params, source_chat, missing)
        if msg.is_service:
            raise bad_request("message can't be copied")
        return msg

    async def copy_message(self, params: Params) -> Json:
        source = self._source(params, "message to copy not found")
        chat = self.target(params)
        content = {k: source.tg[k] for k in CONTENT_KEYS if k in source.tg}
        if "text" not in content and params.raw("caption") is not None:
            for key in ("caption", "caption_entities"):
                content.pop(key, None)
            content.update(self.caption(params))
        markup = self.markup(params, chat)
        reply_to = self.reply_to(params, chat)
        thread_id = self.thread(params, chat, reply_to)
        self.chat.check_flood(chat)
        return {"message_id": self.send(chat, content, thread_id, reply_to, markup).id}

    async def forward_message(self, params: Params) -> Json:
        source = self._source(params, "message to forward not found")
        chat = self.target(params)
        content = {k: source.tg[k] for k in CONTENT_KEYS if k in source.tg}
        content["forward_origin"] = source.tg.get("forward_origin") or {
            "type": "user", "date": source.tg["date"], "sender_user": source.tg["from"],
        }
        thread_id = self.thread(params, chat, None)
        self.chat.check_flood(chat)
        return self.send(chat, content, thread_id, None, None).tg

    # -- editing and deleting --

    def _editable(self, params: Params) -> tuple[Chat, Msg]:
        if params.text("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self.target(params)
        msg = self.message(params, chat, "message to edit not found")
        if msg.sender_id != self.chat.bot_id or msg.is_service:
            raise bad_request("message can't be edited")
        return chat, msg

    def _apply_edit(self, chat: Chat, msg: Msg, content: Json, markup: Json | None) -> Json:
        tg = msg.tg
        old = {key: tg.get(key) for key in content}
        if old == content and tg.get("reply_markup") == markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        for key, value in content.items():
            if value:
                tg[key] = value
            else:
                tg.pop(key, None)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        if markup is not None:
            tg["reply_markup"] = markup
            msg.markup = markup
        else:
            tg.pop("reply_markup", None)
            if msg.markup is not None and "inline_keyboard" in msg.markup:
                msg.markup = None
        tg["edit_date"] = self.chat.now()
        self.chat.touch(chat, msg)
        return tg

    async def edit_message_text(self, params: Params) -> Json:
        chat, msg = self._editable(params)
        if "text" not in msg.tg:
            raise bad_request("there is no text in the message to edit")
        text, entities = self.text(params)
        markup = self.markup(params, chat, inline_only=True)
        return self._apply_edit(chat, msg, {"text": text, "entities": entities or None}, markup)

    async def edit_message_caption(self, params: Params) -> Json:
        chat, msg = self._editable(params)
        if "text" in msg.tg or "contact" in msg.tg:
            raise bad_request("there is no caption in the message to edit")
        caption = self.caption(params)
        markup = self.markup(params, chat, inline_only=True)
        content = {"caption": caption.get("caption"),
                   "caption_entities": caption.get("caption_entities")}
        return self._apply_edit(chat, msg, content, markup)

    async def edit_message_reply_markup(self, params: Params) -> Json:
        chat, msg = self._editable(params)
        markup = self.markup(params, chat, inline_only=True)
        return self._apply_edit(chat, msg, {}, markup)

    async def delete_message(self, params: Params) -> bool:
        chat = self.existing_chat(params)
        msg = self.message(params, chat, "message to delete not found")
        if msg.is_service and msg.id in chat.topics:
            raise bad_request("message can't be deleted")
        self.chat.delete_message(chat, msg)
        return True

    async def delete_messages(self, params: Params) -> bool:
        chat = self.existing_chat(params)
        ids = params.json("message_ids", "can't parse message_ids JSON object")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100 or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise bad_request("message_ids must be a list of 1-100 integers")
        for message_id in ids:
            msg = self.chat.find_message(chat, message_id)
            if msg is not None and not (msg.is_service and msg.id in chat.topics):
                self.chat.delete_message(chat, msg)
        return True

    # -- callback queries --

    async def answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id")
        if not query_id:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.chat.answer_callback(query_id, text, params.flag("show_alert"), params.text("url"))
        return True

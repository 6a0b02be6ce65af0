"""Forum topics in the staff group: create, edit, close, reopen and delete."""

from localchat.errors import bad_request
from localchat.methods.base import MethodBase
from localchat.model import TOPIC_COLORS, Chat, Json, Topic
from localchat.wire import Params


class ForumMethods(MethodBase):
    def _forum(self, params: Params) -> Chat:
        chat = self.existing_chat(params)
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        return chat

    def _topic(self, params: Params, chat: Chat) -> Topic:
        thread_id = params.integer("message_thread_id")
        topic = chat.topics.get(thread_id) if thread_id is not None else None
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        return topic

    def _service(self, chat: Chat, thread_id: int, key: str, body: Json) -> None:
        self.chat.add_message(chat, dict(self.chat.bot_user), {key: body}, thread_id=thread_id)

    async def create_forum_topic(self, params: Params) -> Json:
        chat = self._forum(params)
        name = (params.text("name") or "").strip()
        if not name:
            raise bad_request("TOPIC_TITLE_EMPTY")
        if len(name) > 128:
            raise bad_request("TOPIC_TITLE_TOO_LONG")
        color = params.integer("icon_color")
        if color is None:
            color = TOPIC_COLORS[0]
        if color not in TOPIC_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID")
        # The topic's id is the id of the service message that opens it.
        thread_id = chat.next_message_id
        topic = Topic(thread_id=thread_id, name=name, icon_color=color,
                      icon_custom_emoji_id=params.text("icon_custom_emoji_id"))
        chat.topics[thread_id] = topic
        created: Json = {"name": name, "icon_color": color}
        if topic.icon_custom_emoji_id:
            created["icon_custom_emoji_id"] = topic.icon_custom_emoji_id
        self._service(chat, thread_id, "forum_topic_created", created)
        return topic.to_tg()

    async def edit_forum_topic(self, params: Params) -> bool:
        chat = self._forum(params)
        topic = self._topic(params, chat)
        name = params.text("name")
        emoji = params.text("icon_custom_emoji_id")
        edited: Json = {}
        if name is not None and name.strip() and name.strip() != topic.name:
            if len(name.strip()) > 128:
                raise bad_request("TOPIC_TITLE_TOO_LONG")
            topic.name = edited["name"] = name.strip()
        if emoji is not None and emoji != topic.icon_custom_emoji_id:
            topic.icon_custom_emoji_id = edited["icon_custom_emoji_id"] = emoji
        if not edited:
            raise bad_request("TOPIC_NOT_MODIFIED")
        self._service(chat, topic.thread_id, "forum_topic_edited", edited)
        return True

    async def close_forum_topic(self, params: Params) -> bool:
        return self._set_closed(params, True)

    async def reopen_forum_topic(self, params: Params) -> bool:
        return self._set_closed(params, False)

    def _set_closed(self, params: Params, closed: bool) -> bool:
        chat = self._forum(params)
        topic = self._topic(params, chat)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        key = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._service(chat, topic.thread_id, key, {})
        return True

    async def delete_forum_topic(self, params: Params) -> bool:
        chat = self._forum(params)
        topic = self._topic(params, chat)
        topic.deleted = True
        for msg in list(chat.messages.values()):
            if msg.thread_id == topic.thread_id and not msg.deleted:
                self.chat.delete_message(chat, msg)
        self.chat.touch(chat)
        return True

    async def forum_topic_noop(self, params: Params) -> bool:
        self._topic(params, self._forum(params))
        return True

"""Chats and their members: getChat, getChatMember, getChatAdministrators, getChatMemberCount,
sendChatAction, and pinning (accepted, not shown)."""

from localchat.errors import bad_request
from localchat.methods.base import MethodBase
from localchat.model import Chat, Json
from localchat.wire import Params

_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}


class ChatMethods(MethodBase):
    # -- actions and pins --

    async def send_chat_action(self, params: Params) -> bool:
        chat = self.target(params)
        action = params.text("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.action = {"action": action,
                       "until": self.chat.wall_clock() + 5}
        self.chat.touch(chat)
        return True

    async def pin_message(self, params: Params) -> bool:
        chat = self.existing_chat(params)
        self.message(params, chat, "message to pin not found")
        return True

    async def chat_noop(self, params: Params) -> bool:
        self.existing_chat(params)
        return True

    # -- chats and members --

    async def get_chat(self, params: Params) -> Json:
        chat = self.existing_chat(params)
        info = {
            **self.chat.chat_tg(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }
        return info

    def _member(self, chat: Chat, user_id: int) -> Json:
        user = self.chat.user_tg(user_id)
        status = chat.members.get(user_id, "left")
        if chat.private:
            bot_kicked = user_id == self.chat.bot_id and self.chat.users[chat.id].blocked
            status = "kicked" if bot_kicked else "member"
        if status == "administrator":
            is_bot = user_id == self.chat.bot_id
            rights = {
                "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                "can_delete_messages": True, "can_manage_video_chats": True,
                "can_restrict_members": True, "can_promote_members": not is_bot,
                "can_change_info": True, "can_invite_users": True, "can_post_stories": False,
                "can_edit_stories": False, "can_delete_stories": False,
                "can_send_welcome_messages": False, "can_pin_messages": True,
                "can_manage_topics": True,
            }
            return {"status": status, "user": user, **rights}
        if status == "kicked":
            return {"status": status, "user": user, "until_date": 0}
        return {"status": status, "user": user}

    async def get_chat_member(self, params: Params) -> Json:
        chat = self.existing_chat(params)
        user_id = params.integer("user_id")
        if user_id is None or (user_id not in self.chat.users and user_id != self.chat.bot_id):
            raise bad_request("user not found")
        if chat.private and user_id not in (chat.id, self.chat.bot_id):
            raise bad_request("user not found")
        return self._member(chat, user_id)

    async def get_chat_administrators(self, params: Params) -> list[Json]:
        chat = self.existing_chat(params)
        if chat.private:
            raise bad_request("there are no administrators in the private chat")
        return [self._member(chat, uid) for uid, status in chat.members.items()
                if status in ("creator", "administrator")]

    async def get_chat_member_count(self, params: Params) -> int:
        chat = self.existing_chat(params)
        return 2 if chat.private else len(chat.members)

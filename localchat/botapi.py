"""Telegram Bot API over the stand-in's state, with Telegram's shapes and error texts: the method
table and the HTTP entry points (the methods themselves are in localchat/methods/)."""

from functools import partial

from aiohttp import web

from localchat.errors import ApiError
from localchat.limits import BOT_API_BODY_LIMIT
from localchat.methods.base import Method
from localchat.methods.chats import ChatMethods
from localchat.methods.files import FileMethods
from localchat.methods.forum import ForumMethods
from localchat.methods.messages import MessageMethods
from localchat.methods.profile import ProfileMethods
from localchat.methods.updates import UpdateMethods
from localchat.state import LocalChat
from localchat.wire import Params, json_reply, read_form


class BotApi(
    UpdateMethods, MessageMethods, FileMethods, ChatMethods, ForumMethods, ProfileMethods
):
    def __init__(self, chat: LocalChat) -> None:
        self.chat = chat
        table: dict[str, Method] = {
            "getMe": self.get_me,
            "logOut": self.always_true,
            "close": self.always_true,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendVoice": self.send_voice,
            "sendMediaGroup": self.send_media_group,
            "sendContact": self.send_contact,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "sendChatAction": self.send_chat_action,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "setMyDescription": partial(self.set_description, "description"),
            "getMyDescription": partial(self.get_description, "description"),
            "setMyShortDescription": partial(self.set_description, "short_description"),
            "getMyShortDescription": partial(self.get_description, "short_description"),
            "setMyName": partial(self.set_description, "name"),
            "getMyName": partial(self.get_description, "name"),
            "createForumTopic": self.create_forum_topic,
            "editForumTopic": self.edit_forum_topic,
            "closeForumTopic": self.close_forum_topic,
            "reopenForumTopic": self.reopen_forum_topic,
            "deleteForumTopic": self.delete_forum_topic,
            "unpinAllForumTopicMessages": self.forum_topic_noop,
            "getForumTopicIconStickers": self.empty_list,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "getChatMemberCount": self.get_chat_member_count,
            "pinChatMessage": self.pin_message,
            "unpinChatMessage": self.chat_noop,
            "unpinAllChatMessages": self.chat_noop,
            "setMessageReaction": self.pin_message,
        }
        self.methods = {name.lower(): method for name, method in table.items()}

    # -- HTTP entry points --

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.chat.config.token:
            return json_reply(ApiError(401, "Unauthorized").to_json(), 401)
        try:
            values, uploads = await read_form(request.headers, request.content,
                                              BOT_API_BODY_LIMIT)
            merged = {**request.query, **values}
            result = await self.call(request.match_info["method"], Params(merged, uploads))
        except ApiError as exc:
            return json_reply(exc.to_json(), exc.code)
        return json_reply({"ok": True, "result": result})

    async def download(self, request: web.Request) -> web.StreamResponse:
        not_found = json_reply({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        if request.match_info["token"] != self.chat.config.token:
            return json_reply(ApiError(401, "Unauthorized").to_json(), 401)
        file_id = self.chat.files_by_path.get(request.match_info["file_path"])
        content = self.chat.file_content(file_id) if file_id else None
        if content is None:
            return not_found
        data, mime = content
        return web.Response(body=data, content_type=mime)


def add_bot_api_routes(app: web.Application, api: BotApi) -> None:
    app.router.add_route("*", "/bot{token}/{method}", api.handle, name="localchat-botapi")
    app.router.add_get("/file/bot{token}/{file_path:.+}", api.download,
                       name="localchat-botapi-file")

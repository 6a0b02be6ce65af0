"""The bot itself: getMe, logOut and close, its commands, menu button, name and descriptions."""

import re
from typing import Any

from localchat.errors import bad_request
from localchat.markup import validate_menu_button
from localchat.methods.base import MethodBase
from localchat.model import Json
from localchat.wire import Params

_SCOPES = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators",
           "chat", "chat_administrators", "chat_member"}
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_DESCRIPTION_LIMITS = {"description": 512, "short_description": 120, "name": 64}


class ProfileMethods(MethodBase):
    # -- identity --

    async def get_me(self, params: Params) -> Json:
        return {
            **self.chat.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def always_true(self, params: Params) -> bool:
        return True

    async def empty_list(self, params: Params) -> list[Any]:
        return []

    # -- commands, menu button, name and descriptions --

    def _scope(self, params: Params) -> tuple[str, str]:
        scope = params.json("scope", "can't parse BotCommandScope JSON object")
        if scope is None:
            scope = {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        normalized: Json = {"type": scope["type"]}
        if scope["type"].startswith("chat"):
            chat_id = scope.get("chat_id")
            try:
                normalized["chat_id"] = int(chat_id)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise bad_request("chat not found") from None
            if scope["type"] == "chat_member":
                if not isinstance(scope.get("user_id"), int):
                    raise bad_request("user not found")
                normalized["user_id"] = scope["user_id"]
        language = params.text("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return self.chat.scope_key(normalized), language

    async def set_my_commands(self, params: Params) -> bool:
        commands = params.json("commands", "can't parse BotCommand JSON object")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse BotCommand JSON object")
        clean = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_RE.match(name.removeprefix("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name.removeprefix("/"), "description": description})
        key = self._scope(params)
        if clean:
            self.chat.commands[key] = clean
        else:
            self.chat.commands.pop(key, None)
        self.chat.mark_dirty()
        return True

    async def get_my_commands(self, params: Params) -> list[Json]:
        return self.chat.commands.get(self._scope(params), [])

    async def delete_my_commands(self, params: Params) -> bool:
        self.chat.commands.pop(self._scope(params), None)
        self.chat.mark_dirty()
        return True

    async def set_chat_menu_button(self, params: Params) -> bool:
        button = validate_menu_button(
            params.json("menu_button", "can't parse menu button JSON object"))
        stored = None if button["type"] == "default" else button
        if params.raw("chat_id") is None:
            self.chat.default_menu_button = stored
            for chat in self.chat.chats.values():
                if chat.private:
                    self.chat.touch(chat)
        else:
            chat = self.existing_chat(params)
            if not chat.private:
                raise bad_request("chat not found")
            chat.menu_button = stored
            self.chat.touch(chat)
        self.chat.mark_dirty()
        return True

    async def get_chat_menu_button(self, params: Params) -> Json:
        if params.raw("chat_id") is None:
            return self.chat.default_menu_button or {"type": "commands"}
        return self.chat.menu_button_for(self.existing_chat(params).id)

    async def set_description(self, field: str, params: Params) -> bool:
        max_length = _DESCRIPTION_LIMITS[field]
        value = params.text(field) or ""
        if len(value) > max_length:
            raise bad_request(f"{field} is too long")
        language = params.text("language_code") or ""
        key = f"{field}:{language}"
        if value:
            self.chat.descriptions[key] = value
        else:
            self.chat.descriptions.pop(key, None)
        self.chat.mark_dirty()
        return True

    async def get_description(self, field: str, params: Params) -> Json:
        language = params.text("language_code") or ""
        found = self.chat.descriptions.get(f"{field}:{language}")
        if found is None:
            found = self.chat.descriptions.get(f"{field}:", "")
        if field == "name" and not found:
            found = self.chat.config.bot_first_name
        return {field: found}

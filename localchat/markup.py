"""Reply markup checked as Telegram checks it: inline keyboards, reply keyboards, keyboard removal,
forced replies, and the chat menu button."""

import re
from typing import Any

from localchat.errors import bad_request
from localchat.model import Json

_INLINE_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_PRIVATE_ONLY_KEYS = ("request_contact", "request_location", "web_app", "request_users",
                      "request_chat")


def http_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"^https?://[^\s/]+", value) is not None


def _rows(markup: Json, key: str, kind: str) -> list[list[Any]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{key}" of the {kind} should be an Array of Arrays')
    if sum(len(row) for row in rows) > 100:
        raise bad_request("reply markup is too long")
    return rows


def validate_markup(raw: Any, private: bool, *, inline_only: bool = False) -> Json | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        rows = [[_inline_button(b, private) for b in row]
                for row in _rows(raw, "inline_keyboard", "InlineKeyboardMarkup")]
        rows = [row for row in rows if row]
        return {"inline_keyboard": rows} if rows else None
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in raw:
        rows = [[_keyboard_button(b, private) for b in row]
                for row in _rows(raw, "keyboard", "ReplyKeyboardMarkup")]
        markup: Json = {"keyboard": [row for row in rows if row]}
        if not markup["keyboard"]:
            raise bad_request("keyboard must be non-empty")
        for key in ("resize_keyboard", "one_time_keyboard", "is_persistent", "selective"):
            if raw.get(key):
                markup[key] = True
        placeholder = raw.get("input_field_placeholder")
        if isinstance(placeholder, str) and placeholder:
            markup["input_field_placeholder"] = placeholder[:64]
        return markup
    if raw.get("remove_keyboard") is True:
        return {"remove_keyboard": True}
    if raw.get("force_reply") is True:
        markup = {"force_reply": True}
        if isinstance(raw.get("input_field_placeholder"), str):
            markup["input_field_placeholder"] = raw["input_field_placeholder"][:64]
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_button(button: Any, private: bool) -> Json:
    problem = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(problem + "InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str) or not button["text"].strip():
        raise bad_request("BUTTON_TEXT_EMPTY")
    actions = [key for key in _INLINE_ACTIONS if key in button]
    if not actions:
        raise bad_request(problem + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(problem + "only one of the optional fields can be used")
    action = actions[0]
    value = button[action]
    if action == "callback_data" and (
        not isinstance(value, str) or not 1 <= len(value.encode()) <= 64
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    if action == "url" and not (
        http_url(value) or (isinstance(value, str) and value.startswith("tg://"))
    ):
        raise bad_request("BUTTON_URL_INVALID")
    if action == "web_app":
        if not private:
            raise bad_request("BUTTON_TYPE_INVALID")
        # Telegram insists on https; the stand-in also takes http for loopback Mini Apps.
        if not isinstance(value, dict) or not http_url(value.get("url")):
            raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def _keyboard_button(button: Any, private: bool) -> Json:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) \
            or not button["text"].strip():
        raise bad_request("can't parse keyboard button: Text must be a non-empty String")
    if not private and any(key in button for key in _PRIVATE_ONLY_KEYS):
        raise bad_request("BUTTON_TYPE_INVALID")
    if "web_app" in button and (
        not isinstance(button["web_app"], dict) or not http_url(button["web_app"].get("url"))
    ):
        raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def validate_menu_button(raw: Any) -> Json:
    if raw is None:
        return {"type": "default"}
    if not isinstance(raw, dict) or raw.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if raw["type"] != "web_app":
        return {"type": raw["type"]}
    text, web_app = raw.get("text"), raw.get("web_app")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("BUTTON_TEXT_EMPTY")
    if not isinstance(web_app, dict) or not http_url(web_app.get("url")):
        raise bad_request("BUTTON_URL_INVALID")
    return {"type": "web_app", "text": text, "web_app": {"url": web_app["url"]}}

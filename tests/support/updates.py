"""Telegram updates as a client would send them, for Dispatcher.feed_update."""

from __future__ import annotations

import itertools
from typing import Any

from aiogram.types import Update

from tests.support.clock import EPOCH

_ids = itertools.count(1)


def user(user_id: int = 100001, first_name: str = "张三", language_code: str | None = "zh-hans"):
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code is not None:
        data["language_code"] = language_code
    return data


def message(text: str, sender: dict[str, Any] | None = None, **extra: Any) -> Update:
    sender = sender or user()
    payload: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(EPOCH.timestamp()),
        "chat": {"id": sender["id"], "type": "private", "first_name": sender["first_name"]},
        "from": sender,
        **extra,
    }
    if text:
        payload["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            payload["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return Update.model_validate({"update_id": next(_ids), "message": payload})


def contact(
    phone: str,
    sender: dict[str, Any] | None = None,
    *,
    owner_id: int | None = None,
    forwarded: bool = False,
) -> Update:
    """A shared contact: the sender's own unless `owner_id` says whose it is."""
    sender = sender or user()
    extra: dict[str, Any] = {
        "contact": {
            "phone_number": phone,
            "first_name": sender["first_name"],
            "user_id": sender["id"] if owner_id is None else owner_id,
        }
    }
    if forwarded:
        extra["forward_origin"] = {"type": "hidden_user", "date": 0, "sender_user_name": "x"}
    return message("", sender, **extra)


def click(data: str, sender: dict[str, Any] | None = None, message_id: int = 1) -> Update:
    sender = sender or user()
    return Update.model_validate(
        {
            "update_id": next(_ids),
            "callback_query": {
                "id": str(next(_ids)),
                "from": sender,
                "chat_instance": "local",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(EPOCH.timestamp()),
                    "chat": {"id": sender["id"], "type": "private"},
                    "from": {"id": 7000000001, "is_bot": True, "first_name": "jijiao"},
                    "text": "menu",
                },
            },
        }
    )

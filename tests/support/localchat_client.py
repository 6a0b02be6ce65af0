"""Plays trainees and staff against a running app through the local chat's JSON API."""

from __future__ import annotations

from typing import Any

import aiohttp


class LocalChatClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.api = f"{base_url}/_local/api"
        self.http = session
        self._seen: dict[int, int] = {}

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.api}{path}", json=payload) as response:
            body = await response.json()
            assert response.status == 200, body
            return body

    async def send(self, user_id: int, text: str, **user_fields: Any) -> dict[str, Any]:
        return await self._post(f"/users/{user_id}/send", {"text": text, **user_fields})

    async def click(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        return await self._post(f"/users/{user_id}/click", {"message_id": message_id, "data": data})

    async def replies(self, user_id: int, *, wait: float = 10, count: int = 1) -> list[dict]:
        """The bot's next `count` new messages to this user (waiting for them to arrive)."""
        got: list[dict[str, Any]] = []
        while len(got) < count:
            after = self._seen.get(user_id, 0)
            async with self.http.get(
                f"{self.api}/users/{user_id}/messages", params={"after": after, "wait": wait}
            ) as response:
                messages = (await response.json())["messages"]
            if not messages:
                raise AssertionError(f"no reply to {user_id} within {wait}s; got {got}")
            got.extend(messages)
            self._seen[user_id] = messages[-1]["message_id"]
        return got

    async def reply(self, user_id: int, *, wait: float = 10) -> dict[str, Any]:
        return (await self.replies(user_id, wait=wait))[-1]


def button_data(message: dict[str, Any], text_part: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if text_part in button["text"]:
                return button["callback_data"]
    raise AssertionError(f"no button with {text_part!r} in {message['reply_markup']}")

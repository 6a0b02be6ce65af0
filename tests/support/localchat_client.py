"""Plays trainees and staff against a running app through the local chat's JSON API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from infra.settings import LOCAL_STAFF_GROUP_ID

# The local mode's staff member (jijiao/app.py LOCAL_STAFF).
STAFF = 900001


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

    async def share_contact(self, user_id: int, phone: str) -> dict[str, Any]:
        """The user taps the bot's "share my phone number" button: their own contact."""
        return await self._post(f"/users/{user_id}/send", {"contact": {"phone_number": phone}})

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

    # The staff group: staff write and tap there, in a topic or in General.

    async def group_messages(self, thread_id: int | None = None) -> list[dict[str, Any]]:
        """Every message in the staff group (in one topic when `thread_id` is given)."""
        params: dict[str, Any] = {"all": 1}
        if thread_id is not None:
            params["thread_id"] = thread_id
        async with self.http.get(
            f"{self.api}/chats/{LOCAL_STAFF_GROUP_ID}/messages", params=params
        ) as response:
            return list((await response.json())["messages"])

    async def staff_says(
        self, text: str, thread_id: int | None = None, staff: int = STAFF
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"from_user_id": staff, "text": text}
        if thread_id is not None:
            payload["message_thread_id"] = thread_id
        return await self._post(f"/chats/{LOCAL_STAFF_GROUP_ID}/send", payload)

    async def staff_taps(
        self, message: dict[str, Any], text_part: str, staff: int = STAFF
    ) -> dict[str, Any]:
        """Taps the button of a message in the staff group whose label holds `text_part`."""
        payload = {
            "from_user_id": staff,
            "message_id": message["message_id"],
            "data": button_data(message, text_part),
        }
        return await self._post(f"/chats/{LOCAL_STAFF_GROUP_ID}/click", payload)


async def eventually(probe: Callable[[], Awaitable[Any]], seconds: float = 10) -> Any:
    """The first truthy result of `probe`, tried four times a second for `seconds`."""
    for _ in range(int(seconds * 4)):
        if found := await probe():
            return found
        await asyncio.sleep(0.25)
    raise AssertionError(f"not seen within {seconds}s")


def button_data(message: dict[str, Any], text_part: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if text_part in button["text"]:
                return button["callback_data"]
    raise AssertionError(f"no button with {text_part!r} in {message['reply_markup']}")

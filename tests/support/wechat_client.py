"""Plays WeChat users against a running app through the WeChat stand-in's JSON API
(wechatlocal, mounted at /_local/api/wechat in local mode)."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp


class WeChatClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.api = f"{base_url}/_local/api/wechat"
        self.http = session
        self._seen: dict[str, int] = {}

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.api}{path}", json=payload) as response:
            body: dict[str, Any] = await response.json()
            assert response.status == 200, body
            return body

    async def config(self) -> dict[str, Any]:
        async with self.http.get(f"{self.api}/config") as response:
            body: dict[str, Any] = await response.json()
            return body

    async def follow(self, openid: str, nickname: str | None = None) -> dict[str, Any]:
        """A new user follows the account (the product gets the subscribe event)."""
        await self._post("/users", {"openid": openid, "nickname": nickname})
        return (await self._post(f"/users/{openid}/send", {"event": "subscribe"}))["result"]

    async def send(self, openid: str, text: str) -> dict[str, Any]:
        return (await self._post(f"/users/{openid}/send", {"text": text}))["result"]

    async def send_photo(self, openid: str, data: bytes) -> dict[str, Any]:
        encoded = base64.b64encode(data).decode()
        return (await self._post(f"/users/{openid}/send", {"image": encoded}))["result"]

    async def click(self, openid: str, key: str) -> dict[str, Any]:
        return (await self._post(f"/users/{openid}/send", {"event": "CLICK", "key": key}))["result"]

    async def choose(self, openid: str, menu_choice: str) -> dict[str, Any]:
        return (await self._post(f"/users/{openid}/send", {"menu_choice": menu_choice}))["result"]

    async def replies(self, openid: str, *, wait: float = 10, count: int = 1) -> list[dict]:
        """The account's next `count` new messages to this user (waiting for them)."""
        got: list[dict[str, Any]] = []
        while len(got) < count:
            after = self._seen.get(openid, 0)
            async with self.http.get(
                f"{self.api}/users/{openid}/messages", params={"after": after, "wait": wait}
            ) as response:
                messages = (await response.json())["messages"]
            if not messages:
                raise AssertionError(f"no message to {openid} within {wait}s; got {got}")
            got.extend(messages)
            self._seen[openid] = messages[-1]["id"]
        return got

    async def reply(self, openid: str, *, wait: float = 10) -> dict[str, Any]:
        return (await self.replies(openid, wait=wait))[-1]

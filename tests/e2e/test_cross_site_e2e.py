"""The local chat acts as anyone, so only pages of this machine's own origin may drive it: a web
page the developer happens to visit while `make run` is up cannot post as a trainee or as staff
(a `text/plain` form or a no-cors fetch needs no preflight), nor reach it through a DNS name
rebound to 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import aiohttp

from infra.settings import LOCAL_BOT_TOKEN, LOCAL_STAFF_GROUP_ID
from jijiao.app import LOCAL_STAFF, Runtime
from tests.support.localchat_client import LocalChatClient

STAFF = LOCAL_STAFF[0][0]
TRAINEE = 100_601
EVIL = "http://evil.example"


async def group_texts(chat: LocalChatClient) -> list[str]:
    async with chat.http.get(
        f"{chat.api}/chats/{LOCAL_STAFF_GROUP_ID}/messages", params={"all": "1"}
    ) as response:
        return [m["text"] or "" for m in (await response.json())["messages"]]


async def test_a_foreign_page_cannot_post_as_staff_or_trainee_and_the_own_page_still_can(
    live_app: Runtime, chat: LocalChatClient
) -> None:
    base = live_app.settings.base_url
    own_origin = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
    find = json.dumps({"from_user_id": STAFF, "text": "/find 530102198501010011"})
    group_send = f"{chat.api}/chats/{LOCAL_STAFF_GROUP_ID}/send"
    cross_site = [
        # What a <form enctype="text/plain"> or fetch(..., {mode: "no-cors"}) on another site sends.
        {"Content-Type": "text/plain", "Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "text/plain", "Origin": EVIL},  # a browser without Fetch metadata
        {"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"},  # Origin stripped
        {"Content-Type": "text/plain", "Origin": "null"},  # a sandboxed frame
        # A name rebound to 127.0.0.1: same-origin for the browser, not this machine's name.
        {"Content-Type": "application/json", "Host": "evil.example", "Sec-Fetch-Site": "none"},
    ]
    for headers in cross_site:
        async with chat.http.post(group_send, data=find, headers=headers) as response:
            assert response.status == 403, (headers, await response.text())
        async with chat.http.post(
            f"{chat.api}/users/{TRAINEE}/send", data='{"text": "/start"}', headers=headers
        ) as response:
            assert response.status == 403, headers
    # Nor as the bot itself (the local token is public), nor reading whose initData it signs.
    async with chat.http.post(
        f"{base}/_local/bot{LOCAL_BOT_TOKEN}/sendMessage",
        data={"chat_id": str(LOCAL_STAFF_GROUP_ID), "text": "forged"},
        headers={"Origin": EVIL},
    ) as response:
        assert response.status == 403
    async with chat.http.get(
        f"{chat.api}/users/{TRAINEE}/webapp",
        params={"url": f"{base}/app"},
        headers={"Sec-Fetch-Site": "cross-site"},
    ) as response:
        assert response.status == 403

    await asyncio.sleep(1)  # what the bot would have answered by now
    assert await group_texts(chat) == []

    # The local chat page itself (same origin) and scripts without a browser still work.
    own = {"Origin": own_origin, "Sec-Fetch-Site": "same-origin"}
    async with chat.http.post(
        group_send, data=find, headers={**own, "Content-Type": "application/json"}
    ) as response:
        assert response.status == 200, await response.text()
    await chat.send(TRAINEE, "/start")
    assert await chat.replies(TRAINEE)
    for _ in range(100):  # the /find, and the bot's answer after it
        texts = await group_texts(chat)
        if texts[-1:] != ["/find 530102198501010011"] and len(texts) >= 2:
            break
        await asyncio.sleep(0.1)
    assert texts[0] == "/find 530102198501010011" and len(texts) == 2, texts


async def test_the_page_of_the_local_chat_is_not_served_to_a_rebound_name(
    live_app: Runtime,
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{live_app.local_url}", headers={"Host": "evil.example:80"}) as response,
    ):
        assert response.status == 403

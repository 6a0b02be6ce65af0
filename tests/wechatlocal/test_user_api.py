"""The JSON API at the exact paths the issue names, mounted as local mode mounts it: beside the
local chat's /_local, whose own /api/ keeps working."""

import asyncio
from typing import Any

from aiohttp import ClientSession, FormData
from aiohttp.test_utils import TestClient

from tests.support.wechat_client import WeChatClient
from tests.wechatlocal.conftest import API, WX, FakeProduct, access_token, local_mode_app
from wechatlocal import (
    LOCAL_APPID,
    LOCAL_ENCODING_AES_KEY,
    LOCAL_TOKEN,
    WeChatLocal,
)


async def test_config_names_the_local_account(
    client: TestClient, wx: WeChatLocal, product: FakeProduct
) -> None:
    response = await client.get("/_local/api/wechat/config")
    body = await response.json()
    assert body["appid"] == LOCAL_APPID
    assert body["token"] == LOCAL_TOKEN
    assert body["encoding_aes_key"] == LOCAL_ENCODING_AES_KEY
    assert body["safe_mode"] is False
    assert body["callback_url"] == wx.config.callback_url


async def test_the_local_chat_keeps_its_own_paths(client: TestClient) -> None:
    telegram = await client.get("/_local/api/bot")
    assert telegram.status == 200 and (await telegram.json())["is_bot"] is True
    page = await client.get("/_local/")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    phone = await client.get("/_local/wechat/phone?openid=o-1")
    assert phone.status == 200 and "/_local/wechat/static/phone.js" in await phone.text()
    assert "script-src 'self'" in phone.headers["Content-Security-Policy"]
    script = await client.get("/_local/wechat/static/phone.js")
    assert script.status == 200
    escape = await client.get("/_local/wechat/static/phone.html")
    assert escape.status == 404


async def test_messages_long_poll_returns_what_the_account_sent(
    client: TestClient, wx: WeChatLocal, product: FakeProduct
) -> None:
    await client.post("/_local/api/wechat/users/o-poll/send", json={"event": "subscribe"})
    token = await access_token(client)

    async def account_writes_later() -> None:
        await asyncio.sleep(0.2)
        await client.post(
            f"{WX}/cgi-bin/message/custom/send",
            params={"access_token": token},
            json={"touser": "o-poll", "msgtype": "text", "text": {"content": "欢迎关注"}},
        )

    writer = asyncio.create_task(account_writes_later())
    waited = await client.get("/_local/api/wechat/users/o-poll/messages?after=0&wait=5")
    await writer
    (message,) = (await waited.json())["messages"]
    assert (message["from"], message["via"], message["text"]) == ("account", "custom", "欢迎关注")

    empty = await client.get(f"/_local/api/wechat/users/o-poll/messages?after={message['id']}")
    assert (await empty.json())["messages"] == []
    everything = await client.get("/_local/api/wechat/users/o-poll/messages?all=1")
    kinds = [(m["from"], m["type"]) for m in (await everything.json())["messages"]]
    assert kinds == [("user", "event"), ("account", "text")]
    bad = await client.get("/_local/api/wechat/users/o-poll/messages?after=x")
    assert bad.status == 400 and (await bad.json())["ok"] is False
    nobody = await client.get("/_local/api/wechat/users/o-nobody/messages")
    assert nobody.status == 404


async def test_send_variants_and_their_refusals(
    client: TestClient, wx: WeChatLocal, product: FakeProduct
) -> None:
    send = "/_local/api/wechat/users/o-send/send"
    before = await client.post(send, json={"text": "hi"})
    assert before.status == 404  # nobody by that openid yet
    wx.ensure_user("o-send")
    not_following = await client.post(send, json={"text": "hi"})
    assert not_following.status == 403
    assert (await client.post(send, json={"event": "subscribe"})).status == 200
    click = await client.post(send, json={"event": "CLICK", "key": "STUDY"})
    assert click.status == 200
    assert product.received[-1]["EventKey"] == "STUDY"
    no_key = await client.post(send, json={"event": "CLICK"})
    assert no_key.status == 400
    unknown_choice = await client.post(send, json={"menu_choice": "nope"})
    assert unknown_choice.status == 404
    nothing = await client.post(send, json={"hello": 1})
    assert nothing.status == 400


async def test_media_the_account_sent_is_readable_by_the_user(
    client: TestClient, wx: WeChatLocal, product: FakeProduct
) -> None:
    wx.ensure_user("o-pic", follows=True)
    token = await access_token(client)
    form = FormData()
    form.add_field("media", b"GIF89a...", filename="qr.gif", content_type="image/gif")
    uploaded = await client.post(
        f"{WX}/cgi-bin/media/upload", params={"access_token": token, "type": "image"}, data=form
    )
    media_id = (await uploaded.json())["media_id"]
    got = await client.get(f"/_local/api/wechat/users/o-pic/media/{media_id}")
    assert got.status == 200 and await got.read() == b"GIF89a..."
    assert got.headers["Content-Type"] == "image/gif"
    missing = await client.get("/_local/api/wechat/users/o-pic/media/nope")
    assert missing.status == 404


async def test_another_site_cannot_drive_the_users(client: TestClient, wx: WeChatLocal) -> None:
    wx.ensure_user("o-victim", follows=True)
    forged = await client.post(
        f"{API}/users/o-victim/send",
        json={"text": "转账"},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status == 403
    assert wx.messages("o-victim", include_user=True) == []


async def test_the_support_client_plays_a_user_against_a_running_app(
    aiohttp_server: Any, wx: WeChatLocal, product: FakeProduct
) -> None:
    """tests/support/wechat_client.py, for journeys against the whole product."""
    server = await aiohttp_server(local_mode_app(wx))
    base = str(server.make_url("")).rstrip("/")
    product.reply = lambda message: product.reply_xml(
        {
            "ToUserName": message["FromUserName"],
            "FromUserName": message["ToUserName"],
            "CreateTime": 1,
            "MsgType": "text",
            "Content": "欢迎" if message.get("Event") == "subscribe" else "收到",
        }
    )
    async with ClientSession() as http:
        user = WeChatClient(base, http)
        assert (await user.config())["appid"] == LOCAL_APPID
        await user.follow("o-client", "老李")
        assert (await user.reply("o-client"))["text"] == "欢迎"
        await user.send("o-client", "报名")
        assert (await user.reply("o-client"))["text"] == "收到"
    assert wx.user("o-client").nickname == "老李"

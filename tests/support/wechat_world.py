"""WeChat's stand-in served on a loopback port with the product's WeChat transport pointed at
it, for tests that send to WeChat accounts outside a conversation (reminders, broadcasts,
decisions); `tests/reminders/conftest.py` makes it the `wechat` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from infra.outbox import TortoiseOutbox
from infra.repositories.accounts import TortoiseAccountRepository
from tests.support.clock import FixedClock
from texts.i18n import Catalogs
from wechat.api import ApiConfig, WeChatApi
from wechat.channel import WeChatReplies
from wechat.notices import WeChatNotices
from wechat.outbox import FetchFile, NoticeTemplates, WeChatTransport
from wechatlocal import LOCAL_APPID, LOCAL_APPSECRET, WeChatLocal, WeChatLocalConfig
from wechatlocal.app import mount_wechatlocal

BASE_URL = "http://jijiao.test"
SUBSCRIPTION = "tpl-subscribe"


@dataclass
class WeChatWorld:
    wx: WeChatLocal
    api: WeChatApi
    transport: WeChatTransport
    render: WeChatNotices  # the outbox's renderer for WeChat accounts
    clock: FixedClock
    api_base: str  # the stand-in's root (its JSON API is at {api_base}/api/wechat)

    async def account(self, openid: str, *, wrote_ago: timedelta | None) -> int:
        """A follower of the account; `wrote_ago`: when they last wrote (None: long ago)."""
        user = self.wx.ensure_user(openid, follows=True)
        wrote = self.clock.now() - (wrote_ago or timedelta(days=5))
        if wrote_ago is not None:  # WeChat opened its window when they wrote
            user.allowance = 5
            user.allowance_until = (wrote + timedelta(hours=48)).timestamp()
        account = await TortoiseAccountRepository().seen_on(
            "wechat", openid, "微信用户", "en", at=wrote
        )
        return int(account.id)

    def received(self, openid: str) -> list[dict[str, Any]]:
        return [m for m in self.wx.messages(openid) if m["from"] == "account"]


@asynccontextmanager
async def wechat_world(
    aiohttp_server: Any, clock: FixedClock, i18n: Catalogs, fetch: FetchFile | None = None
) -> AsyncIterator[WeChatWorld]:
    wx = WeChatLocal(WeChatLocalConfig(), wall_clock=lambda: clock.now().timestamp())
    app = web.Application()
    mount_wechatlocal(app, wx, "/_local")

    async def callback(request: web.Request) -> web.Response:
        # The product's callback is not under test here: events are only acknowledged.
        return web.Response(text="success")

    app.router.add_post("/wechat/callback", callback)
    server = await aiohttp_server(app)
    wx.config.callback_url = str(server.make_url("/wechat/callback"))
    base = str(server.make_url("/_local/wechat")).rstrip("/")
    api = WeChatApi(ApiConfig(LOCAL_APPID, LOCAL_APPSECRET, base), clock)
    accounts = TortoiseAccountRepository()
    transport = WeChatTransport(
        api,
        clock,
        openid_of=accounts.external_id,
        last_inbound=accounts.last_inbound,
        templates=NoticeTemplates(
            "tpl-reminder", {"broadcast": "tpl-broadcast"}, subscription=SUBSCRIPTION
        ),
        fetch=fetch,
        progress=TortoiseOutbox.note_delivered,
    )
    render = WeChatNotices(i18n, WeChatReplies(BASE_URL), f"{BASE_URL}/app")
    root = str(server.make_url("/_local")).rstrip("/")
    try:
        yield WeChatWorld(wx, api, transport, render, clock, root)
    finally:
        await api.close()

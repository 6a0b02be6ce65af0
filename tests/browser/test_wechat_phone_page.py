"""The WeChat stand-in's phone page in Chromium at a phone's size, with a small fake product
behind the callback: follow, a text, a msgmenu choice, a menu click, and a view link opened in
the in-phone browser signed in by OAuth as that user. Screenshots in var/screenshots/wechat/."""

from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientSession, web
from playwright.async_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.fuzz.hostile import jpeg
from tests.support.witness import SCREENSHOTS
from wechatlocal import (
    LOCAL_APPID,
    LOCAL_APPSECRET,
    WeChatLocal,
    WeChatLocalConfig,
    mount_wechatlocal,
)
from wechatlocal.protocol import parse_xml, to_xml

pytestmark = pytest.mark.browser

OPENID = "o-browser-user"
SHOTS = SCREENSHOTS / "wechat"


def fake_product(wx: WeChatLocal) -> web.Application:
    """Just enough of a product: passive replies, customer-service sends through the stand-in's
    HTTP API, and an OAuth landing page that exchanges the code for the openid."""
    app = web.Application()

    def base(request: web.Request) -> str:
        return f"http://{request.host}/_local/wechat"

    async def token(request: web.Request, http: ClientSession) -> str:
        query = {"grant_type": "client_credential", "appid": LOCAL_APPID, "secret": LOCAL_APPSECRET}
        async with http.get(f"{base(request)}/cgi-bin/token", params=query) as response:
            return str((await response.json())["access_token"])

    async def photo_size(request: web.Request, media_id: str) -> int:
        async with ClientSession() as http:
            query = {"access_token": await token(request, http), "media_id": media_id}
            async with http.get(f"{base(request)}/cgi-bin/media/get", params=query) as response:
                assert response.content_type == "image/jpeg"
                return len(await response.read())

    async def custom_send(request: web.Request, body: dict[str, Any]) -> None:
        async with ClientSession() as http:
            token_ = await token(request, http)
            async with http.post(
                f"{base(request)}/cgi-bin/message/custom/send",
                params={"access_token": token_},
                json=body,
            ) as response:
                assert (await response.json())["errcode"] == 0

    def reply(message: dict[str, Any], content: str) -> web.Response:
        return web.Response(
            text=to_xml(
                {
                    "ToUserName": message["FromUserName"],
                    "FromUserName": message["ToUserName"],
                    "CreateTime": int(message["CreateTime"]),
                    "MsgType": "text",
                    "Content": content,
                }
            )
        )

    async def callback(request: web.Request) -> web.Response:
        message = parse_xml(await request.text())
        openid = message["FromUserName"]
        if message.get("Event") == "subscribe":
            return reply(message, "欢迎关注继教！发送“报名”开始。")
        if message.get("Event") == "CLICK" and message.get("EventKey") == "STUDY":
            link = f'<a href="http://{request.host}/app/study">学习中心</a>'
            await custom_send(
                request,
                {"touser": openid, "msgtype": "text", "text": {"content": f"请进入{link}学习"}},
            )
            return web.Response(text="success")
        if message.get("MsgType") == "image":
            return reply(
                message, f"收到照片（{await photo_size(request, message['MediaId'])} 字节）"
            )
        if message.get("bizmsgmenuid"):
            return reply(message, f"你选择了{message['Content']}")
        if message.get("Content") == "报名":
            await custom_send(
                request,
                {
                    "touser": openid,
                    "msgtype": "msgmenu",
                    "msgmenu": {
                        "head_content": "请选择报名方式：",
                        "list": [
                            {"id": "individual", "content": "个人报名"},
                            {"id": "enterprise", "content": "企业报名"},
                        ],
                        "tail_content": "",
                    },
                },
            )
        return web.Response(text="success")

    async def oauth(request: web.Request) -> web.Response:
        params = {
            "appid": LOCAL_APPID,
            "secret": LOCAL_APPSECRET,
            "code": request.query["code"],
            "grant_type": "authorization_code",
        }
        async with ClientSession() as http:
            async with http.get(f"{base(request)}/sns/oauth2/access_token", params=params) as r:
                body = await r.json()
        return web.Response(
            text='<!doctype html><meta charset="utf-8"><title>我的学习记录</title>'
            f"<h1>学习记录</h1>"
            f'<p id="who">{body["openid"]}</p><p id="state">{request.query["state"]}</p>',
            content_type="text/html",
        )

    app.router.add_post("/wechat/callback", callback)
    app.router.add_get("/wechat/oauth", oauth)
    return app


async def test_a_wechat_user_on_the_phone_page(browser_page: Page, live_server: LiveServer) -> None:
    wx = WeChatLocal(WeChatLocalConfig(), wall_clock=lambda: 1_795_000_000.0)
    root = web.Application()
    mount_wechatlocal(root, wx)
    root.add_subapp("/product", fake_product(wx))
    url = await live_server(root)
    wx.config.callback_url = f"{url}/product/wechat/callback"
    authorize = (
        f"{url}/_local/wechat/connect/oauth2/authorize?"
        + urlencode(
            {
                "appid": LOCAL_APPID,
                "redirect_uri": f"{url}/product/wechat/oauth",
                "response_type": "code",
                "scope": "snsapi_base",
                "state": "records",
            }
        )
        + "#wechat_redirect"
    )
    wx.menu_create(
        {
            "button": [
                {"type": "click", "name": "学习", "key": "STUDY"},
                {
                    "name": "我的",
                    "sub_button": [
                        {"type": "view", "name": "学习记录", "url": authorize},
                    ],
                },
            ]
        }
    )
    page = browser_page
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{url}/_local/wechat/phone?openid={OPENID}")
    await expect(page.locator("#title")).to_have_text("继教 jijiao")

    await page.get_by_role("button", name="关注公众号").click()
    await expect(page.locator(".row.account .bubble").first).to_have_text(
        "欢迎关注继教！发送“报名”开始。"
    )

    await page.locator("#toggle").click()
    await page.locator("#text").fill("报名")
    await page.get_by_role("button", name="发送").click()
    await expect(page.locator(".row.user .bubble").last).to_have_text("报名")
    await page.get_by_role("button", name="企业报名").click()
    await expect(page.locator(".row.account .bubble").last).to_have_text("你选择了企业报名")
    assert wx.messages(OPENID)[-1]["via"] == "reply"

    # A photo from the album (the paper form, say): WeChat keeps it, the account fetches it.
    photo = jpeg()
    await page.locator("#photo").set_input_files(
        files=[{"name": "form.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    await expect(page.locator(".row.user .bubble img").last).to_be_visible()
    await expect(page.locator(".row.account .bubble").last).to_have_text(
        f"收到照片（{len(photo)} 字节）"
    )

    await page.locator("#toggle").click()
    await page.locator("#menu").get_by_role("button", name="学习").click()
    last = page.locator(".row.account .bubble").last
    await expect(last).to_have_text("请进入学习中心学习")
    await expect(last.get_by_role("link", name="学习中心")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "phone-chat.png"))

    await page.locator("#menu").get_by_role("button", name="我的").click()
    await page.locator("#submenu").get_by_role("button", name="学习记录").click()
    frame = page.frame_locator("#browser-frame")
    await expect(frame.locator("#who")).to_have_text(OPENID)
    await expect(frame.locator("#state")).to_have_text("records")
    await expect(page.locator("#browser-title")).to_have_text("我的学习记录")
    await page.screenshot(path=str(SHOTS / "phone-oauth-page.png"))

    sent = [
        (m["from"], m.get("event") or m.get("text")) for m in wx.messages(OPENID, include_user=True)
    ]
    assert ("user", "VIEW") in sent and ("user", "CLICK") in sent

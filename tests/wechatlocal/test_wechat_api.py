"""WeChat's own endpoints as the product calls them: tokens, customer-service messages and their
window, media, notices, the menu and OAuth, with WeChat's error codes."""

from urllib.parse import parse_qs, urlsplit

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests.wechatlocal.conftest import WX, FakeProduct, WallClock, access_token
from wechatlocal import LOCAL_APPID, LOCAL_APPSECRET, WeChatLocal


async def call(client: TestClient, path: str, token: str | None, body: object = None) -> dict:
    params = {"access_token": token} if token is not None else {}
    if body is None:
        response = await client.get(f"{WX}{path}", params=params)
    else:
        response = await client.post(f"{WX}{path}", params=params, json=body)
    assert response.status == 200  # WeChat answers errors with 200 and an errcode
    result: dict = await response.json()
    return result


def text_to(openid: str, content: str = "你好") -> dict:
    return {"touser": openid, "msgtype": "text", "text": {"content": content}}


async def test_token_is_issued_for_the_right_credentials_only(client: TestClient) -> None:
    good = {"grant_type": "client_credential", "appid": LOCAL_APPID, "secret": LOCAL_APPSECRET}
    response = await client.get(f"{WX}/cgi-bin/token", params=good)
    body = await response.json()
    assert body["expires_in"] == 7200 and len(body["access_token"]) > 32

    bad_appid = await client.get(f"{WX}/cgi-bin/token", params={**good, "appid": "wxnope"})
    assert (await bad_appid.json())["errcode"] == 40013
    bad_secret = await client.get(f"{WX}/cgi-bin/token", params={**good, "secret": "x" * 32})
    assert (await bad_secret.json())["errcode"] == 40125
    bad_grant = await client.get(f"{WX}/cgi-bin/token", params={**good, "grant_type": "x"})
    assert (await bad_grant.json())["errcode"] == 40002


async def test_every_call_checks_the_token_and_it_expires_by_the_wall_clock(
    client: TestClient, wx: WeChatLocal, wall: WallClock
) -> None:
    wx.ensure_user("o-follower", follows=True)
    token = await access_token(client)
    assert (await call(client, "/cgi-bin/get_current_selfmenu_info", None))["errcode"] == 41001
    assert (await call(client, "/cgi-bin/get_current_selfmenu_info", "forged"))["errcode"] == 40001
    assert (await call(client, "/cgi-bin/get_current_selfmenu_info", token))["is_menu_open"] == 0

    wall.advance(7199)
    assert "errcode" not in await call(client, "/cgi-bin/get_current_selfmenu_info", token)
    wall.advance(1)
    expired = await call(client, "/cgi-bin/message/custom/send", token, text_to("o-follower"))
    assert expired["errcode"] == 42001


async def test_an_old_token_works_five_minutes_after_a_new_one(
    client: TestClient, wall: WallClock
) -> None:
    old = await access_token(client)
    new = await access_token(client)
    assert old != new
    wall.advance(299)
    assert (await call(client, "/cgi-bin/get_current_selfmenu_info", old))["is_menu_open"] == 0
    wall.advance(1)
    assert (await call(client, "/cgi-bin/get_current_selfmenu_info", old))["errcode"] == 42001
    assert (await call(client, "/cgi-bin/get_current_selfmenu_info", new))["is_menu_open"] == 0


async def test_customer_messages_follow_the_window_and_the_count(
    client: TestClient, wx: WeChatLocal, wall: WallClock, product: FakeProduct
) -> None:
    """The documented rule: a user's message allows 5 messages within 48 hours."""
    wx.ensure_user("o-user", follows=True)
    token = await access_token(client)
    never_wrote = await call(client, "/cgi-bin/message/custom/send", token, text_to("o-user"))
    assert never_wrote["errcode"] == 45015
    assert (await call(client, "/cgi-bin/message/custom/send", token, text_to("o-ghost")))[
        "errcode"
    ] == 40003

    await wx.send_text("o-user", "在吗")
    for n in range(5):
        sent = await call(client, "/cgi-bin/message/custom/send", token, text_to("o-user", f"{n}"))
        assert sent == {"errcode": 0, "errmsg": "ok"}
    sixth = await call(client, "/cgi-bin/message/custom/send", token, text_to("o-user", "6"))
    assert sixth["errcode"] == 45047
    assert [m["text"] for m in wx.messages("o-user")] == ["0", "1", "2", "3", "4"]

    await wx.send_text("o-user", "还在吗")
    wall.advance(48 * 3600 - 1)
    token = await access_token(client)
    assert (await call(client, "/cgi-bin/message/custom/send", token, text_to("o-user")))[
        "errcode"
    ] == 0
    wall.advance(1)
    closed = await call(client, "/cgi-bin/message/custom/send", token, text_to("o-user"))
    assert closed["errcode"] == 45015
    assert wx.stats.custom_refused == 3


async def test_message_shapes_are_checked(
    client: TestClient, wx: WeChatLocal, product: FakeProduct
) -> None:
    wx.ensure_user("o-shapes", follows=True)
    await wx.send_text("o-shapes", "你好")
    token = await access_token(client)
    send = "/cgi-bin/message/custom/send"
    file_message = {"touser": "o-shapes", "msgtype": "file", "file": {"media_id": "x"}}
    assert (await call(client, send, token, file_message))["errcode"] == 40008
    empty = {"touser": "o-shapes", "msgtype": "text", "text": {"content": ""}}
    assert (await call(client, send, token, empty))["errcode"] == 44004
    unknown_media = {"touser": "o-shapes", "msgtype": "image", "image": {"media_id": "nope"}}
    assert (await call(client, send, token, unknown_media))["errcode"] == 40007
    menu = {
        "touser": "o-shapes",
        "msgtype": "msgmenu",
        "msgmenu": {
            "head_content": "您对本次服务是否满意？",
            "list": [{"id": "101", "content": "满意"}, {"id": "102", "content": "不满意"}],
            "tail_content": "欢迎再次光临",
        },
    }
    assert (await call(client, send, token, menu))["errcode"] == 0
    link = text_to("o-shapes", '请<a href="http://127.0.0.1/app">点这里</a>报名')
    assert (await call(client, send, token, link))["errcode"] == 0
    recorded = wx.messages("o-shapes")
    assert recorded[0]["list"] == [
        {"id": "101", "content": "满意"},
        {"id": "102", "content": "不满意"},
    ]
    assert recorded[1]["text"].startswith("请<a href=")
    # Refused messages used no allowance.
    assert wx.user("o-shapes").allowance == 3


async def test_media_upload_and_download(
    client: TestClient, wx: WeChatLocal, product: FakeProduct
) -> None:
    wx.ensure_user("o-media", follows=True)
    await wx.send_text("o-media", "发张图")
    token = await access_token(client)
    form = FormData()
    form.add_field("media", b"\x89PNG fake", filename="receipt.png", content_type="image/png")
    response = await client.post(
        f"{WX}/cgi-bin/media/upload", params={"access_token": token, "type": "image"}, data=form
    )
    uploaded = await response.json()
    assert uploaded["type"] == "image"
    media_id = uploaded["media_id"]

    got = await client.get(
        f"{WX}/cgi-bin/media/get", params={"access_token": token, "media_id": media_id}
    )
    assert await got.read() == b"\x89PNG fake"
    assert got.headers["Content-Type"] == "image/png"

    wrong_type = FormData()
    wrong_type.add_field("media", b"%PDF", filename="a.pdf", content_type="application/pdf")
    refused = await client.post(
        f"{WX}/cgi-bin/media/upload",
        params={"access_token": token, "type": "file"},
        data=wrong_type,
    )
    assert (await refused.json())["errcode"] == 40004
    missing = await client.get(
        f"{WX}/cgi-bin/media/get", params={"access_token": token, "media_id": "nope"}
    )
    assert (await missing.json())["errcode"] == 40007

    image = {"touser": "o-media", "msgtype": "image", "image": {"media_id": media_id}}
    assert (await call(client, "/cgi-bin/message/custom/send", token, image))["errcode"] == 0
    assert wx.messages("o-media")[-1]["media_id"] == media_id


async def test_notices_and_template_messages_reach_followers_outside_the_window(
    client: TestClient, wx: WeChatLocal
) -> None:
    wx.ensure_user("o-fan", follows=True)
    wx.ensure_user("o-stranger")
    token = await access_token(client)
    data = {"thing1": {"value": "安全生产继续教育"}, "time2": {"value": "2026-12-31"}}
    notice = {"touser": "o-fan", "template_id": "tpl-due", "page": "http://x/app", "data": data}
    assert (await call(client, "/cgi-bin/message/subscribe/bizsend", token, notice))[
        "errcode"
    ] == 43101  # not accepted in the subscription popup yet
    wx.user("o-fan").subscriptions["tpl-due"] = 2
    assert await call(client, "/cgi-bin/message/subscribe/bizsend", token, notice) == {
        "errcode": 0,
        "errmsg": "ok",
    }
    template = {"touser": "o-fan", "template_id": "tpl-old", "url": "http://x/", "data": data}
    sent = await call(client, "/cgi-bin/message/template/send", token, template)
    assert sent["errcode"] == 0 and "msgid" in sent
    kinds = [(m["via"], m["data"]["thing1"]) for m in wx.messages("o-fan")]
    assert kinds == [("notice", "安全生产继续教育"), ("template", "安全生产继续教育")]

    stranger = {**notice, "touser": "o-stranger"}
    assert (await call(client, "/cgi-bin/message/subscribe/bizsend", token, stranger))[
        "errcode"
    ] == 43101
    assert (await call(client, "/cgi-bin/message/template/send", token, stranger))[
        "errcode"
    ] == 43004
    wx.refuse_notices("o-fan")
    assert (await call(client, "/cgi-bin/message/subscribe/bizsend", token, notice))[
        "errcode"
    ] == 43101
    no_template = {**notice, "template_id": ""}
    assert (await call(client, "/cgi-bin/message/template/send", token, no_template))[
        "errcode"
    ] == 40037


async def test_menu_create_and_read_back(client: TestClient, wx: WeChatLocal) -> None:
    token = await access_token(client)
    assert (await call(client, "/cgi-bin/menu/get", token))["errcode"] == 46003
    menu = {
        "button": [
            {"type": "click", "name": "学习", "key": "STUDY"},
            {
                "name": "我的",
                "sub_button": [
                    {"type": "view", "name": "学习记录", "url": "http://127.0.0.1/app/records"},
                    {"type": "click", "name": "客服", "key": "SUPPORT"},
                ],
            },
        ]
    }
    assert (await call(client, "/cgi-bin/menu/create", token, menu))["errcode"] == 0
    got = await call(client, "/cgi-bin/menu/get", token)
    assert got["menu"]["button"] == menu["button"]
    info = await call(client, "/cgi-bin/get_current_selfmenu_info", token)
    assert info["is_menu_open"] == 1
    assert info["selfmenu_info"]["button"][1]["sub_button"]["list"][1]["key"] == "SUPPORT"

    four = {"button": [menu["button"][0]] * 4}
    assert (await call(client, "/cgi-bin/menu/create", token, four))["errcode"] == 40016
    bad_type = {"button": [{"type": "teleport", "name": "x", "key": "y"}]}
    assert (await call(client, "/cgi-bin/menu/create", token, bad_type))["errcode"] == 40017
    assert wx.menu is not None and wx.menu["button"] == menu["button"]


async def test_oauth_code_is_for_the_user_holding_the_phone_once_and_for_five_minutes(
    client: TestClient, wx: WeChatLocal, wall: WallClock
) -> None:
    wx.ensure_user("o-phone", follows=True)
    # The phone page opens links through /open, which remembers who holds the phone.
    authorize = (
        f"{WX}/connect/oauth2/authorize?appid={LOCAL_APPID}"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fwechat%2Foauth%3Fnext%3D%252Fapp"
        "&response_type=code&scope=snsapi_base&state=s1#wechat_redirect"
    )
    opened = await client.get(
        f"{WX}/open", params={"openid": "o-phone", "url": authorize}, allow_redirects=False
    )
    assert opened.status == 302
    assert opened.headers["Location"] == authorize
    redirected = await client.get(opened.headers["Location"], allow_redirects=False)
    assert redirected.status == 302
    target = urlsplit(redirected.headers["Location"])
    assert (target.netloc, target.path) == ("127.0.0.1:8080", "/wechat/oauth")
    query = parse_qs(target.query)
    assert query["state"] == ["s1"] and query["next"] == ["/app"]
    code = query["code"][0]

    params = {
        "appid": LOCAL_APPID,
        "secret": LOCAL_APPSECRET,
        "code": code,
        "grant_type": "authorization_code",
    }
    exchanged = await (await client.get(f"{WX}/sns/oauth2/access_token", params=params)).json()
    assert exchanged["openid"] == "o-phone" and exchanged["scope"] == "snsapi_base"
    again = await (await client.get(f"{WX}/sns/oauth2/access_token", params=params)).json()
    assert again["errcode"] == 40163

    fresh = await client.get(
        f"{WX}/connect/oauth2/authorize",
        params={
            "appid": LOCAL_APPID,
            "redirect_uri": "http://127.0.0.1:8080/wechat/oauth",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": "s2",
            "openid": "o-phone",
        },
        allow_redirects=False,
    )
    late_code = parse_qs(urlsplit(fresh.headers["Location"]).query)["code"][0]
    wall.advance(300)
    late = await client.get(f"{WX}/sns/oauth2/access_token", params={**params, "code": late_code})
    assert (await late.json())["errcode"] == 40029
    forged = await client.get(f"{WX}/sns/oauth2/access_token", params={**params, "code": "x"})
    assert (await forged.json())["errcode"] == 40029
    wrong_secret = await client.get(
        f"{WX}/sns/oauth2/access_token", params={**params, "secret": "0" * 32}
    )
    assert (await wrong_secret.json())["errcode"] == 40125


async def test_authorize_refuses_without_a_user_or_with_a_foreign_domain(
    client: TestClient, wx: WeChatLocal
) -> None:
    client.session.cookie_jar.clear()
    params = {
        "appid": LOCAL_APPID,
        "redirect_uri": "http://127.0.0.1:8080/wechat/oauth",
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "s",
    }
    nobody = await client.get(
        f"{WX}/connect/oauth2/authorize", params=params, allow_redirects=False
    )
    assert nobody.status == 400
    wx.ensure_user("o-x", follows=True)
    wx.config.oauth_hosts = ("127.0.0.1",)
    foreign = await client.get(
        f"{WX}/connect/oauth2/authorize",
        params={**params, "openid": "o-x", "redirect_uri": "https://evil.example/steal"},
        allow_redirects=False,
    )
    assert foreign.status == 400 and "redirect_uri" in await foreign.text()
    wrong_app = await client.get(
        f"{WX}/connect/oauth2/authorize",
        params={**params, "openid": "o-x", "appid": "wxother"},
        allow_redirects=False,
    )
    assert wrong_app.status == 400


async def test_user_info_says_whether_the_user_follows(client: TestClient, wx: WeChatLocal) -> None:
    wx.ensure_user("o-fan", follows=True)
    wx.ensure_user("o-left")
    token = await access_token(client)
    fan = await client.get(
        f"{WX}/cgi-bin/user/info", params={"access_token": token, "openid": "o-fan"}
    )
    assert (await fan.json())["subscribe"] == 1
    left = await client.get(
        f"{WX}/cgi-bin/user/info", params={"access_token": token, "openid": "o-left"}
    )
    assert await left.json() == {"subscribe": 0, "openid": "o-left"}
    ghost = await client.get(
        f"{WX}/cgi-bin/user/info", params={"access_token": token, "openid": "x"}
    )
    assert (await ghost.json())["errcode"] == 40003

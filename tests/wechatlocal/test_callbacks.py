"""The stand-in calls the product's callback as WeChat does, in plaintext and in safe mode: the
fake product checks signature, msg_signature and the AES envelope with its own code, and its
passive replies (encrypted in safe mode) reach the user."""

import pytest
from aiohttp.test_utils import TestClient

from tests.wechatlocal.conftest import API, FakeProduct, WallClock, spec_encrypt
from wechatlocal import LOCAL_ORIGINAL_ID, LOCAL_TOKEN, WeChatLocal, WeChatLocalConfig


@pytest.fixture(params=[False, True], ids=["plaintext", "safe-mode"])
def config(request: pytest.FixtureRequest) -> WeChatLocalConfig:
    return WeChatLocalConfig(safe_mode=request.param)


def text_reply(product: FakeProduct, message: dict[str, str], content: str) -> str:
    return product.reply_xml(
        {
            "ToUserName": message["FromUserName"],
            "FromUserName": message["ToUserName"],
            "CreateTime": 1795000001,
            "MsgType": "text",
            "Content": content,
        }
    )


async def test_text_messages_arrive_signed_and_the_passive_reply_reaches_the_user(
    wx: WeChatLocal, product: FakeProduct, wall: WallClock
) -> None:
    product.reply = lambda message: text_reply(product, message, "收到：" + message["Content"])
    wx.ensure_user("o-text", follows=True)

    result = await wx.send_text("o-text", "我要报名 <b>&")

    assert product.problems == []
    (message,) = product.received
    assert message["ToUserName"] == LOCAL_ORIGINAL_ID
    assert message["FromUserName"] == "o-text"
    assert message["MsgType"] == "text"
    assert message["Content"] == "我要报名 <b>&"
    assert message["CreateTime"] == str(int(wall.now))
    assert message["MsgId"] == str(result["msg_id"])
    (query,) = product.queries
    assert query["timestamp"] == str(int(wall.now))
    assert ("msg_signature" in query) is wx.config.safe_mode
    assert result["delivered"] is True
    assert result["reply"]["text"] == "收到：我要报名 <b>&"
    assert [m["text"] for m in wx.messages("o-text")] == ["收到：我要报名 <b>&"]


async def test_events_and_menu_choices_arrive_as_the_spec_names_them(
    wx: WeChatLocal, product: FakeProduct
) -> None:
    await wx.send_event("o-new", "subscribe")
    await wx.send_event("o-new", "CLICK", "STUDY")
    await wx.send_event("o-new", "VIEW", "http://127.0.0.1:8080/app")
    wx.ensure_user("o-new")
    # A msgmenu the account sent, then the user taps its second item.
    wx.custom_send(
        {
            "touser": "o-new",
            "msgtype": "msgmenu",
            "msgmenu": {
                "head_content": "选择",
                "list": [{"id": "a1", "content": "个人报名"}, {"id": "a2", "content": "企业报名"}],
            },
        }
    )
    await wx.choose("o-new", "a2")
    await wx.send_event("o-new", "unsubscribe")

    assert product.problems == []
    shapes = [
        (m["MsgType"], m.get("Event"), m.get("EventKey"), m.get("Content"), m.get("bizmsgmenuid"))
        for m in product.received
    ]
    assert shapes == [
        ("event", "subscribe", None, None, None),
        ("event", "CLICK", "STUDY", None, None),
        ("event", "VIEW", "http://127.0.0.1:8080/app", None, None),
        ("text", None, None, "企业报名", "a2"),
        ("event", "unsubscribe", None, None, None),
    ]
    assert wx.user("o-new").follows is False


async def test_a_reply_with_a_bad_signature_or_for_someone_else_is_not_shown(
    wx: WeChatLocal, product: FakeProduct
) -> None:
    wx.ensure_user("o-bad", follows=True)
    if wx.config.safe_mode:
        product.reply = lambda message: text_reply(product, message, "hi").replace(
            "<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0"
        )
    else:
        product.reply = lambda message: text_reply(
            product, {**message, "FromUserName": "o-x"}, "hi"
        )

    result = await wx.send_text("o-bad", "你好")

    assert result["delivered"] is False
    assert [(m["from"], m["text"]) for m in wx.messages("o-bad")] == [
        ("system", "该公众号暂时无法提供服务，请稍后再试")
    ]
    assert wx.stats.reply_errors == 1


async def test_safe_mode_refuses_a_plaintext_reply(wx: WeChatLocal, product: FakeProduct) -> None:
    wx.ensure_user("o-plain", follows=True)
    plain = (
        "<xml><ToUserName><![CDATA[o-plain]]></ToUserName><FromUserName><![CDATA["
        f"{LOCAL_ORIGINAL_ID}]]></FromUserName><CreateTime>1</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>"
    )
    product.reply = lambda message: plain
    result = await wx.send_text("o-plain", "你好")
    assert result["delivered"] is (not wx.config.safe_mode)


async def test_a_slow_product_is_retried_and_a_failing_one_shows_the_unavailable_notice(
    wx: WeChatLocal, product: FakeProduct
) -> None:
    wx.ensure_user("o-slow", follows=True)
    # WeChat waits 5 seconds; the test need not. A second, not less: on a busy machine a try
    # must still reach the product before its time is up, or the product counts fewer tries.
    wx.config.callback_timeout = 1.0
    product.delay = 3.0  # over the timeout: WeChat tries three times
    slow = await wx.send_text("o-slow", "在吗")
    assert slow["delivered"] is False
    assert len(product.queries) == 3
    # Each try is signed afresh with its own nonce.
    assert len({q["nonce"] for q in product.queries}) == 3

    product.delay = 0
    product.status = 500
    failed = await wx.send_text("o-slow", "在吗")
    assert failed["delivered"] is False and failed["error"] == "HTTP 500"
    assert len(product.queries) == 4
    assert wx.stats.callback_failures == 2


async def test_url_verification_echoes_echostr(wx: WeChatLocal, product: FakeProduct) -> None:
    assert await wx.verify_callback() is True
    wx.config.token = "another-token"
    assert await wx.verify_callback() is False
    assert product.problems == ["signature"]


async def test_the_json_api_sends_as_the_user_and_returns_the_reply(
    client: TestClient, wx: WeChatLocal, product: FakeProduct
) -> None:
    product.reply = lambda message: text_reply(product, message, "欢迎")
    subscribed = await client.post(f"{API}/users/o-api/send", json={"event": "subscribe"})
    assert (await subscribed.json())["result"]["reply"]["text"] == "欢迎"
    sent = await client.post(f"{API}/users/o-api/send", json={"text": "报名"})
    body = await sent.json()
    assert body["ok"] is True and body["result"]["delivered"] is True
    assert product.received[-1]["Content"] == "报名"
    assert LOCAL_TOKEN not in str(product.received)


def test_the_spec_encryption_of_the_tests_is_what_the_stand_in_reads(
    config: WeChatLocalConfig,
) -> None:
    from wechatlocal.protocol import decrypt

    assert decrypt(config.encoding_aes_key, config.appid, spec_encrypt("<xml/>")) == "<xml/>"

"""WeChat's callback as the spec describes it: verification, plaintext and safe mode, and what
is refused (bad signature, stale, replayed) with nothing changed."""

from __future__ import annotations

from infra.db import models
from tests.wechat import spec
from tests.wechat.conftest import WeChatHarness

ZHOU = "oZhou0000000000000000000001"


async def test_url_verification_echoes_echostr_when_signed_with_our_token(wechat: WeChatHarness):
    query = spec.signed_query(wechat.now(), "12345", echostr="echo-7391")
    response = await wechat.client.get("/wechat/callback", params=query)
    assert response.status == 200
    assert await response.text() == "echo-7391"


async def test_url_verification_with_a_bad_signature_is_refused(wechat: WeChatHarness):
    query = spec.signed_query(wechat.now(), "12345", echostr="echo-7391")
    query["signature"] = spec.sha1_of("not-our-token", query["timestamp"], query["nonce"])
    response = await wechat.client.get("/wechat/callback", params=query)
    assert response.status == 403
    assert "echo-7391" not in await response.text()


async def test_a_plaintext_message_is_answered_through_the_customer_service_api(
    wechat: WeChatHarness,
):
    answer = await wechat.say(ZHOU, "/menu")
    assert answer == "success"
    [sent] = wechat.fake.sent(ZHOU)
    assert sent["msgtype"] == "msgmenu"
    head = sent["msgmenu"]["head_content"]
    assert head.startswith("主菜单：请选择要办理的事项。")
    choices = [c["id"] for c in sent["msgmenu"]["list"]]
    assert choices[:3] == ["menu:enrol", "menu:status", "menu:pay"]
    assert "menu:language" in choices
    # The web view's pages are links through WeChat's sign-in, not choices.
    assert '<a href="http://jijiao.test/wechat/oauth?next=/app/records">🗂 学习记录</a>' in head
    [(_, query, _)] = [c for c in wechat.fake.calls if c[0] == "/cgi-bin/message/custom/send"]
    assert query["access_token"] == "token-1"
    account = await models.ChatUser.get(channel="wechat", external_id=ZHOU)
    assert account.id < 0 and account.last_inbound_at == wechat.clock.now()


async def test_safe_mode_is_opened_and_a_one_text_answer_comes_back_sealed(wechat: WeChatHarness):
    xml = spec.text_xml(ZHOU, "/web", 77, wechat.now())
    status, answer, _, _ = await wechat.post(xml, safe=True)
    assert status == 200
    reply = spec.open_reply(answer)
    assert spec.field(reply, "ToUserName") == ZHOU
    assert spec.field(reply, "MsgType") == "text"
    assert '<a href="http://127.0.0.1:8080/app/login?token=' in spec.field(reply, "Content")
    assert wechat.fake.sent() == []  # the passive reply was the whole answer


async def test_safe_mode_menu_goes_out_as_a_menu_message(wechat: WeChatHarness):
    status, answer, _, _ = await wechat.post(
        spec.text_xml(ZHOU, "/language", 78, wechat.now()), safe=True
    )
    assert (status, answer) == (200, "success")
    [sent] = wechat.fake.sent(ZHOU)
    assert [c["id"] for c in sent["msgmenu"]["list"]] == ["lang:zh_CN", "lang:en"]


async def test_safe_mode_with_a_bad_msg_signature_is_refused_with_nothing_changed(
    wechat: WeChatHarness,
):
    timestamp, nonce = wechat.now(), "n-bad"
    body, _ = spec.safe_body(spec.text_xml(ZHOU, "/menu", 79, timestamp), timestamp, nonce)
    forged = spec.sha1_of(spec.TOKEN, str(timestamp), nonce, spec.seal("<xml></xml>"))
    query = spec.signed_query(timestamp, nonce, encrypt_type="aes", msg_signature=forged)
    assert await wechat.send_raw(query, body) == (403, "forbidden")
    assert await _nothing_changed(wechat)


async def test_a_message_sealed_for_another_appid_is_refused(wechat: WeChatHarness):
    timestamp, nonce = wechat.now(), "n-app"
    encrypted = spec.seal(spec.text_xml(ZHOU, "/menu", 80, timestamp), appid="wxsomebodyelse")
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = spec.signed_query(
        timestamp,
        nonce,
        encrypt_type="aes",
        msg_signature=spec.sha1_of(spec.TOKEN, str(timestamp), nonce, encrypted),
    )
    assert (await wechat.send_raw(query, body))[0] == 403
    assert await _nothing_changed(wechat)


async def test_a_bad_signature_on_a_plaintext_message_is_refused(wechat: WeChatHarness):
    timestamp = wechat.now()
    query = spec.signed_query(timestamp, "n1")
    query["nonce"] = "n2"  # signed for another nonce
    assert (await wechat.send_raw(query, spec.text_xml(ZHOU, "/menu", 81, timestamp)))[0] == 403
    assert await _nothing_changed(wechat)


async def test_a_stale_message_is_refused_with_nothing_changed(wechat: WeChatHarness):
    old = wechat.now() - 6 * 60
    status, answer, _, _ = await wechat.post(spec.text_xml(ZHOU, "/menu", 82, old), timestamp=old)
    assert (status, answer) == (403, "forbidden")
    ahead = wechat.now() + 6 * 60
    status, _, _, _ = await wechat.post(
        spec.text_xml(ZHOU, "/menu", 83, ahead), timestamp=ahead, safe=True
    )
    assert status == 403
    assert await _nothing_changed(wechat)


async def test_a_replayed_callback_is_not_handled_again(wechat: WeChatHarness):
    status, _, query, body = await wechat.post(spec.text_xml(ZHOU, "/menu", 84, wechat.now()))
    assert status == 200 and len(wechat.fake.sent()) == 1
    await models.ChatUser.filter(external_id=ZHOU).delete()
    wechat.clock.advance(seconds=30)  # still fresh
    assert await wechat.send_raw(query, body) == (200, "success")
    assert len(wechat.fake.sent()) == 1
    assert not await models.ChatUser.filter(channel="wechat").exists()


async def test_wechat_retrying_a_message_gets_it_handled_once(wechat: WeChatHarness):
    xml = spec.text_xml(ZHOU, "/menu", 4242, wechat.now())
    for _ in range(3):  # WeChat's retries: new nonce and timestamp, the same MsgId
        status, answer, _, _ = await wechat.post(xml)
        assert (status, answer) == (200, "success")
        wechat.clock.advance(seconds=5)
    assert len(wechat.fake.sent(ZHOU)) == 1


async def test_a_subscription_is_greeted_with_the_menu(wechat: WeChatHarness):
    status, answer, _, _ = await wechat.post(spec.event_xml(ZHOU, "subscribe", wechat.now()))
    assert (status, answer) == (200, "success")
    [greeting] = wechat.fake.sent(ZHOU)
    assert greeting["msgmenu"]["head_content"].startswith("微信用户")
    assert len(greeting["msgmenu"]["list"]) >= 6


async def test_a_menu_click_is_the_press_it_carries(wechat: WeChatHarness):
    status, _, _, _ = await wechat.post(
        spec.event_xml(ZHOU, "CLICK", wechat.now(), key="menu:language")
    )
    assert status == 200
    [picker] = wechat.fake.sent(ZHOU)
    assert [c["id"] for c in picker["msgmenu"]["list"]] == ["lang:zh_CN", "lang:en"]


async def test_an_expired_access_token_is_renewed_and_the_message_sent(wechat: WeChatHarness):
    await wechat.say(ZHOU, "/menu")
    wechat.fake.refuse_next_send = 42001
    await wechat.say(ZHOU, "/menu")
    tokens = [q["access_token"] for p, q, _ in wechat.fake.calls if p.endswith("/custom/send")]
    assert tokens == ["token-1", "token-1", "token-2"]
    assert wechat.fake.count("/cgi-bin/token") == 2


async def test_the_access_token_is_fetched_again_only_when_it_expires(wechat: WeChatHarness):
    await wechat.say(ZHOU, "/menu")
    wechat.clock.advance(minutes=100)
    await wechat.say(ZHOU, "/menu")
    assert wechat.fake.count("/cgi-bin/token") == 1
    wechat.clock.advance(minutes=20)  # past 2 hours less the margin
    await wechat.say(ZHOU, "/menu")
    assert wechat.fake.count("/cgi-bin/token") == 2


async def _nothing_changed(wechat: WeChatHarness) -> bool:
    return not await models.ChatUser.filter(channel="wechat").exists() and wechat.fake.sent() == []


async def test_unfollowing_marks_the_account_unreachable_until_it_writes_again(
    wechat: WeChatHarness,
):
    await wechat.say(ZHOU, "/menu")
    await wechat.post(spec.event_xml(ZHOU, "unsubscribe", wechat.now()))
    assert (await models.ChatUser.get(external_id=ZHOU)).unreachable
    assert len(wechat.fake.sent(ZHOU)) == 1  # nothing said to someone who left
    await wechat.post(spec.event_xml(ZHOU, "subscribe", wechat.now() + 1))
    assert not (await models.ChatUser.get(external_id=ZHOU)).unreachable

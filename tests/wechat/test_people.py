"""WeChat users as people of the product: accounts by openid, their language, the menu, and
signing in to the web view through WeChat's OAuth."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from redis.asyncio import Redis

from infra.db import models
from infra.repositories.accounts import TortoiseAccountRepository
from tests.support.clock import FixedClock
from tests.wechat import spec
from tests.wechat.conftest import WeChatHarness
from wechat.channel import plain, window_open
from wechat.menu import custom_menu, publish_menu
from wechat.store import RedisMemo

LI, SMITH = "oLi000000000000000000000001", "oSmith0000000000000000000002"


async def test_a_chinese_and_an_english_user_reach_the_home_menu_in_their_language(
    wechat: WeChatHarness,
):
    await wechat.post(spec.event_xml(LI, "subscribe", wechat.now()))
    [greeting] = wechat.fake.sent(LI)
    assert "继教" in greeting["msgmenu"]["head_content"]
    assert greeting["msgmenu"]["list"][0] == {"id": "menu:enrol", "content": "📝 报名"}

    await wechat.post(spec.event_xml(SMITH, "subscribe", wechat.now()))
    await wechat.say(SMITH, "/language")
    # The menu message's choice comes back as a text with the choice's id.
    await wechat.say(SMITH, "English", bizmsgmenuid="lang:en")
    *_, done, menu = wechat.fake.sent(SMITH)
    assert done["msgmenu"]["head_content"] == "Done: I will talk to you in English from now on."
    assert menu["msgmenu"]["head_content"].startswith("Main menu: choose what you want to do.")
    await wechat.say(SMITH, "/menu")
    assert wechat.fake.sent(SMITH)[-1]["msgmenu"]["list"][0]["content"] == "📝 Enrol"
    await wechat.say(LI, "/menu")
    assert wechat.fake.sent(LI)[-1]["msgmenu"]["head_content"].startswith("主菜单")


async def test_words_no_step_waited_for_are_answered_by_self_help(wechat: WeChatHarness):
    await wechat.say(LI, "考试怎么考")
    [answer] = wechat.fake.sent(LI)
    assert "menu:support" in [c["id"] for c in answer["msgmenu"]["list"]]


async def test_a_forged_state_is_refused_and_a_good_one_signs_in_once(wechat: WeChatHarness):
    client = wechat.client
    response = await client.get(
        "/wechat/oauth", params={"next": "/app/records"}, allow_redirects=False
    )
    assert response.status == 302
    authorize = urlsplit(response.headers["Location"])
    assert authorize.netloc == "open.example.test"
    assert authorize.path == "/connect/oauth2/authorize" and authorize.fragment == "wechat_redirect"
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert query["appid"] == spec.APPID and query["scope"] == "snsapi_base"
    assert query["redirect_uri"] == "http://jijiao.test/wechat/oauth/return"
    state = query["state"]
    assert state.isalnum() and len(state) <= 128
    wechat.fake.openids["CODE1"] = LI

    forged = state[:-1] + ("0" if state[-1] != "0" else "1")
    refused = await client.get(
        "/wechat/oauth/return", params={"code": "CODE1", "state": forged}, allow_redirects=False
    )
    assert refused.status == 403 and "jj_session" not in refused.cookies
    assert wechat.fake.count("/sns/oauth2/access_token") == 0
    assert not await models.ChatUser.filter(external_id=LI).exists()

    signed_in = await client.get(
        "/wechat/oauth/return", params={"code": "CODE1", "state": state}, allow_redirects=False
    )
    assert signed_in.status == 302 and signed_in.headers["Location"] == "/app/records"
    me = await (await client.get("/app/api/me")).json()
    account = await models.ChatUser.get(channel="wechat", external_id=LI)
    assert me["ok"] and me["user_id"] == account.id < 0
    # A web visit is not a message: WeChat's 48-hour window stays as it was.
    assert account.last_inbound_at is None

    client.session.cookie_jar.clear()
    replayed = await client.get(
        "/wechat/oauth/return", params={"code": "CODE1", "state": state}, allow_redirects=False
    )
    assert replayed.status == 403 and "jj_session" not in replayed.cookies
    assert (await client.get("/app/api/me")).status == 401


async def test_sign_in_goes_only_to_pages_of_the_web_view(wechat: WeChatHarness):
    wechat.fake.openids["CODE2"] = LI
    response = await wechat.client.get(
        "/wechat/oauth", params={"next": "https://evil.example/app"}, allow_redirects=False
    )
    state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
    back = await wechat.client.get(
        "/wechat/oauth/return", params={"code": "CODE2", "state": state}, allow_redirects=False
    )
    assert back.headers["Location"] == "/app"


async def test_an_expired_state_is_refused(wechat: WeChatHarness):
    response = await wechat.client.get("/wechat/oauth", allow_redirects=False)
    state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
    wechat.clock.advance(minutes=11)
    back = await wechat.client.get(
        "/wechat/oauth/return", params={"code": "X", "state": state}, allow_redirects=False
    )
    assert back.status == 403


async def test_wechat_accounts_take_negative_ids_and_keep_them(database, clock: FixedClock):
    accounts = TortoiseAccountRepository()
    telegram = await accounts.seen(100001, "张三", "zh-hans")  # type: ignore[arg-type]
    li = await accounts.seen_on("wechat", LI, "微信用户", "zh_CN", at=clock.now())
    smith = await accounts.seen_on("wechat", SMITH, "微信用户", "zh_CN")
    again = await accounts.seen_on("wechat", LI, "微信用户", "zh_CN", at=clock.now())
    assert (telegram.id, li.id, smith.id, again.id) == (100001, -1, -2, -1)
    assert li.client_language_new and not again.client_language_new
    row = await models.ChatUser.get(id=100001)
    assert (row.channel, row.external_id) == ("telegram", None)
    assert await accounts.external_id(li.id) == LI
    assert window_open(await accounts.last_inbound(li.id), clock.now() + timedelta(hours=47))
    assert not window_open(await accounts.last_inbound(li.id), clock.now() + timedelta(hours=49))
    assert not window_open(await accounts.last_inbound(smith.id), clock.now())


async def test_a_wechat_message_writes_its_time_once_a_minute_and_reopens_an_unfollowed_account(
    database, clock: FixedClock
):
    """Read on every message; written, as a Telegram account is, when a minute old (the 48
    hours then close at most a minute early, never late) or when the person had unfollowed."""
    accounts = TortoiseAccountRepository()
    li = await accounts.seen_on("wechat", LI, "微信用户", "zh_CN", at=clock.now())
    first = clock.now()
    clock.advance(seconds=30)
    await accounts.seen_on("wechat", LI, "微信用户", "zh_CN", at=clock.now())
    assert await accounts.last_inbound(li.id) == first
    clock.advance(seconds=30)
    await accounts.seen_on("wechat", LI, "微信用户", "zh_CN", at=clock.now())
    assert await accounts.last_inbound(li.id) == clock.now()

    await accounts.left("wechat", LI)
    back = await accounts.seen_on("wechat", LI, "微信用户", "zh_CN", at=clock.now())
    assert back.id == li.id
    assert not (await models.ChatUser.get(id=li.id)).unreachable


def test_telegram_html_becomes_wechat_text_with_its_links():
    html = '<b>证书</b> 云建安B&lt;1&gt; <a href="https://x.test/a?b=1&amp;c=2">看</a> <i>!</i>'
    assert plain(html) == '证书 云建安B<1> <a href="https://x.test/a?b=1&c=2">看</a> !'


async def test_the_custom_menu_is_the_main_menu(wechat: WeChatHarness):
    menu = custom_menu(wechat.wechat.replies)
    groups = menu["button"]
    assert [g["name"] for g in groups] == ["报名学习", "考试帮助", "我的"]
    assert all(1 <= len(g["sub_button"]) <= 5 for g in groups)
    entries = [e for g in groups for e in g["sub_button"]]
    clicks = {e["key"] for e in entries if e["type"] == "click"}
    assert {"menu:enrol", "menu:pay", "menu:exam", "menu:language"} <= clicks
    views = [e["url"] for e in entries if e["type"] == "view"]
    assert "http://jijiao.test/wechat/oauth?next=/app/records" in views
    await publish_menu(wechat.wechat.api, wechat.wechat.replies)
    [(_, _, posted)] = [c for c in wechat.fake.calls if c[0] == "/cgi-bin/menu/create"]
    assert posted == menu


async def test_the_redis_memo_is_shared_and_once_only(redis_url: str):
    redis = Redis.from_url(redis_url)
    one, other = RedisMemo(redis), RedisMemo(redis)
    assert await one.first("msg:1", timedelta(seconds=60))
    assert not await other.first("msg:1", timedelta(seconds=60))
    await one.put("oauth:n", "/app/exam", timedelta(seconds=60))
    assert await other.take("oauth:n") == "/app/exam"
    assert await one.take("oauth:n") is None
    await redis.aclose()

"""A WeChat user pays inside WeChat's browser (JSAPI) through the WeChat stand-in and the payment
sandbox, as `make run` serves them: the order's link opens the pay page signed in by OAuth, the
page gets the checkout's parameters for the person's openid, the stand-in's checkout confirms,
and the product hears of it only by the sandbox's signed notification. Telegram keeps the QR."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pytest_aiohttp import AiohttpServer

from infra.db import models
from infra.settings import LOCAL_WECHAT_APPID, Settings, load_settings
from jijiao.app import Runtime
from tests.e2e.test_payment_e2e import _enrolled_trainee, _order_qr
from tests.e2e.test_wechat_journey_e2e import choice, words
from tests.payments.wechatpay_fake import FakeWeChatPay, generate_key, private_pem, public_pem
from tests.support import registry
from tests.support.app import running
from tests.support.clock import RunningClock, days_from_today
from tests.support.localchat_client import LocalChatClient
from tests.support.wechat_client import WeChatClient

CSRF = {"X-Requested-With": "jijiao"}
LINK = re.compile(r'<a href="([^"]+)">')


async def wechat_payer(wx: WeChatClient, openid: str, seq: int) -> int:
    """A WeChat user bound to a person with one enrolment waiting for payment."""
    await wx.follow(openid)
    await wx.reply(openid)
    account = await models.ChatUser.get(channel="wechat", external_id=openid)
    person = await registry.person(seq, f"微信付款{seq}", f"138000{seq:05d}")
    cert = await registry.certificate(person, f"云建安B-W{seq}", "safety_b", days_from_today(120))
    await models.Binding.create(chat_user_id=account.id, person=person)
    await registry.enrolment(cert, account.id, "enrolled")
    return account.id


async def order_in_wechat(wx: WeChatClient, openid: str, payer: str) -> tuple[str, str]:
    """Through the chat to an order: the order's number and its pay link (as WeChat shows it)."""
    await wx.send(openid, "/pay")
    bill = await wx.reply(openid)
    await wx.choose(openid, choice(bill, "开票信息"))
    await wx.choose(openid, choice(await wx.reply(openid), payer))
    await wx.choose(openid, choice(await wx.reply(openid), "跳过"))
    await wx.choose(openid, choice(await wx.reply(openid), "跳过"))
    await wx.choose(openid, choice(await wx.reply(openid), "确认并支付"))
    image, order_message = await wx.replies(openid, count=2)
    assert image["type"] == "image"  # the QR code, for paying from another phone
    order = await models.Order.get(payer_chat_user_id=(await account_id(openid)))
    assert order.number in words(order_message)
    [pay_link] = [url for url in LINK.findall(words(order_message)) if "/app/pay/" in url]
    return order.number, pay_link


async def account_id(openid: str) -> int:
    return (await models.ChatUser.get(channel="wechat", external_id=openid)).id


def browser() -> aiohttp.ClientSession:
    # Cookies on 127.0.0.1 (aiohttp's default jar ignores them on IP addresses).
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def open_in_wechat(http: aiohttp.ClientSession, base: str, openid: str, url: str) -> str:
    """The user taps the link in WeChat: OAuth signs them in, the page is served."""
    async with http.get(
        f"{base}/_local/wechat/open", params={"openid": openid, "url": url}
    ) as response:
        assert response.status == 200, await response.text()
        assert urlsplit(str(response.url)).path.startswith("/app/pay/")
        return await response.text()


async def checkout(http: aiohttp.ClientSession, base: str, number: str) -> tuple[int, Any]:
    async with http.post(f"{base}/app/api/pay/{number}/jsapi", headers=CSRF) as response:
        return response.status, await response.json()


async def order_state(http: aiohttp.ClientSession, base: str, number: str) -> str:
    async with http.get(f"{base}/app/api/pay/{number}") as response:
        return str((await response.json()).get("state", response.status))


async def confirm(wx: WeChatClient, openid: str, bridge: dict[str, str]) -> str:
    return str((await wx._post(f"/users/{openid}/pay", {"bridge": bridge}))["result"]["err_msg"])


async def test_a_wechat_user_pays_by_jsapi_and_the_chat_confirms(live_app: Runtime):
    base = live_app.settings.base_url
    openid = "o-wechat-payer-81"
    async with aiohttp.ClientSession() as api, browser() as http:
        wx = WeChatClient(base, api)
        appid = (await wx.config())["appid"]
        await wechat_payer(wx, openid, 81)
        number, link = await order_in_wechat(wx, openid, "微信付款81")
        assert link.startswith(f"{base}/wechat/oauth?next=/app/pay/{number}")

        page = await open_in_wechat(http, base, openid, link)
        assert "¥ 300.00" in page and 'id="wechat-pay"' in page
        status, answer = await checkout(http, base, number)
        assert status == 200, answer
        bridge = answer["bridge"]
        assert bridge["appId"] == appid and bridge["package"].startswith("prepay_id=")
        assert set(bridge) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
        assert await order_state(http, base, number) == "pending"

        assert await confirm(wx, openid, bridge) == "get_brand_wcpay_request:ok"
        paid = await wx.reply(openid)
        assert "已收到订单" in words(paid) and "300.00" in words(paid)
        assert await order_state(http, base, number) == "paid"

    order = await models.Order.get(number=number)
    assert order.status == "paid"
    enrolment = await models.Enrolment.get(certificate__number="云建安B-W81")
    assert enrolment.state == "studying"
    assert await models.PaymentLog.filter(order_number=number).count() == 1


async def test_a_forged_checkout_ok_or_changed_parameters_mark_nothing_paid(live_app: Runtime):
    base = live_app.settings.base_url
    openid = "o-wechat-payer-82"
    async with aiohttp.ClientSession() as api, browser() as http:
        wx = WeChatClient(base, api)
        await wechat_payer(wx, openid, 82)
        number, link = await order_in_wechat(wx, openid, "微信付款82")
        await open_in_wechat(http, base, openid, link)
        _, answer = await checkout(http, base, number)
        bridge = answer["bridge"]

        # The page's own "ok" proves nothing: the product asks the provider, which was not paid.
        assert await order_state(http, base, number) == "pending"
        # Parameters changed on the way (a signature of another's, another prepay id): refused.
        forged_sign = {**bridge, "paySign": "0" * len(bridge["paySign"])}
        assert await confirm(wx, openid, forged_sign) == "get_brand_wcpay_request:fail"
        other_prepay = {**bridge, "package": bridge["package"][:-4] + "0000"}
        assert await confirm(wx, openid, other_prepay) == "get_brand_wcpay_request:fail"
        # A notification not signed by the sandbox: refused at the notify path.
        async with api.post(
            f"{base}/pay/notify/sandbox",
            data=(
                f'{{"order_number": "{number}", "trade_state": "SUCCESS", "amount_fen": 30000,'
                ' "currency": "CNY", "transaction_id": "SBXFORGED", "paid_at": null}'
            ),
            headers={"X-Sandbox-Signature": "0" * 64, "X-Sandbox-Timestamp": "1"},
        ) as response:
            assert response.status == 401
        assert await order_state(http, base, number) == "pending"

    assert (await models.Order.get(number=number)).status == "pending"
    assert not await models.PaymentLog.filter(order_number=number).exists()


async def test_another_persons_order_is_refused_and_their_checkout_cannot_be_used(
    live_app: Runtime,
):
    base = live_app.settings.base_url
    owner, stranger = "o-wechat-payer-83", "o-wechat-payer-84"
    async with aiohttp.ClientSession() as api, browser() as mine, browser() as theirs:
        wx = WeChatClient(base, api)
        await wechat_payer(wx, owner, 83)
        await wechat_payer(wx, stranger, 84)
        number, link = await order_in_wechat(wx, owner, "微信付款83")
        _, stranger_link = await order_in_wechat(wx, stranger, "微信付款84")
        await open_in_wechat(http := theirs, base, stranger, stranger_link)

        # Signed in as the stranger, the owner's order number is not theirs: not found.
        async with http.get(f"{base}/app/pay/{number}") as response:
            assert response.status == 404
        status, answer = await checkout(http, base, number)
        assert status == 404 and answer == {"ok": False, "error": "order_not_found"}
        assert await order_state(http, base, number) == "404"

        # The owner's checkout, confirmed by the stranger's WeChat: bound to the owner's openid.
        await open_in_wechat(mine, base, owner, link)
        _, answer = await checkout(mine, base, number)
        assert await confirm(wx, stranger, answer["bridge"]) == "get_brand_wcpay_request:fail"

    assert (await models.Order.get(number=number)).status == "pending"
    assert not await models.PaymentLog.filter(order_number=number).exists()


async def test_the_pay_page_needs_a_signed_in_person(live_app: Runtime):
    base = live_app.settings.base_url
    async with browser() as http:
        async with http.post(f"{base}/app/api/pay/JJ2026120700000001/jsapi", headers=CSRF) as r:
            assert r.status == 401
        async with http.get(f"{base}/sandbox/jsapi/pay") as r:
            assert r.status == 405


async def test_telegram_keeps_the_native_qr_code_and_no_wechat_checkout(
    chat: LocalChatClient, live_app: Runtime
):
    user = 100085
    await _enrolled_trainee(chat, user, 85)
    order_message, pay_url = await _order_qr(chat, user)
    assert pay_url.startswith(f"{live_app.settings.base_url}/sandbox/pay/JJ")
    urls = [
        button.get("url", "")
        for row in order_message["reply_markup"]["inline_keyboard"]
        for button in row
    ]
    assert pay_url in urls and not any("/app/pay/" in url for url in urls)


# WeChat Pay alone (no sandbox, no choice of apps): the order's QR code is WeChat Pay's Native
# order, made when the order is placed, and the pay page's checkout is the JSAPI order of the
# same order under its own number, through the product against a loopback WeChat Pay.

PAY_MCHID = "1900000109"
PAY_API_V3_KEY = "9A3F2C7E1B5D8F0A4C6E2B9D7F1A3C5E"
PAY_CERT_SERIAL_NO = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PAY_PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001202611270000000000000001"


async def notify_wechatpay(
    api: aiohttp.ClientSession, base: str, fake: FakeWeChatPay, out_trade_no: str, at: datetime
) -> Any:
    headers, body = fake.notification(out_trade_no, at=at)
    async with api.post(f"{base}/pay/notify/wechatpay", data=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_with_wechat_pay_alone_a_user_pays_in_wechat_and_paying_twice_goes_to_staff(
    app_settings: Settings, tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    merchant, platform = generate_key(), generate_key()
    fake = FakeWeChatPay(
        mchid=PAY_MCHID,
        appid=LOCAL_WECHAT_APPID,  # the Official Account the openids belong to
        merchant_serial_no=PAY_CERT_SERIAL_NO,
        merchant_key=merchant.public_key(),
        platform_key=platform,
        public_key_id=PAY_PUBLIC_KEY_ID,
        api_v3_key=PAY_API_V3_KEY,
        https_notify_url=False,  # the product runs on http://127.0.0.1 here
    )
    gateway = await aiohttp_server(fake.make_app())
    (tmp_path / "apiclient_key.pem").write_text(private_pem(merchant))
    (tmp_path / "pub_key.pem").write_text(public_pem(platform))
    settings = load_settings(
        app={"data_dir": app_settings.app.data_dir},
        web={"host": "127.0.0.1", "port": app_settings.web.port},
        payment={
            "provider": "wechatpay",
            "wechat_mchid": PAY_MCHID,
            "wechat_appid": LOCAL_WECHAT_APPID,
            "wechat_api_v3_key": PAY_API_V3_KEY,
            "wechat_cert_serial_no": PAY_CERT_SERIAL_NO,
            "wechat_private_key_path": tmp_path / "apiclient_key.pem",
            "wechat_public_key_path": tmp_path / "pub_key.pem",
            "wechat_public_key_id": PAY_PUBLIC_KEY_ID,
            "wechat_gateway": str(gateway.make_url("")).rstrip("/"),
        },
    )
    clock = RunningClock()
    base = settings.base_url
    openid = "o-wechat-payer-86"
    async with (
        running(settings, clock=clock),
        aiohttp.ClientSession() as api,
        browser() as http,
    ):
        wx = WeChatClient(base, api)
        await wechat_payer(wx, openid, 86)
        number, link = await order_in_wechat(wx, openid, "微信付款86")
        assert fake.orders[number].trade_type == "NATIVE"  # the QR code, made with the order

        page = await open_in_wechat(http, base, openid, link)
        assert 'id="wechat-pay"' in page
        status, answer = await checkout(http, base, number)
        assert status == 200, answer  # before: 503, WeChat Pay refused the reused number
        jsapi = fake.orders[f"{number}-JS"]
        assert jsapi.trade_type == "JSAPI" and jsapi.request["payer"] == {"openid": openid}
        assert answer["bridge"]["package"] == f"prepay_id={jsapi.code_url}"
        assert await order_state(http, base, number) == "pending"

        # The person confirms in WeChat; the pay page's check asks WeChat Pay about both numbers.
        jsapi_txn = fake.mark_paid(f"{number}-JS", at=clock.now())
        assert await order_state(http, base, number) == "paid"
        paid = await wx.reply(openid)
        assert "已收到订单" in words(paid) and "300.00" in words(paid)
        # WeChat's notification for the JSAPI number is the order's, and changes nothing more.
        told = await notify_wechatpay(api, base, fake, f"{number}-JS", clock.now())
        assert told == {"code": "SUCCESS", "outcome": "duplicate"}

        # The QR code scanned from another phone as well: WeChat Pay takes a second payment.
        fake.mark_paid(number, at=clock.now())
        told = await notify_wechatpay(api, base, fake, number, clock.now())
        assert told == {"code": "SUCCESS", "outcome": "double_charge"}

        order = await models.Order.get(number=number)
        assert (order.status, order.provider, order.transaction_id) == (
            "paid",
            "wechatpay",
            jsapi_txn,
        )
        enrolment = await models.Enrolment.get(certificate__number="云建安B-W86")
        assert enrolment.state == "studying"

"""The WeChat Pay adapter against a loopback WeChat Pay that checks signatures as the real one."""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pytest_aiohttp import AiohttpClient, AiohttpServer

from domain.accounts import ChatUserId
from domain.checkout import (
    ApplyPayment,
    CheckOrder,
    ExpireOrders,
    Fees,
    Order,
    PlaceOrder,
    Reconcile,
    StartJsapiPayment,
)
from domain.payment import (
    InvalidNotification,
    OrderStatus,
    Outcome,
    PaymentEvent,
    PaymentRefused,
)
from infra.db import models
from infra.payments.wechatpay import (
    WeChatPay,
    WeChatPayConfig,
    WeChatPayError,
    jsapi_number,
)
from infra.repositories.payments import TortoisePaymentStore
from infra.repositories.registry import TortoiseBindings
from infra.workdays import ChineseWorkingDays
from jijiao.app import new_order_number
from tests.payments.test_exactly_once import RecordingNotifier
from tests.payments.wechatpay_fake import FakeWeChatPay, generate_key, private_pem, public_pem
from tests.support import registry
from tests.support.clock import FixedClock, days_from_today
from webview import keys as webkeys
from webview.payments import PaymentWeb, add_payment_routes

DOCUMENTATION = Path(__file__).resolve().parents[2] / "docs" / "wechatpay.md"
MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
API_V3_KEY = "9A3F2C7E1B5D8F0A4C6E2B9D7F1A3C5E"
CERT_SERIAL_NO = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001202611270000000000000001"
NOTIFY_URL = "https://jijiao.example.cn/pay/notify/wechatpay"

CREATED = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
EXPIRES = CREATED + timedelta(minutes=30)
PAID = CREATED + timedelta(minutes=7)
ORDER = "JJ2026112700000001"
FEE = 36000
DESCRIPTION = "二级建造师继续教育 2026 年度（建筑工程）"


@dataclass(frozen=True)
class Keys:
    merchant: RSAPrivateKey
    platform: RSAPrivateKey
    stranger: RSAPrivateKey


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(merchant=generate_key(), platform=generate_key(), stranger=generate_key())


@pytest.fixture
def fake(keys: Keys) -> FakeWeChatPay:
    return FakeWeChatPay(
        mchid=MCHID,
        appid=APPID,
        merchant_serial_no=CERT_SERIAL_NO,
        merchant_key=keys.merchant.public_key(),
        platform_key=keys.platform,
        public_key_id=PUBLIC_KEY_ID,
        api_v3_key=API_V3_KEY,
    )


@pytest.fixture
async def gateway(fake: FakeWeChatPay, aiohttp_server: AiohttpServer) -> str:
    server = await aiohttp_server(fake.make_app())
    return str(server.make_url("")).rstrip("/")


def make_config(
    keys: Keys,
    gateway: str,
    *,
    merchant_key: RSAPrivateKey | None = None,
    wechat_key: RSAPrivateKey | None = None,
) -> WeChatPayConfig:
    return WeChatPayConfig(
        mchid=MCHID,
        appid=APPID,
        api_v3_key=API_V3_KEY,
        cert_serial_no=CERT_SERIAL_NO,
        private_key_pem=private_pem(merchant_key or keys.merchant),
        public_key_pem=public_pem(wechat_key or keys.platform),
        public_key_id=PUBLIC_KEY_ID,
        notify_url=NOTIFY_URL,
        gateway=gateway,
    )


@pytest.fixture
def wechat(keys: Keys, gateway: str) -> WeChatPay:
    return WeChatPay(make_config(keys, gateway))


@pytest.fixture
async def order(wechat: WeChatPay) -> str:
    await wechat.create(ORDER, FEE, DESCRIPTION, EXPIRES)
    return ORDER


# Creating, querying and closing orders


async def test_creating_an_order_returns_the_code_url_for_the_qr_code(
    wechat: WeChatPay, fake: FakeWeChatPay
) -> None:
    code_url = await wechat.create(ORDER, FEE, DESCRIPTION, EXPIRES)

    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    assert fake.orders[ORDER].code_url == code_url


async def test_the_native_order_carries_amount_expiry_and_notify_url_as_wechat_wants(
    wechat: WeChatPay, fake: FakeWeChatPay
) -> None:
    await wechat.create(ORDER, FEE, DESCRIPTION, EXPIRES)

    assert fake.orders[ORDER].request == {
        "appid": APPID,
        "mchid": MCHID,
        "description": DESCRIPTION,
        "out_trade_no": ORDER,
        "time_expire": "2026-11-27T10:30:00+08:00",
        "notify_url": NOTIFY_URL,
        "amount": {"total": FEE, "currency": "CNY"},
    }


async def test_creating_the_same_order_again_gives_the_same_qr_code(wechat: WeChatPay) -> None:
    first = await wechat.create(ORDER, FEE, DESCRIPTION, EXPIRES)

    assert await wechat.create(ORDER, FEE, DESCRIPTION, EXPIRES) == first


async def test_wechat_refuses_a_request_signed_with_a_key_that_is_not_the_merchants(
    keys: Keys, gateway: str, fake: FakeWeChatPay
) -> None:
    impostor = WeChatPay(make_config(keys, gateway, merchant_key=keys.stranger))

    with pytest.raises(WeChatPayError) as refused:
        await impostor.create(ORDER, FEE, DESCRIPTION, EXPIRES)

    assert (refused.value.status, refused.value.code) == (401, "SIGN_ERROR")
    assert fake.rejected == ["signature does not verify with the merchant certificate"]
    assert fake.orders == {}


async def test_an_answer_not_signed_by_wechat_pay_is_not_believed(keys: Keys, gateway: str) -> None:
    misled = WeChatPay(make_config(keys, gateway, wechat_key=keys.stranger))

    with pytest.raises(WeChatPayError) as failed:
        await misled.create(ORDER, FEE, DESCRIPTION, EXPIRES)

    assert failed.value.code == "unavailable"


async def test_an_order_number_wechat_cannot_take_is_refused_before_asking(
    wechat: WeChatPay, fake: FakeWeChatPay
) -> None:
    with pytest.raises(ValueError):
        await wechat.create("JJ/1", FEE, DESCRIPTION, EXPIRES)

    assert fake.orders == {}


async def test_an_unpaid_order_is_reported_as_not_paid(wechat: WeChatPay, order: str) -> None:
    assert await wechat.query(order) == PaymentEvent(
        order_number=order,
        paid=False,
        amount_fen=FEE,
        currency="CNY",
        transaction_id=None,
        paid_at=None,
    )


async def test_a_paid_order_is_reported_with_its_transaction(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    transaction_id = fake.mark_paid(order, at=PAID)

    assert await wechat.query(order) == PaymentEvent(
        order_number=order,
        paid=True,
        amount_fen=FEE,
        currency="CNY",
        transaction_id=transaction_id,
        paid_at=PAID,
    )


async def test_the_amount_reported_is_what_the_payer_paid(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    fake.mark_paid(order, at=PAID, payer_total=FEE - 500)

    event = await wechat.query(order)

    assert event is not None and event.amount_fen == FEE - 500


async def test_an_order_wechat_never_saw_is_reported_as_unknown(wechat: WeChatPay) -> None:
    assert await wechat.query("JJ2026112799999999") is None


async def test_a_closed_order_can_no_longer_be_paid(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    await wechat.close(order)

    assert fake.orders[order].trade_state == "CLOSED"
    with pytest.raises(ValueError):
        fake.mark_paid(order, at=PAID)
    event = await wechat.query(order)
    assert event is not None and not event.paid


async def test_closing_a_paid_order_changes_nothing(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)

    await wechat.close(order)

    event = await wechat.query(order)
    assert event is not None and event.paid


async def test_closing_twice_or_closing_an_unknown_order_is_harmless(
    wechat: WeChatPay, order: str
) -> None:
    await wechat.close(order)
    await wechat.close(order)
    await wechat.close("JJ2026112799999999")


# Payment notifications


async def test_a_genuine_notification_gives_the_payment(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    transaction_id = fake.mark_paid(order, at=PAID)
    headers, body = fake.notification(order, at=PAID)

    event = wechat.parse_notification(headers, body, now=PAID + timedelta(seconds=2))

    assert event == PaymentEvent(
        order_number=order,
        paid=True,
        amount_fen=FEE,
        currency="CNY",
        transaction_id=transaction_id,
        paid_at=PAID,
    )


async def test_header_names_are_read_whatever_their_case(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    headers, body = fake.notification(order, at=PAID)
    lowered = {name.lower(): value for name, value in headers.items()}

    assert wechat.parse_notification(lowered, body, now=PAID).paid


def reason(wechat: WeChatPay, headers: dict[str, str], body: bytes, now: datetime) -> str:
    with pytest.raises(InvalidNotification) as rejected:
        wechat.parse_notification(headers, body, now=now)
    return rejected.value.code


async def test_a_notification_whose_body_was_changed_is_rejected(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    headers, body = fake.notification(order, at=PAID)
    altered = json.loads(body) | {"summary": "支付成功 "}

    assert reason(wechat, headers, json.dumps(altered).encode(), PAID) == "bad_signature"


async def test_a_notification_signed_with_another_key_is_rejected(
    keys: Keys, wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    headers, body = fake.notification(order, at=PAID, signed_by=keys.stranger)

    assert reason(wechat, headers, body, PAID) == "bad_signature"


async def test_a_notification_without_signature_headers_is_rejected(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    _, body = fake.notification(order, at=PAID)

    assert reason(wechat, {"Content-Type": "application/json"}, body, PAID) == "bad_signature"


async def test_a_notification_replayed_after_five_minutes_is_rejected(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    headers, body = fake.notification(order, at=PAID)

    assert wechat.parse_notification(headers, body, now=PAID + timedelta(minutes=5)).paid
    late = PAID + timedelta(minutes=5, seconds=1)
    assert reason(wechat, headers, body, late) == "stale_timestamp"


async def test_a_notification_for_another_merchant_is_rejected(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    other_mchid = fake.notification(order, at=PAID, mchid="1900000999")
    other_appid = fake.notification(order, at=PAID, appid="wx0000000000000000")

    assert reason(wechat, *other_mchid, PAID) == "wrong_merchant"
    assert reason(wechat, *other_appid, PAID) == "wrong_merchant"


async def test_a_notification_we_cannot_decrypt_is_rejected(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    headers, body = fake.notification(order, at=PAID, api_v3_key="0" * 32)

    assert reason(wechat, headers, body, PAID) == "bad_resource"


async def test_a_notification_that_is_not_a_successful_payment_is_rejected(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    unpaid = fake.notification(order, at=PAID)
    fake.mark_paid(order, at=PAID)
    failed = fake.notification(order, at=PAID, trade_state="PAYERROR")
    refund = fake.notification(order, at=PAID, event_type="REFUND.SUCCESS")

    assert reason(wechat, *unpaid, PAID) == "not_a_payment"
    assert reason(wechat, *failed, PAID) == "not_a_payment"
    assert reason(wechat, *refund, PAID) == "not_a_payment"


# Answering WeChat Pay


async def test_a_notification_posted_to_the_product_is_taken_once_and_a_forgery_is_refused(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str, aiohttp_client: AiohttpClient
) -> None:
    """Through the web view's own route, answered as docs/wechatpay.md says: any 2xx stops
    WeChat's retries, a refusal is a 401 with FAIL and the reason code."""
    taken: list[PaymentEvent] = []

    async def apply(event: PaymentEvent, source: str) -> Outcome:
        taken.append(event)
        return Outcome.APPLIED if len(taken) == 1 else Outcome.DUPLICATE

    async def no_order(number: str) -> None:
        return None

    app = web.Application()
    app[webkeys.CLOCK] = StoppedClock(PAID)
    add_payment_routes(
        app, PaymentWeb({"wechatpay": wechat}, apply, no_order, None, "http://127.0.0.1")
    )
    client = await aiohttp_client(app)
    fake.mark_paid(order, at=PAID)
    headers, body = fake.notification(order, at=PAID)

    accepted = await client.post("/pay/notify/wechatpay", data=body, headers=headers)
    again = await client.post("/pay/notify/wechatpay", data=body, headers=headers)
    forged = await client.post("/pay/notify/wechatpay", data=body + b" ", headers=headers)

    assert accepted.status == again.status == 200
    assert await accepted.json() == {"code": "SUCCESS", "outcome": "applied"}
    assert await again.json() == {"code": "SUCCESS", "outcome": "duplicate"}
    assert forged.status == 401
    assert await forged.json() == {"code": "FAIL", "message": "bad_signature"}
    assert [event.order_number for event in taken] == [order, order]
    documented = DOCUMENTATION.read_text(encoding="utf-8")
    assert '`401 {"code": "FAIL", "message": "<code>"}`' in documented
    assert '`200 {"code": "SUCCESS", "outcome": …}`' in documented
    assert "失败" not in documented


@dataclass
class StoppedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


# Configuration


def test_the_configuration_does_not_show_its_secrets(keys: Keys) -> None:
    config = make_config(keys, "https://api.mch.weixin.qq.com")

    shown = repr(config)

    assert API_V3_KEY not in shown
    assert "PRIVATE KEY" not in shown


def test_an_apiv3_key_that_is_not_32_bytes_is_refused_at_start(keys: Keys) -> None:
    config = make_config(keys, "https://api.mch.weixin.qq.com")

    with pytest.raises(ValueError):
        WeChatPay(replace(config, api_v3_key="short"))


# JSAPI: paying inside WeChat's browser. The paySign is checked from the spec: the merchant's
# RSA-SHA256 over appId, timeStamp, nonceStr and package, each followed by "\n".

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


async def test_a_jsapi_order_is_made_for_the_payers_openid(
    wechat: WeChatPay, fake: FakeWeChatPay
) -> None:
    request = await wechat.create_jsapi(ORDER, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)

    made = fake.orders[jsapi_number(ORDER)]
    assert made.request["payer"] == {"openid": OPENID}
    assert made.request["appid"] == APPID
    assert made.request["amount"] == {"total": FEE, "currency": "CNY"}
    assert request.package == f"prepay_id={made.code_url}"
    assert request.app_id == APPID and request.sign_type == "RSA"
    assert request.time_stamp == str(int(CREATED.timestamp()))


async def test_the_pay_sign_verifies_with_the_merchant_key_over_the_documented_string(
    wechat: WeChatPay, keys: Keys
) -> None:
    request = await wechat.create_jsapi(ORDER, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    bridge = request.for_bridge()
    # WeChat Pay v3, JSAPI调起支付: appId, timeStamp, nonceStr, package, each followed by "\n".
    expected = (
        f"{bridge['appId']}\n{bridge['timeStamp']}\n{bridge['nonceStr']}\n{bridge['package']}\n"
    ).encode()
    signature = base64.b64decode(bridge["paySign"], validate=True)

    keys.merchant.public_key().verify(signature, expected, padding.PKCS1v15(), hashes.SHA256())
    assert bridge["signType"] == "RSA"
    with pytest.raises(InvalidSignature):  # the signature binds the prepay id
        keys.merchant.public_key().verify(
            signature,
            expected.replace(b"prepay_id=", b"prepay_id=x"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )


async def test_two_checkouts_get_fresh_nonces(wechat: WeChatPay) -> None:
    first = await wechat.create_jsapi(ORDER, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    second = await wechat.create_jsapi(ORDER, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    assert first.package == second.package  # the same order at WeChat Pay
    assert first.nonce_str != second.nonce_str and first.pay_sign != second.pay_sign


async def test_a_jsapi_order_for_a_number_wechat_cannot_take_is_refused_before_asking(
    wechat: WeChatPay, fake: FakeWeChatPay
) -> None:
    with pytest.raises(ValueError):
        await wechat.create_jsapi("JJ/../1", FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    assert fake.orders == {}


async def test_a_number_used_for_another_payer_is_refused_by_wechat_pay(
    wechat: WeChatPay,
) -> None:
    await wechat.create_jsapi(ORDER, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    with pytest.raises(WeChatPayError) as refused:
        await wechat.create_jsapi(ORDER, FEE, DESCRIPTION, EXPIRES, "o-someone-else", now=CREATED)
    assert refused.value.code == "OUT_TRADE_NO_USED"


# JSAPI and Native for one order: WeChat Pay refuses an out_trade_no made again as another trade
# type (OUT_TRADE_NO_USED), so the JSAPI order has its own number, the order's plus "-JS".

JSAPI = f"{ORDER}-JS"


async def test_the_jsapi_number_is_the_order_number_and_a_suffix_wechat_takes() -> None:
    assert jsapi_number(ORDER) == JSAPI
    # Our longest order number (JJ, Beijing time to the second, 4 digits) still fits the rule.
    longest = jsapi_number("JJ20261127235959" + "9999")
    assert re.fullmatch(r"[0-9A-Za-z_\-|*]{6,32}", longest)


async def test_native_then_jsapi_for_the_same_order_both_succeed(
    wechat: WeChatPay, fake: FakeWeChatPay
) -> None:
    code_url = await wechat.create(ORDER, FEE, DESCRIPTION, EXPIRES)
    request = await wechat.create_jsapi(ORDER, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)

    native, jsapi = fake.orders[ORDER], fake.orders[JSAPI]
    assert (native.trade_type, native.code_url) == ("NATIVE", code_url)
    assert (jsapi.trade_type, request.package) == ("JSAPI", f"prepay_id={jsapi.code_url}")
    assert jsapi.request["out_trade_no"] == JSAPI
    assert jsapi.request["amount"] == native.request["amount"]
    assert jsapi.request["time_expire"] == native.request["time_expire"]
    # And the QR code is still the same order afterwards.
    assert await wechat.create(ORDER, FEE, DESCRIPTION, EXPIRES) == code_url


async def test_a_jsapi_payments_notification_is_the_orders(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    await wechat.create_jsapi(order, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    transaction_id = fake.mark_paid(JSAPI, at=PAID)
    headers, body = fake.notification(JSAPI, at=PAID)

    event = wechat.parse_notification(headers, body, now=PAID)

    assert event == PaymentEvent(
        order_number=order,
        paid=True,
        amount_fen=FEE,
        currency="CNY",
        transaction_id=transaction_id,
        paid_at=PAID,
    )


@pytest.mark.parametrize("forged", [f"{ORDER}-JX", f"{ORDER}-JS-JS", f"{ORDER}-", "JJ-2026-JS"])
async def test_a_notification_for_a_number_we_never_make_is_rejected(
    wechat: WeChatPay, fake: FakeWeChatPay, forged: str
) -> None:
    await wechat.create_jsapi(ORDER, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    fake.mark_paid(JSAPI, at=PAID)
    headers, body = fake.notification(JSAPI, at=PAID, out_trade_no=forged)

    assert reason(wechat, headers, body, PAID) == "bad_resource"


async def test_an_order_number_that_would_look_like_a_jsapi_number_is_refused_before_asking(
    wechat: WeChatPay, fake: FakeWeChatPay
) -> None:
    for number in (JSAPI, "JJ2026-1127", "J" * 30):
        with pytest.raises(ValueError):
            await wechat.create(number, FEE, DESCRIPTION, EXPIRES)
        with pytest.raises(ValueError):
            await wechat.create_jsapi(number, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    assert fake.orders == {}


async def test_the_query_sees_a_payment_made_in_wechats_browser(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    await wechat.create_jsapi(order, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    assert await wechat.query(order) == PaymentEvent(order, False, FEE, "CNY", None, None)
    transaction_id = fake.mark_paid(JSAPI, at=PAID)

    assert await wechat.query(order) == PaymentEvent(
        order_number=order,
        paid=True,
        amount_fen=FEE,
        currency="CNY",
        transaction_id=transaction_id,
        paid_at=PAID,
    )


async def test_the_query_sees_a_jsapi_payment_even_without_the_qr_code_order(
    wechat: WeChatPay, fake: FakeWeChatPay
) -> None:
    await wechat.create_jsapi(ORDER, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    fake.mark_paid(JSAPI, at=PAID)

    event = await wechat.query(ORDER)

    assert event is not None and event.paid and event.order_number == ORDER


async def test_closing_an_order_closes_its_qr_code_and_its_jsapi_checkout(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    await wechat.create_jsapi(order, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)

    await wechat.close(order)

    assert fake.orders[order].trade_state == fake.orders[JSAPI].trade_state == "CLOSED"
    with pytest.raises(ValueError):
        fake.mark_paid(JSAPI, at=PAID)
    await wechat.close(order)  # again: harmless
    event = await wechat.query(order)
    assert event is not None and not event.paid


async def test_closing_after_a_jsapi_payment_leaves_the_payment_and_closes_the_qr_code(
    wechat: WeChatPay, fake: FakeWeChatPay, order: str
) -> None:
    await wechat.create_jsapi(order, FEE, DESCRIPTION, EXPIRES, OPENID, now=CREATED)
    fake.mark_paid(JSAPI, at=PAID)

    await wechat.close(order)

    assert (fake.orders[order].trade_state, fake.orders[JSAPI].trade_state) == (
        "CLOSED",
        "SUCCESS",
    )
    event = await wechat.query(order)
    assert event is not None and event.paid


# With WeChat Pay the only provider: the order's QR code is WeChat Pay's own Native order, made
# when the order is placed, and the pay page in WeChat's browser opens the JSAPI checkout of the
# same order. Through the product's checkout, over the database.


@dataclass
class WeChatOnly:
    clock: FixedClock
    fake: FakeWeChatPay
    wechat: WeChatPay
    notifier: RecordingNotifier
    apply: ApplyPayment
    place: PlaceOrder
    start_jsapi: StartJsapiPayment
    check: CheckOrder
    expire: ExpireOrders
    reconcile: Reconcile

    async def paying_trainee(self) -> tuple[ChatUserId, Order]:
        n = next(_wechat_payers)
        person = await registry.person(n, f"微信学员{n}", f"1390000{n:04d}")
        cert = await registry.certificate(person, f"W-{n}", "safety_b", days_from_today(124))
        account = ChatUserId(300000 + n)
        await models.Binding.create(chat_user_id=account, person=person)
        await registry.enrolment(cert, account, "enrolled")
        await models.InvoiceProfile.create(chat_user_id=account, title=f"微信学员{n}")
        return account, await self.place(account)

    def notified(self, out_trade_no: str) -> PaymentEvent:
        now = self.clock.now()
        return self.wechat.parse_notification(
            *self.fake.notification(out_trade_no, at=now), now=now
        )


_wechat_payers = itertools.count(700)


@pytest.fixture
def wechat_only(database: str, wechat: WeChatPay, fake: FakeWeChatPay) -> WeChatOnly:
    clock = FixedClock()
    store = TortoisePaymentStore(registry.PII)
    notifier = RecordingNotifier()
    apply = ApplyPayment(store, notifier, ChineseWorkingDays(), wechat.name, clock, wechat)
    place = PlaceOrder(
        TortoiseBindings(registry.PII), store, Fees(30000), wechat, clock, new_order_number
    )
    return WeChatOnly(
        clock,
        fake,
        wechat,
        notifier,
        apply,
        place,
        StartJsapiPayment(store, wechat, clock),
        CheckOrder(store, wechat, apply),
        ExpireOrders(store, wechat, notifier, clock),
        Reconcile(store, wechat, apply, clock),
    )


async def test_with_wechat_pay_alone_the_pay_page_opens_the_checkout_and_its_payment_counts(
    wechat_only: WeChatOnly,
) -> None:
    world = wechat_only
    account, order = await world.paying_trainee()
    assert order.pay_url == world.fake.orders[order.number].code_url  # the Native QR code

    request = await world.start_jsapi(account, order.number, OPENID)

    jsapi = world.fake.orders[jsapi_number(order.number)]
    assert request.package == f"prepay_id={jsapi.code_url}"
    assert (await world.check(account, order.number)).status is OrderStatus.PENDING
    world.fake.mark_paid(jsapi_number(order.number), at=world.clock.now())
    event = world.notified(jsapi_number(order.number))
    assert await world.apply(event, "notification") is Outcome.APPLIED
    assert world.notifier.paid_orders == [order.number]
    assert (await world.check(account, order.number)).status is OrderStatus.PAID
    row = await models.Order.get(number=order.number)
    assert (row.status, row.provider) == ("paid", "wechatpay")


async def test_a_lost_jsapi_notification_is_found_by_the_check_and_by_reconciliation(
    wechat_only: WeChatOnly,
) -> None:
    world = wechat_only
    account, order = await world.paying_trainee()
    await world.start_jsapi(account, order.number, OPENID)
    world.fake.mark_paid(jsapi_number(order.number), at=world.clock.now())  # no notification

    assert await world.reconcile() == [Outcome.APPLIED]
    assert await world.reconcile() == []
    assert (await world.check(account, order.number)).status is OrderStatus.PAID


async def test_paying_by_the_qr_code_and_in_wechats_browser_is_a_double_charge_for_staff(
    wechat_only: WeChatOnly,
) -> None:
    world = wechat_only
    account, order = await world.paying_trainee()
    await world.start_jsapi(account, order.number, OPENID)
    now = world.clock.now()
    native_txn = world.fake.mark_paid(order.number, at=now)
    jsapi_txn = world.fake.mark_paid(jsapi_number(order.number), at=now)
    assert native_txn != jsapi_txn

    native, jsapi = world.notified(order.number), world.notified(jsapi_number(order.number))

    assert await world.apply(native, "notification") is Outcome.APPLIED
    assert await world.apply(jsapi, "notification") is Outcome.DOUBLE_CHARGE
    assert await world.apply(jsapi, "notification") is Outcome.DOUBLE_CHARGE  # WeChat retries
    assert world.notifier.paid_orders == [order.number]
    assert world.notifier.staff == [(order.number, Outcome.DOUBLE_CHARGE)] * 2
    row = await models.Order.get(number=order.number)
    assert (row.status, row.transaction_id) == ("paid", native_txn)


async def test_the_checkout_is_refused_once_the_order_is_paid_by_its_qr_code(
    wechat_only: WeChatOnly,
) -> None:
    world = wechat_only
    account, order = await world.paying_trainee()
    world.fake.mark_paid(order.number, at=world.clock.now())
    assert await world.apply(world.notified(order.number), "notification") is Outcome.APPLIED

    with pytest.raises(PaymentRefused) as refused:
        await world.start_jsapi(account, order.number, OPENID)

    assert refused.value.code == "order_not_pending"
    assert jsapi_number(order.number) not in world.fake.orders


async def test_an_expired_order_is_closed_under_both_numbers(wechat_only: WeChatOnly) -> None:
    world = wechat_only
    account, order = await world.paying_trainee()
    await world.start_jsapi(account, order.number, OPENID)
    world.clock.advance(minutes=31)

    assert await world.expire() == 1

    assert world.fake.orders[order.number].trade_state == "CLOSED"
    assert world.fake.orders[jsapi_number(order.number)].trade_state == "CLOSED"
    assert world.notifier.expired_orders == [order.number]

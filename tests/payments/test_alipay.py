"""The Alipay adapter against a loopback Alipay gateway that signs and checks as the real one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pytest_aiohttp import AiohttpClient, AiohttpServer

from domain.payment import InvalidNotification, Outcome, PaymentEvent
from infra.payments.alipay import AliPay, AliPayConfig, AliPayError
from tests.payments.alipay_fake import FakeAlipay
from tests.payments.wechatpay_fake import generate_key, private_pem, public_pem
from webview import keys as webkeys
from webview.payments import PaymentWeb, add_payment_routes

APP_ID = "2021000117650000"
NOTIFY_URL = "https://jijiao.example.cn/pay/notify/alipay"
CREATED = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
EXPIRES = CREATED + timedelta(minutes=30)
PAID = CREATED + timedelta(minutes=7)
ORDER = "JJ202611271000000001"
FEE = 36000
DESCRIPTION = "继续教育培训费"


@dataclass(frozen=True)
class Keys:
    app: RSAPrivateKey
    alipay: RSAPrivateKey
    stranger: RSAPrivateKey


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(app=generate_key(), alipay=generate_key(), stranger=generate_key())


@pytest.fixture
def clock() -> Clock:
    return Clock(CREATED)


@pytest.fixture
def fake(keys: Keys, clock: Clock) -> FakeAlipay:
    return FakeAlipay(
        app_id=APP_ID, app_key=keys.app.public_key(), alipay_key=keys.alipay, now=clock.now
    )


@pytest.fixture
async def gateway(fake: FakeAlipay, aiohttp_server: AiohttpServer) -> str:
    server = await aiohttp_server(fake.make_app())
    return str(server.make_url("/gateway.do"))


def make_alipay(
    keys: Keys, gateway: str, clock: Clock, *, app_key: RSAPrivateKey | None = None
) -> AliPay:
    return AliPay(
        AliPayConfig(
            app_id=APP_ID,
            app_private_key_pem=private_pem(app_key or keys.app),
            alipay_public_key_pem=public_pem(keys.alipay),
            notify_url=NOTIFY_URL,
            gateway=gateway,
        ),
        clock.now,
    )


@pytest.fixture
def alipay(keys: Keys, gateway: str, clock: Clock) -> AliPay:
    return make_alipay(keys, gateway, clock)


@pytest.fixture
async def order(alipay: AliPay) -> str:
    await alipay.create(ORDER, FEE, DESCRIPTION, EXPIRES)
    return ORDER


# Precreate, query, close


async def test_precreate_returns_the_qr_code_with_amount_in_yuan_and_an_absolute_expiry(
    alipay: AliPay, fake: FakeAlipay
) -> None:
    qr_code = await alipay.create(ORDER, FEE, DESCRIPTION, EXPIRES)

    trade = fake.trades[ORDER]
    assert qr_code.startswith("https://qr.alipay.com/") and trade.qr_code == qr_code
    assert trade.total_amount == "360.00"
    assert trade.time_expire == EXPIRES
    assert trade.notify_url == NOTIFY_URL
    assert fake.rejected == []


async def test_precreating_the_same_order_again_gives_the_same_qr_code(alipay: AliPay) -> None:
    first = await alipay.create(ORDER, FEE, DESCRIPTION, EXPIRES)

    assert await alipay.create(ORDER, FEE, DESCRIPTION, EXPIRES) == first


async def test_alipay_refuses_a_request_signed_with_a_key_that_is_not_ours(
    keys: Keys, gateway: str, clock: Clock, fake: FakeAlipay
) -> None:
    impostor = make_alipay(keys, gateway, clock, app_key=keys.stranger)

    with pytest.raises(AliPayError) as refused:
        await impostor.create(ORDER, FEE, DESCRIPTION, EXPIRES)

    assert refused.value.sub_code == "isv.invalid-signature"
    assert ORDER not in fake.trades


async def test_an_answer_not_signed_by_alipay_is_not_believed(
    keys: Keys, gateway: str, clock: Clock, fake: FakeAlipay
) -> None:
    fake.alipay_key = keys.stranger

    with pytest.raises(AliPayError) as refused:
        await make_alipay(keys, gateway, clock).create(ORDER, FEE, DESCRIPTION, EXPIRES)

    assert refused.value.code == "unavailable"


async def test_an_order_nobody_scanned_is_unknown_to_alipay(alipay: AliPay, order: str) -> None:
    assert await alipay.query(order) is None


async def test_query_tells_a_scanned_but_unpaid_order_and_then_the_payment(
    alipay: AliPay, fake: FakeAlipay, order: str
) -> None:
    fake.scan(order)
    waiting = await alipay.query(order)
    assert waiting is not None and not waiting.paid and waiting.amount_fen == FEE

    trade_no = fake.mark_paid(order, at=PAID)

    assert await alipay.query(order) == PaymentEvent(order, True, FEE, "CNY", trade_no, PAID)


async def test_closing_an_expired_order_stops_payment_at_alipay(
    alipay: AliPay, fake: FakeAlipay, order: str
) -> None:
    fake.scan(order)

    await alipay.close(order)

    assert fake.trades[order].status == "TRADE_CLOSED"
    with pytest.raises(ValueError):
        fake.mark_paid(order, at=PAID)


async def test_an_order_never_scanned_cannot_be_paid_after_its_expiry_though_close_finds_nothing(
    alipay: AliPay, fake: FakeAlipay, order: str
) -> None:
    await alipay.close(order)  # ACQ.TRADE_NOT_EXIST: the no-op the contract asks for

    assert "alipay.trade.close" in fake.calls
    with pytest.raises(ValueError):
        fake.mark_paid(order, at=EXPIRES + timedelta(seconds=1))


async def test_closing_a_paid_or_closed_order_is_a_no_op(
    alipay: AliPay, fake: FakeAlipay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    await alipay.close(order)
    assert fake.trades[order].status == "TRADE_SUCCESS"


async def test_an_order_number_alipay_cannot_take_is_refused_before_asking(
    alipay: AliPay, fake: FakeAlipay
) -> None:
    with pytest.raises(ValueError):
        await alipay.create("JJ-1/2", FEE, DESCRIPTION, EXPIRES)
    assert fake.calls == []


# Notifications


def parse(alipay: AliPay, body: bytes, at: datetime = PAID) -> PaymentEvent:
    return alipay.parse_notification(
        {"Content-Type": "application/x-www-form-urlencoded"}, body, now=at
    )


async def test_a_genuine_notification_is_the_payment(
    alipay: AliPay, fake: FakeAlipay, order: str
) -> None:
    trade_no = fake.mark_paid(order, at=PAID)

    event = parse(alipay, fake.notification(order, at=PAID))

    assert event == PaymentEvent(order, True, FEE, "CNY", trade_no, PAID)


async def test_a_notification_whose_amount_was_changed_in_transit_is_refused(
    alipay: AliPay, fake: FakeAlipay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    body = fake.notification(order, at=PAID, after_signing={"total_amount": "0.01"})

    with pytest.raises(InvalidNotification) as refused:
        parse(alipay, body)
    assert refused.value.code == "bad_signature"


@pytest.mark.parametrize(
    ("forged", "code"),
    [
        ({"key": "stranger"}, "bad_signature"),
        ({"after_signing": {"sign": "bm90IGEgc2lnbmF0dXJl"}}, "bad_signature"),
        ({"after_signing": {"sign_type": "RSA"}}, "bad_signature"),
        ({"app_id": "2021000000000000"}, "wrong_merchant"),
        ({"trade_status": "WAIT_BUYER_PAY"}, "not_a_payment"),
        ({"trade_status": "TRADE_CLOSED"}, "not_a_payment"),
        ({"total_amount": "abc"}, "bad_resource"),
    ],
)
async def test_a_notification_alipay_would_not_send_is_refused(
    alipay: AliPay, fake: FakeAlipay, keys: Keys, order: str, forged: dict, code: str
) -> None:
    fake.mark_paid(order, at=PAID)
    if forged.get("key") == "stranger":
        forged = {**forged, "key": keys.stranger}

    with pytest.raises(InvalidNotification) as refused:
        parse(alipay, fake.notification(order, at=PAID, **forged))
    assert refused.value.code == code


async def test_a_notification_without_a_signature_is_refused(
    alipay: AliPay, fake: FakeAlipay, order: str
) -> None:
    fake.mark_paid(order, at=PAID)
    fields = dict(parse_qsl(fake.notification(order, at=PAID).decode()))
    del fields["sign"]

    with pytest.raises(InvalidNotification) as refused:
        parse(alipay, urlencode(fields).encode())
    assert refused.value.code == "bad_signature"


# The product's notify route, as Alipay sees it


@dataclass
class Ledger:
    applied: list[tuple[PaymentEvent, str]]
    orders: Mapping[str, int]

    async def apply(self, event: PaymentEvent, source: str) -> Outcome:
        if event.order_number not in self.orders:
            return Outcome.UNKNOWN_ORDER
        if event.amount_fen != self.orders[event.order_number]:
            return Outcome.MISMATCH
        if any(seen.transaction_id == event.transaction_id for seen, _ in self.applied):
            return Outcome.DUPLICATE
        self.applied.append((event, source))
        return Outcome.APPLIED


async def notify_app(alipay: AliPay, ledger: Ledger) -> web.Application:
    app = web.Application()
    app[webkeys.CLOCK] = Clock(PAID)  # type: ignore[assignment]

    async def no_order(number: str) -> None:
        return None

    add_payment_routes(
        app,
        PaymentWeb(
            providers={"alipay": alipay},
            apply_payment=ledger.apply,
            find_order=no_order,  # type: ignore[arg-type]
            sandbox=None,
            notify_base="",
        ),
    )
    return app


async def test_alipay_is_answered_success_once_and_a_replay_or_forgery_changes_nothing(
    alipay: AliPay,
    fake: FakeAlipay,
    keys: Keys,
    order: str,
    aiohttp_client: AiohttpClient,
) -> None:
    ledger = Ledger([], {order: FEE})
    client = await aiohttp_client(await notify_app(alipay, ledger))
    fake.mark_paid(order, at=PAID)
    genuine = fake.notification(order, at=PAID)
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

    first = await client.post("/pay/notify/alipay", data=genuine, headers=form)
    replay = await client.post("/pay/notify/alipay", data=genuine, headers=form)
    forged = await client.post(
        "/pay/notify/alipay",
        data=fake.notification(order, at=PAID, key=keys.stranger),
        headers=form,
    )
    tampered = await client.post(
        "/pay/notify/alipay",
        data=fake.notification(order, at=PAID, after_signing={"total_amount": "0.01"}),
        headers=form,
    )

    # Alipay stops retrying only on the exact body "success".
    assert (first.status, await first.text()) == (200, "success")
    assert (replay.status, await replay.text()) == (200, "success")
    assert forged.status == 401 and await forged.text() == "fail"
    assert tampered.status == 401 and await tampered.text() == "fail"
    assert [event.order_number for event, _ in ledger.applied] == [order]


async def test_a_signed_notification_for_an_order_we_never_made_applies_nothing(
    alipay: AliPay, fake: FakeAlipay, aiohttp_client: AiohttpClient
) -> None:
    ledger = Ledger([], {})
    client = await aiohttp_client(await notify_app(alipay, ledger))
    await alipay.create("JJ202611279999999999", FEE, DESCRIPTION, EXPIRES)
    fake.mark_paid("JJ202611279999999999", at=PAID)

    answer = await client.post(
        "/pay/notify/alipay", data=fake.notification("JJ202611279999999999", at=PAID)
    )

    assert answer.status == 200 and ledger.applied == []

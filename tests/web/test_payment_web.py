"""The notification endpoint and the sandbox checkout: forged or replayed callbacks change
nothing; a genuine one is applied once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.payment import PaymentEvent
from infra.db import models
from infra.signing import Signer
from tests.payments.test_exactly_once import make_world
from tests.support.clock import FixedClock
from tests.support.webapp import signed_in_web_app
from webview.auth import Sessions
from webview.payments import add_payment_routes


@pytest.fixture
async def paying(database, i18n, aiohttp_client):
    world = make_world()
    sessions = Sessions(Signer(b"k" * 32), session_ttl=3600, link_ttl=600)
    app = signed_in_web_app(i18n, world.clock, sessions, health_checks={})
    add_payment_routes(app, world.payment_web())
    client = await aiohttp_client(app)
    _, order = await world.paying_trainee()
    return client, world, order


def _paid(order, clock: FixedClock, world):
    event = PaymentEvent(order.number, True, order.amount_fen, "CNY", "SBX1", clock.now())
    return world.provider.notification(event, clock.now())


async def test_a_genuine_notification_is_applied_once_and_answered_success(paying):
    client, world, order = paying
    headers, body = _paid(order, world.clock, world)
    for _ in range(3):
        response = await client.post("/pay/notify/sandbox", data=body, headers=headers)
        assert response.status == 200 and (await response.json())["code"] == "SUCCESS"
    assert (await models.Order.get(number=order.number)).status == "paid"
    assert world.notifier.paid_orders == [order.number]


async def test_a_forged_signature_is_rejected_and_changes_nothing(paying):
    client, world, order = paying
    headers, body = _paid(order, world.clock, world)
    headers["X-Sandbox-Signature"] = "0" * 64
    response = await client.post("/pay/notify/sandbox", data=body, headers=headers)
    assert response.status == 401
    assert (await models.Order.get(number=order.number)).status == "pending"
    assert not await models.PaymentLog.exists()


async def test_a_tampered_amount_is_rejected(paying):
    client, world, order = paying
    headers, body = _paid(order, world.clock, world)
    response = await client.post(
        "/pay/notify/sandbox", data=body.replace(b"30000", b"1"), headers=headers
    )
    assert response.status == 401


async def test_a_replayed_old_notification_is_rejected(paying):
    client, world, order = paying
    headers, body = _paid(order, world.clock, world)
    world.clock.advance(minutes=6)
    response = await client.post("/pay/notify/sandbox", data=body, headers=headers)
    assert response.status == 401 and (await response.json())["message"] == "stale_timestamp"


async def test_an_unknown_provider_is_404(paying):
    client, _, _ = paying
    assert (await client.post("/pay/notify/alipay", data=b"{}")).status == 404


async def test_the_sandbox_checkout_needs_the_token_from_the_qr(paying):
    client, world, order = paying
    assert (await client.get(f"/sandbox/pay/{order.number}?t=wrong")).status == 404
    page = await client.get(
        f"/sandbox/pay/{order.number}?t={world.provider.checkout_token(order.number)}"
    )
    assert page.status == 200 and "300.00" in await page.text()


async def test_an_expired_sandbox_order_cannot_be_paid(paying):
    client, world, order = paying
    world.clock.advance(minutes=31)
    await world.expire()
    token = world.provider.checkout_token(order.number)
    page = await client.get(f"/sandbox/pay/{order.number}?t={token}")
    assert "已失效" in await page.text()
    assert await world.provider.pay(order.number, world.clock.now() + timedelta(seconds=1)) is None

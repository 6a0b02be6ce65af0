"""Paying with Alipay through the real stack: chat → order → our QR code → scanned in Alipay →
Alipay's checkout → a signed notification → paid once → the bot confirms."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from pytest_aiohttp import AiohttpServer

from infra.db import models
from infra.settings import Settings, load_settings
from tests.e2e.test_payment_e2e import _enrolled_trainee, _order_qr
from tests.payments.alipay_fake import FakeAlipay
from tests.payments.test_pay_with_either_app import ALIPAY_UA, BROWSER_UA
from tests.payments.wechatpay_fake import generate_key, private_pem, public_pem
from tests.support.app import running
from tests.support.clock import RunningClock
from tests.support.localchat_client import LocalChatClient

APP_ID = "2021000117650002"


async def test_a_trainee_pays_with_alipay_from_our_qr_code_and_the_bot_confirms(
    app_settings: Settings, tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    app_key, alipay_key = generate_key(), generate_key()
    clock = RunningClock()  # the app's and Alipay's: requests are timestamped
    fake = FakeAlipay(
        app_id=APP_ID, app_key=app_key.public_key(), alipay_key=alipay_key, now=clock.now
    )
    gateway = await aiohttp_server(fake.make_app())
    (tmp_path / "app_private_key.pem").write_text(private_pem(app_key))
    (tmp_path / "alipay_public_key.pem").write_text(public_pem(alipay_key))
    settings = load_settings(
        app={"data_dir": app_settings.app.data_dir},
        web={"host": "127.0.0.1", "port": app_settings.web.port},
        payment={
            "providers": "sandbox,alipay",
            "alipay_app_id": APP_ID,
            "alipay_private_key_path": tmp_path / "app_private_key.pem",
            "alipay_public_key_path": tmp_path / "alipay_public_key.pem",
            "alipay_gateway": str(gateway.make_url("/gateway.do")),
        },
    )
    user = 100071
    async with running(settings, clock=clock), aiohttp.ClientSession() as http:
        chat = LocalChatClient(settings.base_url, http)
        await _enrolled_trainee(chat, user, 71)
        order_message, pay_url = await _order_qr(chat, user)
        assert "微信或支付宝" in order_message["caption"]
        order = await models.Order.get(payer_chat_user_id=user)
        assert pay_url.startswith(f"{settings.base_url}/pay/{order.number}/")

        async with http.get(pay_url, headers={"User-Agent": BROWSER_UA}) as choice:
            page = await choice.text()
            assert 'data-provider="alipay"' in page and 'data-provider="sandbox"' in page
        async with http.get(
            pay_url, headers={"User-Agent": ALIPAY_UA}, allow_redirects=False
        ) as scanned:
            assert scanned.status == 302
            assert scanned.headers["Location"] == fake.trades[order.number].qr_code

        fake.mark_paid(order.number, at=clock.now())
        body = fake.notification(order.number, at=clock.now())
        assert await fake.notify(order.number, body) == (200, "success")
        assert await fake.notify(order.number, body) == (200, "success")  # Alipay's retry

        confirmation = await chat.reply(user)
        assert "已收到订单" in confirmation["text"] and "300.00" in confirmation["text"]
        paid = await models.Order.get(number=order.number)
        assert (paid.status, paid.provider) == ("paid", "alipay")
        outcomes = await models.PaymentLog.filter(order_number=order.number).values_list(
            "outcome", "provider"
        )
        assert sorted(outcomes) == [("applied", "alipay"), ("duplicate", "alipay")]

"""Paying through the real stack: chat → order → QR image → sandbox checkout → signed
callback → exactly-once payment → the bot confirms."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from infra.db import models
from tests.support import registry
from tests.support.clock import days_from_today
from tests.support.localchat_client import LocalChatClient, button_data

pytestmark = pytest.mark.long  # minutes: run first (tests/conftest.py)


async def _enrolled_trainee(chat: LocalChatClient, user: int, seq: int) -> None:
    person = await registry.person(seq, f"付款人{seq}", f"138000{seq:05d}")
    cert = await registry.certificate(person, f"云建安B-P{seq}", "safety_b", days_from_today(124))
    await models.Binding.create(chat_user_id=user, person=person)
    await registry.enrolment(cert, user, "enrolled")


async def _order_qr(chat: LocalChatClient, user: int, payer: str = "付款人") -> tuple[dict, str]:
    await chat.send(user, "/pay", first_name="付款人", language_code="zh-hans")
    bill = await chat.reply(user)
    assert "合计：¥300.00" in bill["text"] and "绝不会索要" in bill["text"]
    await chat.click(user, bill["message_id"], button_data(bill, "开票信息"))
    ask_title = await chat.reply(user)
    await chat.click(user, ask_title["message_id"], button_data(ask_title, payer))
    ask_taxpayer = await chat.reply(user)
    await chat.click(user, ask_taxpayer["message_id"], button_data(ask_taxpayer, "跳过"))
    ask_email = await chat.reply(user)
    await chat.click(user, ask_email["message_id"], button_data(ask_email, "跳过"))
    bill = await chat.reply(user)
    assert f"发票抬头：{payer}" in bill["text"]
    await chat.click(user, bill["message_id"], button_data(bill, "确认并支付"))
    order_message = await chat.reply(user)
    assert order_message["photo"] is not None and "订单" in order_message["caption"]
    root = chat.api.removesuffix("/_local/api")
    async with chat.http.get(root + order_message["photo"]["url"]) as response:
        image = Image.open(io.BytesIO(await response.read()))
    [decoded] = zxingcpp.read_barcodes(image)
    return order_message, decoded.text


async def test_a_trainee_pays_by_qr_code_and_the_bot_confirms(chat: LocalChatClient, live_app):
    user = 100061
    await _enrolled_trainee(chat, user, 61)
    order_message, pay_url = await _order_qr(chat, user)
    assert pay_url.startswith(f"{live_app.settings.base_url}/sandbox/pay/JJ")
    assert any(
        b.get("url") == pay_url
        for row in order_message["reply_markup"]["inline_keyboard"]
        for b in row
    )

    async with chat.http.get(pay_url) as page:
        assert "¥ 300.00" in await page.text()
    checkout, token = pay_url.split("?")
    async with chat.http.post(f"{checkout}/pay-twice?{token}") as paid:
        assert "已支付" in await paid.text()

    confirmation = await chat.reply(user)
    assert "已收到订单" in confirmation["text"] and "300.00" in confirmation["text"]
    assert "发票预计于" in confirmation["text"]
    enrolment = await models.Enrolment.get(certificate__number="云建安B-P61")
    assert enrolment.state == "studying"
    outcomes = await models.PaymentLog.all().values_list("outcome", flat=True)
    assert sorted(outcomes) == ["applied", "duplicate"]


async def test_a_lost_notification_is_recovered_when_the_trainee_taps_check(
    chat: LocalChatClient, live_app
):
    user = 100062
    await _enrolled_trainee(chat, user, 62)
    order_message, pay_url = await _order_qr(chat, user)
    checkout, token = pay_url.split("?")
    async with chat.http.post(f"{checkout}/pay-silently?{token}") as paid:
        assert paid.status == 200
    assert not await models.Order.filter(status="paid").exists()

    await chat.click(user, order_message["message_id"], button_data(order_message, "我已支付"))
    confirmation = await chat.reply(user)
    assert "无需重复支付" in confirmation["text"]


async def test_an_expired_order_is_replaced_by_a_fresh_qr_with_one_tap(
    chat: LocalChatClient, live_app
):
    user = 100063
    await _enrolled_trainee(chat, user, 63)
    await _order_qr(chat, user)
    order = await models.Order.get(payer_chat_user_id=user)
    order.expires_at = order.created_at.replace(year=2020)
    await order.save(update_fields=["expires_at"])
    expire = next(job for job in live_app.services.jobs if job.name == "expire_orders")
    await expire.run()

    expired = await chat.reply(user)
    assert "已超过 30 分钟失效" in expired["text"]
    await chat.click(user, expired["message_id"], button_data(expired, "新二维码"))
    fresh = await chat.reply(user)
    assert fresh["photo"] is not None and order.number not in fresh["caption"]
    assert await models.Order.filter(payer_chat_user_id=user, status="pending").count() == 1


async def test_an_enterprise_confirms_with_its_credit_code_and_gets_the_invoice_in_chat(
    chat: LocalChatClient, live_app
):
    import aiohttp

    from infra.settings import LOCAL_STAFF_GROUP_ID

    user = 100064
    company = await registry.enterprise(64, "云南付款建设有限公司", "13900000064")
    await models.EnterpriseContact.create(chat_user_id=user, enterprise=company)
    for n in range(2):
        worker = await registry.person(640 + n, f"员工{n}", f"1370000640{n}")
        cert = await registry.certificate(
            worker, f"云建安C-E{n}", "safety_c", days_from_today(185), employer=company
        )
        await models.Enrolment.create(
            certificate=cert,
            active_key=cert.number,
            channel="enterprise",
            enterprise=company,
            enrolled_by=user,
            state="enrolled",
        )
    await models.InvoiceProfile.create(
        chat_user_id=user, title="云南付款建设有限公司", taxpayer_id=registry.credit_code(64)
    )

    await chat.send(user, "/pay", first_name="财务", language_code="zh-hans")
    bill = await chat.reply(user)
    assert "员工0" in bill["text"] and "合计：¥600.00" in bill["text"]
    await chat.click(user, bill["message_id"], button_data(bill, "确认并支付"))
    assert "再次输入" in (await chat.reply(user))["text"]
    await chat.send(user, registry.credit_code(1))
    assert "不是贵单位的信用代码" in (await chat.reply(user))["text"]
    await chat.click(user, bill["message_id"], button_data(bill, "确认并支付"))
    await chat.reply(user)
    await chat.send(user, registry.credit_code(64).lower())
    order_message = await chat.reply(user)
    number = order_message["caption"].split("订单 ")[1].split()[0]
    order = await models.Order.get(number=number)
    checkout = f"{live_app.settings.base_url}/sandbox/pay/{number}"
    token = live_app.services.handlers["place_order"]._provider.checkout_token(number)
    async with chat.http.post(f"{checkout}/pay?t={token}"):
        pass
    paid = await chat.reply(user)
    assert "已收到订单" in paid["text"]
    # The contact is told how the employees study, not sent to their own empty study page.
    assert "每位员工在自己的手机上学习" in paid["text"] and "本人报名" in paid["text"]
    assert "开始学习" not in str(paid.get("reply_markup"))
    assert order.amount_fen == 60000

    form = aiohttp.FormData()
    form.add_field("from_user_id", "900001")
    form.add_field("caption", f"/invoice {number}")
    form.add_field(
        "document", b"%PDF-1.4 invoice", filename="invoice.pdf", content_type="application/pdf"
    )
    async with chat.http.post(f"{chat.api}/chats/{LOCAL_STAFF_GROUP_ID}/send", data=form) as r:
        assert r.status == 200
    invoice = await chat.reply(user)
    assert invoice["document"]["file_name"] == "invoice.pdf"
    assert number in invoice["caption"]


async def _message(chat: LocalChatClient, user: int, message_id: int) -> dict:
    async with chat.http.get(
        f"{chat.api}/users/{user}/messages", params={"after": message_id - 1, "wait": 0}
    ) as response:
        messages = (await response.json())["messages"]
    return next(m for m in messages if m["message_id"] == message_id)


def _no_buttons(message: dict) -> bool:
    return not (message.get("reply_markup") or {}).get("inline_keyboard")


async def test_a_failed_payment_is_told_in_the_chat_with_a_new_qr_one_tap_away(
    chat: LocalChatClient, live_app
):
    user = 100066
    await _enrolled_trainee(chat, user, 66)
    order_message, pay_url = await _order_qr(chat, user)
    number = (await models.Order.get(payer_chat_user_id=user)).number
    # The trainee has since switched to English: the notice speaks the language of the moment.
    await models.ChatUser.filter(id=user).update(locale="en")
    checkout, token = pay_url.split("?")
    async with chat.http.post(f"{checkout}/fail?{token}") as page:
        assert "支付失败" in await page.text()  # the sandbox page itself, in its zh default

    failed = await chat.reply(user)
    assert "did not go through" in failed["text"] and "nothing was charged" in failed["text"]
    assert await models.Order.filter(payer_chat_user_id=user, status="closed").count() == 1
    # The dead QR code lost its buttons; the old code can no longer be paid at the sandbox.
    assert _no_buttons(await _message(chat, user, order_message["message_id"]))
    async with chat.http.post(f"{checkout}/pay?{token}") as page:
        assert page.status == 200
    assert not await models.Order.filter(payer_chat_user_id=user, status="paid").exists()

    await chat.click(user, failed["message_id"], button_data(failed, "New QR code"))
    fresh = await chat.reply(user)
    assert fresh["photo"] is not None and number not in fresh["caption"]
    assert await models.Order.filter(payer_chat_user_id=user, status="pending").count() == 1


async def test_an_order_closed_at_the_provider_offers_a_new_qr_code(
    chat: LocalChatClient, live_app
):
    user = 100067
    await _enrolled_trainee(chat, user, 67)
    _, pay_url = await _order_qr(chat, user)
    checkout, token = pay_url.split("?")
    async with chat.http.post(f"{checkout}/close?{token}") as page:
        assert "已关闭" in await page.text()
    closed = await chat.reply(user)
    assert "支付未成功" in closed["text"] and "新二维码" in str(closed["reply_markup"])


async def test_once_paid_the_qr_message_loses_its_buttons(chat: LocalChatClient, live_app):
    user = 100068
    await _enrolled_trainee(chat, user, 68)
    order_message, pay_url = await _order_qr(chat, user)
    assert not _no_buttons(order_message)
    checkout, token = pay_url.split("?")
    async with chat.http.post(f"{checkout}/pay?{token}") as paid:
        assert paid.status == 200
    confirmation = await chat.reply(user)
    assert "已收到订单" in confirmation["text"]
    assert _no_buttons(await _message(chat, user, order_message["message_id"]))

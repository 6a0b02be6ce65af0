"""Paying is channel-neutral too: a trainee enrolled through the plain-text channel pays in the
sandbox through the same payment flow, domain and texts the bot uses; a stale or forged button
for someone else's order or enrolment changes nothing."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Awaitable

import zxingcpp
from PIL import Image

from bot.reminder_messages import render_urgent
from conversation import actions
from conversation.actions import PayAction, PickAction
from conversation.replies import FileKind, OpenUrl
from domain.checkout import pick_key
from domain.reminders import ReminderKind
from infra.db import models
from infra.payments.sandbox import SandboxProvider
from tests.conftest import BotHarness
from tests.conversation.plaintext import PlainTextChannel, Screen
from tests.support import registry
from tests.support.clock import FixedClock, days_from_today
from texts.enrolment import masked_number
from texts.i18n import use_locale

TRAINEE, OTHER = 300011, 300012
# A bill's reads, by the SQL they are (infra/repositories): bindings, orders, invoice, due.
BILL = {
    "bound": re.compile(r"LEFT JOIN binding\b"),
    # The payer's open orders and saved invoice details: one statement.
    "open orders and invoice details": re.compile(
        r"JOIN invoice_profile\b[\s\S]*FROM payment_order\b"
    ),
    "due": re.compile(r"FROM enrolment\b"),
}
# The harness's payment provider: the same base and secret (tests/conftest.py).
SANDBOX = SandboxProvider("http://127.0.0.1:8080", b"s" * 32)


async def _enrolled(channel: PlainTextChannel, user: int, seq: int, name: str) -> str:
    """Enrols through the plain-text channel; the certificate's number."""
    number = f"云建安B(2024)00{seq}{seq}{seq}"
    person = await registry.person(seq, name, f"1380000000{seq}")
    await registry.certificate(person, number, "safety_b", days_from_today(90))
    channel.meet(user, name, "zh-hans")
    await channel.send(user, "/enrol")
    await channel.choose(user, "本人")
    await channel.send(user, registry.id_number(seq))
    await channel.send(user, name)
    await channel.prove_phone(user, f"1380000000{seq}")
    [result] = await channel.choose(user, "报名所选")
    assert "已报名继续教育（1 本）" in result.text
    return number


async def _order(channel: PlainTextChannel, user: int, name: str) -> Screen:
    """From the enrolment's result to the order: invoice details, the pick, confirm."""
    [bill] = await channel.choose(user, "缴费")
    assert "合计：¥300.00" in bill.text and "<b>" not in bill.text
    # each enrolment's line in Chinese punctuation too, not only the total
    assert [line for line in bill.text.split("\n") if line.endswith("：¥300.00")][:1] != []
    assert not [line for line in bill.text.split("\n") if line.endswith(": ¥300.00")]
    await channel.choose(user, "开票信息")
    [ask_taxpayer] = await channel.choose(user, name)  # the suggested title: the holder's name
    assert [words for words, _ in ask_taxpayer.choices] == ["跳过"]
    [ask_email] = await channel.choose(user, "跳过")
    assert ask_email.text != ask_taxpayer.text and len(ask_email.choices) == 1
    [bill] = await channel.choose(user, "跳过")
    assert f"发票抬头：{name}" in bill.text
    [order] = await channel.choose(user, "确认并支付")
    return order


async def test_a_trainee_pays_in_the_sandbox_through_a_channel_that_is_not_telegram(
    harness: BotHarness, clock: FixedClock
):
    channel = PlainTextChannel(harness.services.handlers["conversations"], harness.accounts)
    number = await _enrolled(channel, TRAINEE, 7, "周七")

    shown = await _order(channel, TRAINEE, "周七")
    row = await models.Order.get(payer_chat_user_id=TRAINEE)
    assert f"订单 {row.number}" in shown.text and "金额：¥300.00" in shown.text
    # The QR code is an image the channel shows; it holds the sandbox's payment page, which
    # is also one tap away as a link.
    assert shown.attachment is not None and shown.attachment.kind is FileKind.PHOTO
    assert shown.attachment.data is not None
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(shown.attachment.data)))
    links = [a.url for words, a in shown.choices if isinstance(a, OpenUrl) and "支付页面" in words]
    assert links == [decoded.text] and decoded.text.startswith("http://127.0.0.1:8080/sandbox/pay/")

    # Not paid yet: "I have paid" says so, and nothing is applied.
    [not_yet] = await channel.choose(TRAINEE, "我已支付")
    assert f"尚未收到订单 {row.number}" in not_yet.text

    # The payer confirms in the sandbox; its signed notification is applied once.
    event = await SANDBOX.pay(row.number, clock.now())
    assert event is not None
    headers, body = SANDBOX.notification(event, clock.now())
    notified = SANDBOX.parse_notification(headers, body, now=clock.now())
    await harness.services.apply_payment(notified, "notification")
    enrolment = await models.Enrolment.get(certificate__number=number)
    assert enrolment.state == "studying"

    # The trainee is told: the paid notice queued for them, and "I have paid" answers so.
    queued = await models.Outbox.get(chat_id=TRAINEE, kind=ReminderKind.ORDER_PAID.value)
    with use_locale("zh_CN"):
        told = render_urgent(ReminderKind.ORDER_PAID, queued.payload["params"]).text
    assert f"已收到订单 {row.number} 的付款 ¥300.00" in told
    [paid] = await channel.choose(TRAINEE, "我已支付")
    assert paid.text == "✅ 该订单已支付。" and paid.choices == []


async def test_a_stale_or_forged_button_for_someone_elses_order_changes_nothing(
    harness: BotHarness,
):
    channel = PlainTextChannel(harness.services.handlers["conversations"], harness.accounts)
    victim_number = await _enrolled(channel, TRAINEE, 7, "周七")
    await _order(channel, TRAINEE, "周七")
    victim_order = await models.Order.get(payer_chat_user_id=TRAINEE)
    other_number = await _enrolled(channel, OTHER, 8, "吴八")
    await channel.choose(OTHER, "缴费")
    victim = await models.Enrolment.get(certificate__number=victim_number)

    async def snapshot() -> tuple[object, ...]:
        orders = await models.Order.all().order_by("id").values_list("number", "status")
        states = await models.Enrolment.all().order_by("id").values_list("id", "state")
        return tuple(orders), tuple(states)

    before = await snapshot()
    # "I have paid" for the victim's order: not found, as if it did not exist.
    [refused] = await channel.press(OTHER, actions.pay(PayAction.CHECK, victim_order.number))
    assert refused.text == "该订单不存在。"
    # Removing the victim's enrolment: refused; it stays.
    [refused] = await channel.press(OTHER, actions.pick(PickAction.REMOVE_YES, victim.id))
    assert refused.text.startswith("该报名无法在此删除")
    [refused] = await channel.press(OTHER, actions.pick(PickAction.REMOVE, victim.id))
    assert refused.text.startswith("该报名无法在此删除")
    # A confirm whose pick is not the one the payer was shown (the victim's enrolment added to
    # the fingerprint): the list is shown again and nothing is ordered.
    own = await models.Enrolment.get(certificate__number=other_number)
    forged = actions.pay(PayAction.CONFIRM, pick_key([own.id, victim.id]))
    changed, again = await channel.press(OTHER, forged)
    assert changed.text.startswith("名单在显示之后已有变化") and "合计：¥300.00" in again.text
    assert masked_number(victim_number) not in again.text
    assert masked_number(other_number) in again.text
    # Tampered values no flow accepts: no answer at all (Telegram says "old button").
    assert await channel.press(OTHER, actions.pick(PickAction.REMOVE_YES, 2**40)) == []
    assert await channel.press(OTHER, actions.pay(PayAction.CHECK, "x:y")) == []
    assert await snapshot() == before


async def test_a_bill_is_read_once_per_turn(harness: BotHarness):
    """/pay and "none" on the pick list show a bill they have just read: each of its reads
    (whom the account speaks for, read with the account; its open orders with its invoice
    details, in one read; what is due) happens once a turn, not once to decide and again to
    show (issue 20: /pay was a quarter of the load), and no statement runs twice."""
    channel = PlainTextChannel(harness.services.handlers["conversations"], harness.accounts)
    await _enrolled(channel, TRAINEE, 7, "周七")
    connection = models.Order._meta.db._connection  # aiosqlite's
    statements: list[str] = []

    async def bill_reads(turn: Awaitable[list[Screen]]) -> dict[str, int]:
        statements.clear()
        await connection.set_trace_callback(statements.append)
        try:
            await turn
        finally:
            await connection.set_trace_callback(None)
        selects = [s for s in statements if s.lstrip().startswith("SELECT")]
        assert [s for s, n in Counter(selects).items() if n > 1] == []
        return {read: sum(1 for s in selects if shape.search(s)) for read, shape in BILL.items()}

    assert await bill_reads(channel.send(TRAINEE, "/pay")) == dict.fromkeys(BILL, 1)
    assert "合计：¥300.00" in channel.screens[TRAINEE][-1].text

    pressed = channel.press(TRAINEE, actions.pick(PickAction.NONE, -1))
    assert await bill_reads(pressed) == dict.fromkeys(BILL, 1)
    assert "¥0.00" in channel.screens[TRAINEE][-1].text  # nobody ticked

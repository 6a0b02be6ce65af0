"""Two real instances of the app (two processes) behind a load balancer, against one
PostgreSQL and one Redis, with the local chat delivering updates by webhook: no duplicate reply,
payment, reminder or broadcast message, and a conversation carries on whichever instance gets
each step.

The balancer loses every third webhook answer after the instance took the update, so Telegram
(the local chat) delivers that update again, to the other instance."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.handlers.broadcast import ComposeAction, ComposeCallback
from bot.notifier import QR_KIND
from domain.reminders import AudienceKind
from infra.db import models, open_database
from infra.payments.sandbox import SandboxProvider
from infra.settings import LOCAL_STAFF_GROUP_ID
from localchat import LocalChat
from tests.support import registry
from tests.support.instances import (
    HOST_CLOCK,
    SECRET_KEY,
    STAFF,
    Balancer,
    Fleet,
    Instance,
    Telegram,
)
from tests.support.waiting import eventually

USERS = list(range(300_001, 300_007))  # one per demo person


class Conversation:
    """Plays users in the local chat and counts every bot message the test waited for, so that
    the end can prove nothing else (a duplicate) arrived."""

    def __init__(self, chat: LocalChat) -> None:
        self.chat = chat
        self.seen: dict[int, int] = {}
        self.expected: Counter[int] = Counter()

    async def next(self, chat_id: int, has: str = "", wait: float = 60) -> dict[str, Any]:
        """The next bot message that says `has`; others in between (reminders, which the outbox
        accounts for) are passed over."""
        while True:
            found = await self.chat.wait_messages(chat_id, self.seen.get(chat_id, 0), wait=wait)
            messages = found["messages"]
            assert messages, (
                f"no message saying {has!r} in chat {chat_id} within {wait}s; local chat: "
                f"{self.chat.stats}, pending {[u['update_id'] for u in self.chat.updates]}, "
                f"webhook {self.chat.webhook}"
            )
            message = messages[0]
            self.seen[chat_id] = message["message_id"]
            if has in (message.get("text") or message.get("caption") or ""):
                self.expected[chat_id] += 1
                return message

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return self.chat.messages(chat_id)["messages"]

    def click(self, user: int, message: dict[str, Any], has: str, chat_id: int | None = None):
        data = next(
            b["callback_data"]
            for row in message["reply_markup"]["inline_keyboard"]
            for b in row
            if has in b.get("text", "") or has == b.get("callback_data")
        )
        return self.chat.click(user, message["message_id"], data, chat_id=chat_id)


@pytest.fixture
async def fleet(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Fleet, list[Instance]]]:
    async with Telegram.serve() as telegram, Balancer.serve() as balancer:
        balancer.lose_every = 3
        fleet = Fleet(
            telegram,
            balancer,
            database_url=postgres_url,
            redis_url=redis_url,
            data_dir=tmp_path / "var",
            env={
                "REMINDERS_SCAN_EVERY": "1",
                "REMINDERS_SEND_EVERY": "0.5",
                "REMINDERS_QUIET_START": "00:00",
                "REMINDERS_QUIET_END": "00:00",
            },
        )
        fleet.data_dir.mkdir()
        # Both start at once against an empty database: they take turns to migrate.
        async with fleet.running(2) as instances:
            await fleet.command("seed-demo")
            context = await open_database(postgres_url)
            try:
                yield fleet, instances
            finally:
                await context.close_connections()


async def test_two_instances_answer_pay_remind_and_broadcast_exactly_once(fleet):
    fleet, instances = fleet
    chat = fleet.telegram.chat
    talk = Conversation(chat)

    # Every trainee says /start: each update answered once, although a third of the answers
    # were lost on the way and the updates delivered again to the other instance.
    for user in USERS:
        chat.send_text(user, "/start", first_name=f"学员{user % 10}", language_code="zh-hans")
    for user in USERS:
        await talk.next(user, "您好")
    assert fleet.balancer.lost >= 2
    assert all(fleet.balancer.served[i.url] > 0 for i in instances)

    # The registry's people are bound to these chats (the enrolment conversation has its own
    # tests); their deadlines start the reminder scanner on both instances.
    people = await models.Person.all().order_by("id")
    for user, person in zip(USERS, people, strict=False):
        await models.Binding.create(chat_user_id=user, person=person)
    payer = USERS[0]
    certificate = await models.Certificate.filter(person=people[0]).order_by("expires_on").first()
    assert certificate is not None
    await registry.enrolment(certificate, payer, "enrolled")

    # A conversation with state (the bill, the invoice details, the order), each step on
    # whichever instance the balancer picks: the state lives in Redis.
    chat.send_text(payer, "/pay")
    bill = await talk.next(payer, "合计：¥300.00")
    talk.click(payer, bill, "开票信息")
    ask_title = await talk.next(payer, "发票上要开的名称")
    talk.click(payer, ask_title, people[0].name)
    ask_taxpayer = await talk.next(payer, "纳税人识别号（18 位")
    talk.click(payer, ask_taxpayer, "跳过")
    ask_email = await talk.next(payer, "接收电子发票的邮箱")
    talk.click(payer, ask_email, "跳过")
    bill = await talk.next(payer, f"发票抬头：{people[0].name}")
    talk.click(payer, bill, "确认并支付")
    order_message = await talk.next(payer, "订单")
    pay_url = next(
        b["url"] for row in order_message["reply_markup"]["inline_keyboard"] for b in row
        if b.get("url")
    )  # fmt: skip
    assert pay_url.startswith(f"{fleet.balancer.url}/sandbox/pay/")

    # The payer pays; the provider's notification reaches both instances, three times each,
    # at the same moment.
    checkout, token = pay_url.split("?")
    order_number = checkout.rsplit("/", 1)[1]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{checkout}/pay-silently?{token}") as paid:
            assert paid.status == 200
        provider = SandboxProvider(
            fleet.balancer.url, hashlib.sha256(b"sandbox" + SECRET_KEY.encode()).digest()
        )
        event = await provider.query(order_number)
        assert event is not None and event.paid
        headers, body = provider.notification(event, HOST_CLOCK.now())

        async def notify(instance: Instance) -> int:
            async with http.post(
                f"{instance.url}/pay/notify/sandbox", data=body, headers=headers
            ) as response:
                return response.status

        statuses = await asyncio.gather(*(notify(i) for i in instances * 3))
    assert set(statuses) == {200}
    await talk.next(payer, "已收到订单")
    talk.expected[payer] -= 1  # the confirmation is an outbox row: counted with those below
    outcomes = Counter(await models.PaymentLog.filter(order_number=order_number).values_list(
        "outcome", flat=True
    ))  # fmt: skip
    assert outcomes["applied"] == 1
    assert (await models.Order.get(number=order_number)).status == "paid"

    # Staff broadcast to everyone, composed step by step across the instances.
    chat.group_send(LOCAL_STAFF_GROUP_ID, STAFF, "/broadcast")
    composer = await talk.next(LOCAL_STAFF_GROUP_ID)
    everyone = ComposeCallback(action=ComposeAction.AUDIENCE, audience=AudienceKind.ALL).pack()
    talk.click(STAFF, composer, everyone, chat_id=LOCAL_STAFF_GROUP_ID)

    async def composer_edited() -> bool:
        [now] = [
            m for m in talk.bot_messages(LOCAL_STAFF_GROUP_ID)
            if m["message_id"] == composer["message_id"]
        ]  # fmt: skip
        return now["text"] != composer["text"]

    await eventually(composer_edited, what="the composer asks for the message")
    chat.group_send(LOCAL_STAFF_GROUP_ID, STAFF, "周五考试中心休息 The exam centre is closed")
    copy = await talk.next(LOCAL_STAFF_GROUP_ID)
    assert copy["text"].startswith("周五考试中心休息")
    summary = await talk.next(LOCAL_STAFF_GROUP_ID)
    talk.click(STAFF, summary, ComposeCallback(action=ComposeAction.CONFIRM).pack(),
               chat_id=LOCAL_STAFF_GROUP_ID)  # fmt: skip

    async def broadcast_done() -> bool:
        broadcast = await models.Broadcast.first()
        return broadcast is not None and broadcast.status == "done"

    await eventually(broadcast_done, what="the broadcast is done")
    for user in USERS:
        texts = [m["text"] for m in talk.bot_messages(user) if m.get("text")]
        assert texts.count("周五考试中心休息 The exam centre is closed") == 1, texts

    # Reminders: both scanners and both senders ran all along; wait for the outbox to empty.
    async def outbox_idle() -> bool:
        return not await models.Outbox.filter(status__in=["pending", "sending"]).exists()

    await eventually(outbox_idle, what="the outbox is sent")
    reminders = await models.Outbox.filter(broadcast=None, status="sent").count()
    assert reminders > 0, "the demo registry has deadlines: some reminders are due"
    await asyncio.sleep(3)  # anything sent twice would arrive by now

    # Every message in every chat is one the test waited for or one outbox row sent once.
    # (The payment QR code's message is noted in the outbox as sent, so that its buttons can
    # be taken away later; the test waited for it itself.)
    for user in USERS:
        rows = models.Outbox.filter(chat_id=user, status="sent").exclude(kind=QR_KIND)
        sent = await rows.count()
        messages = talk.bot_messages(user)
        assert len(messages) == talk.expected[user] + sent, [m.get("text") for m in messages]
        ids = await rows.values_list("telegram_message_id", flat=True)
        assert len(set(ids)) == sent
    for instance in instances:
        assert instance.process.returncode is None, instance.log()

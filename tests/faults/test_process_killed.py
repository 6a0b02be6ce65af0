"""The app's process killed (SIGKILL) while a payment notification is being taken, right after
one was taken, and in the middle of a broadcast; then started again.

Real instances (`python -m jijiao run`, tests/support/instances.py) against PostgreSQL and
Redis, with the local chat as Telegram. The test plays the payment provider (the sandbox):
it pays, notifies, and repeats the notification as WeChat Pay does until it hears success.

Payments: every order ends paid exactly once (one `applied` in payment_log) and its payer gets
exactly one confirmation, whether the provider's retry or the reconciliation job finds it.

Broadcast: nobody misses it. A message that Telegram accepted while the process died before
marking its row is sent again after the lease (infra/sender.py: the Bot API has no idempotency
key). The test measures that window at the moment of the kill and asserts that the duplicates
are exactly the messages it held, no others.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from domain.accounts import ChatUserId
from domain.checkout import Fees, Order, PlaceOrder
from domain.payment import CURRENCY, PaymentEvent
from domain.reminders import Audience, AudienceKind, BroadcastContent
from infra.clock import SystemClock
from infra.db import models, open_database
from infra.outbox import TortoiseBroadcasts, TortoiseOutbox
from infra.payments.sandbox import SandboxProvider
from infra.repositories.payments import TortoisePaymentStore
from infra.repositories.registry import TortoiseBindings
from infra.sender import SenderConfig
from jijiao.app import new_order_number
from tests.support import registry
from tests.support.clock import days_from_today
from tests.support.faults import FaultyTelegram, TcpProxy
from tests.support.instances import HOST_CLOCK, SECRET_KEY, Balancer, Fleet, Instance, Telegram
from tests.support.waiting import eventually

pytestmark = pytest.mark.long  # minutes: run first (tests/conftest.py)

CONFIRMED = "已收到订单"
FOUND_BY_RECONCILIATION = "我们已在支付平台查到您的付款"
LEASE = 2  # seconds an outbox row or an update stays with an instance that stopped renewing it


@dataclass
class World:
    fleet: Fleet
    telegram: Telegram
    faults: FaultyTelegram
    database: TcpProxy  # between the instances and PostgreSQL; the test itself goes direct
    instance: Instance
    provider: SandboxProvider

    async def kill(self) -> None:
        await self.instance.kill()
        # Whatever the dead process had on its way to the database or to Telegram is dropped,
        # as a dead machine's packets are.
        await self.database.cut()
        await self.database.restore()
        self.faults.clear()

    async def sessions_ended(self) -> None:
        """What the killed process had sent PostgreSQL has landed or never will: the server's
        sessions behind the proxy have ended. Until then a statement the process wrote just
        before it died (a done mark, a `sent` mark) may still commit, after the test has
        measured the window."""
        ports = sorted(self.database.upstream_ports)

        async def ended() -> bool:
            rows = await models.UpdateInbox._meta.db.execute_query_dict(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE client_port = ANY($1::int[])",
                [ports],
            )
            return rows[0]["n"] == 0

        await eventually(ended, what="the killed process's database sessions ended")

    async def start_again(self) -> None:
        self.instance = await self.fleet.start(f"{self.instance.name}+")
        self.fleet.balancer.backends[:] = [self.instance.url]

    def start_users(self, user_ids: list[int]) -> None:
        for user_id in user_ids:
            self.telegram.chat.create_user(f"学员{user_id % 1000}", "zh-hans", user_id=user_id)
            self.telegram.chat.users[user_id].started = True
            self.telegram.chat.chat_for_user(user_id)

    def texts(self, chat_id: int) -> list[str]:
        return [m.get("text") or "" for m in self.telegram.chat.messages(chat_id)["messages"]]

    async def outbox_idle(self) -> None:
        async def idle() -> bool:
            return not await models.Outbox.filter(status__in=["pending", "sending"]).exists()

        await eventually(idle, timeout=45, what="every outbox row is settled")
        await self.faults.idle()


@pytest.fixture
async def world(
    postgres_url: str, redis_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    """Updates by webhook through the balancer, or (`world` parametrized "polling") polled."""
    mode = getattr(request, "param", "webhook")
    async with (
        Telegram.serve() as telegram,
        FaultyTelegram.serve(telegram.url) as faults,
        Balancer.serve() as balancer,
        TcpProxy.to(postgres_url) as database,
    ):
        fleet = Fleet(
            telegram,
            balancer,
            database_url=database.url_for(postgres_url),
            redis_url=redis_url,
            data_dir=tmp_path / "var",
            env={
                "TELEGRAM_API_URL": faults.api_url,
                "PAYMENT_RECONCILE_EVERY": "1",
                "REMINDERS_SEND_EVERY": "0.5",
                "REMINDERS_LEASE_SECONDS": str(LEASE),
                "REMINDERS_QUIET_START": "00:00",
                "REMINDERS_QUIET_END": "00:00",
                "TELEGRAM_INBOX_LEASE_SECONDS": str(LEASE),
                # Every query goes through the proxy in this test's process, whose one event
                # loop also serves the local chat, Telegram's faults and the balancer; in CI,
                # with the other worker's browsers on the cores, some of the instance's waits
                # for PostgreSQL passed the default 3 s, and healthy trainees were told
                # "temporarily unavailable". A hung database within its deadline is
                # tests/faults/test_database_outage.py's subject.
                "DATABASE_TIMEOUT": "10",
                **({"TELEGRAM_WEBHOOK_URL": ""} if mode == "polling" else {}),
            },
        )
        fleet.data_dir.mkdir()
        instance = await fleet.start("instance")
        balancer.backends[:] = [instance.url]
        context = await open_database(postgres_url)
        provider = SandboxProvider(
            balancer.url, hashlib.sha256(b"sandbox" + SECRET_KEY.encode()).digest()
        )
        world = World(fleet, telegram, faults, database, instance, provider)
        try:
            yield world
        finally:
            await world.instance.kill()
            await context.close_connections()


# ---- payments ---------------------------------------------------------------------------------


async def open_order(world: World, user_id: int) -> Order:
    """A bound trainee with an enrolment and an open order for it."""
    n = user_id % 1000
    person = await registry.person(n, f"学员{n}", f"1380000{n:04d}")
    cert = await registry.certificate(
        person, f"云建安B(2024){n:07d}", "safety_b", days_from_today(124)
    )
    await models.Binding.create(chat_user_id=user_id, person=person)
    await models.ChatUser.create(id=user_id, first_name=person.name, language_code="zh-hans")
    await registry.enrolment(cert, user_id, "enrolled")  # fmt: skip
    await models.InvoiceProfile.create(chat_user_id=user_id, title=person.name)
    place = PlaceOrder(
        TortoiseBindings(registry.PII), TortoisePaymentStore(registry.PII), Fees(30000),
        world.provider, SystemClock(), new_order_number,
    )  # fmt: skip
    return await place(ChatUserId(user_id))


def payment(order: Order) -> PaymentEvent:
    """What the provider says of a payment that its ledger (the one reconciliation queries)
    does not show yet: only a notification can apply it."""
    return PaymentEvent(
        order.number, True, order.amount_fen, CURRENCY, f"SBX-{order.number}", HOST_CLOCK.now()
    )


async def notify(world: World, event: PaymentEvent) -> int | str:
    """The provider's notification: the HTTP status, or the error that cut it off."""
    headers, body = world.provider.notification(event, HOST_CLOCK.now())
    url = f"{world.fleet.balancer.url}/pay/notify/sandbox"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=body, headers=headers) as response:
                return response.status
    except aiohttp.ClientError as exc:
        return type(exc).__name__


async def outcomes(order: Order) -> Counter[str]:
    rows = await models.PaymentLog.filter(order_number=order.number).values("outcome", "source")
    return Counter(f"{row['outcome']}:{row['source']}" for row in rows)


async def test_a_payment_killed_mid_notification_or_just_after_is_applied_and_confirmed_once(
    world: World,
):
    retried, reconciled, answered = 650_001, 650_002, 650_003
    world.start_users([retried, reconciled, answered])
    orders = {user: await open_order(world, user) for user in (retried, reconciled, answered)}
    events = {retried: payment(orders[retried]), answered: payment(orders[answered])}

    # 1. Killed while taking two notifications: the database stands still under them (so the
    # kill lands inside the handler, before anything commits).
    world.database.freeze()
    held = world.database.held
    paid = await world.provider.pay(orders[reconciled].number, HOST_CLOCK.now())
    assert paid is not None
    events[reconciled] = paid
    taking = [asyncio.create_task(notify(world, events[u])) for u in (retried, reconciled)]

    async def stuck_in_the_database() -> bool:
        return world.database.held > held + 1

    await eventually(stuck_in_the_database, what="the notifications reached the database")
    await world.kill()
    # The provider never heard success (the balancer answers 500 for the dead instance).
    assert 200 not in await asyncio.gather(*taking)
    for user in (retried, reconciled):
        assert (await models.Order.get(number=orders[user].number)).status == "pending"
        assert not await outcomes(orders[user])
    await world.start_again()

    # The provider retries one of them; the other it never repeats: reconciliation finds it.
    assert await notify(world, events[retried]) == 200

    async def both_confirmed() -> bool:
        rows = models.Outbox.filter(kind="order_paid", chat_id__in=[retried, reconciled])
        return await rows.filter(status="sent").count() == 2

    await eventually(both_confirmed, what="both payers are confirmed")

    # 2. Killed just after answering a notification, its confirmation still on the way:
    # Telegram does not answer, so the outbox row is in flight when the process dies.
    world.faults.hang("sendMessage", times=None, chats=[answered])
    assert await notify(world, events[answered]) == 200

    async def confirmation_in_flight() -> bool:
        return world.faults.faults["hang"] >= 1

    await eventually(confirmation_in_flight, what="the confirmation is on its way")
    await world.kill()
    row = await models.Outbox.get(kind="order_paid", chat_id=answered)
    assert row.status == "sending" and not any(CONFIRMED in t for t in world.texts(answered))
    await world.start_again()

    # The provider repeats every notification once more, as it does until it hears success.
    for user in (retried, reconciled, answered):
        assert await notify(world, events[user]) == 200

    async def everyone_confirmed() -> bool:
        return all(any(CONFIRMED in t for t in world.texts(user)) for user in orders)

    await eventually(everyone_confirmed, timeout=45, what="every payer is confirmed")
    await world.outbox_idle()

    for user, order in orders.items():
        row = await models.Order.get(number=order.number)
        assert row.status == "paid"
        log = await outcomes(order)
        assert sum(n for key, n in log.items() if key.startswith("applied")) == 1, log
        confirmations = [t for t in world.texts(user) if CONFIRMED in t]
        assert len(confirmations) == 1, (user, world.texts(user))
    assert (await outcomes(orders[reconciled]))["applied:query"] == 1
    assert FOUND_BY_RECONCILIATION in next(t for t in world.texts(reconciled) if CONFIRMED in t)
    assert (await outcomes(orders[retried]))["applied:notification"] == 1
    assert (await outcomes(orders[answered]))["applied:notification"] == 1
    assert world.faults.forwarded["sendmessage"] == 3  # nothing held was sent after the kill


# ---- a broadcast ------------------------------------------------------------------------------

RECIPIENTS = list(range(660_001, 660_301))
BROADCAST = "周五考试中心休息 The exam centre is closed on Friday"


@pytest.mark.parametrize("held", [0, 2], ids=["killed-anywhere", "killed-in-the-window"])
async def test_a_broadcast_killed_midway_reaches_everyone_and_repeats_only_what_was_in_flight(
    world: World, held: int
):
    """`held`: Telegram's answers to that many messages are kept back at the moment of the
    kill, so the window is surely open; with 0 the kill lands wherever the sender is."""
    world.start_users(RECIPIENTS)
    await models.Person.bulk_create(
        [
            registry.unsaved_person(registry.id_number(n), f"学员{n}", f"139{n:08d}")
            for n in range(len(RECIPIENTS))
        ]
    )
    people = await models.Person.all().order_by("id")
    await models.Binding.bulk_create(
        [
            models.Binding(chat_user_id=user, person=person)
            for user, person in zip(RECIPIENTS, people, strict=True)
        ]
    )
    broadcasts = TortoiseBroadcasts(TortoiseOutbox())
    now = HOST_CLOCK.now()
    content = BroadcastContent(BROADCAST, len(BROADCAST))
    await broadcasts.start(Audience(AudienceKind.ALL), content, ChatUserId(900001), now, now)

    def delivered() -> Counter[int]:
        return Counter({user: world.texts(user).count(BROADCAST) for user in RECIPIENTS})

    async def a_third_out() -> bool:
        return sum(delivered().values()) >= len(RECIPIENTS) // 3

    await eventually(a_third_out, timeout=45, what="a third of the broadcast is out")
    if held:
        world.faults.hold_answers("sendMessage", times=held)

        async def answers_held() -> bool:
            return world.faults.faults["hold"] == held

        await eventually(answers_held, what="Telegram's answers are held back")
    await world.instance.kill()  # the proxies are left alone until the window is measured
    # What the dead process had already handed to Telegram and PostgreSQL lands; then the
    # window is measured: messages Telegram has whose rows were never marked sent.
    await world.faults.idle()
    await world.sessions_ended()
    at_kill = delivered()
    unmarked = set(
        await models.Outbox.filter(kind="broadcast", status="sending").values_list(
            "chat_id", flat=True
        )
    )
    in_doubt = {user for user in unmarked if at_kill[user]}
    sent_before = sum(at_kill.values())
    await world.kill()
    await world.start_again()

    await world.outbox_idle()
    received = delivered()
    story = (
        f"{sent_before} out before the kill, {len(unmarked)} rows in flight at the kill, "
        f"{len(in_doubt)} of them already delivered"
    )
    print(story)
    assert 0 < sent_before < len(RECIPIENTS), story  # it died mid-broadcast
    assert min(received.values()) == 1, story  # nobody missed it
    duplicates = {user for user, count in received.items() if count > 1}
    assert duplicates == in_doubt, story  # the documented window, and nothing else
    assert len(in_doubt) >= held, story
    assert max(received.values()) <= 2, story
    assert len(in_doubt) <= SenderConfig().max_in_flight, story
    assert await models.Outbox.filter(kind="broadcast", status="sent").count() == len(RECIPIENTS)


# ---- updates being handled ------------------------------------------------------------------

TRAINEES = list(range(670_001, 670_051))
MENU = "主菜单"
# What each update says and the first words of the one message that answers it.
ANSWERS = {
    "/start": "您好！我是「继教」",
    "/help": "帮助\n您现在可以",
    "/web": "这是您在任意浏览器打开学习页面",
    "menu:status": "这里还没有内容",  # a press on the main menu's status button
}


@pytest.mark.parametrize(
    ("world", "held"),
    [("webhook", 0), ("webhook", 2), ("polling", 0)],
    ids=["webhook-killed-anywhere", "webhook-killed-in-the-window", "polling-killed-anywhere"],
    indirect=["world"],
)
async def test_updates_being_handled_when_the_process_is_killed_are_each_answered_once(
    world: World, held: int
):
    """50 trainees send 200 updates at once; the instance is killed a quarter of the way
    through answering them and started again. Every update is answered, and the only
    duplicates are the documented window: updates whose answer Telegram had when the process
    died before marking them done (`held`: Telegram's answers are kept back until that many
    replies are in the chat unacknowledged at the kill, so the window is surely open)."""
    world.start_users(TRAINEES)
    chat = world.telegram.chat
    for user in TRAINEES:  # each trainee has the menu to press on
        chat.send_text(user, "/menu")

    async def menus_shown() -> bool:
        return all(any(t.startswith(MENU) for t in world.texts(u)) for u in TRAINEES)

    await eventually(menus_shown, timeout=60, what="every trainee has the main menu")
    await world.outbox_idle()
    menus = {
        user: next(
            m for m in chat.messages(user)["messages"] if (m.get("text") or "").startswith(MENU)
        )
        for user in TRAINEES
    }

    sent: dict[int, tuple[int, str]] = {}  # update id → (trainee, what they said)
    for say in ANSWERS:
        for user in TRAINEES:
            if say.startswith("/"):
                update = chat.send_text(user, say)
            else:
                update = chat.click(user, menus[user]["message_id"], say)
            sent[update["update_id"]] = (user, say)
    assert len(sent) == 200

    def answers() -> Counter[tuple[int, str]]:
        counted: Counter[tuple[int, str]] = Counter()
        for user in TRAINEES:
            for text in world.texts(user):
                for say, answer in ANSWERS.items():
                    counted[(user, say)] += answer in text
        return counted

    async def a_quarter_answered() -> bool:
        return sum(answers().values()) >= len(sent) // 4

    await eventually(a_quarter_answered, timeout=60, what="a quarter of the updates answered")
    if held:
        # Every answer from now on, until `held` replies that Telegram took (not refused
        # with a 429) are waiting for theirs.
        world.faults.hold_answers("sendMessage", times=None)

        async def answers_held() -> bool:
            return world.faults.faults["held_delivered"] >= held

        await eventually(answers_held, what="Telegram's answers are held back")
    await world.instance.kill()  # the proxies are left alone until the window is measured
    await world.faults.idle()
    await world.sessions_ended()
    at_kill = answers()
    unfinished = {
        sent[update_id]
        for update_id in await models.UpdateInbox.filter(done_at=None).values_list(
            "update_id", flat=True
        )
    }
    in_doubt = {key for key in unfinished if at_kill[key]}
    story = (
        f"{sum(at_kill.values())} answered before the kill, {len(unfinished)} stored and "
        f"unfinished at the kill, {len(in_doubt)} of them already answered"
    )
    await world.kill()
    await world.start_again()

    async def all_answered() -> bool:
        return min(answers()[key] for key in sent.values()) >= 1

    try:
        await eventually(all_answered, timeout=90, what=f"every update answered ({story})")
    except AssertionError as exc:
        unanswered = sorted(key for key in sent.values() if not answers()[key])
        rows = await models.UpdateInbox.filter(done_at=None).values(
            "update_id", "attempts", "claimed_by", "claimed_until"
        )
        raise AssertionError(
            f"{exc}\nunanswered: {unanswered}\nundone in the inbox: {rows}\n"
            f"waiting in Telegram: {len(chat.updates)}\n"
            f"restarted instance's log:\n{world.instance.log()[-20000:]}"
        ) from None

    async def settled() -> bool:
        return not chat.updates and not await models.UpdateInbox.filter(done_at=None).exists()

    await eventually(settled, timeout=30, what="every update delivered and done")
    await world.outbox_idle()
    received = answers()
    print(story)
    assert 0 < sum(at_kill.values()) < len(sent), story  # it died mid-way
    assert unfinished, story  # updates were stored and unanswered when it died
    assert min(received[key] for key in sent.values()) == 1, story  # nothing lost
    duplicates = {key for key in sent.values() if received[key] > 1}
    assert duplicates == in_doubt, story  # the documented window, nothing else
    assert len(in_doubt) >= held, story
    assert max(received.values()) <= 2, story
    assert await models.UpdateInbox.filter(done_at__isnull=False).count() >= len(sent)

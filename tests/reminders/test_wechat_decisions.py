"""Staff's decision on an application reaches the person on the channel they used last, in
their language: on WeChat a customer-service message inside the 48-hour window, a notice
outside it (never a silent drop); a subscription notice only for a person who accepted its
template in WeChat's popup, once per acceptance. On WeChat it is an outbox row: WeChat down or
over quota when staff decide, it arrives once the outbox retries, once even with two senders,
and in quiet hours too (it answers the person's own case)."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

import aiohttp

from bot.applications import Applications
from conversation.replies import Say
from domain.accounts import ChatUserId
from domain.reminders import TOLD
from domain.timezone import CHINA
from infra.db import models
from infra.outbox import TortoiseOutbox
from infra.repositories.accounts import TortoiseAccountRepository
from infra.sender import OutboxSender
from jijiao.app import ChannelTell, wechat_openid
from tests.reminders import world
from tests.support.clock import FixedClock, days_from_today
from tests.support.wechat_world import BASE_URL, SUBSCRIPTION, WeChatWorld
from wechat.channel import WeChatReplies
from wechat.tell import WeChatLater

FAR = days_from_today(1131)


class TelegramTold:
    """Telegram's `Tell` as a test sees it."""

    def __init__(self) -> None:
        self.told: list[tuple[int, str]] = []

    async def __call__(self, account: ChatUserId, *lines: Say) -> bool:
        self.told.append((account, "\n".join(map(str, lines))))
        return True


def later(wechat: WeChatWorld, i18n) -> WeChatLater:
    return WeChatLater(
        TortoiseOutbox(),
        wechat.render,
        WeChatReplies(BASE_URL),
        i18n,
        wechat.clock,
        openid_of=functools.partial(wechat_openid, TortoiseAccountRepository()),
    )


def told_by(wechat: WeChatWorld, i18n, telegram: TelegramTold) -> ChannelTell:
    tell = ChannelTell(telegram)
    tell.add("wechat", later(wechat, i18n))
    return tell


def sender(wechat: WeChatWorld, i18n, **config: Any) -> OutboxSender:
    """The outbox's sender with WeChat's transport (quiet hours as configured by default)."""
    built = world.sender(i18n, wechat.clock, world.RecordingTransport(), **config)
    built.add_channel("wechat", wechat.transport, wechat.render)
    return built


async def deliver(wechat: WeChatWorld, i18n) -> int:
    return await sender(wechat, i18n)()


async def overdue_application(who: world.Trainee, clock: FixedClock, filed_by: int) -> int:
    """An extension applied for (from `filed_by`) after the 30 days ran out yesterday."""
    enrolment = await world.studying(who, clock.now() - timedelta(days=1), state="overdue")
    application = await models.Application.create(
        kind="extension", enrolment=enrolment, chat_user_id=filed_by
    )
    return application.id


async def decide(tell: ChannelTell, clock: FixedClock, i18n, application: int) -> bool:
    applications = Applications(clock, i18n, tell=tell)
    # The card's desk is not needed: the application has no card in a staff group.
    return await applications.decide(
        application,
        approved=True,
        staff_id=900001,
        staff_name="客服小李",
        reason=None,
        desk=cast(Any, None),
    )


async def test_a_person_on_both_channels_hears_the_decision_once_on_wechat_used_last(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    telegram = TelegramTold()
    zhang = await world.trainee(1, FAR)  # bound on Telegram, wrote there yesterday
    await models.ChatUser.filter(id=zhang.chat_id).update(
        last_inbound_at=clock.now() - timedelta(days=1)
    )
    account = await wechat.account("o-zhang", wrote_ago=timedelta(hours=1))
    await models.Binding.create(chat_user_id=account, person=zhang.person, channel="wechat")
    application = await overdue_application(zhang, clock, filed_by=account)

    assert await decide(told_by(wechat, i18n, telegram), clock, i18n, application)
    assert await deliver(wechat, i18n) == 1

    [message] = wechat.received("o-zhang")
    assert message["via"] == "custom"
    assert "Your extension was approved" in message["text"] and "<b>" not in message["text"]
    assert telegram.told == []


async def test_a_decision_filed_on_telegram_for_a_person_now_on_wechat_is_said_once_each(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    """Filed from Telegram, the holder since then on WeChat: the filer is told where they
    filed (with whose application it was), the holder on WeChat."""
    telegram = TelegramTold()
    zhang = await world.trainee(2, FAR)
    account = await wechat.account("o-zhang-2", wrote_ago=timedelta(hours=1))
    await models.Binding.create(chat_user_id=account, person=zhang.person, channel="wechat")
    assert zhang.chat_id is not None
    application = await overdue_application(zhang, clock, filed_by=zhang.chat_id)

    assert await decide(told_by(wechat, i18n, telegram), clock, i18n, application)
    assert await deliver(wechat, i18n) == 1

    assert [a for a, _ in telegram.told] == [zhang.chat_id]
    assert len(wechat.received("o-zhang-2")) == 1


async def test_with_the_window_closed_the_decision_is_a_notice_not_a_silent_drop(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    who = await world.trainee(3, FAR, bound=False)
    account = await wechat.account("o-far", wrote_ago=None)  # last wrote 5 days ago
    await models.Binding.create(chat_user_id=account, person=who.person, channel="wechat")
    application = await overdue_application(who, clock, filed_by=account)

    assert await decide(told_by(wechat, i18n, TelegramTold()), clock, i18n, application)
    assert await deliver(wechat, i18n) == 1

    [notice] = wechat.received("o-far")
    assert notice["via"] == "template"  # no subscription accepted: the template message
    assert "Your extension was approved" in notice["data"]["content"]
    assert (await models.Application.get(id=application)).status == "approved"


async def popup(wechat: WeChatWorld, openid: str, template: str, status: str = "accept") -> None:
    """The person answers WeChat's subscription popup (through the stand-in's JSON API)."""
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{wechat.api_base}/api/wechat/users/{openid}/send",
            json={"event": "subscribe_msg_popup_event", "key": template, "status": status},
        ) as response:
            assert response.status == 200, await response.text()


async def test_a_subscription_notice_goes_once_per_acceptance_then_the_template_message(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    tell = told_by(wechat, i18n, TelegramTold())
    zhang = await world.trainee(4, FAR, bound=False)
    account = await wechat.account("o-subscriber", wrote_ago=None)
    await models.Binding.create(chat_user_id=account, person=zhang.person, channel="wechat")
    await popup(wechat, "o-subscriber", SUBSCRIPTION)

    assert await tell(ChatUserId(account), Say(lambda: "First notice"))
    assert await tell(ChatUserId(account), Say(lambda: "Second notice"))
    assert await deliver(wechat, i18n) == 2

    first, second = wechat.received("o-subscriber")
    assert (first["via"], first["template_id"]) == ("notice", SUBSCRIPTION)
    assert first["data"]["content"] == "First notice"
    assert second["via"] == "template"  # a one-time acceptance is used up
    assert second["data"]["content"] == "Second notice"


async def test_a_consent_given_by_someone_else_or_refused_changes_nothing(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    tell = told_by(wechat, i18n, TelegramTold())
    target = await wechat.account("o-target", wrote_ago=None)
    await wechat.account("o-forger", wrote_ago=None)
    await wechat.account("o-refuser", wrote_ago=None)
    refuser = await models.ChatUser.get(external_id="o-refuser")
    # The forger accepts the template for themselves, naming the target as the template: the
    # consent is the sender's own, whatever it carries.
    await popup(wechat, "o-forger", SUBSCRIPTION)
    await popup(wechat, "o-forger", "o-target")
    await popup(wechat, "o-refuser", SUBSCRIPTION, status="reject")

    assert await tell(ChatUserId(target), Say(lambda: "For the target"))
    assert await tell(ChatUserId(refuser.id), Say(lambda: "For the refuser"))
    assert await deliver(wechat, i18n) == 2

    assert [m["via"] for m in wechat.received("o-target")] == ["template"]
    assert [m["via"] for m in wechat.received("o-refuser")] == ["template"]
    assert wechat.wx.user("o-target").subscriptions == {}


async def test_what_staff_tell_from_the_console_reaches_a_wechat_account_in_wechat(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    """A rebind to a WeChat account and an exam attempt given back are said there, not sent
    to a Telegram chat of the same number."""
    from bot.console import ConsoleActions

    telegram = TelegramTold()
    account = await wechat.account("o-moved", wrote_ago=timedelta(hours=1))
    actions = ConsoleActions(
        cast(Any, None),
        cast(Any, None),
        cast(Any, None),
        cast(Any, None),
        tell=told_by(wechat, i18n, telegram),
    )

    await actions.tell_rebound(account, None)
    await actions.tell_attempt_back(account, 2, 3)
    assert await deliver(wechat, i18n) == 2

    moved, attempt = wechat.received("o-moved")
    assert "Staff linked your ID number to this account" in moved["text"]
    assert "exam attempt 2" in attempt["text"] and "3 attempt(s) left" in attempt["text"]
    assert telegram.told == []


async def test_a_decision_made_while_wechat_is_down_arrives_once_when_the_outbox_retries(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    """WeChat answers the first send with "system busy" (-1): nothing is lost, the row waits
    its back-off; then two senders at once deliver it once."""
    who = await world.trainee(5, FAR, bound=False)
    account = await wechat.account("o-outage", wrote_ago=timedelta(hours=1))
    await models.Binding.create(chat_user_id=account, person=who.person, channel="wechat")
    application = await overdue_application(who, clock, filed_by=account)
    wechat.wx.refusals.append(-1)

    tell = told_by(wechat, i18n, TelegramTold())
    assert await decide(tell, clock, i18n, application)
    assert await deliver(wechat, i18n) == 0
    row = await models.Outbox.get(chat_id=account)
    assert (row.kind, row.status) == (TOLD, "pending") and row.not_before > clock.now()
    assert wechat.received("o-outage") == []

    clock.advance(minutes=10)
    first = sender(wechat, i18n, lease=timedelta(seconds=60))
    second = sender(wechat, i18n, lease=timedelta(seconds=60), outbox=TortoiseOutbox())
    assert sum(await asyncio.gather(first(), second())) == 1

    [message] = wechat.received("o-outage")
    assert message["via"] == "custom" and "Your extension was approved" in message["text"]
    assert (await models.Outbox.get(chat_id=account)).status == "sent"
    # Told again (a retried request): the same words the same day are the same row.
    assert await tell(ChatUserId(account), Say(lambda: message["text"]))
    assert await models.Outbox.filter(chat_id=account).count() == 1
    assert await tell(ChatUserId(account), Say(lambda: "Other words"))
    assert await models.Outbox.filter(chat_id=account).count() == 2


async def test_a_decision_is_not_held_by_the_reminders_quiet_hours(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    clock.current = datetime.combine(clock.today(), time(23), tzinfo=CHINA).astimezone(UTC)
    account = await wechat.account("o-night", wrote_ago=timedelta(hours=1))

    assert await told_by(wechat, i18n, TelegramTold())(
        ChatUserId(account), Say(lambda: "Approved at night")
    )
    assert await deliver(wechat, i18n) == 1

    [message] = wechat.received("o-night")
    assert message["text"] == "Approved at night"

"""Reminders and broadcasts reach WeChat accounts through the same outbox, through WeChat's
stand-in: a customer-service message inside the 48-hour window, a template notice outside it
(or when WeChat says it closed); a person bound on Telegram and WeChat is reminded once, on the
channel used last; an unfollowed account is marked unreachable and not retried."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from domain.reminders import ReminderKind
from domain.timezone import CHINA
from infra.db import models
from infra.outbox import NewMessage, TortoiseBroadcasts, TortoiseOutbox
from infra.repositories.accounts import TortoiseAccountRepository
from infra.sender import OutboxSender
from tests.reminders import world
from tests.support.clock import TODAY, FixedClock, days_from_today
from tests.support.wechat_world import BASE_URL, WeChatWorld

FAR = days_from_today(1131)


def beijing(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=CHINA).astimezone(UTC)


def sender(i18n, clock, telegram: world.RecordingTransport, wechat: WeChatWorld) -> OutboxSender:
    built = world.sender(i18n, clock, telegram)
    built.add_channel("wechat", wechat.transport, wechat.render)
    return built


async def wechat_trainee(wechat: WeChatWorld, sequence: int, *, wrote_ago: timedelta | None):
    who = await world.trainee(sequence, FAR, bound=False)
    account = await wechat.account(f"o-trainee-{sequence}", wrote_ago=wrote_ago)
    await models.Binding.create(chat_user_id=account, person=who.person, channel="wechat")
    return who, account


async def test_inside_the_window_a_study_reminder_is_a_customer_service_message(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    telegram = world.RecordingTransport()
    zhang, _ = await wechat_trainee(wechat, 1, wrote_ago=timedelta(hours=2))
    await world.studying(zhang, beijing(TODAY + timedelta(days=3), 15))
    await world.scanner(clock)()

    assert await sender(i18n, clock, telegram, wechat)() == 1

    [message] = wechat.received("o-trainee-1")
    assert message["via"] == "custom"
    shown = str(message)
    assert "3 days left" in shown and "<b>" not in shown
    assert telegram.sent == []
    assert await world.statuses() == {(await models.Outbox.get()).dedup_key: "sent"}


async def test_outside_the_window_the_reminder_is_a_template_notice(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    zhang, _ = await wechat_trainee(wechat, 1, wrote_ago=None)
    await world.studying(zhang, beijing(TODAY + timedelta(days=3), 15))
    await world.scanner(clock)()

    assert await sender(i18n, clock, world.RecordingTransport(), wechat)() == 1

    [message] = wechat.received("o-trainee-1")
    assert message["via"] == "template" and message["template_id"] == "tpl-reminder"
    assert "3 days left" in message["data"]["content"]
    assert message["url"].startswith(f"{BASE_URL}/wechat/oauth?next=/app")


async def test_when_wechat_says_the_window_closed_the_reminder_falls_back_to_a_notice(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    zhang, _ = await wechat_trainee(wechat, 1, wrote_ago=timedelta(hours=2))
    wechat.wx.user("o-trainee-1").allowance = 0  # WeChat's count is used up: 45047...
    wechat.wx.user("o-trainee-1").allowance_until = 0  # ...and its window over: 45015
    await world.studying(zhang, beijing(TODAY + timedelta(days=3), 15))
    await world.scanner(clock)()

    assert await sender(i18n, clock, world.RecordingTransport(), wechat)() == 1

    assert [m["via"] for m in wechat.received("o-trainee-1")] == ["template"]


async def test_a_person_on_both_channels_is_reminded_once_on_the_one_used_last(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    telegram = world.RecordingTransport()
    zhang = await world.trainee(1, FAR)  # bound on Telegram
    await models.ChatUser.filter(id=zhang.chat_id).update(
        last_inbound_at=clock.now() - timedelta(days=1)
    )
    account = await wechat.account("o-zhang", wrote_ago=timedelta(hours=1))
    await models.Binding.create(chat_user_id=account, person=zhang.person, channel="wechat")
    await world.studying(zhang, beijing(TODAY + timedelta(days=3), 15))
    await world.scanner(clock)()
    await sender(i18n, clock, telegram, wechat)()

    assert [m["via"] for m in wechat.received("o-zhang")] == ["custom"]
    assert telegram.sent == []

    # Zhang writes on Telegram now: the next reminder (a day later) goes there, once.
    clock.advance(days=1)
    await TortoiseAccountRepository().seen(zhang.chat_id, "Zhang", "en", at=clock.now())
    await world.scanner(clock)()
    await sender(i18n, clock, telegram, wechat)()

    assert len(telegram.texts_to(zhang.chat_id)) == 1
    assert len(wechat.received("o-zhang")) == 1
    rows = await models.Outbox.all().values_list("chat_id", flat=True)
    assert sorted(rows) == sorted([account, zhang.chat_id])


async def test_a_broadcast_reaches_telegram_and_wechat_recipients_once_per_person(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    from domain.reminders import Audience, AudienceKind, BroadcastContent

    telegram = world.RecordingTransport()
    li = await world.trainee(1, FAR)  # Telegram only
    _, wang_account = await wechat_trainee(wechat, 2, wrote_ago=None)  # WeChat only
    zhao = await world.trainee(3, FAR)  # both, WeChat used last
    zhao_wechat = await wechat.account("o-zhao", wrote_ago=timedelta(hours=1))
    await models.Binding.create(chat_user_id=zhao_wechat, person=zhao.person, channel="wechat")
    broadcasts = TortoiseBroadcasts(TortoiseOutbox())
    await broadcasts.start(
        Audience(AudienceKind.ALL),
        BroadcastContent("<b>Office closed</b> on Friday", 23),
        900001,
        clock.now(),
        clock.now(),
    )

    await sender(i18n, clock, telegram, wechat)()

    assert [c for c, _ in telegram.sent] == [li.chat_id]
    [to_wang] = wechat.received("o-trainee-2")
    assert to_wang["via"] == "template" and to_wang["template_id"] == "tpl-broadcast"
    assert "Office closed on Friday" in to_wang["data"]["content"]
    [to_zhao] = wechat.received("o-zhao")
    assert to_zhao["via"] == "custom" and "Office closed" in str(to_zhao)
    assert zhao.chat_id not in [c for c, _ in telegram.sent]
    assert wang_account < 0


async def test_an_unfollowed_wechat_user_is_marked_unreachable_and_not_retried(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    zhang, account = await wechat_trainee(wechat, 1, wrote_ago=None)
    wechat.wx.user("o-trainee-1").follows = False  # unfollowed; the event never reached us
    await world.studying(zhang, beijing(TODAY + timedelta(days=3), 15))
    await world.scanner(clock)()
    send = sender(i18n, clock, world.RecordingTransport(), wechat)

    assert await send() == 0

    assert (await models.ChatUser.get(id=account)).unreachable
    assert set((await world.statuses()).values()) == {"unreachable"}
    assert wechat.received("o-trainee-1") == []
    # The next reminder is settled without asking WeChat again.
    clock.advance(days=1)
    await world.scanner(clock)()
    calls = wechat.wx.stats.custom_refused
    assert await send() == 0
    assert set((await world.statuses()).values()) == {"unreachable"}
    assert wechat.wx.stats.custom_refused == calls


async def test_wechat_s_per_message_quota_sends_the_row_back_to_wait(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    zhang, _ = await wechat_trainee(wechat, 1, wrote_ago=timedelta(hours=2))
    wechat.wx.user("o-trainee-1").allowance = 0  # window open, its count used up: 45047
    await world.studying(zhang, beijing(TODAY + timedelta(days=3), 15))
    await world.scanner(clock)()

    assert await sender(i18n, clock, world.RecordingTransport(), wechat)() == 0

    row = await models.Outbox.get()
    assert row.status == "pending" and row.not_before > clock.now() and "45047" in row.error
    assert not (await models.ChatUser.get(id=row.chat_id)).unreachable


def test_wechat_accounts_are_paced_as_people_not_as_telegram_groups():
    from infra.sender import Limits

    limits = Limits(private_per_second=1, group_per_minute=20)
    assert limits.chat(-5, "wechat") == (1.0, 1)
    assert limits.chat(-5) == (3.0, 1)  # a Telegram group, as before


async def notice_for(account: int, kind: ReminderKind, params: dict, clock: FixedClock) -> None:
    await TortoiseOutbox().enqueue(
        [
            NewMessage(
                account,
                kind.value,
                f"{kind.value}:{account}",
                {"text_key": kind.value, "params": params},
                True,
                clock.now(),
            )
        ]
    )


async def test_an_invoice_notice_on_wechat_points_to_the_records_page(
    database, clock: FixedClock, i18n, wechat: WeChatWorld
):
    """Rendered for WeChat from the row: the invoice, a file WeChat's messages cannot carry,
    is a link to the records page (rendered as Telegram's message, it lost the file)."""
    account = await wechat.account("o-invoice", wrote_ago=timedelta(hours=1))
    await notice_for(account, ReminderKind.INVOICE_READY, {"order": "A-1", "file_id": "f"}, clock)

    assert await sender(i18n, clock, world.RecordingTransport(), wechat)() == 1

    [invoice] = wechat.received("o-invoice")
    assert invoice["type"] == "text" and "order A-1" in invoice["text"]
    assert f'href="{BASE_URL}/wechat/oauth?next=/app/records"' in invoice["text"]


async def test_a_broadcast_picture_reaches_wechat_as_an_image_uploaded_once(
    database, clock: FixedClock, i18n, wechat: WeChatWorld, pictures: dict[str, bytes]
):
    from domain.reminders import Audience, AudienceKind, BroadcastContent

    pictures["tg-photo-1"] = b"\xff\xd8\xff\xe0 a JPEG"
    _, near = await wechat_trainee(wechat, 1, wrote_ago=timedelta(hours=1))
    _, other = await wechat_trainee(wechat, 2, wrote_ago=timedelta(hours=3))
    _, far = await wechat_trainee(wechat, 3, wrote_ago=None)
    await TortoiseBroadcasts(TortoiseOutbox()).start(
        Audience(AudienceKind.ALL),
        BroadcastContent("<b>New exam room</b>", 13, "tg-photo-1"),
        900001,
        clock.now(),
        clock.now(),
    )

    assert await sender(i18n, clock, world.RecordingTransport(), wechat)() == 3

    for openid in ("o-trainee-1", "o-trainee-2"):
        image, text = wechat.received(openid)
        assert image["type"] == "image" and text["text"] == "New exam room"
        assert wechat.wx.get_media(image["media_id"]).data == pictures["tg-photo-1"]
    assert (
        len(
            {
                m["media_id"]
                for o in ("o-trainee-1", "o-trainee-2")
                for m in wechat.received(o)
                if m["type"] == "image"
            }
        )
        == 1
    )
    # Outside the window: the notice with its words and a link, not nothing.
    [notice] = wechat.received("o-trainee-3")
    assert notice["via"] == "template" and notice["data"]["content"] == "New exam room"
    assert notice["url"].startswith(f"{BASE_URL}/wechat/oauth?next=/app")
    assert near and other and far


async def test_a_broadcast_stopped_by_wechat_s_cap_after_its_picture_sends_only_the_rest(
    database, clock: FixedClock, i18n, wechat: WeChatWorld, pictures: dict[str, bytes]
):
    """WeChat takes the picture, then refuses the words (45047, its per-message cap): the
    retry sends the words only, so the person sees the picture once."""
    from domain.reminders import Audience, AudienceKind, BroadcastContent

    pictures["tg-photo-2"] = b"\xff\xd8\xff\xe0 another JPEG"
    await wechat_trainee(wechat, 1, wrote_ago=timedelta(hours=1))
    wechat.wx.user("o-trainee-1").allowance = 1  # room for the picture only
    await TortoiseBroadcasts(TortoiseOutbox()).start(
        Audience(AudienceKind.ALL),
        BroadcastContent("<b>Exam room moved</b>", 13, "tg-photo-2"),
        900001,
        clock.now(),
        clock.now(),
    )

    assert await sender(i18n, clock, world.RecordingTransport(), wechat)() == 0
    row = await models.Outbox.get()
    assert row.status == "pending" and "45047" in row.error and row.payload["delivered"] == 1
    assert [m["type"] for m in wechat.received("o-trainee-1")] == ["image"]

    wechat.wx.user("o-trainee-1").allowance = 5  # the person wrote again
    clock.advance(minutes=10)
    assert await sender(i18n, clock, world.RecordingTransport(), wechat)() == 1

    image, text = wechat.received("o-trainee-1")
    assert image["type"] == "image" and text["text"] == "Exam room moved"
    assert (await models.Outbox.get()).status == "sent"

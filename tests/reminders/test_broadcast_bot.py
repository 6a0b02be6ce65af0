"""Staff broadcasts from the staff group, through the real dispatcher, and trainees' /mute."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, SendPhoto
from aiogram.types import Update

from bot.handlers.broadcast import (
    BroadcastCallback,
    ComposeAction,
    ComposeCallback,
)
from domain.registry import CertType, Track
from domain.reminders import AudienceKind, BroadcastCommand
from infra.db import models
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.reminders import world
from tests.support import registry, updates
from tests.support.clock import FixedClock, days_from_today

STAFF = updates.user(900001, "Staff Li", language_code="en")
FAR = days_from_today(1131)
_ids = itertools.count(70_000)


def in_group(sender: dict[str, Any], chat_id: int = STAFF_GROUP_ID, **content: Any) -> Update:
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": 0,
        "from": sender,
        "chat": {"id": chat_id, "type": "supergroup", "title": "desk", "is_forum": True},
        **content,
    }
    text = content.get("text", "")
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return Update.model_validate({"update_id": next(_ids), "message": message})


def group_text(text: str, sender: dict[str, Any] = STAFF, **extra: Any) -> Update:
    return in_group(sender, text=text, **extra)


def group_click(data: str, sender: dict[str, Any] = STAFF, message_id: int = 4242) -> Update:
    return Update.model_validate(
        {
            "update_id": next(_ids),
            "callback_query": {
                "id": str(next(_ids)),
                "from": sender,
                "chat_instance": "g",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": 0,
                    "chat": {"id": STAFF_GROUP_ID, "type": "supergroup", "is_forum": True},
                    "text": "composer",
                },
            },
        }
    )


def compose(action: ComposeAction, **fields: Any) -> str:
    return ComposeCallback(action=action, **fields).pack()


def buttons(request: SendMessage | EditMessageText) -> list[str]:
    markup = request.reply_markup
    if markup is None:
        return []
    return [b.callback_data or "" for row in markup.inline_keyboard for b in row]  # type: ignore[union-attr]


async def send_outbox(harness: BotHarness) -> int:
    job = next(job for job in harness.services.jobs if job.name == "send_outbox")
    return int(await job.run())  # type: ignore[call-overload]


def sent_to(harness: BotHarness, chat_id: int) -> list[Any]:
    return [
        request
        for request in harness.session.sent(SendMessage) + harness.session.sent(SendPhoto)
        if request.chat_id == chat_id
    ]


@pytest.fixture
async def trainees(database) -> dict[str, world.Trainee]:
    company = await registry.enterprise(1, "云南测试建设有限公司", "13900000009")
    await world.contact(company, 910_001)
    return {
        "b": await world.trainee(1, FAR, cert_type="safety_b"),
        "c": await world.trainee(2, FAR, cert_type="safety_c", employer=company),
        "crane": await world.trainee(3, FAR, cert_type="tower_crane"),
        "unbound": await world.trainee(4, FAR, bound=False),
    }


async def choose_all_and_write(harness: BotHarness, text: str) -> None:
    await harness.feed(group_text("/broadcast"))
    await harness.feed(group_click(compose(ComposeAction.AUDIENCE, audience=AudienceKind.ALL)))
    await harness.feed(group_text(text))


async def test_a_broadcast_is_composed_previewed_confirmed_and_delivered_to_bound_trainees(
    harness: BotHarness, trainees
):
    await harness.feed(group_text("/broadcast"))
    choose = harness.session.sent(SendMessage)[-1]
    assert "Who should receive it?" in choose.text
    assert buttons(choose) == [
        compose(ComposeAction.AUDIENCE, audience=kind) for kind in AudienceKind
    ] + [compose(ComposeAction.CANCEL)]

    await harness.feed(group_click(compose(ComposeAction.AUDIENCE, audience=AudienceKind.ALL)))
    assert (
        "send the message exactly as it should arrive"
        in harness.session.sent(EditMessageText)[-1].text
    )
    await harness.feed(group_text("The exam centre is closed on Friday <3"))

    copy, summary = harness.session.sent(SendMessage)[-2:]
    assert copy.text == "The exam centre is closed on Friday &lt;3"  # as Telegram will show it
    assert "Recipients: 3." in summary.text
    assert buttons(summary) == [compose(ComposeAction.CONFIRM), compose(ComposeAction.CANCEL)]
    assert await models.Outbox.all().count() == 0  # nothing before the confirmation

    await harness.feed(group_click(compose(ComposeAction.CONFIRM)))
    broadcast = await models.Broadcast.get()
    assert (broadcast.status, broadcast.progress_message_id) == ("running", 4242)
    progress = harness.session.sent(EditMessageText)[-1]
    assert buttons(progress) == [
        BroadcastCallback(command=BroadcastCommand.PAUSE, broadcast=broadcast.id).pack(),
        BroadcastCallback(command=BroadcastCommand.CANCEL, broadcast=broadcast.id).pack(),
    ]

    assert await send_outbox(harness) == 3
    for key in ("b", "c", "crane"):
        [message] = sent_to(harness, trainees[key].chat_id)
        assert message.text == "The exam centre is closed on Friday &lt;3"
    final = harness.session.sent(EditMessageText)[-1]
    assert final.message_id == 4242 and buttons(final) == []
    assert "3" in final.text and (await models.Broadcast.get()).status == "done"


async def test_a_photo_with_a_caption_is_broadcast_as_a_photo(harness: BotHarness, trainees):
    await harness.feed(group_text("/broadcast"))
    await harness.feed(group_click(compose(ComposeAction.AUDIENCE, audience=AudienceKind.ALL)))
    photo = [{"file_id": "PHOTO1", "file_unique_id": "u1", "width": 640, "height": 480}]
    await harness.feed(in_group(STAFF, photo=photo, caption="New timetable"))
    assert harness.session.sent(SendPhoto)[-1].photo == "PHOTO1"
    await harness.feed(group_click(compose(ComposeAction.CONFIRM)))

    await send_outbox(harness)

    [message] = sent_to(harness, trainees["b"].chat_id)
    assert isinstance(message, SendPhoto)
    assert (message.photo, message.caption) == ("PHOTO1", "New timetable")


@pytest.mark.parametrize(
    ("kind", "callback", "recipients"),
    [
        (AudienceKind.TRACK, compose(ComposeAction.TRACK, track=Track.T2), {"c", "crane"}),
        (
            AudienceKind.CERT_TYPE,
            compose(ComposeAction.CERT_TYPE, cert_type=CertType.SAFETY_B),
            {"b"},
        ),
    ],
)
async def test_an_audience_by_track_or_certificate_type_reaches_only_its_holders(
    harness: BotHarness, trainees, kind: AudienceKind, callback: str, recipients: set[str]
):
    await harness.feed(group_text("/broadcast"))
    await harness.feed(group_click(compose(ComposeAction.AUDIENCE, audience=kind)))
    await harness.feed(group_click(callback))
    await harness.feed(group_text("Hello"))
    await harness.feed(group_click(compose(ComposeAction.CONFIRM)))
    await send_outbox(harness)

    reached = {
        key for key, who in trainees.items() if who.chat_id and sent_to(harness, who.chat_id)
    }
    assert reached == recipients


async def test_an_enterprise_audience_needs_a_valid_known_credit_code(
    harness: BotHarness, trainees
):
    await harness.feed(group_text("/broadcast"))
    await harness.feed(
        group_click(compose(ComposeAction.AUDIENCE, audience=AudienceKind.ENTERPRISE))
    )
    await harness.feed(group_text("91530100MA6K0000X"))
    assert "not a valid unified social credit code" in harness.last_text()
    await harness.feed(group_text(registry.credit_code(2)))
    assert "No enterprise with that credit code" in harness.last_text()
    await harness.feed(group_text(registry.credit_code(1).lower()))
    await harness.feed(group_text("Safety day on Monday"))
    assert "Recipients: 2." in harness.last_text()  # its employee and its contact

    await harness.feed(group_click(compose(ComposeAction.CONFIRM)))
    await send_outbox(harness)
    assert sent_to(harness, trainees["c"].chat_id) and sent_to(harness, 910_001)
    assert not sent_to(harness, trainees["b"].chat_id)


async def test_overdue_trainees_are_those_past_their_deadline_without_a_pass(
    harness: BotHarness, trainees, clock: FixedClock
):
    past = clock.now() - timedelta(days=7)
    await world.studying(trainees["b"], past)
    passed = await world.studying(trainees["c"], past)
    await models.Enrolment.filter(id=passed.id).update(state="passed", active_key=None)
    await world.studying(trainees["crane"], past + timedelta(days=30))

    await harness.feed(group_text("/broadcast"))
    await harness.feed(group_click(compose(ComposeAction.AUDIENCE, audience=AudienceKind.OVERDUE)))
    await harness.feed(group_text("Apply for an extension"))
    assert "Recipients: 1." in harness.last_text()


async def test_pause_holds_the_broadcast_resume_continues_and_cancel_ends_it(
    harness: BotHarness, trainees
):
    await choose_all_and_write(harness, "Notice")
    await harness.feed(group_click(compose(ComposeAction.CONFIRM)))
    broadcast = (await models.Broadcast.get()).id

    def press(command: BroadcastCommand) -> Update:
        return group_click(BroadcastCallback(command=command, broadcast=broadcast).pack())

    await harness.feed(press(BroadcastCommand.PAUSE))
    assert harness.session.sent(AnswerCallbackQuery)[-1].text.startswith("Paused")
    assert (
        buttons(harness.session.sent(EditMessageText)[-1])[0]
        == BroadcastCallback(command=BroadcastCommand.RESUME, broadcast=broadcast).pack()
    )
    assert await send_outbox(harness) == 0

    await harness.feed(press(BroadcastCommand.RESUME))
    assert await send_outbox(harness) == 3

    await harness.feed(press(BroadcastCommand.CANCEL))
    assert "already finished" in (harness.session.sent(AnswerCallbackQuery)[-1].text or "")


async def test_a_cancelled_broadcast_sends_nothing_more(harness: BotHarness, trainees):
    await choose_all_and_write(harness, "Notice")
    await harness.feed(group_click(compose(ComposeAction.CONFIRM)))
    broadcast = (await models.Broadcast.get()).id
    cancel = BroadcastCallback(command=BroadcastCommand.CANCEL, broadcast=broadcast).pack()
    await harness.feed(group_click(cancel))

    assert await send_outbox(harness) == 0
    assert set(await models.Outbox.all().values_list("status", flat=True)) == {"cancelled"}
    assert buttons(harness.session.sent(EditMessageText)[-1]) == []


async def test_cancelling_the_composer_enqueues_nothing(harness: BotHarness, trainees):
    await choose_all_and_write(harness, "Notice")
    await harness.feed(group_click(compose(ComposeAction.CANCEL)))
    await harness.feed(group_click(compose(ComposeAction.CONFIRM)))
    assert "Nothing was sent" in harness.session.sent(EditMessageText)[-1].text
    assert await models.Broadcast.all().count() == 0 and await models.Outbox.all().count() == 0


async def test_broadcasting_is_for_the_staff_group_only(harness: BotHarness, trainees):
    trainee = updates.user(trainees["b"].chat_id, "Trainee", language_code="en")
    await harness.feed(updates.message("/broadcast", trainee))
    await harness.feed(in_group(STAFF, chat_id=-100999, text="/broadcast"))
    assert not any("Who should receive it?" in text for text in harness.session.texts())
    assert await models.Broadcast.all().count() == 0


async def test_mute_keeps_only_deadline_critical_reminders_and_unmute_restores_them(
    harness: BotHarness, trainees
):
    trainee = updates.user(trainees["b"].chat_id, "Trainee", language_code="en")

    await harness.feed(updates.message("/mute", trainee))
    assert (await models.ChatUser.get(id=trainee["id"])).muted
    assert "deadline-critical ones still come" in harness.last_text()
    assert "/unmute" in harness.last_text()

    await harness.feed(updates.message("/unmute", trainee))
    assert not (await models.ChatUser.get(id=trainee["id"])).muted
    assert "/mute" in harness.last_text()


async def test_unblocking_the_bot_makes_a_trainee_reachable_again(harness: BotHarness, trainees):
    chat_id = trainees["b"].chat_id
    await models.ChatUser.filter(id=chat_id).update(unreachable=True)
    member = {"user": {"id": 7000000001, "is_bot": True, "first_name": "jijiao"}}
    update = Update.model_validate(
        {
            "update_id": next(_ids),
            "my_chat_member": {
                "chat": {"id": chat_id, "type": "private", "first_name": "Trainee"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "Trainee"},
                "date": 0,
                "old_chat_member": {"status": "kicked", "until_date": 0, **member},
                "new_chat_member": {"status": "member", **member},
            },
        }
    )
    await harness.feed(update)
    assert not (await models.ChatUser.get(id=chat_id)).unreachable

"""Every conversation state under hostile updates (issue 9).

From each state a trainee can be in (idle, each enrolment step, after a refusal, the roster and
its search, each invoice step, the credit code before paying, the support conversation, the
application form), random updates arrive: text of every kind (unicode, huge, HTML-looking),
stickers, contacts of somebody else, photos, 2 GB documents, locations, edits, and button
presses with data of every prefix, genuine, tampered, or aimed at another trainee's things,
on current, old (inaccessible) or inline messages. Groups get the same, and the staff desk gets
staff commands with hostile arguments and tampered decision buttons.

Whatever arrives: nothing escapes the dispatcher, no handler crashes, Telegram would accept
every message the bot sends, a private message gets an answer (or goes to the support desk),
a button press is answered exactly once, the words are in the trainee's language, nobody else's
rows change, and /cancel still gets the trainee out. Updates that hit a bug already known are
counted, not failed (bot.known_bug); each known bug has a strict xfail test in test_bot_bugs.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import Update
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from infra.db import models
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.fuzz.bot import (
    OTHER_CONTENT,
    STATES,
    Trainee,
    Victim,
    apologies,
    callback_data,
    click,
    crashes,
    documents,
    edited,
    feed,
    judge,
    language_of,
    message,
    new_trainee,
    person,
    private_updates,
    rows_of_others,
    seed_victim,
    state_of,
    text,
)
from tests.fuzz.hostile import examples, hostile_text, message_text, pick

FUZZ = settings(
    max_examples=examples(150),
    deadline=None,
    # Each example builds its own trainee; shrinking replays would build others. A failure is
    # reported with every update of the example, which is short anyway.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LANGUAGES = ["zh-hans", "zh-hans", "en", None, "fr", "EN-us"]
NAMES = ["张三", "Li", "Ana María", "O'Brien", "李", "Tom & Jerry", "<3 Anna", "<b>"]


@pytest.fixture
async def victim(harness: BotHarness) -> Victim:
    return await seed_victim(harness)


async def _reach(harness: BotHarness, name: str, language: str | None, first_name: str) -> Trainee:
    setup, expected = STATES[name]
    trainee = await new_trainee(harness, language, first_name)
    session: Any = harness.session
    refused = len(session.refused)
    await setup(harness, trainee)
    reached = await state_of(harness, trainee.id, trainee.id)
    assert reached == expected, (name, session.texts()[-2:])
    assert not session.refused[refused:], (name, session.refused[refused:])
    return trainee


@FUZZ
@given(data=st.data())
async def test_every_state_survives_hostile_updates(
    harness: BotHarness, victim: Victim, i18n: Any, data: st.DataObject
):
    name = data.draw(pick(sorted(STATES)), label="state")
    language = data.draw(pick(LANGUAGES), label="language")
    trainee = await _reach(harness, name, language, data.draw(pick(NAMES), label="first name"))
    sorry = apologies(i18n)
    seen: dict[str, int] = {}
    others = await rows_of_others(trainee.id)
    shown = harness.session.message_ids(trainee.id)  # type: ignore[attr-defined]
    hostile = private_updates(trainee, victim, shown)
    updates = data.draw(st.lists(hostile, min_size=1, max_size=4))
    with crashes() as log:
        for update in updates:
            outcome = await feed(harness, update, log)
            trainee.locale = await language_of(harness, trainee.id)  # a button may switch it
            judge(update, outcome, trainee.id, trainee.locale, sorry, seen)
        assert await rows_of_others(trainee.id) == others
        # Not stuck: /cancel gets the trainee out of wherever the updates left them.
        cancel = text(trainee.user, "/cancel")
        outcome = await feed(harness, cancel, log)
        judge(cancel, outcome, trainee.id, trainee.locale, sorry, seen)
    assert await state_of(harness, trainee.id, trainee.id) is None


@FUZZ
@given(data=st.data())
async def test_buttons_of_another_trainee_change_nothing(
    harness: BotHarness, victim: Victim, i18n: Any, data: st.DataObject
):
    """A trainee (bound, with an enrolment of their own, or a stranger) presses buttons whose
    data names the victim's enrolment, order, application, receipt or face review."""
    name = data.draw(pick(["idle", "invoice_title", "application_form", "roster"]))
    trainee = await _reach(harness, name, data.draw(pick(LANGUAGES)), "张三")
    sorry = apologies(i18n)
    seen: dict[str, int] = {}
    before = await rows_of_others(trainee.id)
    presses = data.draw(st.lists(callback_data(victim), min_size=1, max_size=5))
    shown = harness.session.message_ids(trainee.id) or [1]  # type: ignore[attr-defined]
    with crashes() as log:
        for press in presses:
            on = data.draw(pick(shown) | st.integers(1, 10**6))
            update = click(trainee.user, press, message_id=on)
            outcome = await feed(harness, update, log)
            trainee.locale = await language_of(harness, trainee.id)
            judge(update, outcome, trainee.id, trainee.locale, sorry, seen)
    assert await rows_of_others(trainee.id) == before
    sent_to_victim = [
        r for r in harness.session.requests if str(getattr(r, "chat_id", "")) == str(victim.user_id)
    ]
    assert not any("login?token=" in str(getattr(r, "text", "")) for r in sent_to_victim)


# ---- groups and the staff desk ----------------------------------------------------------

FOREIGN_GROUP = {"id": -100555000, "type": "supergroup", "title": "<b>工地群</b>"}
STAFF_GROUP = {"id": STAFF_GROUP_ID, "type": "supergroup", "title": "desk", "is_forum": True}
STAFF_COMMANDS = [
    "/close",
    "/card",
    "/ban",
    "/unban",
    "/a",
    "/open",
    "/find",
    "/exam",
    "/revoke",
    "/newphoto",
    "/invoice",
    "/invoices",
    "/broadcast",
    "/courses",
    "/start",
    "/menu",
    "/web",
    "/help",
    "/pay",
    "/cancel",
]


def _in_chat(chat: dict[str, Any], thread: int | None, update: Update) -> Update:
    """The same update, in a group (and a forum topic)."""
    raw = update.model_dump(exclude_none=True)
    for key in ("message", "edited_message"):
        if key in raw:
            raw[key]["chat"] = chat
            if thread is not None:
                raw[key]["message_thread_id"] = thread
                raw[key]["is_topic_message"] = True
    if "callback_query" in raw and "message" in raw["callback_query"]:
        raw["callback_query"]["message"]["chat"] = chat
        if thread is not None:
            raw["callback_query"]["message"]["message_thread_id"] = thread
    return Update.model_validate(raw)


def group_updates(sender: dict[str, Any], victim: Victim) -> st.SearchStrategy[Update]:
    commands = st.builds(
        lambda c, args: text(sender, f"{c} {args}".strip()),
        pick(STAFF_COMMANDS),
        pick(["", "<b>", "x y", "V-901-A", "V-901-A 发错了", "JJ0", "invoice", "all"])
        | hostile_text.map(lambda t: t[:100]),
    )
    rosters = documents().map(
        lambda d: message(sender, document={**d, "file_name": (d["file_name"] or "x") + ".xlsx"})
    )
    return st.one_of(
        commands,
        commands,
        message_text.map(lambda v: text(sender, v)),
        pick(OTHER_CONTENT).map(lambda c: message(sender, **c)),
        rosters,
        message_text.map(lambda v: edited(sender, v)),
        callback_data(victim).map(lambda d: click(sender, d)),
    )


@FUZZ
@given(data=st.data())
async def test_groups_and_the_staff_desk_survive_hostile_updates(
    harness: BotHarness, victim: Victim, i18n: Any, data: st.DataObject
):
    """A group that is not the desk gets nothing it can use (no sign-in link) and changes
    nothing of anybody else's; the desk (every member is staff) survives commands with hostile
    arguments, tampered decision buttons and anything else, in a trainee's topic or outside."""
    ticket = await models.SupportTicket.get(chat_user_id=victim.user_id)
    where = data.draw(pick(["foreign group", "desk", "desk topic"]), label="where")
    chat = FOREIGN_GROUP if where == "foreign group" else STAFF_GROUP
    thread = ticket.thread_id if where == "desk topic" else None
    sender = person(
        data.draw(pick([900_001, 900_002, 400_001])), data.draw(pick(["客服小李", "<i>x"]))
    )
    sorry = apologies(i18n)
    seen: dict[str, int] = {}
    setup = data.draw(pick(["none", "rejecting", "composing"]), label="staff state")
    with crashes() as log:
        if where != "foreign group" and setup == "rejecting":
            await feed(
                harness, _in_chat(chat, thread, click(sender, f"app:no::{victim.application}")), log
            )
        elif where != "foreign group" and setup == "composing":
            await feed(harness, _in_chat(chat, thread, text(sender, "/broadcast")), log)
        before = await rows_of_others(sender["id"])
        updates = data.draw(st.lists(group_updates(sender, victim), min_size=1, max_size=3))
        for update in updates:
            placed = _in_chat(chat, thread, update)
            outcome = await feed(harness, placed, log)
            judge(placed, outcome, chat["id"], None, sorry, seen, must_answer=False)
            assert not any(
                "login?token=" in str(getattr(r, "text", "")) for r in outcome.requests
            ), "a sign-in link in a group"
    if where == "foreign group":  # (in the desk every member is staff, and staff decide)
        assert await rows_of_others(sender["id"]) == before

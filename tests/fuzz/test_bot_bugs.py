"""Bot bugs the fuzz suite found, one test each, on the exact input that showed it.

All are fixed (in 18944d9 and bc65fd4); the tests stay as regression tests and say what the bug was.
A new bug goes here as a strict xfail with a "BUG:" reason and into bot.OPEN_BUGS, so that the
fuzzers tolerate (and count) it and keep looking; both come off with the fix."""

from __future__ import annotations

from typing import Any

from aiogram.methods import SendMessage
from aiogram.types import Update

from infra.db import models
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.fuzz import bot
from tests.fuzz.bot import (
    STATES,
    Trainee,
    apologies,
    click,
    contact,
    crashes,
    feed,
    message,
    person,
    problems,
    seed_victim,
    text,
)

STAFF = bot.person(900_001, "客服小李")
DESK = {"id": STAFF_GROUP_ID, "type": "supergroup", "title": "desk", "is_forum": True}
GROUP = {"id": -100555000, "type": "supergroup", "title": "工地群"}


async def _trainee(harness: BotHarness, state: str, first_name: str = "张三") -> Trainee:
    trainee = await bot.new_trainee(harness, "zh-hans", first_name)
    await STATES[state][0](harness, trainee)
    return trainee


async def _problems(
    harness: BotHarness, i18n: Any, update: Update, chat_id: int, locale: str | None = "zh"
) -> list[str]:
    with crashes() as log:
        outcome = await feed(harness, update, log)
    # In groups the bot may stay silent; in private it must answer.
    return problems(update, outcome, chat_id, locale, apologies(i18n), must_answer=chat_id > 0)


# Found by the fuzz suite, fixed in 18944d9: callback handlers assert query.message is a Message
# (bot/handlers/enrolment.py start_individual, start_company, toggle_mine, submit_mine, ...;
# payment.py pay_from_menu, ask_invoice_title, confirm, ...; applications.py send_form): a button
# on a message older than 48 h (InaccessibleMessage) or an inline message crashes, and the errors
# router then answers the query a second time, which Telegram refuses
async def test_a_button_on_an_old_or_inline_message_is_answered_clearly(
    harness: BotHarness, i18n: Any
):
    trainee = await _trainee(harness, "idle")
    old = click(trainee.user, "enr:me:-1", where="inaccessible")
    inline = click(trainee.user, "menu:pay", where="inline")
    for press in (old, inline):
        sent = len(harness.session.requests)
        assert await _problems(harness, i18n, press, trainee.id) == []
        # Told, and given a way on: a message in the chat (the menu).
        assert any(
            isinstance(r, SendMessage) and r.chat_id == trainee.id
            for r in harness.session.requests[sent:]
        )


# Found by the fuzz suite, fixed in 18944d9: handlers answer the button first (query.answer()) and
# then raise a DomainError (bot/handlers/payment.py confirm and ask_invoice_title via ShowBill,
# enrolment.py category_is_right / category_is_wrong); bot/handlers/errors.py _tell answers the
# same query again, Telegram refuses, the refusal never reaches the trainee and the exception
# escapes the dispatcher
async def test_a_refusal_after_a_button_was_answered_still_reaches_the_trainee(
    harness: BotHarness, i18n: Any
):
    trainee = await _trainee(harness, "idle")  # not bound: nothing to pay
    for data in ("pay:ok:", "pay:inv:", "enr:cok:-1"):
        found = await _problems(harness, i18n, click(trainee.user, data), trainee.id)
        assert found == [], (data, found)


# Found by the fuzz suite, fixed in 18944d9: a button that edits its message into what it already
# shows (the roster's 'none', 'all due', the current page or 'clear search' pressed twice, the main
# menu's 'back to menu' in bot/handlers/start.py return_to_menu, enrolment.py roster_action) gets
# Telegram's 'message is not modified' error; the handler crashes and the errors router answers the
# query a second time, which escapes the dispatcher. A double tap is enough
async def test_pressing_the_same_button_twice_is_harmless(harness: BotHarness, i18n: Any):
    trainee = await _trainee(harness, "roster")
    roster = harness.session.message_ids(trainee.id)[-1]  # type: ignore[attr-defined]
    found = []
    for data in ("enr:none:-1", "enr:none:-1", "enr:pg:0"):
        update = click(trainee.user, data, message_id=roster)
        found += await _problems(harness, i18n, update, trainee.id)
    assert found == []


# Found by the fuzz suite, fixed in 18944d9: texts/common.py error_text has words only for
# 'unsupported_locale'; every other DomainError reaching bot/handlers/errors.py explain_refusal
# (e.g. EnrolmentRefused from enr:blk in enrolment.py explain_blocked for a trainee who is no
# company contact) is answered 'Sorry, something went wrong on our side', which is neither true nor
# helpful
async def test_every_refusal_is_explained_in_words(harness: BotHarness, i18n: Any):
    trainee = await _trainee(harness, "idle")
    found = await _problems(harness, i18n, click(trainee.user, "enr:blk:3"), trainee.id)
    assert found == []


# Found by the fuzz suite, fixed in 18944d9: bot/handlers/applications.py send_form does
# ApplicationKind(callback_data.kind) unchecked: a tampered app:go button with another kind raises
# ValueError (after answering, so the apology is a second answer Telegram refuses)
async def test_an_application_button_of_an_unknown_kind_is_refused_clearly(
    harness: BotHarness, i18n: Any
):
    trainee = await _trainee(harness, "idle")
    found = await _problems(harness, i18n, click(trainee.user, "app:go:refund:1"), trainee.id)
    assert found == []


# Found by the fuzz suite, fixed in 18944d9: user text goes into HTML messages unescaped: the
# roster search (texts/enrolment.py roster, query) and the invoice title, taxpayer ID and email
# (texts/payment.py bill/invoice). Telegram refuses the message; with '<' in the invoice
# details every later /pay fails too, so the trainee can never see the bill again
async def test_what_trainees_type_is_escaped_in_html_messages(harness: BotHarness, i18n: Any):
    searching = await _trainee(harness, "roster_search")
    found = await _problems(harness, i18n, text(searching.user, "<b>王"), searching.id)
    paying = await _trainee(harness, "invoice_email")
    found += await _problems(harness, i18n, text(paying.user, "<b>@qq.com"), paying.id)
    found += await _problems(harness, i18n, text(paying.user, "/pay"), paying.id)
    assert found == []


# Found by the fuzz suite, fixed in 18944d9: Telegram first names go into HTML unescaped: the
# greeting (texts/common.py greeting, from /start), the trainee card staff see
# (texts/support.py card, from /support) and the topic names listed by /open (support.py
# open_tickets): a first name such as '<3 Anna' makes Telegram refuse the greeting, the support
# topic opens without its card, and /open fails for every staff member as long as that ticket is
# open
async def test_first_names_are_escaped_in_html_messages(harness: BotHarness, i18n: Any):
    trainee = await _trainee(harness, "idle", first_name="<3 Anna")
    found = await _problems(harness, i18n, text(trainee.user, "/start"), trainee.id)
    found += await _problems(harness, i18n, text(trainee.user, "/support"), trainee.id)
    found += await _problems(harness, i18n, text(STAFF, "/open", DESK), DESK["id"], None)
    assert found == []


# Found by the fuzz suite, fixed in 18944d9: staff input goes into HTML unescaped: /revoke's
# receipt number (texts/exam.py staff_not_revoked), /close's note to the trainee
# (texts/support.py closed_for_trainee) and a roster file's name (texts/staff.py
# import_started); with '<' Telegram refuses, the trainee is never told the ticket closed
async def test_what_staff_type_is_escaped_in_html_messages(harness: BotHarness, i18n: Any):
    victim = await seed_victim(harness)
    ticket = await models.SupportTicket.get(chat_user_id=victim.user_id)
    found = []
    revoke = text(STAFF, "/revoke <JJ1> typo", DESK)  # outside any topic
    topic = {"message_thread_id": ticket.thread_id, "is_topic_message": True}
    close = bot.message(STAFF, DESK, text="/close <已解决>", **topic)  # in the trainee's topic
    for update in (revoke, close):
        found += await _problems(harness, i18n, update, DESK["id"], locale=None)
    roster = message(
        STAFF, DESK, document={"file_id": "r", "file_unique_id": "r", "file_name": "<名单>.xlsx"}
    )
    found += await _problems(harness, i18n, roster, DESK["id"], locale=None)
    assert found == []


# Found by the fuzz suite, fixed in bc65fd4: the reason staff give when rejecting an
# application went to the trainee in HTML unescaped (texts/support.py decision_for_trainee):
# with '<' in it Telegram refused the message, so the trainee was never told the application was
# rejected, nor why, while it was already marked rejected
async def test_a_rejection_reason_reaches_the_trainee(harness: BotHarness, i18n: Any):
    victim = await seed_victim(harness)
    ticket = await models.SupportTicket.get(chat_user_id=victim.user_id)
    topic = {"message_thread_id": ticket.thread_id, "is_topic_message": True}
    await harness.feed(click(STAFF, f"app:no::{victim.application}", chat=DESK))
    reason = bot.message(STAFF, DESK, text="材料不全 <缺少盖章>", **topic)
    assert await _problems(harness, i18n, reason, DESK["id"], locale=None) == []
    told = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == victim.user_id]
    assert any("缺少盖章" in t for t in told)


# Found by the fuzz suite, fixed in 18944d9: bot/handlers/start.py has no private-chat filter:
# /start and /menu in a group (the staff desk included) send the main menu, whose 📖 Study button is
# a Mini App button Telegram only allows in private chats (BUTTON_TYPE_INVALID); the handler
# crashes and the group gets 'something went wrong'
async def test_start_and_menu_in_a_group_do_not_crash(harness: BotHarness, i18n: Any):
    someone = person(400_001, "路人")
    found = []
    for chat in (GROUP, DESK):
        for command in ("/start", "/menu"):
            found += await _problems(harness, i18n, text(someone, command, chat), chat["id"], None)
    assert found == []


# Found by the fuzz suite, fixed in 18944d9: ids from callback data go to SQLite unchecked: 2**63
# in a face review or broadcast button (bot/handlers/staff_faces.py decide, broadcast.py control)
# raises OverflowError ('Python int too large to convert to SQLite INTEGER') instead of 'already
# decided' / 'no such broadcast'
async def test_an_id_beyond_64_bits_in_a_button_is_refused_clearly(harness: BotHarness, i18n: Any):
    found = []
    for data in (f"frv:ok:{2**63}", f"bcp:pause:{2**63}"):
        found += await _problems(harness, i18n, click(STAFF, data, chat=DESK), DESK["id"], None)
    assert found == []


# Found by the fuzz suite, fixed in 18944d9: bot/handlers/staff_registry.py import_roster downloads
# the roster to Path(tmp) / file_name: a name over 255 bytes (Telegram allows longer) raises
# OSError ENAMETOOLONG; staff get 'something went wrong' under 'Importing the roster…' instead of a
# refusal
async def test_a_roster_file_with_a_very_long_name_is_refused_clearly(
    harness: BotHarness, i18n: Any
):
    name = "名单" * 60 + ".xlsx"  # 365 bytes
    roster = message(
        STAFF, DESK, document={"file_id": "r", "file_unique_id": "r", "file_name": name}
    )
    assert await _problems(harness, i18n, roster, DESK["id"], locale=None) == []


# Found by the fuzz suite, fixed in bc65fd4: the main menu (its 📖 Study Mini App button is
# allowed in private chats only) was still sent into groups by /language (bot/handlers/start.py
# ask_language, then switch_language) and by '⬅️ Main menu' (return_to_menu): BUTTON_TYPE_INVALID,
# a crash, and "something went wrong" in the group
async def test_the_language_and_menu_buttons_in_a_group_do_not_crash(
    harness: BotHarness, i18n: Any
):
    someone = person(400_001, "路人")
    found = []
    for chat in (GROUP, DESK):
        found += await _problems(harness, i18n, text(someone, "/language", chat), chat["id"], None)
        # /language is a private-chat command now, so there may be no picker in the group:
        # the buttons are pressed on an older message then, as a tampered client would.
        sent = harness.session.message_ids(chat["id"])  # type: ignore[attr-defined]
        picker = sent[-1] if sent else 1
        for data in ("lang:en", "menu:home"):
            press = click(someone, data, message_id=picker, chat=chat)
            found += await _problems(harness, i18n, press, chat["id"], None)
    assert found == []


# Found by the fuzz suite, fixed in bc65fd4: /find passed its words to
# infra/repositories/support.py TortoiseTickets.find as Q(phone=...) | Q(id_number=...), which
# Tortoise validates against the columns' lengths (20, 18): a longer query (a company's full
# name) raised ValidationError and staff got "something went wrong"
async def test_staff_can_find_with_a_long_query(harness: BotHarness, i18n: Any):
    query = "/find 云南省昆明市官渡区某某建筑工程集团有限公司"
    assert await _problems(harness, i18n, text(STAFF, query, DESK), DESK["id"], None) == []


async def test_a_contact_of_somebody_else_never_binds(harness: BotHarness, i18n: Any):
    """Not a bug: the contact step refuses other people's, forwarded and garbled contacts
    with words, and no binding appears."""
    victim = await seed_victim(harness)
    sorry = apologies(i18n)
    for owner, phone, forwarded in (
        (victim.user_id, "13800000901", False),
        (None, "13800000901", False),
        ("self", "13800000901", True),
        ("self", "not a phone", False),
        ("self", "", False),
    ):
        trainee = await _trainee(harness, "ask_phone")
        update = contact(
            trainee.user, phone, trainee.id if owner == "self" else owner, forwarded=forwarded
        )
        with crashes() as log:
            outcome = await feed(harness, update, log)
        assert problems(update, outcome, trainee.id, "zh", sorry) == [], (owner, phone)
        assert not await models.Binding.filter(chat_user_id=trainee.id).exists()


# Found in the walk-through of issue 15: "I have paid: check" with an order number longer than
# the column (a tampered button, `pay:chk:` + 60 characters) went to Tortoise, which validates
# filter values against the column's length: an unhandled ValidationError and "something went
# wrong" instead of "no such order"
async def test_checking_an_order_number_longer_than_any_order_is_refused_clearly(
    harness: BotHarness, i18n: Any
):
    trainee = await _trainee(harness, "idle")
    for number in ("J" * 60, "JJ2026" + "9" * 54, "订单" * 30):
        update = click(trainee.user, f"pay:chk:{number}")
        assert await _problems(harness, i18n, update, trainee.id) == [], number

"""Driving the bot with hostile updates: builders, the conversation states to start from,
and the judge of what the bot did with one update."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
)
from aiogram.types import Update
from hypothesis import strategies as st

from bot.callbacks import (
    ApplyAction,
    EnrolAction,
    HelpTopic,
    MenuAction,
    PayAction,
    PickAction,
    ReviewAction,
)
from bot.handlers.broadcast import ComposeAction
from domain.registry import CertType, Track
from domain.reminders import AudienceKind, BroadcastCommand
from infra.db import models
from infra.db.exam_models import Receipt
from infra.db.study_models import FaceReview
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.fuzz.conftest import snapshot
from tests.fuzz.hostile import hostile_text, message_text, pick
from tests.fuzz.telegram import TelegramLikeSession
from tests.support import registry
from tests.support.clock import EPOCH, days_from_today
from tests.support.logs import ErrorRecords, collecting
from texts import common

_ids = itertools.count(50_000_000)
CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
BOT = {"id": 7000000001, "is_bot": True, "first_name": "jijiao"}


def apologies(i18n: Any) -> tuple[str, ...]:
    """The errors router's apology in every language: said for a crash, and for a refusal it
    has no words for; neither is a clear answer."""
    said = []
    for locale in ("zh_CN", "en"):
        with i18n.context(), i18n.use_locale(locale):
            said.append(common.something_went_wrong())
    return tuple(said)


# ---- updates ---------------------------------------------------------------------------------


def person(user_id: int, first_name: str = "张三", language: str | None = "zh-hans") -> dict:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language is not None:
        data["language_code"] = language
    return data


def _chat(sender: dict[str, Any], chat: dict[str, Any] | None) -> dict[str, Any]:
    return chat or {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}


def message(sender: dict, chat: dict | None = None, **content: Any) -> Update:
    payload = {
        "message_id": next(_ids),
        "date": int(EPOCH.timestamp()),
        "chat": _chat(sender, chat),
        "from": sender,
        **content,
    }
    text = payload.get("text")
    if isinstance(text, str) and text.startswith("/"):
        command = text.split()[0] if text.split() else "/"
        payload["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return Update.model_validate({"update_id": next(_ids), "message": payload})


def text(sender: dict, value: str, chat: dict | None = None) -> Update:
    return message(sender, chat, text=value)


def edited(sender: dict, value: str) -> Update:
    payload = {
        "message_id": next(_ids),
        "date": int(EPOCH.timestamp()) - 60,
        "edit_date": int(EPOCH.timestamp()),
        "chat": _chat(sender, None),
        "from": sender,
        "text": value,
    }
    return Update.model_validate({"update_id": next(_ids), "edited_message": payload})


def contact(sender: dict, phone: str, owner: int | None, forwarded: bool = False) -> Update:
    card: dict[str, Any] = {"phone_number": phone, "first_name": sender["first_name"]}
    if owner is not None:
        card["user_id"] = owner
    extra: dict[str, Any] = {"contact": card}
    if forwarded:
        extra["forward_origin"] = {"type": "hidden_user", "date": 0, "sender_user_name": "x"}
    return message(sender, **extra)


def click(
    sender: dict,
    data: str,
    *,
    message_id: int = 1,
    where: str = "message",
    chat: dict | None = None,
) -> Update:
    query: dict[str, Any] = {
        "id": str(next(_ids)),
        "from": sender,
        "chat_instance": "fuzz",
        "data": data,
    }
    chat = chat or {"id": sender["id"], "type": "private"}
    if where == "message":
        query["message"] = {
            "message_id": message_id,
            "date": int(EPOCH.timestamp()),
            "chat": chat,
            "from": BOT,
            "text": "…",
        }
    elif where == "inaccessible":  # older than 48 hours: Telegram sends no content, date 0
        query["message"] = {"message_id": message_id, "date": 0, "chat": chat}
    else:  # a button of an inline-mode message: no message at all
        query["inline_message_id"] = "AAAA-inline"
    return Update.model_validate({"update_id": next(_ids), "callback_query": query})


STICKER = {
    "file_id": "CAACAgIAAxk",
    "file_unique_id": "AgAD",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
PHOTO = [
    {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
    {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 1280},
]
DOCUMENT_NAMES = [
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "roster.xlsx",
    "名单.csv",
    "a" * 255 + ".xlsx",
    "x\u202egpj.exe",
    "",
]


def documents() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda name, size, mime: {
            "file_id": "doc",
            "file_unique_id": "d",
            "file_name": name,
            "file_size": size,
            "mime_type": mime,
        },
        pick(DOCUMENT_NAMES) | hostile_text.map(lambda t: t[:200]),
        pick([0, 1, 20 * 1024 * 1024, 2 * 1024**3, 2**53]),
        pick(["application/pdf", "image/jpeg", "application/x-msdownload", "text/html"]),
    )


OTHER_CONTENT: list[dict[str, Any]] = [
    {"sticker": STICKER},
    {"photo": PHOTO},
    {"photo": PHOTO, "caption": "<b>证件</b> & more"},
    {"location": {"latitude": 25.04, "longitude": 102.71}},
    {
        "venue": {
            "location": {"latitude": 0.0, "longitude": 0.0},
            "title": "<i>",
            "address": "&",
        },
        "location": {"latitude": 0.0, "longitude": 0.0},
    },
    {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}},
    {"video_note": {"file_id": "n", "file_unique_id": "n", "length": 240, "duration": 3}},
    {"dice": {"emoji": "🎲", "value": 6}},
    {
        "animation": {
            "file_id": "a",
            "file_unique_id": "a",
            "width": 1,
            "height": 1,
            "duration": 1,
        }
    },
]


# ---- callback data: every prefix, genuine and tampered ---------------------------------------


def callback_data(victim: Victim) -> st.SearchStrategy[str]:
    """Data of every prefix the bot packs, with fields that exist, belong to somebody else,
    or are not what the prefix expects."""
    theirs = [victim.enrolment, victim.application, victim.receipt, victim.review]
    ints = pick([-1, 0, 1, 2, 7, 99, 10**6, 2**31, 2**63, -(2**63), *theirs]).map(str)
    words = pick(["", "x", "zz", "0", "-1", "é", "%", "none", "null", "1e9", "𠜎"])
    field = ints | words | hostile_text.map(lambda t: t[:12].replace(":", ""))
    genuine = st.one_of(
        pick([f"menu:{a.value}" for a in MenuAction]),
        pick(["lang:zh_CN", "lang:en", "lang:fr", "lang:"]),
        st.builds(lambda a, i: f"enr:{a.value}:{i}", pick(list(EnrolAction)), ints),
        st.builds(
            lambda a, o: f"pay:{a.value}:{o}",
            pick(list(PayAction)),
            pick([victim.order, "", "JJ0", "JJ" + "9" * 20]),
        ),
        st.builds(lambda a, i: f"payp:{a.value}:{i}", pick(list(PickAction)), ints),
        st.builds(
            lambda a, k, i: f"app:{a.value}:{k}:{i}",
            pick(list(ApplyAction)),
            pick(["extension", "makeup", "", "x"]),
            ints,
        ),
        pick([f"help:{t.value}" for t in HelpTopic]),
        st.builds(lambda i: f"rcpt:{i}", ints),
        st.builds(lambda a, i: f"frv:{a.value}:{i}", pick(list(ReviewAction)), ints),
        st.builds(
            lambda a, k, c, t: f"bcc:{a.value}:{k}:{c}:{t}",
            pick(list(ComposeAction)),
            pick([k.value for k in AudienceKind] + [""]),
            pick([c.value for c in CertType] + [""]),
            pick([t.value for t in Track] + [""]),
        ),
        st.builds(lambda c, i: f"bcp:{c.value}:{i}", pick(list(BroadcastCommand)), ints),
    )
    prefixes = pick(["menu", "lang", "enr", "pay", "app", "help", "rcpt", "frv", "bcc", "bcp"])
    tampered = st.builds(
        lambda p, fields: ":".join([p, *fields]), prefixes, st.lists(field, max_size=5)
    )
    noise = hostile_text.map(lambda t: t[:64] or "x")
    return st.one_of(genuine, genuine, tampered, noise).map(_fit_64_bytes)


def _fit_64_bytes(data: str) -> str:
    raw = data.encode()[:64]
    return raw.decode("utf-8", "ignore") or "x"


# ---- a world with somebody to attack ---------------------------------------------------------


@dataclass
class Victim:
    """Another trainee with something of everything: enrolment, order, application, receipt,
    face review, support ticket; tampered callbacks aim at these."""

    user_id: int = 200_001
    enrolment: int = 0
    order: str = ""
    application: int = 0
    receipt: int = 0
    review: int = 0


async def seed_victim(harness: BotHarness) -> Victim:
    victim = Victim()
    who = person(victim.user_id, "被害人")
    await harness.feed(text(who, "/support"))  # a ticket with a topic
    holder = await registry.person(901, "被害人", "13800000901")
    await models.Binding.create(chat_user_id=victim.user_id, person=holder)
    now = harness.services.handlers["clock"].now()
    overdue = await registry.certificate(holder, "V-901-A", "safety_b", days_from_today(124))
    enrolment = await registry.enrolment(
        overdue,
        victim.user_id,
        "overdue",
        paid_at=now - timedelta(days=40),
        study_deadline=now - timedelta(days=10),
    )
    victim.enrolment = enrolment.id
    application = await models.Application.create(
        kind="extension", enrolment=enrolment, chat_user_id=victim.user_id, form_file_id="f"
    )
    victim.application = application.id
    receipt = await Receipt.create(
        enrolment=enrolment, number="JJ20261127000901", score=90, hours=24, passed_at=now
    )
    victim.receipt = receipt.id
    review = await FaceReview.create(
        chat_user_id=victim.user_id, enrolment=enrolment, check_ids=[], created_at=now
    )
    victim.review = review.id
    due = await registry.certificate(holder, "V-901-B", "safety_b", days_from_today(124))
    await registry.enrolment(due, victim.user_id, "enrolled")
    await models.InvoiceProfile.create(chat_user_id=victim.user_id, title="被害人")
    order = await harness.services.handlers["place_order"](victim.user_id)
    victim.order = order.number
    return victim


OTHERS_TABLES = (
    "binding",
    "support_request",
    "lesson_progress",
    "exam_attempt",
    "payment_order",
    "application",
    "face_review",
    "face_check",
    "support_ticket",
    "invoice_profile",
    "enterprise_contact",
)


async def rows_of_others(user_id: int) -> dict[str, Any]:
    """What belongs to everybody but `user_id`: no update of theirs may change it."""
    rows = await snapshot(OTHERS_TABLES)
    result = {
        name: [r for r in table if r.get("chat_user_id") != user_id] for name, table in rows.items()
    }
    enrolments = await snapshot(("enrolment", "receipt"))
    result["enrolment"] = [r for r in enrolments["enrolment"] if r["enrolled_by"] != user_id]
    result["receipt"] = enrolments["receipt"]
    return result


# ---- conversation states ----------------------------------------------------------------------

_people = itertools.count(100)


@dataclass
class Trainee:
    user: dict[str, Any]
    seq: int
    phone: str
    locale: str  # "zh" or "en": what the answers must be in

    @property
    def id(self) -> int:
        return int(self.user["id"])

    @property
    def id_number(self) -> str:
        """Valid and unique however many trainees a long run makes (the sequence part of an
        ID number has three digits; the birth month takes the thousands)."""
        return registry.id_number(self.seq, born=f"1985{(self.seq // 1000) % 12 + 1:02d}12")


async def new_trainee(harness: BotHarness, language: str | None, first_name: str) -> Trainee:
    seq = next(_people)
    user = person(300_000 + seq, first_name, language)
    locale = "en" if language and language.lower().replace("_", "-").split("-")[0] == "en" else "zh"
    return Trainee(user, seq, f"1380000{seq:04d}", locale)


async def _registered(t: Trainee) -> None:
    holder = await registry.holder(t.id_number, "学员", t.phone)
    await registry.certificate(holder, f"F-{t.seq}-1", "safety_b", days_from_today(124))
    await registry.certificate(
        holder, f"F-{t.seq}-2", "site_pro", days_from_today(215), category="土建"
    )


async def _bound(t: Trainee, state: str = "enrolled") -> models.Enrolment:
    holder = await registry.holder(t.id_number, "学员", t.phone)
    await models.Binding.create(chat_user_id=t.id, person=holder)
    cert = await registry.certificate(holder, f"F-{t.seq}-1", "safety_b", days_from_today(124))
    now = EPOCH
    paid = state in {"overdue", "studying"}
    return await registry.enrolment(
        cert,
        t.id,
        state,
        paid_at=now - timedelta(days=40) if paid else None,
        study_deadline=now - timedelta(days=10) if paid else None,
    )


async def _company(t: Trainee, contact: bool) -> None:
    company = await registry.enterprise(t.seq, f"云南{t.seq}建设有限公司", t.phone)
    for n in range(3):
        worker = await registry.holder(
            registry.id_number(n, region=f"53{t.seq % 10_000:04d}"),
            f"工人{n}",
            f"13711{t.seq % 1000:03d}{n:03d}",
        )
        await registry.certificate(
            worker, f"W-{t.seq}-{n}", "safety_b", days_from_today(93), employer=company
        )
    if contact:
        await models.EnterpriseContact.create(chat_user_id=t.id, enterprise=company)


Setup = Callable[[BotHarness, Trainee], Awaitable[None]]


async def _idle(h: BotHarness, t: Trainee) -> None:
    return None


async def _ask_id(h: BotHarness, t: Trainee) -> None:
    await h.feed(click(t.user, f"enr:{EnrolAction.MYSELF.value}:-1"))


async def _ask_name(h: BotHarness, t: Trainee) -> None:
    await _ask_id(h, t)
    await h.feed(text(t.user, t.id_number))


async def _ask_phone(h: BotHarness, t: Trainee) -> None:
    await _registered(t)
    await _ask_name(h, t)
    await h.feed(text(t.user, "学员"))


async def _choosing(h: BotHarness, t: Trainee) -> None:
    await _ask_phone(h, t)
    await h.feed(contact(t.user, t.phone, t.id))


async def _refused(h: BotHarness, t: Trainee) -> None:
    await _ask_phone(h, t)
    await h.feed(contact(t.user, "13999999999", t.id))  # not the registered phone


async def _ask_credit_code(h: BotHarness, t: Trainee) -> None:
    await h.feed(click(t.user, f"enr:{EnrolAction.COMPANY.value}:-1"))


async def _ask_company_phone(h: BotHarness, t: Trainee) -> None:
    await _company(t, contact=False)
    await _ask_credit_code(h, t)
    await h.feed(text(t.user, registry.credit_code(t.seq)))


async def _roster(h: BotHarness, t: Trainee) -> None:
    await _ask_company_phone(h, t)
    await h.feed(contact(t.user, t.phone, t.id))


async def _searching(h: BotHarness, t: Trainee) -> None:
    await _roster(h, t)
    await h.feed(click(t.user, f"enr:{EnrolAction.SEARCH.value}:-1"))


async def _invoice_title(h: BotHarness, t: Trainee) -> None:
    await _bound(t)
    await h.feed(text(t.user, "/pay"))
    await h.feed(click(t.user, f"pay:{PayAction.INVOICE.value}:"))


async def _invoice_taxpayer(h: BotHarness, t: Trainee) -> None:
    await _invoice_title(h, t)
    await h.feed(text(t.user, "学员"))


async def _invoice_email(h: BotHarness, t: Trainee) -> None:
    await _invoice_taxpayer(h, t)
    await h.feed(text(t.user, registry.credit_code(t.seq)))


async def _credit_code_again(h: BotHarness, t: Trainee) -> None:
    await _company(t, contact=True)
    company = await models.Enterprise.get(credit_code=registry.credit_code(t.seq))
    worker = await models.Certificate.filter(enterprise=company).first()
    assert worker is not None
    await models.Enrolment.create(
        certificate=worker,
        active_key=worker.number,
        channel="enterprise",
        enterprise=company,
        enrolled_by=t.id,
        state="enrolled",
    )
    await h.feed(click(t.user, f"pay:{PayAction.CONFIRM.value}:"))


async def _support(h: BotHarness, t: Trainee) -> None:
    await h.feed(text(t.user, "/support"))


async def _applying(h: BotHarness, t: Trainee) -> None:
    enrolment = await _bound(t, state="overdue")
    await h.feed(click(t.user, f"app:{ApplyAction.START.value}:extension:{enrolment.id}"))


STATES: dict[str, tuple[Setup, str | None]] = {
    # name: (how to get there, the FSM state it must be in afterwards)
    "idle": (_idle, None),
    "ask_id_number": (_ask_id, "Individual:id_number"),
    "ask_name": (_ask_name, "Individual:name"),
    "ask_phone": (_ask_phone, "Individual:phone"),
    "choosing_certificates": (_choosing, "Individual:choosing"),
    "after_a_refusal": (_refused, None),
    "ask_credit_code": (_ask_credit_code, "Company:credit_code"),
    "ask_company_phone": (_ask_company_phone, "Company:phone"),
    "roster": (_roster, "Company:choosing"),
    "roster_search": (_searching, "Company:searching"),
    "invoice_title": (_invoice_title, "Paying:title"),
    "invoice_taxpayer": (_invoice_taxpayer, "Paying:taxpayer"),
    "invoice_email": (_invoice_email, "Paying:email"),
    "credit_code_again": (_credit_code_again, "Paying:credit_code"),
    "support_conversation": (_support, None),
    "application_form": (_applying, "Applying:form"),
}


async def language_of(harness: BotHarness, user_id: int) -> str:
    """What the bot must speak to this person now: their account's language."""
    account = await harness.accounts.get(user_id)  # type: ignore[arg-type]
    return "en" if account is not None and account.locale.value == "en" else "zh"


async def state_of(harness: BotHarness, chat_id: int, user_id: int) -> str | None:
    key = StorageKey(bot_id=harness.bot.id, chat_id=chat_id, user_id=user_id)
    return await harness.dispatcher.storage.get_state(key)


# ---- judging one update ------------------------------------------------------------------------


class Crashes(ErrorRecords):
    """The errors router logs every exception a handler let out."""


def crashes() -> AbstractContextManager[Crashes]:
    return collecting(Crashes(), ("bot.handlers.errors", "aiogram.event"))


@dataclass
class Outcome:
    """What the bot did with one update."""

    requests: list[Any]
    refused: list[Any]
    crashed: list[logging.LogRecord]
    raised: BaseException | None


async def feed(harness: BotHarness, update: Update, log: Crashes) -> Outcome:
    session = harness.session
    assert isinstance(session, TelegramLikeSession)
    start_requests, start_refused = len(session.requests), len(session.refused)
    log.records.clear()
    raised = None
    try:
        await harness.feed(update)
    except Exception as error:  # what escaped the dispatcher
        raised = error
    return Outcome(
        session.requests[start_requests:],
        session.refused[start_refused:],
        list(log.records),
        raised,
    )


def _texts_to(outcome: Outcome, chat_id: int) -> list[str]:
    found = []
    for r in outcome.requests:
        if isinstance(r, SendMessage | EditMessageText) and str(r.chat_id) == str(chat_id):
            found.append(r.text)
        elif isinstance(r, SendPhoto | SendDocument) and str(r.chat_id) == str(chat_id):
            if r.caption:
                found.append(r.caption)
    return found


def problems(
    update: Update,
    outcome: Outcome,
    chat_id: int,
    locale: str | None,
    sorry: tuple[str, ...],
    *,
    must_answer: bool = True,
) -> list[str]:
    """What went wrong with one update: something escaped the dispatcher, a handler crashed,
    Telegram refused what the bot sent, the bot apologised instead of answering, a button press
    was not answered exactly once, a message went unanswered (and was not relayed to staff), or
    the words were not in the person's language (locale None: not checked)."""
    found = []
    if outcome.raised is not None:
        found.append(f"escaped {outcome.raised!r}")
    # "Not modified" is Telegram's answer to an edit that changes nothing (a double tap): a
    # bot may try and shrug it off. Any other refusal is a message nobody received.
    found += [
        f"Telegram refused {r.method}: {r.description}"
        for r in outcome.refused
        if "message is not modified" not in r.description
    ]
    found += [f"crashed {r.exc_info[1]!r}" for r in outcome.crashed if r.exc_info]
    texts = _texts_to(outcome, chat_id)
    answers = [r for r in outcome.requests if isinstance(r, AnswerCallbackQuery)]
    said = texts + [a.text or "" for a in answers]
    found += [f"apologised: {t[:80]!r}" for t in said if any(s in t for s in sorry)]
    worded: list[str] = []
    if update.callback_query is not None:
        mine = [a for a in answers if a.callback_query_id == update.callback_query.id]
        if len(mine) != 1:
            found.append(f"{len(mine)} answers to the button press")
        worded = [a.text for a in mine if a.text]
    elif update.message is not None and must_answer:
        to_chat = [
            r
            for r in outcome.requests
            if str(getattr(r, "chat_id", "")) == str(chat_id)
            and isinstance(r, SendMessage | SendPhoto | SendDocument | CopyMessage)
        ]
        relayed = [
            r
            for r in outcome.requests
            if isinstance(r, CopyMessage) and str(r.chat_id) == str(STAFF_GROUP_ID)
        ]
        if not to_chat and not relayed:
            found.append("no answer")
    for line in texts + worded:
        if locale == "zh" and not CJK.search(line):
            found.append(f"not in Chinese: {line[:80]!r}")
        if locale == "en" and not LATIN_WORD.search(re.sub(r"<[^>]+>", "", line)):
            found.append(f"not in English: {line[:80]!r}")
    return found


# Bugs still open, each with its strict xfail test in test_bot_bugs.py: an update that hits one
# is tolerated by the fuzzers (and counted) so that they keep looking for new ones; when the fix
# lands, the xfail test XPASSes and the entry comes out. Every bot bug this suite found so far is
# fixed (their tests are regression tests now), so there is none. An entry is a name (the xfail
# test) and a test of the update's outcome, e.g.
#   "test_...": lambda outcome: any("can't parse entities" in r.description ...),
OPEN_BUGS: dict[str, Callable[[Outcome], bool]] = {}


def known_bug(update: Update, outcome: Outcome, found: list[str]) -> str | None:
    """Which open bug explains the problems of this update, if one does."""
    return next((name for name, hit in OPEN_BUGS.items() if hit(outcome)), None)


def judge(
    update: Update,
    outcome: Outcome,
    chat_id: int,
    locale: str | None,
    sorry: tuple[str, ...],
    seen: dict[str, int],
    *,
    must_answer: bool = True,
) -> None:
    found = problems(update, outcome, chat_id, locale, sorry, must_answer=must_answer)
    if not found:
        return
    known = known_bug(update, outcome, found)
    assert known is not None, f"{_describe(update)}: {found}"
    seen[known] = seen.get(known, 0) + 1


def _describe(update: Update) -> str:
    if update.callback_query is not None:
        message = update.callback_query.message
        kind = type(message).__name__ if message is not None else "inline"
        return f"click {update.callback_query.data!r} on {kind}"
    message = update.message or update.edited_message
    if message is None:
        return "update"
    content = message.text or message.caption or message.content_type
    prefix = "edited " if update.edited_message is not None else ""
    return f"{prefix}message {str(content)[:80]!r} in {message.chat.type}"


def private_updates(
    trainee: Trainee, victim: Victim, shown: list[int]
) -> st.SearchStrategy[Update]:
    """`shown`: the ids of the messages the bot sent the trainee, whose buttons are there to
    press (again); other ids are messages long gone."""
    user = trainee.user
    last = (pick(shown) if shown else st.nothing()) | st.integers(1, 10_000)
    return st.one_of(
        message_text.map(lambda v: text(user, v)),
        message_text.map(lambda v: text(user, v)),
        pick(OTHER_CONTENT).map(lambda c: message(user, **c)),
        documents().map(lambda d: message(user, document=d, caption="<b>")),
        st.builds(
            lambda phone, owner, fwd: contact(user, phone, owner, fwd),
            pick([trainee.phone, "+86 138-0000-0001", "abc", "", "+" * 30, "１３８００００"])
            | hostile_text.map(lambda t: t[:30] or "0"),
            pick([trainee.id, victim.user_id, None, 0, -1, 2**40]),
            st.booleans(),
        ),
        message_text.map(lambda v: edited(user, v)),
        st.builds(
            lambda data, where, mid: click(user, data, message_id=mid, where=where),
            callback_data(victim),
            pick(["message", "message", "message", "inaccessible", "inline"]),
            last,
        ),
    )

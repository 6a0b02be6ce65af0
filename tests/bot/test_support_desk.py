"""Staff-only features stay staff-only, and one decision counts however fast staff click."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiogram.methods import (
    AnswerCallbackQuery,
    CloseForumTopic,
    EditMessageText,
    SendMessage,
)
from aiogram.types import Update

from bot.callbacks import ApplyAction, ApplyCallback
from domain.calendar import add_months
from infra.db import models
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.support import registry, updates
from tests.support.clock import TODAY, FixedClock

TRAINEE = updates.user(100081, "钱十二")
STAFF = updates.user(900001, "客服小李")
in_four_months = add_months(TODAY, 4)
in_six_months = add_months(TODAY, 6)


def group_message(
    text: str, sender: dict[str, Any], thread_id: int | None = None, chat_id: int = STAFF_GROUP_ID
) -> Update:
    payload: dict[str, Any] = {
        "message_id": 5000 + len(text),
        "date": 0,
        "text": text,
        "from": sender,
        "chat": {"id": chat_id, "type": "supergroup", "title": "desk", "is_forum": True},
    }
    if thread_id is not None:
        payload["message_thread_id"] = thread_id
        payload["is_topic_message"] = True
    if text.startswith("/"):
        payload["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return Update.model_validate({"update_id": 9000 + len(text), "message": payload})


def group_click(data: str, sender: dict[str, Any], thread_id: int) -> Update:
    return Update.model_validate(
        {
            "update_id": 9999,
            "callback_query": {
                "id": f"cb{sender['id']}",
                "from": sender,
                "chat_instance": "g",
                "data": data,
                "message": {
                    "message_id": 77,
                    "date": 0,
                    "message_thread_id": thread_id,
                    "is_topic_message": True,
                    "chat": {"id": STAFF_GROUP_ID, "type": "supergroup", "is_forum": True},
                    "text": "card",
                },
            },
        }
    )


@pytest.fixture
async def ticket(harness: BotHarness) -> models.SupportTicket:
    await harness.feed(updates.message("/support", TRAINEE))
    return await models.SupportTicket.get(chat_user_id=TRAINEE["id"])


async def test_a_trainee_typing_staff_commands_in_private_gets_nothing_staff_only(
    harness: BotHarness, ticket
):
    for command in ("/close", "/ban", "/open", "/find 张三", "/card"):
        await harness.feed(updates.message(command, TRAINEE))
    await ticket.refresh_from_db()
    assert ticket.status == "open" and not ticket.banned
    assert not harness.session.sent(CloseForumTopic)
    sent_to_trainee = [
        m.text for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]
    ]
    assert not any("未关闭的工单" in t or "学员卡片" in t for t in sent_to_trainee)


async def test_staff_commands_from_another_group_are_ignored(harness: BotHarness, ticket):
    await harness.feed(group_message("/close", STAFF, ticket.thread_id, chat_id=-100999))
    await ticket.refresh_from_db()
    assert ticket.status == "open"


async def test_staff_close_the_ticket_and_the_trainee_is_told(harness: BotHarness, ticket):
    await harness.feed(group_message("/close 已解决", STAFF, ticket.thread_id))
    await ticket.refresh_from_db()
    assert ticket.status == "closed"
    told = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]]
    assert any("已解决" in t for t in told)


async def test_a_banned_trainee_is_told_how_to_appeal_and_not_relayed(harness, ticket):
    await harness.feed(group_message("/ban", STAFF, ticket.thread_id))
    relayed_before = await models.RelayedMessage.all().count()
    await harness.feed(updates.message("你好？", TRAINEE))
    assert "0871-63122229" in harness.last_text()
    assert await models.RelayedMessage.all().count() == relayed_before
    assert await models.AuditLog.filter(action="ban").exists()


async def test_a_staff_reply_at_telegrams_length_limit_reaches_the_trainee_whole(
    harness: BotHarness, ticket
):
    from aiogram.methods import CopyMessage

    await harness.feed(group_message("长" * 4096, STAFF, ticket.thread_id))
    to_trainee = [m for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]]
    copied = [m for m in harness.session.sent(CopyMessage) if m.chat_id == TRAINEE["id"]]
    # No room for the label in the message: it comes just before, and the words whole.
    assert to_trainee[-1].text == "客服：" and len(copied) == 1


async def test_staff_notes_starting_with_slashes_stay_internal(harness: BotHarness, ticket):
    await harness.feed(group_message("// 内部：先查登记库", STAFF, ticket.thread_id))
    assert not await models.RelayedMessage.filter(direction="out").exists()


async def extension_pending(
    n: int, name: str, trainee_id: int, clock: FixedClock
) -> tuple[models.Enrolment, models.Application]:
    """An enrolment 10 days past its study window, with an extension application waiting."""
    person = await registry.person(n, name, f"138000000{n:02d}")
    cert = await registry.certificate(person, f"B-{n}", "safety_b", in_four_months)
    enrolment = await registry.enrolment(
        cert,
        trainee_id,
        "overdue",
        paid_at=clock.now() - timedelta(days=40),
        study_deadline=clock.now() - timedelta(days=10),
    )
    application = await models.Application.create(
        kind="extension", enrolment=enrolment, chat_user_id=trainee_id, form_file_id="f"
    )
    return enrolment, application


async def test_an_approval_that_fails_half_way_leaves_nothing_half_done(
    harness: BotHarness, ticket, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
):
    enrolment, application = await extension_pending(84, "孙十四", TRAINEE["id"], clock)
    deadline = enrolment.study_deadline

    async def audit_log_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionResetError("the database went away before the audit entry")

    monkeypatch.setattr(models.AuditLog, "create", audit_log_down)
    approve = ApplyCallback(action=ApplyAction.APPROVE, item=application.id).pack()
    await harness.feed(group_click(approve, STAFF, ticket.thread_id))
    # Nothing approved without its audit entry, no window opened: staff can press again.
    await application.refresh_from_db()
    await enrolment.refresh_from_db()
    assert application.status == "pending" and application.decided_by is None
    assert enrolment.study_deadline == deadline and enrolment.state == "overdue"
    told = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]]
    assert not any("延期申请已批准" in t for t in told)

    monkeypatch.undo()
    await harness.feed(group_click(approve, STAFF, ticket.thread_id))
    await application.refresh_from_db()
    assert application.status == "approved"
    assert await models.AuditLog.filter(action="application_approved").count() == 1


async def test_two_staff_deciding_at_once_one_decision_counts(
    harness: BotHarness, ticket, clock: FixedClock
):
    now = clock.now()
    enrolment, application = await extension_pending(81, "钱十二", TRAINEE["id"], clock)
    approve = ApplyCallback(action=ApplyAction.APPROVE, item=application.id).pack()
    other = updates.user(900002, "客服小王")
    await asyncio.gather(
        harness.feed(group_click(approve, STAFF, ticket.thread_id)),
        harness.feed(group_click(approve, other, ticket.thread_id)),
    )
    answers = [a.text for a in harness.session.sent(AnswerCallbackQuery)]
    assert sorted(answers) == ["已批准。", "已有其他工作人员处理了这份申请。"]
    told = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]]
    assert sum("延期申请已批准" in t for t in told) == 1
    await enrolment.refresh_from_db()
    assert enrolment.study_deadline is not None
    assert enrolment.study_deadline > now + timedelta(days=29)
    assert await models.AuditLog.filter(action="application_approved").count() == 1

    # The card keeps the trace: the decision, who made it and when, and no buttons left.
    [edited] = harness.session.sent(EditMessageText)
    decider = "客服小李" if "客服小李" in edited.text else "客服小王"
    assert f"✅ 由 {decider} 于 " in edited.text and "批准" in edited.text
    assert edited.reply_markup is None
    # Pressing again is answered as theirs, not as someone else's decision.
    again = STAFF if decider == "客服小李" else other
    await harness.feed(group_click(approve, again, ticket.thread_id))
    assert harness.session.sent(AnswerCallbackQuery)[-1].text == "您已批准这份申请。"


async def test_an_english_trainee_hears_a_rejection_in_english_with_the_reason(
    harness: BotHarness, clock: FixedClock
):
    trainee = updates.user(100083, "Li", "en")
    await harness.feed(updates.message("/support", trainee))
    ticket = await models.SupportTicket.get(chat_user_id=trainee["id"])
    _, application = await extension_pending(83, "李十三", trainee["id"], clock)
    reject = ApplyCallback(action=ApplyAction.REJECT, item=application.id).pack()
    await harness.feed(group_click(reject, STAFF, ticket.thread_id))
    await harness.feed(group_message("表格没有签字", STAFF, ticket.thread_id))

    told = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == trainee["id"]]
    assert "not approved" in told[-1] and "表格没有签字" in told[-1]
    assert not any("驳回" in t for t in told)
    [edited] = harness.session.sent(EditMessageText)
    assert "❌ 由 客服小李 于 " in edited.text and "表格没有签字" in edited.text


async def test_a_rejection_with_a_very_long_reason_still_fits_the_card(
    harness: BotHarness, ticket, clock: FixedClock
):
    """Found by the fuzz suite: card + decision past Telegram's 4,096 characters was refused
    ('message is too long'), so the card kept its buttons."""
    _, application = await extension_pending(85, "吴十七", TRAINEE["id"], clock)
    reject = ApplyCallback(action=ApplyAction.REJECT, item=application.id).pack()
    await harness.feed(group_click(reject, STAFF, ticket.thread_id))
    await harness.feed(group_message("长" * 4000, STAFF, ticket.thread_id))

    [edited] = harness.session.sent(EditMessageText)
    assert len(edited.text) <= 4096 and "长" * 200 + "…" in edited.text
    told = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]]
    assert "长" * 1000 in told[-1]  # the trainee hears more of it than the card shows


async def test_stats_gives_counts_a_chart_and_the_spreadsheet(harness: BotHarness, ticket):
    import io

    from aiogram.methods import SendDocument, SendPhoto
    from openpyxl import load_workbook

    person = await registry.person(82, "孙十四", "13800000082")
    cert = await registry.certificate(person, "B-82", "safety_b", in_four_months)
    await registry.enrolment(cert, 1, "enrolled")
    await harness.feed(group_message("/stats", STAFF))

    overview = next(m.text for m in harness.session.sent(SendMessage) if "概况" in m.text)
    assert "已报名，待缴费：1" in overview.replace(": ", "：")
    assert "未关闭的工单：1" in overview
    assert harness.session.sent(SendPhoto)
    [document] = harness.session.sent(SendDocument)
    sheet = load_workbook(io.BytesIO(document.document.data)).active  # type: ignore[union-attr]
    rows = list(sheet.iter_rows(values_only=True))
    from domain.masking import mask_id_number

    assert rows[1][0] == "孙十四" and rows[1][1] == mask_id_number(registry.id_number(82))


async def test_an_enterprise_applies_for_several_employees_in_one_go(
    harness: BotHarness, clock: FixedClock
):
    from aiogram.methods import SendDocument

    boss = updates.user(100095, "王经理")
    company = await registry.enterprise(95, "云南延期建设有限公司", "13900000095")
    await models.EnterpriseContact.create(chat_user_id=boss["id"], enterprise=company)
    now = clock.now()
    for n in range(2):
        worker = await registry.person(950 + n, f"工人{n}", f"1370000950{n}")
        cert = await registry.certificate(
            worker, f"B-95{n}", "safety_b", in_six_months, employer=company
        )
        await models.Enrolment.create(
            certificate=cert,
            active_key=cert.number,
            channel="enterprise",
            enterprise=company,
            enrolled_by=boss["id"],
            state="overdue",
            paid_at=now - timedelta(days=31),
            study_deadline=now - timedelta(days=1),
        )
    await harness.feed(updates.message("/apply", boss))
    offer = harness.session.sent(SendMessage)[-1]
    [all_button] = [
        b
        for row in offer.reply_markup.inline_keyboard
        for b in row  # type: ignore[union-attr]
        if "全部 2" in b.text
    ]
    await harness.feed(updates.click(all_button.callback_data, boss))
    [form] = harness.session.sent(SendDocument)
    assert form.document.filename == "extension-application.docx"  # type: ignore[union-attr]

    document = {"file_id": "filled", "file_unique_id": "u", "file_name": "filled.docx"}
    await harness.feed(updates.message("", boss, document=document))
    filed = await models.Application.filter(chat_user_id=boss["id"])
    # Filed at the app's clock's time: the console sorts and shows it beside the decision's.
    assert len(filed) == 2 and {a.created_at for a in filed} == {clock.now()}
    assert "已收到：申请 #" in harness.last_text() and ", #" in harness.last_text()
    cards = [d for d in harness.session.sent(SendDocument) if d.chat_id == STAFF_GROUP_ID]
    assert len(cards) == 2 and all("工人" in (c.caption or "") for c in cards)

    # Decided: the contact hears which employee it is about, the employee hears it too.
    employee = 100961
    await models.Binding.create(chat_user_id=employee, person=await models.Person.get(name="工人0"))
    application = await models.Application.get(
        chat_user_id=boss["id"], enrolment__certificate__person__name="工人0"
    )
    ticket = await models.SupportTicket.get(chat_user_id=boss["id"])
    approve = ApplyCallback(action=ApplyAction.APPROVE, item=application.id).pack()
    await harness.feed(group_click(approve, STAFF, ticket.thread_id))
    to_boss = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == boss["id"]]
    to_employee = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == employee]
    assert to_boss[-1].startswith("关于 工人0 · ") and "延期申请已批准" in to_boss[-1]
    assert len(to_employee) == 1 and to_employee[0].startswith("✅ 您的延期申请已批准")


async def test_a_trainee_edit_is_shown_in_the_topic(harness: BotHarness, ticket):
    from aiogram.methods import EditMessageText

    message = updates.message("我的证书号是 B-1", TRAINEE)
    await harness.feed(message)
    edited = message.message.model_copy(update={"text": "我的证书号是 B-2", "edit_date": 1})  # type: ignore[union-attr]
    await harness.feed(
        Update.model_validate({"update_id": 777, "edited_message": edited.model_dump()})
    )
    [edit] = harness.session.sent(EditMessageText)
    assert edit.chat_id == STAFF_GROUP_ID and "B-2" in edit.text


async def test_canned_answers_open_tickets_and_find_for_staff(harness: BotHarness, ticket):
    person = await registry.person(83, "钱十二", "13800000083")
    await models.Binding.create(chat_user_id=TRAINEE["id"], person=person)
    await harness.feed(group_message("/a invoice", STAFF, ticket.thread_id))
    told = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]]
    assert any("3 到 5 个工作日" in t for t in told)

    await harness.feed(group_message("/open", STAFF))
    assert f"#{ticket.id}" in harness.last_text()
    await harness.feed(group_message("/find 钱十二", STAFF))
    found = harness.last_text()
    assert "138****0083" in found and registry.id_number(83) not in found


async def test_a_trainee_flooding_the_desk_is_told_once_and_every_message_reaches_staff(
    harness: BotHarness, ticket
):
    for n in range(30):
        await harness.feed(updates.message(f"在吗 {n}", TRAINEE))
    told = [t for t in harness.session.texts() if "按顺序" in t]
    assert len(told) == 1 and "丢失" not in told[0]
    assert await models.RelayedMessage.filter(direction="in").count() == 30
    assert not await models.DeskQueue.exists()


async def test_messages_left_queued_by_a_stopped_sender_reach_the_topic_on_the_next_sweep(
    harness: BotHarness, ticket, clock
):
    """A process killed while relaying leaves its claim and its rows: the claim runs out, the
    sweep job sends the rows in order."""
    tickets = harness.services.handlers["desk"].tickets
    for message_id in (501, 502):
        await tickets.queue(TRAINEE["id"], message_id, f"第{message_id}条", clock.now())
    await tickets.claim_relay(TRAINEE["id"], clock.now(), clock.now() + timedelta(minutes=2))
    [sweep] = [job for job in harness.services.jobs if job.name == "relay_support_messages"]

    clock.advance(minutes=1)
    await sweep.run()
    assert await models.DeskQueue.filter(chat_user_id=TRAINEE["id"]).count() == 2  # still claimed
    clock.advance(minutes=2)
    await sweep.run()

    assert not await models.DeskQueue.exists()
    [burst] = [t for t in harness.session.texts() if "第501条" in t]
    assert burst.index("第501条") < burst.index("第502条")


async def test_a_form_sent_as_a_photo_reaches_staff_as_a_photo_card(
    harness: BotHarness, clock: FixedClock
):
    from aiogram.methods import SendPhoto

    trainee = updates.user(100096, "褚十五")
    person = await registry.person(96, "褚十五", "13800000096")
    await models.Binding.create(chat_user_id=trainee["id"], person=person)
    cert = await registry.certificate(person, "B-96", "safety_b", in_four_months)
    now = clock.now()
    enrolment = await registry.enrolment(
        cert,
        trainee["id"],
        "overdue",
        paid_at=now - timedelta(days=31),
        study_deadline=now - timedelta(days=1),
    )
    start = ApplyCallback(action=ApplyAction.START, kind="extension", item=enrolment.id)
    await harness.feed(updates.click(start.pack(), trainee))
    photo = [{"file_id": "form-photo", "file_unique_id": "p", "width": 800, "height": 1200}]
    await harness.feed(updates.message("", trainee, photo=photo, caption="我住院了两周。"))

    [card] = [p for p in harness.session.sent(SendPhoto) if p.chat_id == STAFF_GROUP_ID]
    assert card.photo == "form-photo" and "B-96" in (card.caption or "")
    assert card.reply_markup is not None
    # What the trainee wrote with the form reaches staff with it.
    assert "学员留言：我住院了两周。" in (card.caption or "")


async def test_staff_commands_typed_in_a_trainees_topic_are_answered_not_relayed(
    harness: BotHarness, ticket
):
    before = len(harness.session.sent(SendMessage))
    await harness.feed(group_message("/courses", STAFF, ticket.thread_id))

    [answer] = harness.session.sent(SendMessage)[before:]
    assert answer.chat_id == STAFF_GROUP_ID and answer.message_thread_id == ticket.thread_id
    assert not await models.RelayedMessage.filter(direction="out").exists()


async def test_staff_see_an_english_trainee_by_name_in_their_own_language(harness: BotHarness):
    from aiogram.methods import CreateForumTopic

    trainee = updates.user(100084, "Tom", "en")
    person = await registry.person(84, "周十六", "13800000084")
    await models.Binding.create(chat_user_id=trainee["id"], person=person)
    cert = await registry.certificate(person, "B-84", "safety_b", in_four_months)
    await registry.enrolment(cert, 1, "enrolled")
    await harness.feed(updates.message("/support", trainee))

    ticket = await models.SupportTicket.get(chat_user_id=trainee["id"])
    [topic] = harness.session.sent(CreateForumTopic)
    assert topic.name == f"周十六 · 安全生产考核合格证书B证 · #{ticket.id}"
    [card] = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == STAFF_GROUP_ID]
    assert "语言：英文" in card and "周十六" in card
    assert "13800000084" not in card and "138****0084" in card


async def test_a_staff_reply_reaches_the_trainee_labelled_as_support_in_their_language(
    harness: BotHarness, ticket
):
    await harness.feed(group_message("您好，请上传证件照。", STAFF, ticket.thread_id))
    [reply] = [m for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]][-1:]
    assert reply.text == "客服：您好，请上传证件照。"
    assert await models.RelayedMessage.filter(direction="out").exists()

    await models.ChatUser.filter(id=TRAINEE["id"]).update(locale="en")
    await harness.feed(group_message("Please send your ID photo.", STAFF, ticket.thread_id))
    reply = [m for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE["id"]][-1]
    assert reply.text == "Support: Please send your ID photo."

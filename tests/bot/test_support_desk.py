"""Staff-only features stay staff-only, and one decision counts however fast staff click."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, CloseForumTopic, SendMessage
from aiogram.types import Update

from bot.callbacks import ApplyAction, ApplyCallback
from infra.db import models
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.support import registry, updates

TRAINEE = updates.user(100081, "钱十二")
STAFF = updates.user(900001, "客服小李")


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


async def test_staff_notes_starting_with_slashes_stay_internal(harness: BotHarness, ticket):
    await harness.feed(group_message("// 内部：先查登记库", STAFF, ticket.thread_id))
    assert not await models.RelayedMessage.filter(direction="out").exists()


async def test_two_staff_deciding_at_once_one_decision_counts(harness: BotHarness, ticket):
    person = await registry.person(81, "钱十二", "13800000081")
    cert = await registry.certificate(person, "B-81", "safety_b", date(2027, 3, 31))
    now = datetime.now(UTC)
    enrolment = await models.Enrolment.create(
        certificate=cert,
        active_key=cert.number,
        channel="individual",
        enrolled_by=1,
        state="overdue",
        paid_at=now - timedelta(days=40),
        study_deadline=now - timedelta(days=10),
    )
    application = await models.Application.create(
        kind="extension", enrolment=enrolment, chat_user_id=TRAINEE["id"], form_file_id="f"
    )
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


async def test_stats_gives_counts_a_chart_and_the_spreadsheet(harness: BotHarness, ticket):
    import io

    from aiogram.methods import SendDocument, SendPhoto
    from openpyxl import load_workbook

    person = await registry.person(82, "孙十四", "13800000082")
    cert = await registry.certificate(person, "B-82", "safety_b", date(2027, 3, 31))
    await models.Enrolment.create(certificate=cert, active_key=cert.number,
                                  channel="individual", enrolled_by=1, state="enrolled")
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

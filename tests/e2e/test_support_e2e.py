"""The support desk through the local chat: trainee and staff group, topics and applications."""

from __future__ import annotations

from datetime import timedelta

from infra.db import models
from infra.settings import LOCAL_STAFF_GROUP_ID
from tests.support import registry
from tests.support.clock import days_from_today
from tests.support.localchat_client import LocalChatClient, button_data, eventually


async def test_escalation_relay_close_and_a_deleted_topic_recreated(
    chat: LocalChatClient, live_app
):
    user = 100071
    for other in (1, 2):  # cases of others before: case rows and tickets count apart
        await models.SupportRequest.create(chat_user_id=other, kind="enrolment_help", details={})
    await chat.send(user, "/enrol", first_name="吴十", language_code="zh-hans")
    who = await chat.reply(user)
    await chat.click(user, who["message_id"], button_data(who, "本人"))
    await chat.reply(user)
    await chat.send(user, registry.id_number(777))  # valid, but not in the registry
    await chat.reply(user)
    await chat.send(user, "吴十")
    await chat.reply(user)
    await chat.share_contact(user, "13800000771")
    _, refusal = await chat.replies(user, count=2)
    await chat.click(user, refusal["message_id"], button_data(refusal, "联系客服"))
    recorded = (await chat.reply(user))["text"]
    assert "已登记为" in recorded

    ticket = await eventually(lambda: _with_topic(user))
    topic = ticket.thread_id
    in_topic = await eventually(lambda: chat.group_messages(topic))
    texts = " ".join(m.get("text") or "" for m in in_topic)
    # The number the trainee was told is the one on the topic and the card.
    told = recorded.split("#")[1].split()[0]
    assert ticket.topic_name.endswith(f"#{told}") and f"#{told} 号工单" in texts
    # What failed, in the staff's words, never the internal code or Python data.
    assert "学员卡片" in texts and "身份证号不在省级库中" in texts
    assert "person_not_found" not in texts and "{" not in texts and "zh_CN" not in texts
    assert registry.id_number(777) not in texts
    # What the person gave, for staff to find them: the name as typed, the phone masked.
    assert "填写的姓名 吴十" in texts and "138****0771" in texts and "13800000771" not in texts
    [card] = [m["text"] for m in in_topic if "学员卡片" in (m.get("text") or "")]
    assert "姓名为 吴十" in card and "手机号为 138****0771" in card

    await chat.send(user, "我的证书明明还在，怎么查不到？")
    await eventually(lambda: _has(chat, topic, "怎么查不到"))
    await chat.staff_says("// 内部备注：先查一下登记库", topic)
    await chat.staff_says("您好，我们已转交建管处核实登记库。", topic)
    reply = await chat.reply(user)
    assert reply["text"] == "客服：您好，我们已转交建管处核实登记库。"

    await chat.staff_says("/close 已处理，有问题随时联系。", topic)
    closed = await chat.reply(user)
    assert "已处理" in closed["text"] and "重新打开" in closed["text"]

    await chat.send(user, "还有一个问题")  # a new message reopens the closed ticket
    await eventually(lambda: _has(chat, topic, "还有一个问题"))
    assert (await models.SupportTicket.get(chat_user_id=user)).status == "open"

    await live_app.bot.delete_forum_topic(LOCAL_STAFF_GROUP_ID, topic)
    await chat.send(user, "话题删了还能收到吗？")
    ticket = await eventually(lambda: _ticket_moved(user, topic))
    await eventually(lambda: _has(chat, ticket.thread_id, "话题删了还能收到吗"))
    assert any(
        "学员卡片" in (m.get("text") or "") for m in await chat.group_messages(ticket.thread_id)
    )


async def _has(chat: LocalChatClient, thread_id: int, text: str) -> bool:
    return any(text in (m.get("text") or "") for m in await chat.group_messages(thread_id))


async def _with_topic(user: int):
    ticket = await models.SupportTicket.get_or_none(chat_user_id=user)
    return ticket if ticket is not None and ticket.thread_id is not None else None


async def _ticket_moved(user: int, old_thread: int):
    ticket = await models.SupportTicket.get(chat_user_id=user)
    return ticket if ticket.thread_id != old_thread else None


async def test_an_extension_is_refused_before_the_window_ends_and_approved_after(
    chat: LocalChatClient, live_app
):
    user = 100072
    person = await registry.person(72, "郑十一", "13800000072")
    cert = await registry.certificate(person, "云建安B-S72", "safety_b", days_from_today(124))
    await models.Binding.create(chat_user_id=user, person=person)
    now = live_app.clock.now()
    enrolment = await registry.enrolment(
        cert,
        user,
        "studying",
        paid_at=now - timedelta(days=10),
        study_deadline=now + timedelta(days=20),
    )

    await chat.send(user, "/apply", first_name="郑十一", language_code="zh-hans")
    early = await chat.reply(user)
    assert "30 天学习期结束后才能申请延期" in early["text"]
    assert early["reply_markup"] is None

    enrolment.study_deadline = now - timedelta(hours=1)
    enrolment.state = "overdue"
    await enrolment.save()
    await chat.send(user, "/apply")
    offer = await chat.reply(user)
    await chat.click(user, offer["message_id"], button_data(offer, "申请延期"))
    form = await chat.reply(user)
    assert form["document"]["file_name"].endswith(".docx")
    import aiohttp

    upload = aiohttp.FormData()
    upload.add_field(
        "document",
        b"PK filled form",
        filename="filled.docx",
        content_type="application/octet-stream",
    )
    async with chat.http.post(f"{chat.api}/users/{user}/send", data=upload) as response:
        assert response.status == 200
    assert "已收到：申请" in (await chat.reply(user))["text"]

    application = await models.Application.get(chat_user_id=user)
    ticket = await models.SupportTicket.get(chat_user_id=user)
    card = await eventually(lambda: _card_of(chat, ticket.thread_id, application.id))
    await chat.staff_taps(card, "批准")
    approved = await chat.reply(user)
    assert "延期申请已批准" in approved["text"]
    await enrolment.refresh_from_db()
    assert enrolment.state == "studying" and enrolment.study_deadline > now + timedelta(days=29)

    await chat.send(user, "/status")
    assert "学习中" in (await chat.reply(user))["text"]


async def _card_of(chat: LocalChatClient, thread_id: int, application_id: int):
    for message in await chat.group_messages(thread_id):
        if f"#{application_id}" in (message.get("caption") or ""):
            return message
    return None


async def test_a_flood_of_messages_reaches_the_topic_whole_and_in_order(
    chat: LocalChatClient, live_app
):
    """40 messages in a fraction of a second (pasted lines, a nervous trainee): every one is in
    the topic, in the order sent, within the group's 20 messages a minute (the local chat
    enforces Telegram's limits); the trainee is not told that anything was lost or refused."""
    import asyncio

    user = 100072
    await chat.send(user, "/support", first_name="郑十一", language_code="zh-hans")
    assert "客服" in (await chat.reply(user))["text"]
    ticket = await eventually(lambda: models.SupportTicket.get_or_none(chat_user_id=user))
    await eventually(lambda: _has(chat, ticket.thread_id, "学员卡片"))

    # Sent back to back: far faster than the group's 20 a minute, however busy the machine.
    for n in range(40):
        async with chat.http.post(
            f"{chat.api}/users/{user}/send", json={"text": f"第{n:02d}条：工地上的问题"}
        ) as response:
            assert response.status == 200

    async def all_arrived() -> str | None:
        texts = "\n".join(m.get("text") or "" for m in await chat.group_messages(ticket.thread_id))
        return texts if texts.count("工地上的问题") >= 40 else None

    texts = await eventually(all_arrived, seconds=60)  # up to a minute
    positions = [texts.find(f"第{n:02d}条：工地上的问题") for n in range(40)]
    assert -1 not in positions and positions == sorted(positions), positions
    assert texts.count("工地上的问题") == 40  # none twice
    await asyncio.sleep(0.5)
    async with chat.http.get(f"{chat.api}/users/{user}/messages", params={"all": 1}) as response:
        messages = (await response.json())["messages"]
    from_bot = [m["text"] for m in messages if m["from"]["is_bot"]]
    assert len(from_bot) <= 2, from_bot  # the /support answer, at most one word about the pace

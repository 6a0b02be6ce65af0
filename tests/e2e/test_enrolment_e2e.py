"""Enrolment through the real stack: local chat API → polling → handlers → database."""

from __future__ import annotations

from infra.db import models
from tests.support import registry
from tests.support.clock import days_from_today
from tests.support.localchat_client import LocalChatClient, button_data


async def test_an_individual_enrols_through_the_local_chat(chat: LocalChatClient, live_app):
    person = await registry.person(5, "周七", "13800000005")
    await registry.certificate(person, "云建安B(2024)0009999", "safety_b", days_from_today(124))
    user = 100051

    await chat.send(user, "/start", first_name="周七", language_code="zh-hans")
    menu = await chat.reply(user)
    await chat.click(user, menu["message_id"], button_data(menu, "报名"))
    who = await chat.reply(user)
    await chat.click(user, who["message_id"], button_data(who, "本人"))
    assert "身份证号" in (await chat.reply(user))["text"]
    await chat.send(user, registry.id_number(5))
    assert "姓名" in (await chat.reply(user))["text"]
    await chat.send(user, "周七")
    ask_phone = await chat.reply(user)
    assert ask_phone["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    await chat.share_contact(user, "13800000005")
    confirmed, listing = await chat.replies(user, count=2)
    assert "身份已确认" in confirmed["text"]
    assert "云建安B****9999" in listing["text"]

    await chat.click(user, listing["message_id"], button_data(listing, "报名所选"))
    result = await chat.reply(user)
    assert "已报名继续教育（1 本）" in result["text"]
    assert await models.Enrolment.filter(certificate__number="云建安B(2024)0009999").exists()


async def test_an_enterprise_enrols_its_due_employees_through_the_local_chat(
    chat: LocalChatClient, live_app
):
    company = await registry.enterprise(7, "云南滇池建设有限公司", "13900000077")
    for n in range(3):
        worker = await registry.person(300 + n, f"员工{n}", f"1370000030{n}")
        await registry.certificate(
            worker, f"云建安C(2024)30{n}", "safety_c", days_from_today(185), employer=company
        )
    user = 100052

    await chat.send(user, "/enrol", first_name="刘经理", language_code="zh-hans")
    who = await chat.reply(user)
    await chat.click(user, who["message_id"], button_data(who, "本单位"))
    await chat.reply(user)
    await chat.send(user, registry.credit_code(7))
    await chat.reply(user)
    await chat.share_contact(user, "13900000077")
    confirmed, roster = await chat.replies(user, count=2)
    assert "云南滇池建设有限公司" in confirmed["text"]
    assert "已选 3 / 3" in roster["text"]

    await chat.click(user, roster["message_id"], button_data(roster, "报名所选"))
    assert "已报名继续教育（3 本）" in (await chat.reply(user))["text"]
    assert await models.Enrolment.filter(channel="enterprise").count() == 3

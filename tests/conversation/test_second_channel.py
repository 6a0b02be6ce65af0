"""The conversation core is channel-neutral: a plain-text channel with no Telegram in it
enrols a trainee and an enterprise through the same flows the bot uses."""

from __future__ import annotations

from infra.db import models
from tests.conftest import BotHarness
from tests.conversation.plaintext import PlainTextChannel
from tests.support import registry
from tests.support.clock import days_from_today

TRAINEE, BOSS = 300001, 300002


async def test_a_trainee_enrols_through_a_channel_that_is_not_telegram(harness: BotHarness):
    person = await registry.person(7, "周七", "13800000007")
    await registry.certificate(person, "云建安B(2024)0007777", "safety_b", days_from_today(90))
    channel = PlainTextChannel(harness.services.handlers["conversations"], harness.accounts)
    channel.meet(TRAINEE, "周七", "zh-hans")

    [who] = await channel.send(TRAINEE, "/enrol")
    assert who.text == "您要为谁报名继续教育？" and who.choices[0][0] == "👤 本人报名"
    [ask_id] = await channel.choose(TRAINEE, "本人")
    assert "身份证号" in ask_id.text
    [bad] = await channel.send(TRAINEE, registry.id_number(7)[:-1])
    assert "18 位" in bad.text
    await channel.send(TRAINEE, registry.id_number(7))
    [ask_phone] = await channel.send(TRAINEE, "周七")
    assert ask_phone.asks_phone
    confirmed, listing = await channel.prove_phone(TRAINEE, "13800000007")
    assert "身份已确认" in confirmed.text and "<b>" not in listing.text
    assert "云建安B****7777" in listing.text
    [result] = await channel.choose(TRAINEE, "报名所选")
    assert "已报名继续教育（1 本）" in result.text
    assert await models.Enrolment.filter(certificate__number="云建安B(2024)0007777").exists()


async def test_an_english_enterprise_contact_enrols_employees_through_it(harness: BotHarness):
    company = await registry.enterprise(8, "云南通道建设有限公司", "13900000088")
    for n in range(3):
        worker = await registry.person(800 + n, f"员工{n}", f"1370000080{n}")
        await registry.certificate(
            worker, f"云建安C(2024)80{n}", "safety_c", days_from_today(60), employer=company
        )
    channel = PlainTextChannel(harness.services.handlers["conversations"], harness.accounts)
    channel.meet(BOSS, "Liu", "en")

    await channel.send(BOSS, "/enrol")
    [ask_code] = await channel.choose(BOSS, "My company")
    assert "credit code" in ask_code.text
    await channel.send(BOSS, registry.credit_code(8))
    confirmed, roster = await channel.prove_phone(BOSS, "13900000088")
    assert "registered contact of 云南通道建设有限公司" in confirmed.text
    assert "Selected: 3 of 3" in roster.text
    [result] = await channel.choose(BOSS, "Enrol selected (3)")
    assert "Enrolled for continuing education (3)" in result.text
    assert await models.Enrolment.filter(enterprise__name="云南通道建设有限公司").count() == 3

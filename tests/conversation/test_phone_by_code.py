"""A channel with no contact button (as WeChat): the person types the registry phone and proves
it with the SMS code the sandbox recorded; the flows are the ones Telegram uses, unchanged."""

from __future__ import annotations

from infra.db import models
from infra.sms.sandbox import SandboxSms
from tests.conftest import BotHarness
from tests.conversation.plaintext import PlainTextChannel
from tests.support import registry
from tests.support.clock import FixedClock, days_from_today

TRAINEE, BOSS, ATTACKER = 310001, 310002, 310003
PHONE, MASKED = "13800000007", "138****0007"


def no_contact_button(harness: BotHarness, clock: FixedClock) -> PlainTextChannel:
    return PlainTextChannel(
        harness.services.handlers["conversations"],
        harness.accounts,
        phone_codes=harness.services.handlers["phone_codes"],
        clock=clock,
    )


def sandbox(harness: BotHarness) -> SandboxSms:
    sms = harness.services.handlers["sms"]
    assert isinstance(sms, SandboxSms)
    return sms


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def trainee_at_the_phone_step(
    channel: PlainTextChannel, user: int = TRAINEE, language: str = "zh-hans"
) -> None:
    if not await models.Person.exists():
        person = await registry.person(7, "周七", PHONE)
        await registry.certificate(person, "云建安B(2024)0007777", "safety_b", days_from_today(90))
    channel.meet(user, "周七", language)
    await channel.send(user, "/enrol")
    await channel.choose(user, "本人" if language.startswith("zh") else "Myself")
    await channel.send(user, registry.id_number(7))
    await channel.send(user, "周七")


async def bound(id_number: str) -> bool:
    person = await registry.person_by_id_number(id_number)
    return await models.Binding.filter(person=person).exists()


async def test_a_chinese_trainee_proves_the_phone_by_sms_and_enrols(
    harness: BotHarness, clock: FixedClock
):
    person = await registry.person(7, "周七", PHONE)
    await registry.certificate(person, "云建安B(2024)0007777", "safety_b", days_from_today(90))
    channel = no_contact_button(harness, clock)
    channel.meet(TRAINEE, "周七", "zh-hans")
    await channel.send(TRAINEE, "/enrol")
    await channel.choose(TRAINEE, "本人")
    await channel.send(TRAINEE, registry.id_number(7))

    [ask] = await channel.send(TRAINEE, "周七")
    assert not ask.asks_phone and "手机号" in ask.text and "短信验证码" in ask.text
    assert "分享" not in ask.text and [label for label, _ in ask.choices] == ["✖️ 取消"]
    [bad] = await channel.send(TRAINEE, "12345")
    assert "11 位" in bad.text and "12345" not in bad.text
    assert sandbox(harness).to(PHONE) == []

    [sent] = await channel.send(TRAINEE, "138 0000 0007")
    assert MASKED in sent.text and PHONE not in sent.text and "5 分钟" in sent.text
    assert [label for label, _ in sent.choices] == ["🔁 重新发送验证码", "✏️ 更换号码", "✖️ 取消"]
    code = sandbox(harness).last_code(PHONE)
    assert code not in sent.text

    [again] = await channel.send(TRAINEE, wrong(code))
    assert MASKED in again.text and "还可尝试 4 次" in again.text
    confirmed, listing = await channel.send(TRAINEE, code)
    assert "身份已确认" in confirmed.text and "云建安B****7777" in listing.text
    [result] = await channel.choose(TRAINEE, "报名所选")
    assert "已报名继续教育（1 本）" in result.text
    assert await bound(registry.id_number(7))


async def test_an_english_enterprise_contact_proves_the_company_phone_by_sms(
    harness: BotHarness, clock: FixedClock
):
    company = await registry.enterprise(8, "云南通道建设有限公司", "13900000088")
    worker = await registry.person(800, "员工0", "13700000800")
    await registry.certificate(
        worker, "云建安C(2024)800", "safety_c", days_from_today(60), employer=company
    )
    channel = no_contact_button(harness, clock)
    channel.meet(BOSS, "Liu", "en")
    await channel.send(BOSS, "/enrol")
    await channel.choose(BOSS, "My company")
    [ask] = await channel.send(BOSS, registry.credit_code(8))
    assert "type the mobile number" in ask.text and "contact phone" in ask.text

    [sent] = await channel.send(BOSS, "+86 139-0000-0088")
    assert "139****0088" in sent.text and "valid for 5 minutes" in sent.text
    assert sandbox(harness).to("13900000088")[-1].locale.value == "en"
    [early] = await channel.choose(BOSS, "Send a new code")
    assert "139****0088" in early.text and "in 60 seconds" in early.text
    clock.advance(seconds=60)
    await channel.choose(BOSS, "Send a new code")
    first, second = sandbox(harness).to("13900000088")
    assert first.code != second.code or first.sent_at != second.sent_at
    confirmed, roster = await channel.send(BOSS, second.code)
    assert "registered contact of 云南通道建设有限公司" in confirmed.text
    assert "Selected: 1 of 1" in roster.text


async def test_the_sixth_try_is_refused_even_with_the_right_code(
    harness: BotHarness, clock: FixedClock
):
    channel = no_contact_button(harness, clock)
    await trainee_at_the_phone_step(channel, language="en")
    await channel.send(TRAINEE, PHONE)
    code = sandbox(harness).last_code(PHONE)
    for _ in range(4):
        await channel.send(TRAINEE, wrong(code))
    [fifth] = await channel.send(TRAINEE, wrong(code))
    assert "Too many wrong codes" in fifth.text and "in 60 seconds" in fifth.text
    [sixth] = await channel.send(TRAINEE, code)
    assert "Too many wrong codes" in sixth.text and MASKED in sixth.text
    assert not await bound(registry.id_number(7))
    # A new code, after the minute, works.
    clock.advance(seconds=60)
    await channel.choose(TRAINEE, "Send a new code")
    confirmed, _ = await channel.send(TRAINEE, sandbox(harness).last_code(PHONE))
    assert "Identity confirmed" in confirmed.text


async def test_a_code_sent_to_one_phone_does_not_prove_another(
    harness: BotHarness, clock: FixedClock
):
    """The attacker's own phone gets a code; they switch to the victim's registry phone and
    type their own code."""
    channel = no_contact_button(harness, clock)
    await trainee_at_the_phone_step(channel, ATTACKER)
    await channel.send(ATTACKER, "13612345678")
    own_code = sandbox(harness).last_code("13612345678")
    [ask] = await channel.choose(ATTACKER, "更换号码")
    assert "手机号" in ask.text
    await channel.send(ATTACKER, PHONE)
    [refused] = await channel.send(ATTACKER, own_code)
    assert MASKED in refused.text and "验证码不正确" in refused.text
    assert not await bound(registry.id_number(7))
    # And their own phone, proved, is not the registry's: the flow refuses it as ever.
    await channel.choose(ATTACKER, "更换号码")
    clock.advance(seconds=60)
    await channel.send(ATTACKER, "13612345678")
    _, refusal = await channel.send(ATTACKER, sandbox(harness).last_code("13612345678"))
    assert "手机号" in refusal.text and not await bound(registry.id_number(7))


async def test_a_code_sent_for_another_account_is_refused(harness: BotHarness, clock: FixedClock):
    victim = no_contact_button(harness, clock)
    await trainee_at_the_phone_step(victim, TRAINEE)
    await victim.send(TRAINEE, PHONE)
    code = sandbox(harness).last_code(PHONE)  # say the attacker read it over a shoulder

    victim.meet(ATTACKER, "周七", "zh-hans")
    await victim.send(ATTACKER, "/enrol")
    await victim.choose(ATTACKER, "本人")
    await victim.send(ATTACKER, registry.id_number(7))
    await victim.send(ATTACKER, "周七")
    [wait] = await victim.send(ATTACKER, PHONE)  # within the minute: no new code is sent
    assert MASKED in wait.text and len(sandbox(harness).to(PHONE)) == 1
    [refused] = await victim.send(ATTACKER, code)
    assert "没有待验证的验证码" in refused.text and not await bound(registry.id_number(7))
    # The victim's code still works for the victim.
    confirmed, _ = await victim.send(TRAINEE, code)
    assert "身份已确认" in confirmed.text


async def test_an_expired_code_is_refused(harness: BotHarness, clock: FixedClock):
    channel = no_contact_button(harness, clock)
    await trainee_at_the_phone_step(channel)
    await channel.send(TRAINEE, PHONE)
    clock.advance(minutes=5)
    [expired] = await channel.send(TRAINEE, sandbox(harness).last_code(PHONE))
    assert "已过期" in expired.text and MASKED in expired.text
    assert not await bound(registry.id_number(7))


async def test_cancel_works_at_every_step(harness: BotHarness, clock: FixedClock):
    channel = no_contact_button(harness, clock)
    await trainee_at_the_phone_step(channel)
    cancelled, menu = await channel.choose(TRAINEE, "取消")
    assert "已取消" in cancelled.text and menu.choices
    await trainee_at_the_phone_step(channel)
    await channel.send(TRAINEE, PHONE)
    cancelled, _ = await channel.send(TRAINEE, "✖️ 取消")
    assert "已取消" in cancelled.text
    # Nothing of the proof is left: digits now are not a code, and no flow waits for them.
    assert await channel.send(TRAINEE, sandbox(harness).last_code(PHONE)) == []
    assert not await bound(registry.id_number(7))
    await trainee_at_the_phone_step(channel)
    cancelled, _ = await channel.send(TRAINEE, "/cancel")
    assert "已取消" in cancelled.text


async def test_a_command_leaves_the_proof(harness: BotHarness, clock: FixedClock):
    channel = no_contact_button(harness, clock)
    await trainee_at_the_phone_step(channel)
    await channel.send(TRAINEE, PHONE)
    [status] = await channel.send(TRAINEE, "/status")
    assert "验证码" not in status.text
    # Still at the phone step of enrolment: asked again to type it, no code taken for it.
    [ask] = await channel.send(TRAINEE, sandbox(harness).last_code(PHONE))
    assert "11 位" in ask.text

"""Whom a payment is for (issue 18): the payer ticks the people to pay for, per certificate
type, and takes back an enrolment made by mistake; a trainee who is also a company's contact
chooses whose bill. The manual: 用户勾选好需要缴费的人员后，点击提交缴费按钮进入到缴费确认界面."""

from __future__ import annotations

from typing import Any

from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, SendPhoto

from bot.callbacks import PayAction, PayCallback, PickAction, PickCallback
from infra.db import models
from tests.conftest import BotHarness
from tests.support import registry, updates
from tests.support.clock import days_from_today
from tests.support.recording import buttons

BOSS = updates.user(100301, "财务")
OTHER_BOSS = updates.user(100302, "别家财务")
TRAINEE = updates.user(100303, "赵六")


def pick(action: PickAction, item: int = -1) -> str:
    return PickCallback(action=action, item=item).pack()


def last_keyboard(harness: BotHarness) -> SendMessage | EditMessageText:
    for request in reversed(harness.session.requests):
        if isinstance(request, SendMessage | EditMessageText) and request.reply_markup:
            if hasattr(request.reply_markup, "inline_keyboard"):
                return request
    raise AssertionError("no inline keyboard sent")


def button(harness: BotHarness, text_part: str) -> str:
    found = [data for text, data in buttons(last_keyboard(harness)) if text_part in text]
    assert found, (text_part, buttons(last_keyboard(harness)))
    return found[0]


def alerts(harness: BotHarness) -> list[str]:
    return [a.text or "" for a in harness.session.sent(AnswerCallbackQuery) if a.show_alert]


async def enrolment(cert: models.Certificate, company: models.Enterprise | None, by: int, **kw):
    return await models.Enrolment.create(
        certificate=cert,
        active_key=cert.number,
        channel="enterprise" if company else "individual",
        enterprise=company,
        enrolled_by=by,
        state=kw.pop("state", "enrolled"),
        **kw,
    )


async def company_with(
    seq: int, name: str, contact: dict[str, Any], workers: list[tuple[str, str]]
) -> tuple[models.Enterprise, list[models.Enrolment]]:
    """An enterprise, its contact (invoice details given) and its employees' enrolments."""
    company = await registry.enterprise(seq, name, f"139000{seq:05d}")
    await models.EnterpriseContact.create(chat_user_id=contact["id"], enterprise=company)
    await models.InvoiceProfile.create(
        chat_user_id=contact["id"], title=name, taxpayer_id=registry.credit_code(seq)
    )
    enrolled = []
    for n, (worker_name, cert_type) in enumerate(workers):
        worker = await registry.person(seq * 100 + n, worker_name, f"1370{seq:03d}{n:04d}")
        cert = await registry.certificate(
            worker, f"云建{seq}-{n:04d}", cert_type, days_from_today(90), employer=company
        )
        enrolled.append(await enrolment(cert, company, contact["id"]))
    return company, enrolled


async def pay_with_credit_code(harness: BotHarness, who: dict[str, Any], seq: int) -> None:
    await harness.feed(updates.click(button(harness, "确认并支付"), who))
    await harness.feed(updates.message(registry.credit_code(seq), who))


async def test_the_payer_unticks_an_employee_and_the_order_covers_only_the_ticked_ones(
    harness: BotHarness,
):
    _, (a, b, c) = await company_with(
        31,
        "云南勾选建设有限公司",
        BOSS,
        [("员工甲", "safety_b"), ("员工乙", "safety_c"), ("员工丙", "safety_b")],
    )
    await harness.feed(updates.message("/pay", BOSS))
    bill = harness.last_text()
    # Grouped per certificate type, everyone ticked at first.
    assert "<b>安全生产考核合格证书B证</b>：共 2 人，已勾选 2 人" in bill
    assert bill.count("☑️") == 3 and "合计：¥900.00" in bill
    assert "共 2 人，已勾选 2 人" in bill and "共 1 人，已勾选 1 人" in bill

    await harness.feed(updates.click(pick(PickAction.TOGGLE, b.id), BOSS))
    edited = harness.session.sent(EditMessageText)[-1]
    assert "⬜" in edited.text and "合计：¥600.00" in edited.text
    await pay_with_credit_code(harness, BOSS, 31)

    order = await models.Order.get(payer_chat_user_id=BOSS["id"]).prefetch_related("items")
    assert order.amount_fen == 60000
    assert sorted(item.enrolment_id for item in order.items) == sorted([a.id, c.id])
    assert (await models.Enrolment.get(id=b.id)).state == "enrolled"  # left for later
    photo = harness.session.sent(SendPhoto)[-1]
    assert "¥600.00" in photo.caption

    # The one left out can be paid for later, on its own.
    await harness.feed(updates.message("/pay", BOSS))
    assert "员工乙" in harness.last_text() and "合计：¥300.00" in harness.last_text()


async def test_nobody_ticked_orders_nothing_and_says_so(harness: BotHarness):
    await company_with(
        32, "云南空选建设有限公司", BOSS, [("员工甲", "safety_b"), ("员工乙", "safety_b")]
    )
    await harness.feed(updates.message("/pay", BOSS))
    await harness.feed(updates.click(pick(PickAction.NONE), BOSS))
    assert "合计：¥0.00" in harness.session.sent(EditMessageText)[-1].text
    await pay_with_credit_code(harness, BOSS, 32)
    assert "尚未勾选任何人员" in harness.last_text()
    assert not await models.Order.exists()


async def test_a_long_list_is_paged_like_the_enrolment_roster(harness: BotHarness):
    workers = [(f"员工{n:02d}", "safety_b") for n in range(11)]
    await company_with(33, "云南大型建设有限公司", BOSS, workers)
    await harness.feed(updates.message("/pay", BOSS))
    first = harness.session.sent(SendMessage)[-1]
    assert "员工00" in first.text and "员工09" not in first.text
    assert "共 11 人，已勾选 11 人" in first.text and "合计：¥3,300.00" in first.text
    labels = [text for text, _ in buttons(first)]
    assert "1/2" in labels and sum("员工" in label for label in labels) == 8

    await harness.feed(updates.click(button(harness, "▶️"), BOSS))
    second = harness.session.sent(EditMessageText)[-1]
    assert "员工09" in second.text and "员工00" not in second.text
    assert "2/2" in [text for text, _ in buttons(second)]


async def test_an_unpaid_enrolment_is_removed_after_a_confirmation_and_audit_logged(
    harness: BotHarness,
):
    _, (_a, b) = await company_with(
        34, "云南误报建设有限公司", BOSS, [("员工甲", "safety_b"), ("误报者", "safety_b")]
    )
    await harness.feed(updates.message("/pay", BOSS))
    await harness.feed(updates.click(pick(PickAction.REMOVE, b.id), BOSS))
    assert "确定删除误报者" in harness.last_text()
    assert (await models.Enrolment.get(id=b.id)).state == "enrolled"  # only asked so far

    await harness.feed(updates.click(button(harness, "确定删除"), BOSS))
    removed = await models.Enrolment.get(id=b.id)
    assert removed.state == "cancelled" and removed.active_key is None
    assert removed.ended_at is not None
    log = await models.AuditLog.get(action="unenrol")
    assert log.actor_id == BOSS["id"] and log.subject == f"enrolment:{b.id}"
    assert "已删除误报者" in harness.session.sent(EditMessageText)[-1].text
    # The bill again, without them: the next step one tap away.
    assert "误报者" not in harness.last_text() and "合计：¥300.00" in harness.last_text()


async def test_keeping_an_enrolment_changes_nothing(harness: BotHarness):
    _, (a,) = await company_with(35, "云南保留建设有限公司", BOSS, [("员工甲", "safety_b")])
    await harness.feed(updates.message("/pay", BOSS))
    await harness.feed(updates.click(pick(PickAction.REMOVE, a.id), BOSS))
    await harness.feed(updates.click(button(harness, "不删除"), BOSS))
    assert (await models.Enrolment.get(id=a.id)).state == "enrolled"
    assert "未删除任何报名" in harness.session.sent(EditMessageText)[-1].text
    assert "员工甲" in harness.last_text()


async def test_removing_the_last_one_says_nothing_is_left_with_the_next_steps(
    harness: BotHarness,
):
    _, (a,) = await company_with(36, "云南清空建设有限公司", BOSS, [("员工甲", "safety_b")])
    await harness.feed(updates.message("/pay", BOSS))
    await harness.feed(updates.click(pick(PickAction.REMOVE_YES, a.id), BOSS))
    assert "目前没有待缴费的项目" in harness.last_text()
    labels = [text for text, _ in buttons(harness.session.sent(SendMessage)[-1])]
    assert "📝 报名" in labels and "📋 我的进度" in labels


# ---- an attacker's buttons ----


async def test_a_forged_tick_of_another_companys_enrolment_never_reaches_the_order(
    harness: BotHarness,
):
    await company_with(37, "云南本家建设有限公司", BOSS, [("员工甲", "safety_b")])
    _, (theirs,) = await company_with(
        38, "云南别家建设有限公司", OTHER_BOSS, [("别家员工", "safety_b")]
    )
    await harness.feed(updates.message("/pay", BOSS))
    await harness.feed(updates.click(pick(PickAction.TOGGLE, theirs.id), BOSS))
    await harness.feed(updates.click(pick(PickAction.TOGGLE, theirs.id), BOSS))
    assert "别家员工" not in harness.session.sent(EditMessageText)[-1].text
    await pay_with_credit_code(harness, BOSS, 37)

    order = await models.Order.get(payer_chat_user_id=BOSS["id"]).prefetch_related("items")
    assert [item.enrolment_id for item in order.items] != [theirs.id]
    assert order.amount_fen == 30000
    assert (await models.Enrolment.get(id=theirs.id)).state == "enrolled"


async def test_nobody_removes_another_payers_enrolment(harness: BotHarness):
    await company_with(39, "云南本家二建设有限公司", BOSS, [("员工甲", "safety_b")])
    _, (theirs,) = await company_with(
        40, "云南别家二建设有限公司", OTHER_BOSS, [("别家员工", "safety_b")]
    )
    trainee = await registry.person(41, "赵六", "13800000041")
    cert = await registry.certificate(trainee, "云建安B-41", "safety_b", days_from_today(90))
    individual = await enrolment(cert, None, TRAINEE["id"])

    for victim in (theirs, individual):
        await harness.feed(updates.click(pick(PickAction.REMOVE, victim.id), BOSS))
        await harness.feed(updates.click(pick(PickAction.REMOVE_YES, victim.id), BOSS))
        assert (await models.Enrolment.get(id=victim.id)).state == "enrolled"
    assert len(alerts(harness)) == 4 and "无法在此删除" in alerts(harness)[-1]
    assert not await models.AuditLog.filter(action="unenrol").exists()


async def test_a_paid_enrolment_or_one_in_an_open_order_cannot_be_removed(harness: BotHarness):
    _, (paid, ordered, waiting) = await company_with(
        42,
        "云南已付建设有限公司",
        BOSS,
        [("已付者", "safety_b"), ("下单者", "safety_b"), ("等待者", "safety_b")],
    )
    paid.state = "studying"
    await paid.save(update_fields=["state"])
    await harness.feed(updates.message("/pay", BOSS))
    await harness.feed(updates.click(pick(PickAction.TOGGLE, waiting.id), BOSS))
    await pay_with_credit_code(harness, BOSS, 42)  # orders 下单者 only
    assert (await models.Enrolment.get(id=ordered.id)).state == "awaiting_payment"

    for kept in (paid, ordered):
        await harness.feed(updates.click(pick(PickAction.REMOVE_YES, kept.id), BOSS))
    assert (await models.Enrolment.get(id=paid.id)).state == "studying"
    assert (await models.Enrolment.get(id=ordered.id)).state == "awaiting_payment"
    assert len(alerts(harness)) == 2
    assert not await models.AuditLog.filter(action="unenrol").exists()


async def test_a_stale_pick_list_after_payment_orders_nothing_again(harness: BotHarness):
    _, (a,) = await company_with(43, "云南旧单建设有限公司", BOSS, [("员工甲", "safety_b")])
    await harness.feed(updates.message("/pay", BOSS))
    old_confirm = button(harness, "确认并支付")
    old_remove = pick(PickAction.REMOVE_YES, a.id)
    await pay_with_credit_code(harness, BOSS, 43)
    order = await models.Order.get(payer_chat_user_id=BOSS["id"])
    order.status = "paid"
    await order.save(update_fields=["status"])
    await models.Enrolment.filter(id=a.id).update(state="studying")

    await harness.feed(updates.click(old_confirm, BOSS))
    await harness.feed(updates.click(old_remove, BOSS))
    assert await models.Order.all().count() == 1
    assert (await models.Enrolment.get(id=a.id)).state == "studying"
    assert any("名单在显示之后已有变化" in text for text in harness.session.texts())
    assert "目前没有待缴费的项目" in harness.last_text()


async def test_a_pick_the_chat_forgot_is_shown_again_rather_than_paid_in_full(
    harness: BotHarness,
):
    _, (_a, b) = await company_with(
        44, "云南失忆建设有限公司", BOSS, [("员工甲", "safety_b"), ("员工乙", "safety_b")]
    )
    await harness.feed(updates.message("/pay", BOSS))
    await harness.feed(updates.click(pick(PickAction.TOGGLE, b.id), BOSS))
    confirm_for_a = button(harness, "确认并支付")
    await harness.feed(updates.message("/start", BOSS))  # another flow: the pick is gone
    await harness.feed(updates.click(confirm_for_a, BOSS))
    assert any("名单在显示之后已有变化" in text for text in harness.session.texts())
    assert not await models.Order.exists()


# ---- a trainee who is also a company's contact ----


async def test_a_contact_who_is_also_a_trainee_chooses_to_pay_their_own_enrolment(
    harness: BotHarness,
):
    await company_with(45, "云南兼任建设有限公司", TRAINEE, [("员工甲", "safety_b")])
    me = await registry.person(46, "赵六", "13800000046")
    await models.Binding.create(chat_user_id=TRAINEE["id"], person=me)
    cert = await registry.certificate(me, "云建塔-46", "tower_crane", days_from_today(90))
    own = await enrolment(cert, None, TRAINEE["id"])

    await harness.feed(updates.message("/pay", TRAINEE))
    assert "现在为哪一方缴费" in harness.last_text()
    await harness.feed(updates.click(button(harness, "本人的报名"), TRAINEE))
    bill = harness.last_text()
    assert "员工甲" not in bill and "合计：¥450.00" in bill
    assert any("改为本单位" in text for text, _ in buttons(last_keyboard(harness)))
    await harness.feed(updates.click(button(harness, "确认并支付"), TRAINEE))

    order = await models.Order.get(payer_chat_user_id=TRAINEE["id"]).prefetch_related("items")
    assert order.channel == "individual" and order.amount_fen == 45000
    assert [item.enrolment_id for item in order.items] == [own.id]


async def test_a_contact_who_is_also_a_trainee_can_still_pay_for_the_company(
    harness: BotHarness,
):
    _, (worker,) = await company_with(
        47, "云南兼任二建设有限公司", TRAINEE, [("员工甲", "safety_b")]
    )
    me = await registry.person(48, "赵六", "13800000048")
    await models.Binding.create(chat_user_id=TRAINEE["id"], person=me)
    cert = await registry.certificate(me, "云建安B-48", "safety_b", days_from_today(90))
    await enrolment(cert, None, TRAINEE["id"])

    await harness.feed(updates.message("/pay", TRAINEE))
    await harness.feed(updates.click(button(harness, "本单位员工的报名"), TRAINEE))
    assert "员工甲" in harness.last_text()
    await pay_with_credit_code(harness, TRAINEE, 47)
    order = await models.Order.get(payer_chat_user_id=TRAINEE["id"]).prefetch_related("items")
    assert order.channel == "enterprise"
    assert [item.enrolment_id for item in order.items] == [worker.id]


async def test_a_trainee_who_is_no_contact_cannot_forge_the_company_choice(harness: BotHarness):
    me = await registry.person(49, "赵六", "13800000049")
    await models.Binding.create(chat_user_id=TRAINEE["id"], person=me)
    cert = await registry.certificate(me, "云建安B-49", "safety_b", days_from_today(90))
    await enrolment(cert, None, TRAINEE["id"])
    await company_with(50, "云南他人建设有限公司", OTHER_BOSS, [("员工甲", "safety_b")])

    await harness.feed(updates.click(pick(PickAction.COMPANY), TRAINEE))
    assert "员工甲" not in harness.last_text()
    await harness.feed(updates.click(PayCallback(action=PayAction.CONFIRM).pack(), TRAINEE))
    assert not await models.Order.filter(channel="enterprise").exists()


async def test_the_pick_list_speaks_english_too(harness: BotHarness):
    boss = updates.user(100304, "Finance", language_code="en")
    _, (a, _b) = await company_with(
        51,
        "Yunnan English Construction",
        boss,
        [("Worker A", "safety_b"), ("Worker B", "safety_c")],
    )
    await harness.feed(updates.message("/pay", boss))
    bill = harness.last_text()
    assert "For the employees of Yunnan English Construction." in bill
    assert "1 of 1 ticked" in bill and "Total: ¥600.00" in bill
    await harness.feed(updates.click(pick(PickAction.REMOVE, a.id), boss))
    assert "Remove the enrolment of Worker A" in harness.last_text()
    labels = [text for text, _ in buttons(last_keyboard(harness))]
    assert "🗑 Yes, remove it" in labels and "↩️ No, keep it" in labels


async def test_the_pick_survives_giving_the_invoice_details(harness: BotHarness):
    _, (a, b) = await company_with(
        52, "云南开票建设有限公司", BOSS, [("员工甲", "safety_b"), ("员工乙", "safety_b")]
    )
    await models.InvoiceProfile.filter(chat_user_id=BOSS["id"]).delete()
    await harness.feed(updates.message("/pay", BOSS))
    await harness.feed(updates.click(pick(PickAction.TOGGLE, b.id), BOSS))
    await harness.feed(updates.click(button(harness, "开票信息"), BOSS))
    await harness.feed(updates.message("云南开票建设有限公司", BOSS))
    await harness.feed(updates.click(button(harness, "跳过"), BOSS))
    bill = harness.last_text()
    assert "⬜ 员工乙" in bill and "合计：¥300.00" in bill
    await pay_with_credit_code(harness, BOSS, 52)
    order = await models.Order.get(payer_chat_user_id=BOSS["id"]).prefetch_related("items")
    assert [item.enrolment_id for item in order.items] == [a.id]

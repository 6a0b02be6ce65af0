"""Identity and enrolment in the chat (R-ENROL-1..5, S1-S5, S11)."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage

from bot.callbacks import EnrolAction, EnrolCallback, MenuAction, MenuCallback
from domain.masking import mask_id_number
from infra.db import models
from tests.conftest import WEBAPP_URL, BotHarness
from tests.support import registry, updates
from tests.support.clock import days_from_today
from tests.support.recording import buttons

ZHANG = updates.user(100001, "张三")
LI = updates.user(100002, "李四")
BOSS = updates.user(100009, "王经理")
ZHANG_PHONE = "13800000001"
BOSS_PHONE = "13900000009"


@pytest.fixture
async def roster(database: str) -> dict[str, Any]:
    zhang = await registry.person(1, "张三", ZHANG_PHONE)
    await registry.certificate(zhang, "云建安B(2024)0001234", "safety_b", days_from_today(124))
    await registry.certificate(
        zhang, "云建施(2024)0005678", "site_pro", days_from_today(215), category="土建"
    )
    li = await registry.person(2, "李四", "13800000002")
    await registry.certificate(
        li, "云建安C(2023)0000002", "safety_c", days_from_today(65), status="busy"
    )
    # Void in the registry: the manual gives special-operations certificates no void date of
    # ours (四（一）), so the registry's word is what voids it.
    await registry.certificate(
        li, "云建特(2020)0000003", "special_ops", days_from_today(-300), status="void"
    )
    company = await registry.enterprise(1, "云南测试建设有限公司", BOSS_PHONE)
    for n in range(12):
        worker = await registry.person(100 + n, f"工人{n:02d}", f"137000001{n:02d}")
        expires = days_from_today(766) if n == 10 else days_from_today(93)
        status = "void" if n == 11 else "valid"
        await registry.certificate(
            worker, f"云建安B(2024)10{n:02d}", "safety_b", expires, status=status, employer=company
        )
    return {
        "zhang_id": registry.id_number(1),
        "li_id": registry.id_number(2),
        "company": registry.credit_code(1),
    }


def data(action: EnrolAction, item: int = -1) -> str:
    return EnrolCallback(action=action, item=item).pack()


def web_pages(request: SendMessage | EditMessageText) -> dict[str, str]:
    markup = request.reply_markup
    assert markup is not None and hasattr(markup, "inline_keyboard")
    return {b.text: b.web_app.url for row in markup.inline_keyboard for b in row if b.web_app}


def last_markup_message(harness: BotHarness) -> SendMessage | EditMessageText:
    for request in reversed(harness.session.requests):
        if isinstance(request, SendMessage | EditMessageText) and request.reply_markup:
            if hasattr(request.reply_markup, "inline_keyboard"):
                return request
    raise AssertionError("no inline keyboard sent")


async def identify(
    harness: BotHarness, who: dict, id_number: str, name: str, phone: str, **contact: Any
) -> None:
    await harness.feed(updates.click(data(EnrolAction.MYSELF), who))
    await harness.feed(updates.message(id_number, who))
    await harness.feed(updates.message(name, who))
    await harness.feed(updates.contact(phone, who, **contact))


async def test_enrol_asks_whether_for_oneself_or_a_company(harness: BotHarness, roster):
    await harness.feed(updates.click(MenuCallback(action=MenuAction.ENROL).pack(), ZHANG))
    labels = [text for text, _ in buttons(harness.session.sent(SendMessage)[-1])]
    assert labels == ["👤 本人报名", "🏢 为本单位员工报名"]


async def test_an_individual_confirms_identity_with_their_own_phone_and_enrols(
    harness: BotHarness, roster
):
    await harness.feed(updates.click(data(EnrolAction.MYSELF), ZHANG))
    assert "18 位身份证号" in harness.last_text()
    await harness.feed(updates.message(roster["zhang_id"], ZHANG))
    await harness.feed(updates.message("张三", ZHANG))
    ask_phone = harness.session.sent(SendMessage)[-1]
    assert ask_phone.reply_markup.keyboard[0][0].request_contact  # type: ignore[union-attr]

    await harness.feed(updates.contact("+86 138-0000-0001", ZHANG))
    texts = harness.session.texts()
    assert any("身份已确认：张*，身份证 530102********0011" in t for t in texts)
    listing = last_markup_message(harness)
    assert "云建安B****1234" in listing.text and roster["zhang_id"] not in listing.text
    assert "类别：土建" in listing.text
    assert [t for t, _ in buttons(listing)][:2] == [
        "☑️ 1. 安全生产考核合格证书B证",
        "☑️ 2. 现场专业人员",
    ]

    await harness.feed(updates.click(data(EnrolAction.SUBMIT), ZHANG))
    assert "类别为<b>土建</b>" in harness.last_text()
    await harness.feed(updates.click(data(EnrolAction.CATEGORY_OK), ZHANG))
    assert "已报名继续教育（2 本）" in harness.last_text()
    assert await models.Enrolment.filter(state="enrolled").count() == 2
    assert await models.Binding.filter(chat_user_id=ZHANG["id"]).count() == 1


@pytest.mark.parametrize(
    ("typed", "explanation"),
    [
        ("53010219850312001", "18 位，您发送了 17 位"),
        ("5301021985031200AX", "17 位数字"),
        ("530102198502300011", "出生日期"),
        ("530102198503120012", "最后一位校验码"),
    ],
)
async def test_a_wrong_id_number_is_explained_and_asked_again(
    harness: BotHarness, roster, typed: str, explanation: str
):
    await harness.feed(updates.click(data(EnrolAction.MYSELF), ZHANG))
    await harness.feed(updates.message(typed, ZHANG))
    assert explanation in harness.last_text()
    await harness.feed(updates.message(roster["zhang_id"], ZHANG))
    assert "姓名" in harness.last_text()


async def test_full_width_digits_are_accepted(harness: BotHarness, roster):
    full_width = roster["zhang_id"].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    await harness.feed(updates.click(data(EnrolAction.MYSELF), ZHANG))
    await harness.feed(updates.message(full_width, ZHANG))
    assert "姓名" in harness.last_text()


async def test_a_forwarded_contact_cannot_confirm_identity(harness: BotHarness, roster):
    await identify(harness, LI, roster["zhang_id"], "张三", ZHANG_PHONE, forwarded=True)
    assert "不是您本人的联系人" in harness.last_text()
    assert await models.Binding.all().count() == 0


async def test_someone_elses_contact_cannot_confirm_identity(harness: BotHarness, roster):
    await identify(harness, LI, roster["zhang_id"], "张三", ZHANG_PHONE, owner_id=ZHANG["id"])
    assert "不是您本人的联系人" in harness.last_text()
    assert await models.Binding.all().count() == 0


async def test_someone_elses_id_number_with_ones_own_phone_is_refused(harness, roster):
    await identify(harness, LI, roster["zhang_id"], "张三", "13800000002")
    assert "不是登记库中该身份证号对应的号码" in harness.last_text()
    assert await models.Binding.all().count() == 0


async def test_a_typed_phone_number_is_not_accepted(harness: BotHarness, roster):
    await harness.feed(updates.click(data(EnrolAction.MYSELF), ZHANG))
    await harness.feed(updates.message(roster["zhang_id"], ZHANG))
    await harness.feed(updates.message("张三", ZHANG))
    await harness.feed(updates.message(ZHANG_PHONE, ZHANG))
    assert "请使用下方" in harness.last_text()
    assert await models.Binding.all().count() == 0


async def test_a_second_account_for_a_bound_person_goes_to_staff_not_rebinding(
    harness: BotHarness, roster
):
    await identify(harness, ZHANG, roster["zhang_id"], "张三", ZHANG_PHONE)
    new_phone_account = updates.user(100077, "张三")
    await identify(harness, new_phone_account, roster["zhang_id"], "张三", ZHANG_PHONE)

    assert "已关联另一个 Telegram 账号" in harness.last_text()
    binding = await models.Binding.get(
        person__id_number_hash=registry.PII.digest(roster["zhang_id"])
    )
    assert binding.chat_user_id == ZHANG["id"]
    case = await models.SupportRequest.get(kind="rebind_request")
    assert case.chat_user_id == 100077 and case.track == "T1"
    assert case.details["id_number"] == "530102********0011"
    ticket = await models.SupportTicket.get(chat_user_id=case.chat_user_id)
    assert f"#{ticket.id}" in harness.last_text()


async def test_an_unknown_id_number_is_refused_and_support_gets_the_case(
    harness: BotHarness, roster
):
    await identify(harness, ZHANG, registry.id_number(999), "张三", ZHANG_PHONE)
    assert "登记库中查不到" in harness.last_text()
    await harness.feed(updates.click(data(EnrolAction.SUPPORT), ZHANG))

    case = await models.SupportRequest.get(kind="person_not_found")
    assert case.details == {
        "id_number": mask_id_number(registry.id_number(999)),
        "name": "张三",
        "phone": "138****0001",
    }
    ticket = await models.SupportTicket.get(chat_user_id=case.chat_user_id)
    assert f"#{ticket.id}" in harness.last_text() and "0871-64332710" in harness.last_text()


async def test_busy_and_void_certificates_are_shown_but_cannot_be_ticked(
    harness: BotHarness, roster
):
    await identify(harness, LI, roster["li_id"], "李四", "13800000002")
    listing = last_markup_message(harness)
    assert "⛔ 正在办理其他业务" in listing.text and "⛔ 已作废" in listing.text
    assert [t for t, _ in buttons(listing)][:2] == [
        "⛔ 1. 特种作业人员",
        "⛔ 2. 安全生产考核合格证书C证",
    ]
    assert not any("报名所选" in t for t, _ in buttons(listing))
    # Why, and that nothing can be ticked, is said at once, not after tapping ⛔.
    assert "⛔ 1. 这本证书已作废" in listing.text
    assert "⛔ 2. 这本证书在监管系统中正在办理" in listing.text
    assert "勾选要报名的证书" not in listing.text and "目前没有可以报名的证书" in listing.text

    await harness.feed(updates.click(data(EnrolAction.BLOCKED, 1), LI))
    alert = harness.session.sent(AnswerCallbackQuery)[-1]
    assert alert.show_alert and "正在办理其他业务" in (alert.text or "")


async def test_support_from_a_void_certificate_names_it_for_the_one_desk_of_its_track(
    harness: BotHarness, roster
):
    wang = updates.user(100003, "王五")
    person = await registry.person(3, "王五", "13800000003")
    await registry.certificate(
        person, "云建安B(2019)0000009", "safety_b", days_from_today(-200), status="void"
    )
    await identify(harness, wang, registry.id_number(3), "王五", "13800000003")
    await harness.feed(updates.click(data(EnrolAction.SUPPORT), wang))

    case = await models.SupportRequest.get(chat_user_id=wang["id"])
    assert case.kind == "certificate_void" and case.track == "T1"
    assert case.details == {"certificate": "云建安B(2019)0000009"}
    recorded = harness.last_text()
    assert "0871-64332710" in recorded and "0871-64322249" not in recorded  # one desk


async def test_a_certificate_is_enrolled_only_once(harness: BotHarness, roster):
    await identify(harness, ZHANG, roster["zhang_id"], "张三", ZHANG_PHONE)
    await harness.feed(updates.click(data(EnrolAction.TOGGLE, 1), ZHANG))  # untick 施工员
    await harness.feed(updates.click(data(EnrolAction.SUBMIT), ZHANG))
    await harness.feed(updates.click(data(EnrolAction.MYSELF), ZHANG))
    listing = last_markup_message(harness)
    assert "📌 已报名，待缴费" in listing.text
    assert buttons(listing)[0][0].startswith("⛔")
    assert ("📋 我的进度", "menu:status") in buttons(listing)  # what comes next, one tap away
    assert await models.Enrolment.all().count() == 1

    # The status names the next step and offers it: paying.
    await harness.feed(updates.message("/status", ZHANG))
    status = last_markup_message(harness)
    assert "缴费" in status.text and ("💳 缴费", "menu:pay") in buttons(status)


async def test_a_wrong_construction_worker_category_goes_to_staff(harness: BotHarness, roster):
    await identify(harness, ZHANG, roster["zhang_id"], "张三", ZHANG_PHONE)
    await harness.feed(updates.click(data(EnrolAction.SUBMIT), ZHANG))
    await harness.feed(updates.click(data(EnrolAction.CATEGORY_WRONG), ZHANG))

    case = await models.SupportRequest.get(kind="category_correction")
    assert case.details["category"] == "土建"
    ticket = await models.SupportTicket.get(chat_user_id=case.chat_user_id)
    assert any(f"#{ticket.id}" in t for t in harness.session.texts())
    enrolled = await models.Enrolment.all().prefetch_related("certificate")
    assert [e.certificate.cert_type for e in enrolled] == ["safety_b"]


async def test_status_shows_each_enrolment_with_its_next_step(harness: BotHarness, roster):
    await harness.feed(updates.message("/status", ZHANG))
    assert "还没有报名" in harness.last_text()
    await identify(harness, ZHANG, roster["zhang_id"], "张三", ZHANG_PHONE)
    await harness.feed(updates.click(data(EnrolAction.SUBMIT), ZHANG))
    await harness.feed(updates.click(data(EnrolAction.CATEGORY_OK), ZHANG))
    await harness.feed(updates.message("/status", ZHANG))
    status = harness.last_text()
    assert status.count("已报名，待缴费") == 2 and "下一步：缴费" in status


async def _company_roster(harness: BotHarness, roster) -> SendMessage | EditMessageText:
    await harness.feed(updates.click(data(EnrolAction.COMPANY), BOSS))
    await harness.feed(updates.message(roster["company"], BOSS))
    await harness.feed(updates.contact(BOSS_PHONE, BOSS))
    return last_markup_message(harness)


async def test_an_enterprise_sees_due_employees_preselected_and_enrols_them(
    harness: BotHarness, roster
):
    page = await _company_roster(harness, roster)
    assert "已选 10 / 12" in page.text and "第 1 / 2 页" in page.text
    labels = [t for t, _ in buttons(page)]
    assert labels[0] == "☑️ 工人00 · 安全生产考核合格证书B证"

    await harness.feed(updates.click(data(EnrolAction.TOGGLE, 0), BOSS))
    await harness.feed(updates.click(data(EnrolAction.PAGE, 1), BOSS))
    second = last_markup_message(harness)
    assert "第 2 / 2 页" in second.text
    assert "⬜ 工人10 · 安全生产考核合格证书B证 · 未到期" in [t for t, _ in buttons(second)]
    assert "⛔ 工人11 · 安全生产考核合格证书B证 · 已作废" in [t for t, _ in buttons(second)]

    await harness.feed(updates.click(data(EnrolAction.SUBMIT), BOSS))
    assert "已报名继续教育（9 本）" in harness.last_text()
    assert await models.Enrolment.filter(channel="enterprise").count() == 9

    # The status opens the employee table and the records in one tap each (issue 19).
    await harness.feed(updates.message("/status", BOSS))
    pages = web_pages(last_markup_message(harness))
    assert pages["👥 我的员工"] == f"{WEBAPP_URL}/employees"
    assert pages["🗂 学习记录"] == f"{WEBAPP_URL}/records"


async def tick_the_not_due_one(harness: BotHarness, roster) -> None:
    await _company_roster(harness, roster)
    await harness.feed(updates.click(data(EnrolAction.PAGE, 1), BOSS))
    [tick] = [d for t, d in buttons(last_markup_message(harness)) if "工人10" in t]
    await harness.feed(updates.click(tick, BOSS))


async def test_a_certificate_not_due_yet_is_enrolled_only_knowingly(harness: BotHarness, roster):
    """Found in a walk-through: a certificate valid for two more years was ticked, enrolled and
    paid for without a word, though CE done now does not count for its renewal."""
    await tick_the_not_due_one(harness, roster)
    await harness.feed(updates.click(data(EnrolAction.SUBMIT), BOSS))

    warning = last_markup_message(harness)
    assert "尚未到期" in warning.text and "工人10" in warning.text
    assert [t for t, _ in buttons(warning)] == ["不报这些", "仍然报名"]
    assert await models.Enrolment.all().count() == 0

    await harness.feed(updates.click(data(EnrolAction.EARLY_SKIP), BOSS))
    assert "已报名继续教育（10 本）" in harness.last_text()
    assert not await models.Enrolment.filter(certificate__number="云建安B(2024)1010").exists()


async def test_a_certificate_not_due_yet_can_still_be_enrolled_knowingly(
    harness: BotHarness, roster
):
    await tick_the_not_due_one(harness, roster)
    await harness.feed(updates.click(data(EnrolAction.SUBMIT), BOSS))
    await harness.feed(updates.click(data(EnrolAction.EARLY_OK), BOSS))

    assert "已报名继续教育（11 本）" in harness.last_text()
    assert await models.Enrolment.filter(certificate__number="云建安B(2024)1010").exists()


async def test_an_enterprise_searches_its_list_by_name(harness: BotHarness, roster):
    await _company_roster(harness, roster)
    await harness.feed(updates.click(data(EnrolAction.SEARCH), BOSS))
    await harness.feed(updates.message("工人07", BOSS))
    found = last_markup_message(harness)
    assert "（找到 1 个）" in found.text
    assert buttons(found)[0][0] == "☑️ 工人07 · 安全生产考核合格证书B证"


async def test_only_the_registered_contact_phone_can_act_for_a_company(harness: BotHarness, roster):
    await harness.feed(updates.click(data(EnrolAction.COMPANY), ZHANG))
    await harness.feed(updates.message(roster["company"], ZHANG))
    await harness.feed(updates.contact(ZHANG_PHONE, ZHANG))
    assert "不是该单位登记的联系电话" in harness.last_text()
    assert await models.EnterpriseContact.all().count() == 0


async def test_a_wrong_credit_code_is_explained(harness: BotHarness, roster):
    await harness.feed(updates.click(data(EnrolAction.COMPANY), BOSS))
    await harness.feed(updates.message(roster["company"][:-1] + "0", BOSS))
    assert "最后一位校验码" in harness.last_text()


async def test_cancel_leaves_the_conversation_clean(harness: BotHarness, roster):
    await harness.feed(updates.click(data(EnrolAction.MYSELF), ZHANG))
    await harness.feed(updates.message("/cancel", ZHANG))
    assert "已取消" in harness.session.texts()[-2]
    await harness.feed(updates.message(roster["zhang_id"], ZHANG))
    # No step waits for it any more: self-help answers, and the number is not said back.
    assert "没法自己回答" in harness.last_text()
    assert roster["zhang_id"] not in harness.last_text()


async def test_a_name_that_does_not_match_the_registry_is_refused(harness: BotHarness, roster):
    await identify(harness, ZHANG, roster["zhang_id"], "张四", ZHANG_PHONE)
    assert "姓名与登记库中该身份证号的记录不一致" in harness.last_text()
    assert await models.Binding.all().count() == 0


async def test_a_bound_account_cannot_take_on_a_second_identity(harness: BotHarness, roster):
    await identify(harness, LI, roster["li_id"], "李四", "13800000002")
    await identify(harness, LI, roster["zhang_id"], "张三", ZHANG_PHONE, owner_id=LI["id"])

    listings = [t for t in harness.session.texts() if t.startswith("登记库中您的证书")]
    assert len(listings) == 2 and all("云建安B****1234" not in t for t in listings)
    bindings = await models.Binding.all().prefetch_related("person")
    assert [(b.chat_user_id, b.person.name) for b in bindings] == [(LI["id"], "李四")]


async def test_an_unknown_credit_code_is_refused_with_support(harness: BotHarness, roster):
    await harness.feed(updates.click(data(EnrolAction.COMPANY), BOSS))
    await harness.feed(updates.message(registry.credit_code(999), BOSS))
    await harness.feed(updates.contact(BOSS_PHONE, BOSS))
    assert "查不到该信用代码" in harness.last_text()
    await harness.feed(updates.click(data(EnrolAction.SUPPORT), BOSS))
    assert await models.SupportRequest.filter(kind="enterprise_not_found").exists()

"""现场专业人员 are eight roles, each its own certificate; a 施工员 certificate's category is shown
before enrolling on both paths, and staff correct it from the staff chat (issue 18, item 4)."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.methods import SendMessage

from bot.callbacks import EnrolAction
from infra.db import models
from tests.bot.test_enrolment import buttons, data, identify, last_markup_message
from tests.bot.test_support_desk import group_message
from tests.conftest import BotHarness
from tests.support import registry, updates
from tests.support.clock import days_from_today

BOSS = updates.user(100209, "周经理")
BOSS_PHONE = "13900000209"
HOLDER = updates.user(100201, "Wu", language_code="en")
HOLDER_PHONE = "13800000201"
STAFF = updates.user(900001, "客服小李")
BUILDER = "云建现(2024)0000201"  # 施工员 土建, held by HOLDER
INSPECTOR = "云建现(2024)0000202"  # 质量员
PAVER = "云建现(2024)0000203"  # 施工员 市政


@pytest.fixture
async def site(database: str) -> dict[str, Any]:
    company = await registry.enterprise(20, "云南现场建设有限公司", BOSS_PHONE)
    wu = await registry.person(201, "吴一", HOLDER_PHONE)
    zheng = await registry.person(202, "郑二", "13800000202")
    wang = await registry.person(203, "王三", "13800000203")
    due = days_from_today(120)
    for holder, number, role, category in (
        (wu, BUILDER, "construction", "土建"),
        (zheng, INSPECTOR, "quality", None),
        (wang, PAVER, "construction", "市政"),
    ):
        await registry.certificate(holder, number, "site_pro", due, employer=company)
        await models.Certificate.filter(number=number).update(role=role, category=category)
    return {"company": registry.credit_code(20), "wu": registry.id_number(201)}


async def open_company_roster(harness: BotHarness, site: dict[str, Any]) -> None:
    await harness.feed(updates.click(data(EnrolAction.COMPANY), BOSS))
    await harness.feed(updates.message(site["company"], BOSS))
    await harness.feed(updates.contact(BOSS_PHONE, BOSS))


async def enrolled_numbers() -> set[str]:
    return {
        e.certificate.number for e in await models.Enrolment.all().select_related("certificate")
    }


async def test_the_company_roster_names_each_role_and_asks_every_construction_category(
    harness: BotHarness, site
):
    await open_company_roster(harness, site)
    labels = [label for label, _ in buttons(last_markup_message(harness))]
    assert any("郑二 · 现场专业人员：质量员" in label for label in labels)
    assert any("吴一 · 现场专业人员：施工员" in label for label in labels)

    await harness.feed(updates.click(data(EnrolAction.SUBMIT), BOSS))
    first = harness.last_text()
    assert "吴一的施工员证书" in first and "类别为<b>土建</b>" in first
    assert await models.Enrolment.all().count() == 0  # nothing enrolled before the answers

    await harness.feed(updates.click(data(EnrolAction.CATEGORY_OK), BOSS))
    second = harness.last_text()
    assert "王三的施工员证书" in second and "类别为<b>市政</b>" in second

    await harness.feed(updates.click(data(EnrolAction.CATEGORY_WRONG), BOSS))
    case = await models.SupportRequest.get(kind="category_correction")
    assert case.details["certificate"] == PAVER and case.details["category"] == "市政"
    assert "530102" in case.details["id_number"] and "*" in case.details["id_number"]
    texts = harness.session.texts()
    ticket = await models.SupportTicket.get(chat_user_id=BOSS["id"])
    assert any(f"#{ticket.id}" in t for t in texts)
    # The contact's staff topic says how to correct it from the chat.
    assert any(f"/category {PAVER}" in t for t in texts)
    assert await enrolled_numbers() == {BUILDER, INSPECTOR}


async def test_staff_correct_a_category_from_the_chat_and_the_holder_is_told_in_english(
    harness: BotHarness, site
):
    await identify(harness, HOLDER, site["wu"], "吴一", HOLDER_PHONE)
    harness.session.requests.clear()

    await harness.feed(group_message(f"/category {BUILDER} 装饰装修", STAFF))

    certificate = await models.Certificate.get(number=BUILDER)
    assert certificate.category == "装饰装修"
    log = await models.AuditLog.get(action="category_corrected")
    assert (log.actor_id, log.subject) == (STAFF["id"], f"certificate:{BUILDER}")
    assert log.details == {"old": "土建", "new": "装饰装修"}
    told = [r for r in harness.session.sent(SendMessage) if r.chat_id == HOLDER["id"]]
    assert len(told) == 1
    assert "Staff corrected the category" in told[0].text and "装饰装修" in told[0].text
    assert "土建" in told[0].text  # what it was
    answer = harness.last_text()
    assert "装饰装修" in answer and "已用持证人的语言通知" in answer

    # The holder's list now shows the new category.
    await harness.feed(updates.click(data(EnrolAction.MYSELF), HOLDER))
    assert "category 装饰装修" in last_markup_message(harness).text


async def test_staff_cannot_give_a_category_a_role_does_not_have(harness: BotHarness, site):
    await harness.feed(group_message(f"/category {BUILDER} 水利", STAFF))
    refused = harness.last_text()
    assert "土建、装饰装修、设备安装、市政" in refused
    await harness.feed(group_message(f"/category {INSPECTOR} 土建", STAFF))
    assert "只有施工员证书有类别" in harness.last_text()
    await harness.feed(group_message("/category 云建现0009999 土建", STAFF))
    assert "登记库中没有证书" in harness.last_text()
    await harness.feed(group_message("/category", STAFF))
    assert "用法" in harness.last_text()

    assert (await models.Certificate.get(number=BUILDER)).category == "土建"
    assert (await models.Certificate.get(number=INSPECTOR)).category is None
    assert not await models.AuditLog.filter(action="category_corrected").exists()


async def test_a_trainee_confirms_the_category_of_their_own_construction_certificate(
    harness: BotHarness, site
):
    await identify(harness, HOLDER, site["wu"], "吴一", HOLDER_PHONE)
    listing = last_markup_message(harness)
    assert "On-site professional: construction worker (施工员)" in listing.text
    await harness.feed(updates.click(data(EnrolAction.SUBMIT), HOLDER))
    assert "registered under the category <b>土建</b>" in harness.last_text()
    await harness.feed(updates.click(data(EnrolAction.CATEGORY_OK), HOLDER))
    assert await enrolled_numbers() == {BUILDER}


async def test_a_construction_certificate_without_a_category_is_not_enrolled_silently(
    harness: BotHarness, database: str
):
    """「施工员证需要勾选类别」: the registry gave none; the holder has staff set it."""
    he = await registry.person(211, "冯四", "13800000211")
    await registry.certificate(he, "云建现(2024)0000211", "site_pro", days_from_today(120))
    await models.Certificate.filter(number="云建现(2024)0000211").update(role="construction")
    trainee = updates.user(100211, "冯四")
    await identify(harness, trainee, registry.id_number(211), "冯四", "13800000211")
    await harness.feed(updates.click(data(EnrolAction.SUBMIT), trainee))
    asked = harness.last_text()
    assert "没有类别" in asked and "土建、装饰装修、设备安装、市政" in asked

    await harness.feed(updates.click(data(EnrolAction.CATEGORY_WRONG), trainee))
    case = await models.SupportRequest.get(kind="category_correction")
    assert case.details["certificate"] == "云建现(2024)0000211"
    assert await models.Enrolment.all().count() == 0

"""Help starts from the trainee's own situation; every answer offers support."""

from __future__ import annotations

from datetime import timedelta

from aiogram.methods import SendMessage

from bot.callbacks import HelpCallback, HelpTopic
from infra.db import models
from tests.conftest import BotHarness
from tests.support import registry, updates
from tests.support.clock import days_from_today

TRAINEE = updates.user(100091, "冯十三")


def _buttons(request: SendMessage) -> list[str]:
    return [b.text for row in request.reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]


async def test_someone_not_enrolled_is_pointed_to_enrolment(harness: BotHarness):
    await harness.feed(updates.message("/help", TRAINEE))
    assert "您还没有报名" in harness.last_text()


async def test_an_order_that_expired_minutes_ago_is_named_with_a_new_qr_button(
    harness: BotHarness, clock
):
    person = await registry.person(91, "冯十三", "13800000091")
    cert = await registry.certificate(person, "B-91", "safety_b", days_from_today(124))
    await models.Binding.create(chat_user_id=TRAINEE["id"], person=person)
    await registry.enrolment(cert, TRAINEE["id"], "enrolled")
    await models.Order.create(
        number="JJ-HELP",
        payer_chat_user_id=TRAINEE["id"],
        channel="individual",
        amount_fen=30000,
        status="expired",
        provider="sandbox",
        created_at=clock.now() - timedelta(minutes=35),
        expires_at=clock.now() - timedelta(minutes=5),
        invoice_title="冯十三",
    )
    await harness.feed(updates.message("/help", TRAINEE))

    [reply] = [m for m in harness.session.sent(SendMessage) if "帮助" in m.text]
    assert "您的订单已于 5 分钟前失效" in reply.text
    assert _buttons(reply)[0] == "🔁 获取新二维码"
    assert _buttons(reply)[-1] == "💬 还是没解决？联系客服"


async def test_a_topic_answer_ends_with_contact_support(harness: BotHarness):
    await harness.feed(updates.click(HelpCallback(topic=HelpTopic.ORDER).pack(), TRAINEE))
    reply = harness.session.sent(SendMessage)[-1]
    assert "30 分钟" in reply.text
    assert _buttons(reply) == ["💬 还是没解决？联系客服"]

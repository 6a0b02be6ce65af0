"""The exam's standing, the receipt and /mute for a WeChat user, through the stand-in: the same
conversation core as Telegram's ✍️ Exam (conversation/flows/exam.py). What is missing before
the exam, the exam page opened through WeChat's OAuth, and the receipt again as an image with
the PDF a link away; another person's receipt is never sent."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import aiohttp

from conversation.actions import MenuAction, menu
from conversation.flows.exam import receipt_press, renewal_press
from domain.exam import Attempt, AttemptStatus
from infra.db import models
from infra.db.exam_models import Receipt
from jijiao.app import Runtime
from tests.e2e.test_wechat_journey_e2e import words
from tests.support import registry
from tests.support.clock import days_from_today
from tests.support.wechat_client import WeChatClient

OPENID = "o-wechat-exam-64"


async def _enrolled(account: int, number: str, state: str, now: Any) -> models.Enrolment:
    person = await registry.holder("530102198001016464", "孙六四")
    await models.Binding.create(chat_user_id=account, person=person)
    certificate = await models.Certificate.create(
        number=number, cert_type="safety_c", person=person, expires_on=days_from_today(215)
    )
    return await models.Enrolment.create(
        certificate=certificate,
        channel="individual",
        enrolled_by=account,
        state=state,
        paid_at=now - timedelta(days=2),
        study_deadline=now + timedelta(days=28),
    )


async def test_a_wechat_user_sees_the_exam_standing_and_gets_the_receipt(live_app: Runtime):
    base = live_app.settings.base_url
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(base, http)
        await wx.follow(OPENID)
        await wx.reply(OPENID)
        account = await models.ChatUser.get(channel="wechat", external_id=OPENID)

        # Not enrolled: what comes first, not "not available in WeChat".
        await wx.click(OPENID, menu(MenuAction.EXAM).pack())
        assert "报名缴费" in words(await wx.reply(OPENID))

        # Studying: the lessons still short, by name, in the person's language.
        enrolment = await _enrolled(
            account.id, "云建安C(2024)0006464", "studying", live_app.clock.now()
        )
        await wx.send(OPENID, "/exam")
        standing = words(await wx.reply(OPENID))
        assert "100%" in standing and standing.count("• ") == 3
        assert "云建安C(2024)0006464" not in standing  # the certificate number masked

        # Passed: the receipt again, as an image, with the PDF behind a link.
        await models.Enrolment.filter(id=enrolment.id).update(state="passed")
        receipt = await Receipt.create(
            enrolment=enrolment,
            number="JJ20261127006464",
            score=88,
            hours=0.8,
            passed_at=live_app.clock.now(),
        )
        await wx.send(OPENID, "/receipt")
        got = await wx.replies(OPENID, count=3)
        kinds = [message["type"] for message in got]
        assert "image" in kinds, got
        said = " ".join(words(message) for message in got)
        assert "88" in said and "JJ20261127006464" in said

        # A press for another person's receipt (a forged menu id): nothing sent.
        other = await _other_receipt()
        live_app.clock.advance(seconds=1)  # a new second: not taken for a retried event
        await wx.click(OPENID, receipt_press(other.id).pack())
        await wx.send(OPENID, "/receipt")
        again = await wx.replies(OPENID, count=3)
        assert "JJ20261127009999" not in " ".join(words(m) for m in again)
        assert receipt.id != other.id


async def _other_receipt() -> Receipt:
    person = await registry.holder("530102198001019999", "路人")
    certificate = await models.Certificate.create(
        number="C-WX-99", cert_type="safety_c", person=person, expires_on=days_from_today(215)
    )
    enrolment = await models.Enrolment.create(
        certificate=certificate, channel="individual", enrolled_by=1, state="passed"
    )
    return await Receipt.create(
        enrolment=enrolment,
        number="JJ20261127009999",
        score=90,
        hours=0.8,
        passed_at=certificate.created_at,
    )


async def test_a_wechat_user_mutes_and_unmutes_reminders(live_app: Runtime):
    openid = "o-wechat-mute-65"
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(live_app.settings.base_url, http)
        await wx.follow(openid)
        await wx.reply(openid)
        await wx.send(openid, "/mute")
        assert "🔕" in words(await wx.reply(openid))
        account = await models.ChatUser.get(channel="wechat", external_id=openid)
        assert account.muted
        await wx.send(openid, "/unmute")
        assert "🔔" in words(await wx.reply(openid))
        await account.refresh_from_db()
        assert not account.muted


async def test_the_exams_own_messages_reach_a_wechat_user_in_wechat(live_app: Runtime):
    """Ten minutes left (with the way back to the attempt), a time-out, an attempt held, an
    identity refused: each on the person's own channel, not a Telegram chat of the same id."""
    openid = "o-wechat-notices-66"
    notifier = live_app.services.handlers["exam_notifier"]
    now = live_app.clock.now()
    attempt = Attempt(2, AttemptStatus.SUBMITTED, now - timedelta(minutes=60), now, score=72)
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(live_app.settings.base_url, http)
        await wx.follow(openid)
        await wx.reply(openid)
        account = await models.ChatUser.get(channel="wechat", external_id=openid)

        await notifier.ten_minutes_left(account.id, 7, now + timedelta(minutes=10))
        left = await wx.reply(openid)
        assert "10" in words(left) and "/exam/attempt/7" in json.dumps(left, ensure_ascii=False)
        await notifier.timed_out(account.id, attempt, True)
        assert "72" in words(await wx.reply(openid))
        await notifier.held(account.id, attempt)
        await notifier.identity_rejected(account.id, attempt, [(now, "different_person")])
        held, refused = await wx.replies(openid, count=2)
        # Past WeChat's allowance of messages per message from the person: as notices.
        assert "人脸核验未通过" in _said(held)
        assert "不是同一个人" in _said(refused), refused
        assert "different_person" not in _said(refused)
    assert live_app.localchat is not None
    assert live_app.localchat.messages(account.id)["messages"] == []


def _said(message: dict[str, Any]) -> str:
    """The words of a message: a text, a menu, or a notice's content."""
    return words(message) or str(message.get("data", {}).get("content", ""))


async def test_a_wechat_holder_says_the_renewal_was_applied_for(live_app: Runtime):
    """ "I have applied for the renewal" under a renewal reminder, pressed in WeChat: the
    reminders stop; pressed for someone else's receipt (a forged menu id), nothing changes."""
    openid = "o-wechat-renewal-67"
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(live_app.settings.base_url, http)
        await wx.follow(openid)
        await wx.reply(openid)
        account = await models.ChatUser.get(channel="wechat", external_id=openid)
        enrolment = await _enrolled(
            account.id, "云建安C(2024)0006767", "passed", live_app.clock.now()
        )
        mine = await Receipt.create(
            enrolment=enrolment,
            number="JJ20261127006767",
            score=81,
            hours=0.8,
            passed_at=live_app.clock.now(),
        )
        other = await _other_receipt()

        await wx.click(openid, renewal_press(other.id).pack())
        await other.refresh_from_db()
        assert other.renewal_applied_at is None

        # WeChat tells events apart by sender and second: the next press comes a second later.
        live_app.clock.advance(seconds=1)
        await wx.click(openid, renewal_press(mine.id).pack())
        assert "不再" in _said(await wx.reply(openid))
        await mine.refresh_from_db()
        assert mine.renewal_applied_at is not None


async def test_an_exam_notice_while_wechat_is_down_arrives_once_when_the_outbox_retries(
    live_app: Runtime,
):
    """WeChat answers the time-out's message with "system busy": it waits in the outbox and
    arrives once; said twice (the time-out job run again), it is still one message."""
    openid = "o-wechat-notices-67"
    notifier = live_app.services.handlers["exam_notifier"]
    now = live_app.clock.now()
    attempt = Attempt(1, AttemptStatus.SUBMITTED, now - timedelta(minutes=60), now, score=91)
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(live_app.settings.base_url, http)
        await wx.follow(openid)
        await wx.reply(openid)
        account = await models.ChatUser.get(channel="wechat", external_id=openid)
        assert live_app.wechatlocal is not None
        live_app.wechatlocal.refusals.append(-1)

        await notifier.timed_out(account.id, attempt, True)
        await notifier.timed_out(account.id, attempt, True)
        [timed_out] = await wx.replies(openid, wait=20)
        assert "91" in _said(timed_out)
        row = await models.Outbox.get(chat_id=account.id, kind="turn")
        assert row.status == "sent" and row.attempts == 2
    assert await models.Outbox.filter(chat_id=account.id, kind="turn").count() == 1

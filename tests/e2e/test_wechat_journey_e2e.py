"""A WeChat user walks the product through the WeChat stand-in, as `make run` serves it: the
stand-in signs each message (safe mode), the product answers through the same conversation
core as Telegram, and the phone is proved by the SMS code the sandbox shows in local mode."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp

from infra.db import models
from jijiao.app import Runtime
from tests.fuzz.hostile import jpeg
from tests.support import registry
from tests.support.clock import days_from_today
from tests.support.localchat_client import LocalChatClient, eventually
from tests.support.wechat_client import WeChatClient


def words(message: dict[str, Any]) -> str:
    if message["type"] == "msgmenu":
        return " ".join(
            [
                message["head_content"],
                *(c["content"] for c in message["list"]),
                message["tail_content"],
            ]
        )
    return str(message.get("text", ""))


def choice(message: dict[str, Any], label: str) -> str:
    for item in message.get("list", []):
        if label in item["content"]:
            return str(item["id"])
    raise AssertionError(f"no choice {label!r} in {message}")


async def sms_code(http: aiohttp.ClientSession, base: str, phone: str) -> str:
    async with http.get(f"{base}/_local/api/sms/messages", params={"phone": phone}) as response:
        assert response.status == 200
        return str((await response.json())["messages"][-1]["code"])


async def test_a_wechat_user_enrols_proving_the_phone_by_sms(live_app: Runtime):
    person = await registry.person(61, "赵六", "13800000061")
    await registry.certificate(person, "云建安B(2024)0006161", "safety_b", days_from_today(100))
    base = live_app.settings.base_url
    openid = "o-wechat-trainee-61"
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(base, http)
        assert (await wx.config())["safe_mode"] is True
        await wx.follow(openid)
        greeting = await wx.reply(openid)
        assert "报名" in words(greeting)

        await wx.send(openid, "/enrol")
        who = await wx.reply(openid)
        await wx.choose(openid, choice(who, "本人"))
        assert "身份证号" in words(await wx.reply(openid))
        await wx.send(openid, registry.id_number(61))
        assert "姓名" in words(await wx.reply(openid))
        await wx.send(openid, "赵六")
        ask = await wx.reply(openid)
        assert "手机号" in words(ask) and "短信验证码" in words(ask)

        await wx.send(openid, "13800000061")
        sent = await wx.reply(openid)
        assert "138****0061" in words(sent) and "13800000061" not in words(sent)
        await wx.send(openid, await sms_code(http, base, "13800000061"))
        confirmed, listing = await wx.replies(openid, count=2)
        assert "身份已确认" in words(confirmed)
        assert "云建安B****6161" in words(listing)

        await wx.choose(openid, choice(listing, "报名所选"))
        assert "已报名继续教育（1 本）" in words(await wx.reply(openid))

    account = await models.ChatUser.get(channel="wechat", external_id=openid)
    assert account.id < 0
    binding = await models.Binding.get(person=person)
    assert binding.chat_user_id == account.id
    assert await models.Enrolment.filter(certificate__number="云建安B(2024)0006161").exists()


async def test_a_forged_message_to_the_callback_changes_nothing(live_app: Runtime):
    base = live_app.settings.base_url
    body = (
        "<xml><ToUserName>gh_x</ToUserName><FromUserName>o-forger</FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>/enrol</Content>"
        "<MsgId>1</MsgId></xml>"
    )
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/wechat/callback",
            params={"signature": "0" * 40, "timestamp": "1", "nonce": "n"},
            data=body,
        ) as response:
            assert response.status == 403
    assert not await models.ChatUser.filter(external_id="o-forger").exists()


async def asked_for_an_extension_form(
    live_app: Runtime, wx: WeChatClient, n: int, name: str, openid: str
) -> tuple[models.ChatUser, models.Enrolment, dict[str, Any]]:
    """A WeChat user bound to a person whose study time ran out asks to apply for an
    extension: the account, the enrolment and the product's answer (the form is awaited)."""
    person = await registry.person(n, name, f"138000000{n}")
    cert = await registry.certificate(
        person, f"云建安B(2024)000{n}{n}", "safety_b", days_from_today(100)
    )
    await wx.follow(openid)
    await wx.reply(openid)
    account = await models.ChatUser.get(channel="wechat", external_id=openid)
    await models.Binding.create(chat_user_id=account.id, person=person, channel="wechat")
    now = live_app.clock.now()
    enrolment = await models.Enrolment.create(
        certificate=cert,
        active_key=cert.number,
        channel="individual",
        enrolled_by=account.id,
        state="overdue",
        paid_at=now - timedelta(days=31),
        study_deadline=now - timedelta(days=1),
    )
    await wx.send(openid, "/apply")
    overview = await wx.reply(openid)
    await wx.choose(openid, choice(overview, "申请延期"))
    return account, enrolment, await wx.reply(openid)


async def test_a_wechat_applicant_gets_the_sign_link_and_hears_the_decision_in_wechat(
    live_app: Runtime,
):
    """WeChat carries no file either way: asked for the form, the person gets the web view's
    fill-and-sign page; staff's decision comes back in WeChat, not in a Telegram chat."""
    base = live_app.settings.base_url
    openid = "o-wechat-applicant-62"
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(base, http)
        account, enrolment, form = await asked_for_an_extension_form(
            live_app, wx, 62, "钱七", openid
        )
        assert f"/wechat/oauth?next=/app/apply/extension/{enrolment.id}" in words(form)
        assert "/records" not in words(form) and "WPS" not in words(form)

        # Filed (as the signed page files it) and decided by staff.
        application = await models.Application.create(
            kind="extension", enrolment=enrolment, chat_user_id=account.id
        )
        decided = await live_app.services.handlers["applications"].decide(
            application.id,
            approved=True,
            staff_id=900001,
            staff_name="客服小李",
            reason=None,
            desk=live_app.services.handlers["desk"],
        )
        assert decided
        told = await wx.reply(openid)
        assert told["via"] == "custom" and "延期申请已批准" in words(told)


async def test_a_photo_of_the_paper_form_sent_in_wechat_reaches_staff_as_a_picture(
    live_app: Runtime,
):
    """Asked for the form, a WeChat user may photograph the filled paper form instead of
    signing on the page: the product fetches the photo from WeChat (a media id means nothing
    to staff's Telegram) and files the application with the picture itself on staff's card.
    A photo WeChat cannot give back is asked for again, in the person's language."""
    base = live_app.settings.base_url
    openid = "o-wechat-photo-63"
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(base, http)
        _, enrolment, _ = await asked_for_an_extension_form(live_app, wx, 63, "孙八", openid)

        # WeChat loses the photo (media/get answers "invalid media_id"): asked again, nothing
        # filed.
        stand_in = live_app.wechatlocal
        assert stand_in is not None
        kept = stand_in.config
        stand_in.config = replace(kept, media_ttl=0)
        await wx.send_photo(openid, jpeg())
        again = await wx.reply(openid)
        assert "没能收到这张图片" in words(again)
        assert not await models.Application.filter(enrolment=enrolment).exists()

        stand_in.config = kept
        photo = jpeg(colour=(10, 200, 30))
        await wx.send_photo(openid, photo)
        received = await wx.reply(openid)
        assert "已收到" in words(received), received
        application = await models.Application.get(enrolment=enrolment)
        assert application.form_file_id is None  # no WeChat media id kept as a Telegram file

        chat = LocalChatClient(base, http)

        async def card() -> dict[str, Any] | None:
            for message in await chat.group_messages():
                if f"#{application.id}" in str(message.get("caption", "")):
                    return message
            return None

        shown = await eventually(card)
        assert shown.get("photo"), shown  # a picture staff can see, not a dead file id


async def test_an_enterprise_contact_enrols_employees_in_wechat(live_app: Runtime):
    """The company's contact in WeChat: the credit code, the contact phone proved by the SMS
    code, the roster, and the employees enrolled, as in Telegram."""
    company = await registry.enterprise(68, "云南微信建设有限公司", "13900000068")
    for n in (681, 682):
        worker = await registry.person(n, f"员工{n}", f"1370000{n:04d}")
        await registry.certificate(
            worker, f"云建安C(2024)000{n}", "safety_c", days_from_today(60), employer=company
        )
    base = live_app.settings.base_url
    openid = "o-wechat-boss-68"
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(base, http)
        await wx.follow(openid)
        await wx.reply(openid)
        await wx.send(openid, "/enrol")
        who = await wx.reply(openid)
        await wx.choose(openid, choice(who, "本单位员工"))
        assert "统一社会信用代码" in words(await wx.reply(openid))
        await wx.send(openid, registry.credit_code(68))
        assert "短信验证码" in words(await wx.reply(openid))
        await wx.send(openid, "13900000068")
        assert "139****0068" in words(await wx.reply(openid))
        await wx.send(openid, await sms_code(http, base, "13900000068"))
        confirmed, roster = await wx.replies(openid, count=2)
        assert "云南微信建设有限公司" in words(confirmed)
        assert "2" in words(roster)
        await wx.choose(openid, choice(roster, "报名所选"))
        assert "已报名" in words(await wx.reply(openid))

    account = await models.ChatUser.get(channel="wechat", external_id=openid)
    assert await models.EnterpriseContact.filter(chat_user_id=account.id).exists()
    assert await models.Enrolment.filter(channel="enterprise").count() == 2

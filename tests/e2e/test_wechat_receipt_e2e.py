"""The completion receipt after a pass reaches a WeChat user as the chat renders it for every
channel: the image uploaded as media and sent inside the 48-hour window, the PDF as a link into
the web view's records page through OAuth; outside the window a notice with that link."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp

from infra.db import models
from infra.db.exam_models import Receipt
from jijiao.app import Runtime
from tests.e2e.test_wechat_journey_e2e import words
from tests.e2e.test_wechat_pay_e2e import browser, wechat_payer
from tests.support.wechat_client import WeChatClient

LINK = re.compile(r'<a href="([^"]+)">')


async def passed(live_app: Runtime, account: int, number: str) -> int:
    enrolment = await models.Enrolment.get(enrolled_by=account)
    now = live_app.clock.now()
    await models.Enrolment.filter(id=enrolment.id).update(
        state="passed", active_key=None, paid_at=now - timedelta(days=3)
    )
    receipt = await Receipt.create(
        enrolment=enrolment, number=number, score=88, hours=0.8, passed_at=now
    )
    return receipt.id


async def test_a_wechat_user_gets_the_receipt_image_and_the_pdf_link(live_app: Runtime):
    base = live_app.settings.base_url
    openid = "o-wechat-receipt-91"
    async with aiohttp.ClientSession() as api, browser() as http:
        wx = WeChatClient(base, api)
        account = await wechat_payer(wx, openid, 91)
        receipt = await passed(live_app, account, "JJ20261207000091")
        await wx.send(openid, "/status")  # the person wrote lately: the window is open
        await wx.reply(openid)

        await live_app.services.handlers["exam_notifier"].passed(account, receipt)
        image, caption, text = await wx.replies(openid, count=3)
        assert image["type"] == "image" and image["via"] == "custom"
        async with api.get(
            f"{base}/_local/api/wechat/users/{openid}/media/{image['media_id']}"
        ) as response:
            assert response.status == 200
            assert (await response.read()).startswith(b"\x89PNG")
        assert "88" in words(caption) and "JJ20261207000091" in words(caption)
        pdf_link = next(
            url for url in LINK.findall(words(text)) if url.startswith(f"{base}/wechat/oauth")
        )
        assert "next=/app/records" in pdf_link

        # The link signs this person in and opens their records, with the receipt to download.
        async with http.get(
            f"{base}/_local/wechat/open", params={"openid": openid, "url": pdf_link}
        ) as response:
            assert response.status == 200
            assert urlsplit(str(response.url)).path == "/app/records"
            assert "云建安B-W91" in await response.text()


async def test_outside_the_48_hour_window_the_receipt_comes_as_a_notice_with_the_link(
    live_app: Runtime,
):
    base = live_app.settings.base_url
    openid = "o-wechat-receipt-92"
    async with aiohttp.ClientSession() as api:
        wx = WeChatClient(base, api)
        account = await wechat_payer(wx, openid, 92)
        receipt = await passed(live_app, account, "JJ20261207000092")
        await models.ChatUser.filter(id=account).update(
            last_inbound_at=live_app.clock.now() - timedelta(hours=49)
        )

        await live_app.services.handlers["exam_notifier"].passed(account, receipt)
        notice = await wx.reply(openid)
        assert notice["type"] in {"template", "notice"}
        assert "JJ20261207000092" in str(notice["data"])
        assert notice["url"].startswith(f"{base}/wechat/oauth?next=/app/records")


async def test_a_receipt_while_wechat_is_down_arrives_once_when_the_outbox_retries(
    live_app: Runtime,
):
    """WeChat answers the receipt's first message with "system busy": the receipt is an outbox
    row that waits its back-off and then arrives, once; the row holds the receipt's id, not its
    picture (made again at send time)."""
    openid = "o-wechat-receipt-93"
    async with aiohttp.ClientSession() as api:
        wx = WeChatClient(live_app.settings.base_url, api)
        account = await wechat_payer(wx, openid, 93)
        receipt = await passed(live_app, account, "JJ20261207000093")
        await wx.send(openid, "/status")
        await wx.reply(openid)
        assert live_app.wechatlocal is not None
        live_app.wechatlocal.refusals.append(-1)

        await live_app.services.handlers["exam_notifier"].passed(account, receipt)
        image, caption, text = await wx.replies(openid, count=3, wait=20)
        assert image["type"] == "image" and "JJ20261207000093" in words(caption)
        assert "next=/app/records" in words(text)
        row = await models.Outbox.get(chat_id=account, kind="turn")
        assert row.status == "sent" and row.attempts == 2  # the refused try, then the one
        assert "base64" not in str(row.payload) and f"receipt:{receipt}" in str(row.payload)

        # Told again (the pass recorded twice): the same row, nothing more.
        await live_app.services.handlers["exam_notifier"].passed(account, receipt)
        assert await models.Outbox.filter(chat_id=account, kind="turn").count() == 1

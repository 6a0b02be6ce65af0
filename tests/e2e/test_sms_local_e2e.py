"""Local mode: the whole app shows the SMS sandbox's codes beside the local chat, so a person
walking the app can prove a phone the way a WeChat user does."""

from __future__ import annotations

import aiohttp

from domain.accounts import ChatUserId
from domain.locales import Locale
from jijiao.app import Runtime


async def test_a_code_sent_in_local_mode_can_be_read_and_used(live_app: Runtime):
    codes = live_app.services.handlers["phone_codes"]
    await codes.send(ChatUserId(320001), "13800000007", Locale.ZH_CN)
    base = live_app.settings.base_url
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/_local/api/sms/messages?phone=13800000007") as response:
            assert response.status == 200
            [message] = (await response.json())["messages"]
        async with http.get(f"{base}/_local/") as chat:
            assert chat.status == 200  # the local chat is still there beside it
    await codes.check(ChatUserId(320001), "13800000007", message["code"])

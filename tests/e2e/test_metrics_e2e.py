"""/metrics of the whole app: the composition root wires the bot, the web view and the outbox
to one registry, and WEB_METRICS_TOKEN guards it."""

from __future__ import annotations

import aiohttp

from infra.settings import Settings, load_settings
from tests.support.app import running
from tests.support.localchat_client import LocalChatClient
from tests.support.prometheus import label_values, sample

USER = 100_321


async def test_a_conversation_shows_up_on_metrics_without_the_user(
    chat: LocalChatClient, app_settings: Settings
):
    await chat.send(USER, "/start", first_name="张三", language_code="zh-hans")
    await chat.reply(USER)

    async with chat.http.get(f"{app_settings.base_url}/metrics") as response:
        assert response.status == 200
        text = await response.text()

    assert sample(text, "jijiao_updates_total", type="message", outcome="handled") == 1
    assert sample(text, "jijiao_outbox_pending") == 0
    assert "jijiao_sends" in text and "jijiao_face_check_seconds" in text
    assert "/_local/bot{token}/{method}" in label_values(text, "route")
    assert str(USER) not in text and app_settings.bot_token not in text


async def test_the_metrics_token_setting_guards_the_scrape(app_settings: Settings):
    settings = load_settings(
        app={"data_dir": app_settings.app.data_dir},
        web={"host": "127.0.0.1", "port": app_settings.web.port, "metrics_token": "t0ken"},
    )
    url = f"{settings.base_url}/metrics"
    async with running(settings), aiohttp.ClientSession() as http:
        async with http.get(url) as refused:
            assert refused.status == 401
        async with http.get(url, headers={"Authorization": "Bearer t0ken"}) as allowed:
            assert allowed.status == 200

"""Webhook mode through the real stack: the local chat posts updates to the app's webhook
endpoint (as Telegram would), the same aiohttp app that serves the web view."""

from __future__ import annotations

import aiohttp
import pytest

from bot.webhook import WEBHOOK_PATH
from infra.settings import Settings, load_settings
from tests.support import updates
from tests.support.app import running
from tests.support.localchat_client import LocalChatClient

SECRET = "e2e-webhook_secret"


@pytest.fixture
def webhook_settings(app_settings: Settings) -> Settings:
    return load_settings(
        app={"data_dir": app_settings.app.data_dir},
        web={"host": "127.0.0.1", "port": app_settings.web.port},
        telegram={"webhook_url": app_settings.base_url, "webhook_secret": SECRET},
    )


async def messages_to(chat: LocalChatClient, user_id: int, wait: float = 0) -> list[dict]:
    async with chat.http.get(
        f"{chat.api}/users/{user_id}/messages", params={"after": 0, "wait": wait}
    ) as response:
        return (await response.json())["messages"]


async def test_in_webhook_mode_start_is_answered_exactly_once(webhook_settings: Settings):
    async with running(webhook_settings) as runtime, aiohttp.ClientSession() as http:
        chat = LocalChatClient(webhook_settings.base_url, http)
        await chat.send(100021, "/start", first_name="张三", language_code="zh-hans")
        assert (await chat.reply(100021))["text"].startswith("张三，您好！")

        # The same /start forged by someone without the secret token: refused, not answered.
        forged = updates.message("/start", updates.user(100021, first_name="张三"))
        async with http.post(
            f"{webhook_settings.base_url}{WEBHOOK_PATH}",
            json=forged.model_dump(mode="json", by_alias=True, exclude_none=True),
            headers={"X-Telegram-Bot-Api-Secret-Token": "guessed"},
        ) as response:
            assert response.status == 401

        later = await messages_to(chat, 100021, wait=1)
        assert [m["text"][:6] for m in later] == ["张三，您好！"]
        assert runtime.localchat is not None
        assert runtime.localchat.stats["webhook_deliveries"] == 1
        info = await runtime.bot.get_webhook_info()
        assert info.url == f"{webhook_settings.base_url}{WEBHOOK_PATH}"
        assert set(info.allowed_updates or []) == set(
            runtime.dispatcher.resolve_used_update_types()
        )


async def test_back_in_polling_mode_the_webhook_left_behind_is_deleted_first(
    webhook_settings: Settings, app_settings: Settings
):
    async with aiohttp.ClientSession() as http:
        chat = LocalChatClient(app_settings.base_url, http)
        async with running(webhook_settings):
            await chat.send(100022, "/start", first_name="李四", language_code="zh-hans")
            await chat.reply(100022)

        async with running(app_settings) as runtime:
            await chat.send(100022, "/start")
            assert (await chat.reply(100022))["text"].startswith("李四，您好！")
            assert (await runtime.bot.get_webhook_info()).url == ""


async def test_in_webhook_mode_readyz_names_each_dependency(webhook_settings: Settings):
    async with running(webhook_settings), aiohttp.ClientSession() as http:
        async with http.get(f"{webhook_settings.base_url}/readyz") as response:
            assert response.status == 200
            assert await response.json() == {
                "status": "ready",
                "checks": {"database": "ok", "faces": "ok"},
            }

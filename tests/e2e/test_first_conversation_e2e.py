"""Through the real stack: local chat API → Bot API stand-in → aiogram polling → handler → DB."""

from __future__ import annotations

import aiohttp

from infra.settings import Settings
from tests.support.localchat_client import LocalChatClient, button_data


async def test_start_answers_in_chinese_through_the_whole_stack(chat: LocalChatClient):
    await chat.send(100001, "/start", first_name="张三", language_code="zh-hans")

    greeting = await chat.reply(100001)
    assert greeting["text"].startswith("张三，您好！")
    assert button_data(greeting, "报名") == "menu:enrol"


async def test_english_chosen_in_the_chat_survives_a_restart(start_app, app_settings: Settings):
    async with aiohttp.ClientSession() as http:
        chat = LocalChatClient(app_settings.base_url, http)
        async with start_app():
            await chat.send(100002, "/start", first_name="李四", language_code="zh-hans")
            menu = await chat.reply(100002)
            await chat.click(100002, menu["message_id"], button_data(menu, "语言"))
            picker = await chat.reply(100002)
            await chat.click(100002, picker["message_id"], button_data(picker, "English"))
            await chat.replies(100002)  # the menu, now in English

        async with start_app():
            await chat.send(100002, "/start")
            assert (await chat.reply(100002))["text"].startswith("Hello, 李四!")


async def test_the_mini_app_signs_in_with_the_signed_init_data(chat: LocalChatClient, live_app):
    await chat.send(100003, "/start", first_name="Wang", language_code="en")
    greeting = await chat.reply(100003)
    study = next(
        button["web_app"]["url"]
        for row in greeting["reply_markup"]["inline_keyboard"]
        for button in row
        if "web_app" in button
    )
    async with chat.http.get(f"{chat.api}/users/100003/webapp", params={"url": study}) as response:
        signed = (await response.json())["url"]
    init_data = signed.split("#tgWebAppData=", 1)[1].split("&tgWebAppVersion", 1)[0]

    from urllib.parse import unquote

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        # What the launch page and its script do: drop any session, sign in, go on.
        launch = await browser.get(study)
        assert study.startswith(f"{live_app.settings.base_url}/app/launch")
        assert 'data-next="/app"' in await launch.text()
        auth = await browser.post(
            f"{live_app.settings.base_url}/app/auth", json={"init_data": unquote(init_data)}
        )
        assert auth.status == 200
        page = await browser.get(f"{live_app.settings.base_url}/app")
        assert "Hello, Wang" in await page.text()


async def test_garbage_in_the_local_chat_api_never_breaks_the_bot(chat: LocalChatClient):
    async with chat.http.post(f"{chat.api}/users/abc/send", json={"text": "hi"}) as response:
        assert response.status == 400
    async with chat.http.post(f"{chat.api}/users/100004/send", data="{not json") as response:
        assert response.status == 400
    async with chat.http.post(
        f"{chat.api}/users/100004/send", json={"text": "长" * 4097}
    ) as response:
        assert response.status == 400
    async with chat.http.post(f"{chat.api}/users/100004/send", json={"text": 5}) as response:
        assert response.status == 400

    await chat.send(100004, "/start", first_name="赵六")
    assert "赵六" in (await chat.reply(100004))["text"]

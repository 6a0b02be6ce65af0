import json
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp.test_utils import TestClient

from localchat import LocalChat
from tests.localchat.conftest import TOKEN
from tests.support.clock import EPOCH

USER = 100001


async def test_a_mini_app_opened_by_a_user_gets_init_data_that_aiogram_accepts(
    client: TestClient, chat: LocalChat
) -> None:
    chat.send_text(USER, "/start", first_name="王芳", language_code="zh")

    response = await client.get(
        f"/_local/api/users/{USER}/webapp",
        params={"url": "http://127.0.0.1:8080/app/enrol?course=7"},
    )

    url = urlsplit((await response.json())["url"])
    assert (url.path, url.query) == ("/app/enrol", "course=7")
    launch = dict(parse_qsl(url.fragment))
    assert launch["tgWebAppVersion"] == "8.0" and launch["tgWebAppPlatform"] == "web"
    assert "bg_color" in json.loads(launch["tgWebAppThemeParams"])
    data = safe_parse_webapp_init_data(TOKEN, launch["tgWebAppData"])
    assert data.user is not None
    assert (data.user.id, data.user.first_name, data.user.language_code) == (USER, "王芳", "zh")
    assert data.user.allows_write_to_pm is True
    assert abs(data.auth_date - EPOCH) < timedelta(seconds=60)
    assert data.query_id


async def test_init_data_signed_for_this_bot_fails_for_another_token(
    client: TestClient, chat: LocalChat
) -> None:
    chat.send_text(USER, "/start")
    response = await client.get(
        f"/_local/api/users/{USER}/webapp", params={"url": "https://example.test/"}
    )
    init_data = dict(parse_qsl(urlsplit((await response.json())["url"]).fragment))
    with pytest.raises(ValueError, match="Invalid init data signature"):
        safe_parse_webapp_init_data("654321:other", init_data["tgWebAppData"])


async def test_a_mini_app_url_must_be_http_and_the_user_must_exist(client: TestClient) -> None:
    unknown = await client.get(
        "/_local/api/users/4242/webapp", params={"url": "https://example.test/"}
    )
    missing = await client.get("/_local/api/users/4242/webapp")
    assert unknown.status == 400 and missing.status == 400

"""The WeChat channel's settings and its place in the running product."""

from __future__ import annotations

import aiohttp
import pytest

from infra.settings import (
    LOCAL_WECHAT_APPID,
    LOCAL_WECHAT_TOKEN,
    SettingsError,
    load_settings,
)
from tests.support.app import local_settings, running
from tests.wechat import spec

SERVER = {"bot_token": "123:abc"}
KEY = {"secret_key": "s" * 32}


def test_the_channel_is_off_on_a_server_until_configured(monkeypatch):
    for name in ("WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings(telegram=SERVER, security=KEY).wechat_channel is None
    settings = load_settings(
        telegram=SERVER,
        security=KEY,
        wechat={"appid": "wx1", "appsecret": "secret", "token": "tok123"},
    )
    wechat = settings.wechat_channel
    assert wechat is not None
    assert (wechat.api_base, wechat.open_base) == (
        "https://api.weixin.qq.com",
        "https://open.weixin.qq.com",
    )
    assert wechat.encoding_aes_key is None


def test_a_half_configured_channel_stops_the_start():
    with pytest.raises(SettingsError) as refused:
        load_settings(telegram=SERVER, security=KEY, wechat={"appid": "wx1", "token": "tok123"})
    assert refused.value.name == "WECHAT_APPSECRET"
    with pytest.raises(SettingsError) as bad_key:
        load_settings(wechat={"encoding_aes_key": "short"})
    assert bad_key.value.name == "WECHAT_ENCODING_AES_KEY"


async def test_local_mode_answers_wechat_at_the_stand_in_s_address(tmp_path, monkeypatch):
    settings = local_settings(tmp_path, monkeypatch)
    wechat = settings.wechat_channel
    assert wechat is not None and wechat.appid == LOCAL_WECHAT_APPID
    stand_in = f"http://127.0.0.1:{settings.web.port}/_local/wechat"
    assert (wechat.api_base, wechat.open_base) == (stand_in, stand_in)
    async with running(settings) as runtime, aiohttp.ClientSession() as http:
        now = int(runtime.clock.now().timestamp())
        query = {
            "signature": spec.sha1_of(LOCAL_WECHAT_TOKEN, str(now), "42"),
            "timestamp": str(now),
            "nonce": "42",
            "echostr": "hello-wechat",
        }
        async with http.get(f"{settings.base_url}/wechat/callback", params=query) as response:
            assert (response.status, await response.text()) == (200, "hello-wechat")
        async with http.get(
            f"{settings.base_url}/wechat/oauth", params={"next": "/app"}, allow_redirects=False
        ) as response:
            assert response.headers["Location"].startswith(
                f"{stand_in}/connect/oauth2/authorize?appid={LOCAL_WECHAT_APPID}&"
            )

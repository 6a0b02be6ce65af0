"""`jijiao run` in local mode serves the WeChat stand-in beside the local chat, pointed at the
product's /wechat/callback."""

from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.support.app import local_settings, running


async def test_local_mode_mounts_the_wechat_stand_in_beside_the_local_chat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = local_settings(tmp_path, monkeypatch)
    async with running(settings) as runtime, ClientSession() as http:
        assert runtime.wechatlocal is not None
        # The stand-in answers with what the product's WeChat settings resolved to.
        product = settings.wechat_channel
        assert product is not None
        base = f"http://127.0.0.1:{settings.web.port}"
        async with http.get(f"{base}/_local/api/wechat/config") as response:
            config = await response.json()
        assert config["appid"] == product.appid
        assert config["token"] == product.token
        assert config["encoding_aes_key"] == product.encoding_aes_key
        assert config["safe_mode"] is True
        assert config["callback_url"] == f"http://127.0.0.1:{settings.web.port}/wechat/callback"

        query = {
            "grant_type": "client_credential",
            "appid": product.appid,
            "secret": product.appsecret,
        }
        async with http.get(f"{base}/_local/wechat/cgi-bin/token", params=query) as response:
            assert (await response.json())["expires_in"] == 7200
        async with http.get(f"{base}/_local/api/bot") as response:
            assert (await response.json())["is_bot"] is True
        async with http.get(f"{base}/_local/wechat/phone") as response:
            assert response.status == 200

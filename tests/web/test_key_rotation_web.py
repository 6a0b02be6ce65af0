"""Sessions and sign-in links made before a key rotation: honoured while the old key is in
SECURITY_PREVIOUS_KEYS, then the person simply signs in again (never a server error)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from infra.signing import Signer
from tests.support.webapp import signed_in_web_app
from webview.auth import SESSION_COOKIE, Sessions, Viewer

OLD, NEW = b"o" * 32, b"n" * 32
ZHANG = Viewer(100001, "张三", "zh-hans")


async def _client(aiohttp_client, i18n, clock, signer: Signer) -> TestClient:
    sessions = Sessions(signer, session_ttl=3600, link_ttl=600)
    return await aiohttp_client(signed_in_web_app(i18n, clock, sessions))


async def test_a_session_and_a_link_from_before_the_rotation_work_while_the_old_key_is_kept(
    database, i18n, clock, aiohttp_client
):
    before = Sessions(Signer(OLD), session_ttl=3600, link_ttl=600)
    client = await _client(aiohttp_client, i18n, clock, Signer(NEW, [OLD]))
    client.session.cookie_jar.update_cookies(
        {SESSION_COOKIE: before.session_token(ZHANG, clock.now())}
    )
    assert "您好，张三" in await (await client.get("/app")).text()

    client.session.cookie_jar.clear()
    link = before.link_token(ZHANG, clock.now())
    signed_in = await client.get(f"/app/login?token={link}", allow_redirects=False)
    assert signed_in.status == 302
    assert "您好，张三" in await (await client.get("/app")).text()


async def test_once_the_old_key_is_dropped_its_session_and_link_ask_to_open_again_from_the_chat(
    database, i18n, clock, aiohttp_client
):
    before = Sessions(Signer(OLD), session_ttl=3600, link_ttl=600)
    client = await _client(aiohttp_client, i18n, clock, Signer(NEW))
    client.session.cookie_jar.update_cookies(
        {SESSION_COOKIE: before.session_token(ZHANG, clock.now())}
    )
    page = await client.get("/app")
    assert page.status == 200
    text = await page.text()
    assert "正在打开您的学习页面" in text and "张三" not in text
    assert (await client.get("/app/api/me")).status == 401

    link = before.link_token(ZHANG, clock.now())
    refused = await client.get(f"/app/login?token={link}", allow_redirects=False)
    assert refused.status == 401
    assert "链接已失效" in await refused.text()

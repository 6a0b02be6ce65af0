from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from infra.signing import Signer
from tests.conftest import TEST_TOKEN
from tests.support.clock import FixedClock
from tests.support.webapp import init_data, signed_in_web_app
from webview.auth import SESSION_COOKIE, Sessions, Viewer
from webview.keys import WebConfig

MAX_AGE = 3600
ZHANG = {"id": 100001, "first_name": "张三", "language_code": "zh-hans"}


@pytest.fixture
def sessions() -> Sessions:
    return Sessions(Signer(b"k" * 32), session_ttl=3600, link_ttl=600)


@pytest.fixture
async def client(database, i18n, clock: FixedClock, sessions: Sessions, aiohttp_client):
    config = WebConfig(TEST_TOKEN, "http://127.0.0.1", MAX_AGE, True)
    app = signed_in_web_app(i18n, clock, sessions, config=config)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app.router.add_get("/boom", boom)
    return await aiohttp_client(app)


async def test_healthz_reports_the_database(client: TestClient):
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_healthz_is_503_when_the_database_is_down(
    database, i18n, clock, sessions, aiohttp_client
):
    async def database_down() -> None:
        raise ConnectionRefusedError

    config = WebConfig(TEST_TOKEN, "http://127.0.0.1", MAX_AGE, True)
    app = signed_in_web_app(
        i18n, clock, sessions, config=config, health_checks={"database": database_down}
    )
    response = await (await aiohttp_client(app)).get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"] == "error: ConnectionRefusedError"


async def test_an_unknown_page_is_a_friendly_404_in_chinese_by_default(client: TestClient):
    response = await client.get("/no/such/page")
    assert response.status == 404
    assert "页面不存在" in await response.text()


async def test_the_404_page_follows_the_browser_language(client: TestClient):
    response = await client.get("/nope", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Page not found" in await response.text()


async def test_an_unknown_api_path_answers_json(client: TestClient):
    response = await client.get("/app/api/nothing")
    assert response.status == 404
    assert await response.json() == {"ok": False, "error_code": 404}


async def test_a_crash_shows_a_friendly_500_without_a_traceback(client: TestClient):
    response = await client.get("/boom")
    body = await response.text()
    assert response.status == 500
    assert "出了点问题" in body and "RuntimeError" not in body


async def test_telegram_init_data_opens_a_session_and_the_page_greets_the_user(
    client: TestClient, clock: FixedClock
):
    anonymous = await client.get("/app")
    assert "正在打开您的学习页面" in await anonymous.text()

    response = await client.post(
        "/app/auth", json={"init_data": init_data(TEST_TOKEN, ZHANG, clock.now())}
    )
    assert response.status == 200
    assert SESSION_COOKIE in response.cookies

    page = await client.get("/app")
    assert "您好，张三" in await page.text()
    me = await (await client.get("/app/api/me")).json()
    assert me["user_id"] == 100001


async def test_init_data_signed_with_another_token_is_refused(client: TestClient, clock):
    forged = init_data("123:another-bot", ZHANG, clock.now())
    response = await client.post("/app/auth", json={"init_data": forged})
    assert response.status == 401
    assert (await response.json())["error"] == "bad_init_data"
    assert (await client.get("/app/api/me")).status == 401


async def test_init_data_with_an_altered_user_is_refused(client: TestClient, clock):
    genuine = init_data(TEST_TOKEN, ZHANG, clock.now())
    tampered = genuine.replace("100001", "100002")
    response = await client.post("/app/auth", json={"init_data": tampered})
    assert response.status == 401


async def test_init_data_older_than_the_allowed_age_is_refused(client: TestClient, clock):
    stale = init_data(TEST_TOKEN, ZHANG, clock.now() - timedelta(seconds=MAX_AGE + 1))
    response = await client.post("/app/auth", json={"init_data": stale})
    assert response.status == 401
    assert (await response.json())["error"] == "expired_init_data"


@pytest.mark.parametrize("body", ["not json", '{"init_data": 5}', "{}", "[]"])
async def test_malformed_auth_requests_get_400(client: TestClient, body: str):
    response = await client.post("/app/auth", data=body)
    assert response.status == 400


async def test_a_signed_link_signs_in_a_plain_browser(client: TestClient, clock, sessions):
    token = sessions.link_token(Viewer(100001, "张三", "en"), clock.now())
    response = await client.get(f"/app/login?token={token}", allow_redirects=False)
    assert response.status == 302
    page = await client.get("/app")
    assert "Hello, 张三" in await page.text()


async def test_an_expired_or_altered_link_is_refused(client: TestClient, clock, sessions):
    token = sessions.link_token(Viewer(100001, "张三", "zh"), clock.now())
    clock.advance(seconds=601)
    expired = await client.get(f"/app/login?token={token}", allow_redirects=False)
    assert expired.status == 401
    assert "链接已失效" in await expired.text()
    clock.advance(seconds=-601)
    altered = await client.get(f"/app/login?token=x{token}", allow_redirects=False)
    assert altered.status == 401


async def test_a_session_cookie_cannot_be_used_as_a_link(client: TestClient, clock, sessions):
    cookie = sessions.session_token(Viewer(100001, "张三", "zh"), clock.now())
    response = await client.get(f"/app/login?token={cookie}", allow_redirects=False)
    assert response.status == 401


async def test_the_vendored_telegram_script_is_served_locally(client: TestClient):
    response = await client.get("/static/vendor/telegram-web-app.js")
    assert response.status == 200
    assert "Telegram" in await response.text()


async def test_a_launch_drops_the_session_the_browser_holds_before_anything_is_served(
    client: TestClient, sessions: Sessions, clock: FixedClock
):
    """Issue 15: a phone holding 张三's session, launched by someone else from Telegram."""
    token = sessions.session_token(Viewer(100001, "张三", "zh-hans"), clock.now())
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: token})

    response = await client.get("/app/launch/exam?enrolment=5")

    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    dropped = response.cookies[SESSION_COOKIE]
    assert dropped.value == "" and dropped["max-age"] == "0" and dropped["path"] == "/"
    page = await response.text()
    assert 'data-next="/app/exam?enrolment=5"' in page
    assert "张三" not in page and 'id="greeting"' not in page
    for tail in ("..//evil.example", "%2F%2Fevil.example", "a:b"):
        assert (await client.get(f"/app/launch/{tail}")).status == 404, tail


async def test_the_person_in_the_init_data_replaces_the_session_of_another(
    client: TestClient, sessions: Sessions, clock: FixedClock
):
    token = sessions.session_token(Viewer(100002, "李四", "zh-hans"), clock.now())
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: token})

    signed_in = await client.post(
        "/app/auth", json={"init_data": init_data(TEST_TOKEN, ZHANG, clock.now())}
    )

    assert (await signed_in.json())["user_id"] == ZHANG["id"]
    assert (await (await client.get("/app/api/me")).json())["user_id"] == ZHANG["id"]

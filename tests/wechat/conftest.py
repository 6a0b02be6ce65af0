"""The product's web app with the WeChat channel, and a fake of WeChat's API that records what
the product calls."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.fsm.storage.memory import MemoryStorage
from aiohttp import web
from aiohttp.test_utils import TestClient

from infra.settings import WechatSettings
from infra.signing import Signer
from jijiao.app import make_wechat
from tests.conftest import TEST_TOKEN, BotHarness
from tests.support.clock import FixedClock
from tests.wechat import spec
from webview.app import make_web_app
from webview.auth import Sessions
from webview.keys import WebConfig
from wechat.web import WeChatWeb, add_wechat_routes

BASE_URL = "http://jijiao.test"


@dataclass
class FakeWeChat:
    """WeChat's API as the product calls it: every call recorded; tokens numbered."""

    calls: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    refuse_next_send: int | None = None  # an errcode for the next send (an expired token)
    openids: dict[str, str] = field(default_factory=dict)  # OAuth code -> openid

    def sent(self, openid: str | None = None) -> list[dict[str, Any]]:
        return [
            body
            for path, _, body in self.calls
            if path == "/cgi-bin/message/custom/send"
            and (openid is None or body["touser"] == openid)
        ]

    def count(self, path: str) -> int:
        return sum(1 for called, _, _ in self.calls if called == path)

    def app(self) -> web.Application:
        async def token(request: web.Request) -> web.Response:
            self.calls.append((request.path, dict(request.query), None))
            assert request.query["appid"] == spec.APPID
            assert request.query["secret"] == "test-secret"
            return web.json_response(
                {"access_token": f"token-{next(self.tokens)}", "expires_in": 7200}
            )

        async def posted(request: web.Request) -> web.Response:
            if request.content_type == "multipart/form-data":
                form = await request.post()
                upload = form["media"]
                body: Any = {"file": upload.filename, "size": len(upload.file.read())}  # type: ignore[union-attr]
            else:
                body = json.loads(await request.read())
            self.calls.append((request.path, dict(request.query), body))
            if request.path.endswith("/custom/send") and self.refuse_next_send:
                errcode, self.refuse_next_send = self.refuse_next_send, None
                return web.json_response({"errcode": errcode, "errmsg": "access_token expired"})
            if request.path == "/cgi-bin/media/upload":
                return web.json_response({"type": "image", "media_id": "MEDIA1", "created_at": 1})
            return web.json_response({"errcode": 0, "errmsg": "ok"})

        async def code(request: web.Request) -> web.Response:
            self.calls.append((request.path, dict(request.query), None))
            openid = self.openids.get(request.query.get("code", ""))
            if openid is None:
                return web.json_response({"errcode": 40029, "errmsg": "invalid code"})
            return web.json_response(
                {
                    "access_token": "web",
                    "expires_in": 7200,
                    "openid": openid,
                    "scope": "snsapi_base",
                }
            )

        app = web.Application()
        app.router.add_get("/cgi-bin/token", token)
        app.router.add_post("/cgi-bin/message/custom/send", posted)
        app.router.add_post("/cgi-bin/media/upload", posted)
        app.router.add_post("/cgi-bin/menu/create", posted)
        app.router.add_get("/sns/oauth2/access_token", code)
        return app


@dataclass
class WeChatHarness:
    client: TestClient
    fake: FakeWeChat
    clock: FixedClock
    wechat: WeChatWeb
    nonces: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    msg_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    async def post(
        self,
        xml: str,
        *,
        safe: bool = False,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> tuple[int, str, dict[str, str], str]:
        """Posts as WeChat does; the status, the answer, and the query and body sent."""
        timestamp = self.now() if timestamp is None else timestamp
        nonce = nonce or f"n{next(self.nonces)}"
        if safe:
            body, msg_signature = spec.safe_body(xml, timestamp, nonce)
            query = spec.signed_query(
                timestamp, nonce, encrypt_type="aes", msg_signature=msg_signature
            )
        else:
            body, query = xml, spec.signed_query(timestamp, nonce)
        return (*(await self.send_raw(query, body)), query, body)

    async def send_raw(self, query: dict[str, str], body: str) -> tuple[int, str]:
        response = await self.client.post("/wechat/callback", params=query, data=body.encode())
        return response.status, await response.text()

    async def say(self, openid: str, text: str, **extra: str) -> str:
        status, answer, _, _ = await self.post(
            spec.text_xml(openid, text, next(self.msg_ids), self.now(), **extra)
        )
        assert status == 200
        return answer


@pytest.fixture
async def fake_wechat(aiohttp_server) -> tuple[FakeWeChat, str]:
    fake = FakeWeChat()
    server = await aiohttp_server(fake.app())
    return fake, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def wechat(
    harness: BotHarness, i18n, clock: FixedClock, fake_wechat, aiohttp_client
) -> WeChatHarness:
    fake, api_base = fake_wechat
    signer = Signer(b"w" * 32)
    sessions = Sessions(signer, session_ttl=3600, link_ttl=600)
    app = make_web_app(
        config=WebConfig(TEST_TOKEN, BASE_URL, 3600, True),
        i18n=i18n,
        sessions=sessions,
        clock=clock,
        accounts=harness.accounts,
        health_checks={},
    )
    channel = make_wechat(
        WechatSettings(
            appid=spec.APPID,
            appsecret="test-secret",
            token=spec.TOKEN,
            encoding_aes_key=spec.AES_KEY,
            api_base=api_base,
            open_base="https://open.example.test",
        ),
        conversations=harness.services.handlers["conversations"],
        accounts=harness.accounts,
        storage=MemoryStorage(),
        clock=clock,
        redis=None,
        signer=signer,
        sessions=sessions,
        base_url=BASE_URL,
    )
    add_wechat_routes(app, channel)
    client = await aiohttp_client(app)
    yield WeChatHarness(client, fake, clock, channel)
    await channel.api.close()

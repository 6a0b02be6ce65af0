"""Fixtures for the WeChat stand-in: a wall clock the tests move, the stand-in mounted as in
local mode (beside the local chat's /_local), and a fake product callback that checks every
request against WeChat's spec with its own SHA-1 and AES (not the stand-in's code)."""

import base64
import hashlib
import os
import struct
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from localchat import FloodLimits, LocalChat, LocalChatConfig, make_localchat_app
from wechatlocal import (
    LOCAL_APPID,
    LOCAL_APPSECRET,
    LOCAL_ENCODING_AES_KEY,
    LOCAL_ORIGINAL_ID,
    LOCAL_TOKEN,
    WeChatLocal,
    WeChatLocalConfig,
    mount_wechatlocal,
)

WX = "/_local/wechat"
API = "/_local/api/wechat"
START = 1_795_000_000.0


@dataclass
class WallClock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def config() -> WeChatLocalConfig:
    return WeChatLocalConfig()


@pytest.fixture
def wx(config: WeChatLocalConfig, wall: WallClock) -> WeChatLocal:
    return WeChatLocal(config, wall_clock=wall)


def local_mode_app(wx: WeChatLocal) -> web.Application:
    """As jijiao mounts it: the WeChat stand-in first, then the local chat at /_local."""
    app = web.Application()
    mount_wechatlocal(app, wx, "/_local")
    chat = LocalChat(
        LocalChatConfig(token="123456:local", limits=FloodLimits(enabled=False)),
        wall_clock=lambda: START,
    )
    app.add_subapp("/_local", make_localchat_app(chat))
    return app


@pytest.fixture
async def client(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient]], wx: WeChatLocal
) -> TestClient:
    return await aiohttp_client(local_mode_app(wx))


async def access_token(client: TestClient) -> str:
    response = await client.get(
        f"{WX}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": LOCAL_APPID, "secret": LOCAL_APPSECRET},
    )
    body = await response.json()
    return str(body["access_token"])


# -- WeChat's spec, written out here independently of the stand-in --------------------------


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def aes_key() -> bytes:
    return base64.b64decode(LOCAL_ENCODING_AES_KEY + "=")


def spec_decrypt(encrypted: str) -> tuple[str, str]:
    """Returns (message, appid) from Encrypt: AES-256-CBC, IV = key[:16], PKCS#7 to 32 bytes,
    then random(16) + length(4, big-endian) + message + appid."""
    key = aes_key()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    pad = padded[-1]
    assert 1 <= pad <= 32 and padded.endswith(bytes([pad]) * pad)
    plain = padded[:-pad]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode(), plain[20 + length :].decode()


def spec_encrypt(message: str, appid: str = LOCAL_APPID) -> str:
    key = aes_key()
    raw = message.encode()
    plain = os.urandom(16) + struct.pack(">I", len(raw)) + raw + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def xml_fields(body: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(body)}


@dataclass
class FakeProduct:
    """The product's /wechat/callback as the spec describes it; `reply` builds the passive
    reply from the decoded message (None: "success")."""

    safe_mode: bool = False
    received: list[dict[str, str]] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reply: Callable[[dict[str, str]], str | None] = lambda message: None
    status: int = 200
    delay: float = 0.0

    def reply_xml(self, fields: dict[str, Any], *, timestamp: str = "1795000001") -> str:
        body = (
            "<xml>"
            + "".join(
                f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>"
                for k, v in fields.items()
            )
            + "</xml>"
        )
        if not self.safe_mode:
            return body
        encrypted = spec_encrypt(body)
        nonce = "replynonce"
        signature = sha1_signature(LOCAL_TOKEN, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{signature}]]>"
            f"</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce>"
            "</xml>"
        )

    async def handle(self, request: web.Request) -> web.Response:
        import asyncio

        query = dict(request.query)
        self.queries.append(query)
        if self.delay:
            await asyncio.sleep(self.delay)
        expected = sha1_signature(LOCAL_TOKEN, query["timestamp"], query["nonce"])
        if query.get("signature") != expected:
            self.problems.append("signature")
            return web.Response(status=403)
        if request.method == "GET":
            return web.Response(text=query["echostr"])
        body = await request.text()
        if self.safe_mode:
            outer = xml_fields(body)
            if query.get("encrypt_type") != "aes":
                self.problems.append("encrypt_type")
            msg_signature = sha1_signature(
                LOCAL_TOKEN, query["timestamp"], query["nonce"], outer["Encrypt"]
            )
            if query.get("msg_signature") != msg_signature:
                self.problems.append("msg_signature")
                return web.Response(status=403)
            if outer.get("ToUserName") != LOCAL_ORIGINAL_ID:
                self.problems.append("outer ToUserName")
            body, appid = spec_decrypt(outer["Encrypt"])
            if appid != LOCAL_APPID:
                self.problems.append("appid")
        message = xml_fields(body)
        if message.get("FromUserName") != query.get("openid"):
            self.problems.append("openid")
        self.received.append(message)
        if self.status != 200:
            return web.Response(status=self.status)
        return web.Response(text=self.reply(message) or "success")


@pytest.fixture
async def product(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    config: WeChatLocalConfig,
) -> FakeProduct:
    fake = FakeProduct(safe_mode=config.safe_mode)
    app = web.Application()
    app.router.add_route("*", "/wechat/callback", fake.handle)
    server = await aiohttp_server(app)
    config.callback_url = str(server.make_url("/wechat/callback"))
    return fake

"""The SMS adapters, offline: Aliyun's official SDK against a local stand-in of its API (what
the SDK sends is checked, not assumed), the settings that choose a provider, and the local
mode's page of sandbox codes."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from domain.locales import Locale
from domain.phone_codes import SmsFailed
from infra.settings import Settings
from infra.sms.aliyun import AliyunSms
from infra.sms.sandbox import SandboxSms
from infra.sms.tencent import TencentSms
from jijiao.app import make_sms_sender
from tests.support.clock import FixedClock
from webview.sms import add_local_sms_routes


@dataclass
class FakeAliyun:
    """Answers SendSms as Aliyun does, and keeps what it was sent."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    answer: dict[str, str] = field(
        default_factory=lambda: {"Code": "OK", "Message": "OK", "BizId": "9", "RequestId": "r"}
    )

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(
            {
                "method": request.method,
                "params": dict(request.query),
                "headers": dict(request.headers),
                "signed": acs3_signature_valid(request, body, SECRET),
            }
        )
        return web.json_response(self.answer)


def acs3_signature_valid(request: web.Request, body: bytes, secret: str) -> bool:
    """Aliyun's V3 signature (ACS3-HMAC-SHA256), recomputed from the request as its API
    documentation describes: the canonical request's hash, HMAC-SHA256 with the secret."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("ACS3-HMAC-SHA256 "):
        return False
    fields = dict(part.split("=", 1) for part in auth.removeprefix("ACS3-HMAC-SHA256 ").split(","))
    signed = fields["SignedHeaders"].split(";")
    parts = urlsplit(request.raw_path)
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True))
    )
    headers = {k.lower(): v.strip() for k, v in request.headers.items()}
    canonical = "\n".join(
        [
            request.method,
            parts.path or "/",
            query,
            "".join(f"{name}:{headers[name]}\n" for name in signed),
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["Signature"])


@pytest.fixture
async def fake_aliyun() -> AsyncIterator[tuple[FakeAliyun, str]]:
    fake = FakeAliyun()
    app = web.Application()
    app.router.add_route("*", "/", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, f"http://127.0.0.1:{server.port}"
    await server.close()


SECRET = "test-secret"


def aliyun(endpoint: str) -> AliyunSms:
    return AliyunSms(
        access_key_id="LTAI-test-id",
        access_key_secret=SECRET,
        sign_name="继教云南",
        template_code="SMS_123456789",
        endpoint=endpoint,
    )


async def test_the_aliyun_sdk_sends_phone_sign_template_and_code(fake_aliyun):
    fake, endpoint = fake_aliyun
    await aliyun(endpoint).send("13800000007", "042917", Locale.ZH_CN)
    [request] = fake.requests
    params = request["params"]
    assert request["method"] == "POST"
    headers = request["headers"]
    assert headers["x-acs-action"] == "SendSms" and headers["x-acs-version"] == "2017-05-25"
    assert params["PhoneNumbers"] == "13800000007"
    assert params["SignName"] == "继教云南" and params["TemplateCode"] == "SMS_123456789"
    assert json.loads(params["TemplateParam"]) == {"code": "042917"}
    # Signed with the key pair as Aliyun checks it; the secret itself never goes.
    assert request["signed"] and "Credential=LTAI-test-id," in headers["Authorization"]
    assert SECRET not in json.dumps(request)


async def test_an_aliyun_refusal_or_outage_is_sms_failed(fake_aliyun, caplog):
    fake, endpoint = fake_aliyun
    fake.answer = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发限流", "RequestId": "r"}
    with pytest.raises(SmsFailed):
        await aliyun(endpoint).send("13800000007", "042917", Locale.ZH_CN)
    assert "isv.BUSINESS_LIMIT_CONTROL" in caplog.text and "13800000007" not in caplog.text
    with pytest.raises(SmsFailed):
        await aliyun("http://127.0.0.1:9").send("13800000007", "042917", Locale.ZH_CN)


def test_settings_choose_the_provider(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    clock = FixedClock()
    assert isinstance(make_sms_sender(Settings(), clock), SandboxSms)
    monkeypatch.setenv("SMS_PROVIDER", "aliyun")
    with pytest.raises(ValidationError, match="SMS_ACCESS_KEY_ID"):
        Settings()
    for name, value in {
        "SMS_ACCESS_KEY_ID": "LTAI-test-id",
        "SMS_ACCESS_KEY_SECRET": "test-secret",
        "SMS_SIGN_NAME": "继教云南",
        "SMS_TEMPLATE_CODE": "SMS_123456789",
        "SMS_ENDPOINT": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.sms.api() == "http://127.0.0.1:9"
    assert isinstance(make_sms_sender(settings, clock), AliyunSms)
    monkeypatch.setenv("SMS_PROVIDER", "tencent")
    with pytest.raises(ValidationError, match="SMS_APP_ID"):
        Settings()
    monkeypatch.setenv("SMS_APP_ID", "1400000001")
    monkeypatch.delenv("SMS_ENDPOINT")
    settings = Settings()
    assert settings.sms.api() == "https://sms.tencentcloudapi.com"
    assert isinstance(make_sms_sender(settings, clock), TencentSms)


async def test_local_mode_shows_the_sandbox_codes_beside_the_local_chat():
    clock = FixedClock()
    sandbox = SandboxSms(clock)
    await sandbox.send("13800000007", "042917", Locale.EN)
    await sandbox.send("13900000008", "111111", Locale.ZH_CN)
    app = web.Application()
    add_local_sms_routes(app, sandbox)
    chat = web.Application()

    async def config(_request: web.Request) -> web.Response:
        return web.json_response({})

    chat.router.add_get("/api/config", config)
    app.add_subapp("/_local", chat)  # as jijiao/app.py mounts the local chat
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/_local/api/sms/messages", params={"phone": "138 0000 0007"})
        body = await response.json()
        assert response.status == 200 and body["phone"] == "13800000007"
        assert [m["code"] for m in body["messages"]] == ["042917"]
        assert body["messages"][0]["locale"] == "en"
        assert (await client.get("/_local/api/sms/messages?phone=12")).status == 400
        assert (await client.get("/_local/api/config")).status == 200


@dataclass
class FakeTencent:
    """Answers SendSms as Tencent Cloud does, and keeps what it was sent."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    status: str = "Ok"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(
            {
                "headers": dict(request.headers),
                "body": json.loads(body),
                "signed": tc3_signature_valid(request, body, SECRET),
            }
        )
        status = {"Code": self.status, "Message": "send success", "PhoneNumber": "+86"}
        return web.json_response({"Response": {"SendStatusSet": [status], "RequestId": "r"}})


def tc3_signature_valid(request: web.Request, body: bytes, secret: str) -> bool:
    """Tencent Cloud's TC3-HMAC-SHA256, recomputed as its API documentation describes."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("TC3-HMAC-SHA256 "):
        return False
    fields = dict(
        part.strip().split("=", 1) for part in auth.removeprefix("TC3-HMAC-SHA256 ").split(",")
    )
    _, day, service, _ = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    headers = {k.lower(): v.strip().lower() for k, v in request.headers.items()}
    canonical = "\n".join(
        [
            request.method,
            "/",
            "",
            "".join(f"{name}:{headers[name]}\n" for name in signed),
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            request.headers["X-TC-Timestamp"],
            f"{day}/{service}/tc3_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("TC3" + secret).encode()
    for part in (day, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["Signature"])


@pytest.fixture
async def fake_tencent() -> AsyncIterator[tuple[FakeTencent, str]]:
    fake = FakeTencent()
    app = web.Application()
    app.router.add_post("/", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, f"http://127.0.0.1:{server.port}"
    await server.close()


def tencent(endpoint: str) -> TencentSms:
    return TencentSms(
        secret_id="AKID-test-id",
        secret_key=SECRET,
        app_id="1400000001",
        sign_name="继教云南",
        template_id="1234567",
        endpoint=endpoint,
    )


async def test_the_tencent_sdk_sends_phone_sign_template_and_code(fake_tencent):
    fake, endpoint = fake_tencent
    await tencent(endpoint).send("13800000007", "042917", Locale.ZH_CN)
    [request] = fake.requests
    assert request["headers"]["X-TC-Action"] == "SendSms"
    assert request["headers"]["X-TC-Version"] == "2021-01-11"
    assert request["body"] == {
        "PhoneNumberSet": ["+8613800000007"],
        "SmsSdkAppId": "1400000001",
        "SignName": "继教云南",
        "TemplateId": "1234567",
        "TemplateParamSet": ["042917"],
    }
    assert request["signed"] and "Credential=AKID-test-id/" in request["headers"]["Authorization"]
    assert SECRET not in json.dumps(request)


async def test_a_tencent_refusal_or_outage_is_sms_failed(fake_tencent, caplog):
    fake, endpoint = fake_tencent
    fake.status = "LimitExceeded.PhoneNumberDailyLimit"
    with pytest.raises(SmsFailed):
        await tencent(endpoint).send("13800000007", "042917", Locale.ZH_CN)
    assert "PhoneNumberDailyLimit" in caplog.text and "13800000007" not in caplog.text
    with pytest.raises(SmsFailed):
        await tencent("http://127.0.0.1:9").send("13800000007", "042917", Locale.ZH_CN)

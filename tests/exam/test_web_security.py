"""The web view's own protections: headers on every page, no local chat outside local mode,
and local mode refusing to listen beyond this machine."""

from __future__ import annotations

import logging
import sys

import pytest

from infra.logging import JsonFormatter, RedactingFilter
from infra.settings import SettingsError, load_settings
from webview.middlewares import CONTENT_SECURITY_POLICY


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "WEB_HOST", "WEB_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


def test_local_mode_refuses_to_listen_beyond_this_machine(tmp_path):
    with pytest.raises(SettingsError) as refused:
        load_settings(app={"data_dir": tmp_path}, web={"host": "0.0.0.0"})
    assert "WEB_HOST" in str(refused.value)
    assert load_settings(app={"data_dir": tmp_path}, web={"host": "127.0.0.1"}).local_mode
    server = load_settings(
        app={"data_dir": tmp_path},
        web={"host": "0.0.0.0", "public_url": "https://jijiao.example.cn"},
        telegram={"bot_token": "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"},
        security={"secret_key": "s" * 40},
    )
    assert not server.local_mode


def test_a_traceback_in_the_log_is_redacted_too():
    try:
        raise ValueError("bad ID 530102198501010011 from 13912345678")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "failed for %s", ("13912345678",), sys.exc_info()
        )
    assert RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "530102198501010011" not in text and "13912345678" not in text
    assert "ValueError" in text and "139****5678" in text
    assert "530102198501010011" not in JsonFormatter().format(record)


async def test_every_page_carries_the_security_headers(examinees):
    for path in ("/app", "/app/study", "/verify/forged.token", "/static/js/common.js", "/nope"):
        response = await examinees.client.get(path, allow_redirects=False)
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY


async def test_no_local_chat_outside_local_mode(examinees):
    """The test app is built like production: the local chat is mounted only by `running`
    in local mode."""
    assert (await examinees.client.get("/_local/")).status == 404
    assert (await examinees.client.post("/_local/bot123:abc/getMe")).status == 404

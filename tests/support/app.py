"""The whole product in this process, as `jijiao run` starts it, on the tests' clock; and the
local-mode settings one test runs it with."""

from __future__ import annotations

import socket
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from infra.settings import Settings, load_settings
from jijiao import app
from tests.support import registry
from tests.support.clock import RunningClock
from tests.support.databases import migrated_sqlite

# What a developer's shell may hold that would point a test at real services or real keys.
DEVELOPER_ENVIRONMENT = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_WEBHOOK_SECRET",
    "DATABASE_URL",
    "REDIS_URL",
    "WEB_PUBLIC_URL",
    "SECURITY_SECRET_KEY",
    "WECHAT_APPID",
    "WECHAT_APPSECRET",
    "WECHAT_TOKEN",
    "WECHAT_ENCODING_AES_KEY",
    "WECHAT_API_BASE",
    "WECHAT_OPEN_BASE",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **sections: dict[str, Any]
) -> Settings:
    """Local-mode settings for one test: run from tmp_path with nothing from the developer's
    environment, data in tmp_path/var without the demo people (unless `app` asks for them),
    the web view on a free loopback port, and the key tests/support/registry.py seals ID
    numbers and phones with, so rows a test adds open in the app. `sections` add to these."""
    monkeypatch.chdir(tmp_path)
    for name in DEVELOPER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    defaults: dict[str, dict[str, Any]] = {
        "app": {"data_dir": tmp_path / "var", "demo_data": False},
        "security": {"secret_key": registry.SECRET},
        "web": {"host": "127.0.0.1", "port": free_port()},
    }
    for name, values in sections.items():
        defaults[name] = {**defaults.get(name, {}), **values}
    settings = load_settings(**defaults)
    database = settings.app.data_dir / "jijiao.sqlite3"
    if not settings.database.url and not database.exists():
        migrated_sqlite(database)  # the default file, migrated already (a template's copy)
    return settings


def running(settings: Settings, **overrides: Any) -> AbstractAsyncContextManager[app.Runtime]:
    """`jijiao.app.running` with a clock that starts at the tests' epoch and runs in real time
    (the local chat it serves signs with the same clock), unless the test brings its own."""
    overrides.setdefault("clock", RunningClock())
    return app.running(settings, **overrides)

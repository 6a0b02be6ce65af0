from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import aiohttp
import pytest

from infra.settings import Settings, load_settings
from jijiao.app import Runtime
from tests.support.app import DEVELOPER_ENVIRONMENT, free_port, running
from tests.support.localchat_client import LocalChatClient


@pytest.fixture
def app_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Local-mode settings with nothing from the developer's environment."""
    monkeypatch.chdir(tmp_path)
    for name in DEVELOPER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    # Local mode's key file, holding the secret tests/support/registry.py seals with: rows a
    # test adds open in the app, whatever settings share this data dir.
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret.key").write_text("k" * 32)
    return load_settings(
        app={"data_dir": tmp_path / "var"}, web={"host": "127.0.0.1", "port": free_port()}
    )


@pytest.fixture
def start_app(app_settings: Settings) -> Callable[..., AbstractAsyncContextManager[Runtime]]:
    """Starts the whole product (the same `running` that `jijiao run` uses); may run twice."""
    return lambda **overrides: running(app_settings, **overrides)


@pytest.fixture
async def live_app(start_app) -> AsyncIterator[Runtime]:
    async with start_app() as runtime:
        yield runtime


@pytest.fixture
async def chat(live_app: Runtime) -> AsyncIterator[LocalChatClient]:
    async with aiohttp.ClientSession() as session:
        yield LocalChatClient(live_app.settings.base_url, session)

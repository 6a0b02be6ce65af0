"""/readyz of the whole app: the database, Redis when configured, the face models."""

from __future__ import annotations

import aiohttp
import pytest

from infra.settings import Settings, load_settings
from tests.e2e.conftest import free_port
from tests.support.app import running


def with_redis(app_settings: Settings, url: str) -> Settings:
    return load_settings(
        app={"data_dir": app_settings.app.data_dir},
        web={"host": "127.0.0.1", "port": app_settings.web.port},
        redis={"url": url},
    )


async def readyz(settings: Settings) -> tuple[int, dict]:
    async with running(settings), aiohttp.ClientSession() as http:
        async with http.get(f"{settings.base_url}/readyz") as response:
            return response.status, await response.json()


@pytest.mark.redis
async def test_an_instance_with_redis_is_ready_once_redis_answers(
    app_settings: Settings, redis_url: str
):
    status, body = await readyz(with_redis(app_settings, redis_url))
    assert status == 200
    assert body["checks"] == {"database": "ok", "redis": "ok", "faces": "ok"}


async def test_an_instance_whose_redis_is_down_is_not_ready_and_says_why(app_settings: Settings):
    status, body = await readyz(with_redis(app_settings, f"redis://127.0.0.1:{free_port()}/0"))
    assert status == 503
    assert body["failing"] == ["redis"]
    assert body["checks"]["database"] == "ok"

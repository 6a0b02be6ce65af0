"""/readyz: may this instance take traffic (database, Redis when configured, face models)?
/healthz stays the liveness probe and does not follow the readiness checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from infra.signing import Signer
from jijiao.app import ready_once
from tests.support.webapp import signed_in_web_app
from webview import views
from webview.auth import Sessions

Check = Callable[[], Awaitable[None]]


async def ok() -> None:
    return None


async def refused() -> None:
    raise ConnectionRefusedError("redis.internal:6379 refused")


async def hung() -> None:
    await asyncio.sleep(3600)


@pytest.fixture
def serve(database, i18n, clock, aiohttp_client) -> Callable[[dict[str, Check]], Awaitable]:
    async def start(ready: dict[str, Check]) -> TestClient:
        app = signed_in_web_app(
            i18n,
            clock,
            Sessions(Signer(b"k" * 32), session_ttl=3600, link_ttl=600),
            health_checks={"database": ok},
            ready_checks=ready,
        )
        return await aiohttp_client(app)

    return start


async def test_readyz_is_200_with_every_check_when_all_answer(serve):
    client = await serve({"database": ok, "redis": ok, "faces": ok})
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "faces": "ok"},
    }


async def test_readyz_is_503_naming_the_failing_check_without_its_details(serve):
    client = await serve({"database": ok, "redis": refused, "faces": ok})
    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["failing"] == ["redis"]
    assert body["checks"] == {
        "database": "ok",
        "redis": "error: ConnectionRefusedError",
        "faces": "ok",
    }
    assert "redis.internal" not in await response.text()


async def test_a_hung_dependency_makes_readyz_answer_503_in_time(
    serve, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(views, "READY_TIMEOUT", 0.1)
    client = await serve({"database": hung, "faces": ok})
    response = await asyncio.wait_for(client.get("/readyz"), 2)
    assert response.status == 503
    assert (await response.json())["checks"]["database"] == "error: timeout"


async def test_healthz_stays_liveness_when_a_readiness_check_fails(serve):
    client = await serve({"database": ok, "faces": refused})
    assert (await client.get("/readyz")).status == 503
    response = await client.get("/healthz")
    assert response.status == 200


async def test_a_slow_first_load_is_not_restarted_by_probes_that_gave_up():
    loads = 0
    loaded = asyncio.Event()

    async def load_models() -> None:
        nonlocal loads
        loads += 1
        await loaded.wait()

    check = ready_once(load_models)
    for _ in range(3):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(check(), 0.05)
    loaded.set()
    await check()
    assert loads == 1


async def test_a_failed_load_is_tried_again_by_the_next_probe():
    attempts: list[int] = []

    async def load_models() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise FileNotFoundError("face_detection_yunet.onnx")

    check = ready_once(load_models)
    with pytest.raises(FileNotFoundError):
        await check()
    await check()
    assert len(attempts) == 2

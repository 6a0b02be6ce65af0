"""/metrics on the web view: requests counted by route template and status (never a raw path
with its ids), the outbox queue read at each scrape, and who may scrape at all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.typedefs import Middleware

from infra.metrics import Metrics, outbox_pending
from infra.signing import Signer
from tests.conftest import TEST_TOKEN
from tests.payments.test_exactly_once import World, make_world
from tests.reminders import world as reminders
from tests.support.prometheus import label_values, sample
from tests.support.webapp import signed_in_web_app
from webview.auth import Sessions
from webview.keys import WebConfig
from webview.middlewares import Handler
from webview.payments import add_payment_routes

SCRAPE_TOKEN = "scrape-me-3f9a"
FAR_AWAY = "203.0.113.9"
ID_NUMBER = "530102198501011234"


def seen_from(address: str) -> Middleware:
    """What a proxy in front of the app (aiohttp-remotes) does: the peer becomes `address`."""

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request.clone(remote=address))

    return forwarded


Serve = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def payments() -> World:
    return make_world()


@pytest.fixture
def serve(database, i18n, aiohttp_client, payments: World) -> Serve:
    async def start(*, token: str | None = None, remote: str | None = None) -> TestClient:
        app = signed_in_web_app(
            i18n,
            payments.clock,
            Sessions(Signer(b"k" * 32), session_ttl=3600, link_ttl=600),
            config=WebConfig(TEST_TOKEN, "http://127.0.0.1", 3600, True, metrics_token=token),
            health_checks={},
            metrics=Metrics(pending=outbox_pending),
        )
        add_payment_routes(app, payments.payment_web())
        if remote is not None:
            app.middlewares.insert(0, seen_from(remote))
        return await aiohttp_client(app)

    return start


async def scrape(client: TestClient, **headers: str) -> str:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return await response.text()


async def test_requests_are_counted_by_route_template_and_status_never_by_their_ids(
    serve: Serve, payments: World
):
    client = await serve()
    _, order = await payments.paying_trainee()
    checkout = f"/sandbox/pay/{order.number}?t={payments.provider.checkout_token(order.number)}"

    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/healthz")).status == 200
    assert (await client.get(checkout)).status == 200
    assert (await client.get(f"/sandbox/pay/{order.number}")).status == 404  # no token
    assert (await client.get("/app/api/me")).status == 401
    assert (await client.get(f"/people/{ID_NUMBER}")).status == 404
    text = await scrape(client)

    def requests(route: str, status: str) -> float | None:
        return sample(text, "jijiao_http_requests_total", route=route, status=status)

    assert requests("/healthz", "200") == 2
    assert requests("/sandbox/pay/{number}", "200") == 1
    assert requests("/sandbox/pay/{number}", "404") == 1
    assert requests("/app/api/me", "401") == 1
    assert requests("unmatched", "404") == 1
    assert sample(text, "jijiao_http_request_seconds_count", route="/healthz") == 2
    assert order.number not in text and ID_NUMBER not in text
    assert label_values(text, "route") == {
        "/healthz",
        "/sandbox/pay/{number}",
        "/app/api/me",
        "unmatched",
    }


async def test_the_outbox_queue_depth_is_counted_at_each_scrape(serve: Serve, clock):
    client = await serve()
    assert sample(await scrape(client), "jijiao_outbox_pending") == 0

    await reminders.broadcast_to([500_001, 500_002, 500_003], clock.now())
    assert sample(await scrape(client), "jijiao_outbox_pending") == 3


async def test_without_a_token_only_this_machine_may_scrape(serve: Serve):
    here = await serve()
    assert (await here.get("/metrics")).status == 200

    far = await serve(remote=FAR_AWAY)
    refused = await far.get("/metrics")
    assert refused.status == 403
    assert "jijiao_" not in await refused.text()


async def test_with_a_token_every_scrape_needs_it_even_from_this_machine(serve: Serve):
    here = await serve(token=SCRAPE_TOKEN)
    missing = await here.get("/metrics")
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = await here.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status == 401
    assert "jijiao_" not in await wrong.text()
    await scrape(here, Authorization=f"Bearer {SCRAPE_TOKEN}")

    far = await serve(token=SCRAPE_TOKEN, remote=FAR_AWAY)
    await scrape(far, Authorization=f"Bearer {SCRAPE_TOKEN}")


async def test_the_refused_scrapes_are_counted_too(serve: Serve):
    client = await serve(token=SCRAPE_TOKEN)
    await client.get("/metrics")
    text = await scrape(client, Authorization=f"Bearer {SCRAPE_TOKEN}")

    assert sample(text, "jijiao_http_requests_total", route="/metrics", status="401") == 1


async def test_two_apps_in_one_process_keep_their_counts_apart():
    first, second = Metrics(), Metrics()
    first.observe_request("/healthz", 200, 0.01)

    def healthz(metrics: bytes) -> float | None:
        return sample(metrics, "jijiao_http_requests_total", route="/healthz", status="200")

    assert healthz(await first.exposition()) == 1
    assert healthz(await second.exposition()) is None


async def test_a_server_without_a_token_lets_nobody_scrape_not_even_through_a_local_proxy():
    """Outside local mode a loopback peer may be a reverse proxy forwarding anyone."""
    from unittest.mock import MagicMock

    from aiohttp import web as aioweb

    from webview import keys
    from webview.metrics import _check_access

    request = MagicMock()
    request.remote = "127.0.0.1"
    request.app = {keys.CONFIG: MagicMock(metrics_token=None, local_mode=False)}
    try:
        _check_access(request)
    except aioweb.HTTPForbidden:
        pass
    else:
        raise AssertionError("a server without WEB_METRICS_TOKEN answered a scrape")
    request.app = {keys.CONFIG: MagicMock(metrics_token=None, local_mode=True)}
    _check_access(request)  # local mode, this machine: allowed

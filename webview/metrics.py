"""/metrics for Prometheus, and the middleware that times every request of the web view.

Who may scrape: with `WEB_METRICS_TOKEN` set, whoever sends `Authorization: Bearer <token>`;
without it, nobody on a server, and in local mode only this machine: the counts tell outsiders
how busy the service is and which pages fail.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time

from aiohttp import web
from aiohttp.typedefs import Middleware

from infra.metrics import CONTENT_TYPE, Metrics
from webview import keys
from webview.middlewares import Handler

# Requests that matched no route (404s, probes for /wp-admin) share one label: raw paths would
# let any client create series at will.
UNMATCHED = "unmatched"
# nginx's code for a client that went away before the answer.
CLIENT_CLOSED = 499


def route_label(request: web.Request) -> str:
    """The route's template (`/app/api/study/{enrolment_id}`), never the path with its ids."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def request_metrics(metrics: Metrics) -> Middleware:
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED
            raise
        finally:
            metrics.observe_request(route_label(request), status, time.perf_counter() - started)

    return observe


def _loopback(remote: str | None) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _check_access(request: web.Request) -> None:
    config = request.app[keys.CONFIG]
    token = config.metrics_token
    if token is None:
        # On a server a reverse proxy on the same machine makes every client look local: there
        # the token is the only way in.
        if not config.local_mode or not _loopback(request.remote):
            raise web.HTTPForbidden(text="metrics: set WEB_METRICS_TOKEN to scrape")
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


async def metrics_view(request: web.Request) -> web.Response:
    _check_access(request)
    body = await request.app[keys.METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

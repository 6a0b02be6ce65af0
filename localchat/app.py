"""The stand-in as one aiohttp sub-application: Bot API, user-playing API and the page."""

import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from localchat.botapi import BotApi, add_bot_api_routes
from localchat.errors import ApiError
from localchat.state import LocalChat
from localchat.userapi import UserApi, add_user_api_routes
from localchat.wire import json_reply

log = logging.getLogger(__name__)

LOCALCHAT_KEY = web.AppKey("localchat", LocalChat)

# Errors on these paths are answered in Telegram's JSON shape; the page keeps aiohttp's own.
_API_PATH = re.compile(r"/(api/|bot[^/]*/|file/bot)")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def telegram_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_reply(exc.to_json(), exc.code)
    except web.HTTPException as exc:
        if exc.status < 400 or not _API_PATH.search(request.path):
            raise
        body = {"ok": False, "error_code": exc.status, "description": exc.reason}
        return json_reply(body, exc.status)
    except Exception:
        log.exception("localchat: unexpected error in %s %s", request.method, request.path)
        body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        return json_reply(body, 500)


def _loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cross_site(request: web.Request) -> str | None:
    """Why a request cannot be the local chat page itself (or a script on this machine), or
    None. Browsers send Origin on every cross-origin POST and Sec-Fetch-Site on everything;
    the page sends its own origin, the bot and the tests send neither. The Host must be this
    machine's name, or a DNS name rebound to 127.0.0.1 would be "same origin"."""
    if not _loopback(urlsplit(f"//{request.host}").hostname or ""):
        return "host"
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return "fetch-site"
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin)
        if parts.netloc.lower() != request.host.lower() or not _loopback(parts.hostname or ""):
            return "origin"
    return None


@web.middleware
async def same_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The local chat acts as anyone: a page on another site must not drive it."""
    reason = cross_site(request)
    if reason is not None:
        log.warning(
            "localchat: %s %s refused: cross-site (%s)", request.method, request.path, reason
        )
        body = {"ok": False, "error_code": 403, "description": "Forbidden: cross-site request"}
        return json_reply(body, 403)
    return await handler(request)


def make_localchat_app(chat: LocalChat) -> web.Application:
    app = web.Application(middlewares=[same_origin_only, telegram_errors])
    app[LOCALCHAT_KEY] = chat
    bot_api = BotApi(chat)
    add_bot_api_routes(app, bot_api)
    add_user_api_routes(app, UserApi(chat))
    from localchat.page import add_page_routes

    add_page_routes(app)

    async def resume_webhook(app: web.Application) -> None:
        bot_api.start_webhook()

    async def release_waiters(app: web.Application) -> None:
        # Long polls would otherwise hold the server's graceful shutdown for their full timeout.
        chat.begin_shutdown()

    async def stop(app: web.Application) -> None:
        await chat.close()

    app.on_startup.append(resume_webhook)
    app.on_shutdown.append(release_waiters)
    app.on_cleanup.append(stop)
    return app

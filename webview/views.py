from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from texts.wechat import called
from webview import keys
from webview.auth import SESSION_COOKIE, NotAuthenticated, Viewer, viewer_from_init_data
from webview.bodies import json_or_none
from webview.middlewares import LOCALE, VIEWER
from webview.study import STUDY

# A hung dependency is reported as such instead of hanging the probe.
READY_TIMEOUT = 5.0


def _context(request: web.Request, **values: Any) -> dict[str, Any]:
    config = request.app[keys.CONFIG]
    return {"locale": request[LOCALE], "local_mode": config.local_mode, **values}


def _start_session(request: web.Request, response: web.StreamResponse, viewer: Viewer) -> None:
    sessions = request.app[keys.SESSIONS]
    token = sessions.session_token(viewer, request.app[keys.CLOCK].now())
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=request.app[keys.CONFIG].base_url.startswith("https://"),
        path="/",
    )


@aiohttp_jinja2.template("index.html")
async def index(request: web.Request) -> dict[str, Any]:
    return _context(request)


@aiohttp_jinja2.template("miniapp.html")
async def miniapp(request: web.Request) -> dict[str, Any]:
    viewer = request[VIEWER]
    study = request.app.get(STUDY)
    can_study = bool(viewer and study and await study.study.enrolments(viewer.user_id))
    name = called(viewer.first_name) if viewer else ""
    return _context(request, viewer=viewer, name=name, can_study=can_study)


# What may follow /app/launch: a path of the Mini App (the query string is kept as it is).
_LAUNCH_TAIL = re.compile(r"[A-Za-z0-9_\-/]{0,200}")


async def launch(request: web.Request) -> web.Response:
    """Every Mini App button of the bot opens here (`/app/launch/exam?enrolment=5` for
    `/app/exam?enrolment=5`). Whatever session this browser holds is dropped before anything
    personal is served: a phone shared by a family or a site team, or one with several Telegram
    accounts, may hold somebody else's. The page signs in with the initData of the person
    launching it, then goes on to the page asked for."""
    tail = request.match_info.get("tail", "")
    if not _LAUNCH_TAIL.fullmatch(tail) or "//" in f"/{tail}":
        raise web.HTTPNotFound()
    target = "/app" + (f"/{tail}" if tail else "")
    if request.query_string:
        target += f"?{request.query_string}"
    response = aiohttp_jinja2.render_template(
        "launch.html", request, _context(request, next=target)
    )
    response.del_cookie(SESSION_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


async def auth_with_init_data(request: web.Request) -> web.Response:
    """The Mini App posts Telegram's initData once; it gets a session cookie back."""
    body = await json_or_none(request)
    try:
        init_data = body["init_data"]
        if not isinstance(init_data, str):
            raise TypeError
    except (KeyError, TypeError):
        return web.json_response({"ok": False, "error": "bad_request"}, status=400)
    config = request.app[keys.CONFIG]
    try:
        viewer = viewer_from_init_data(
            config.bot_token,
            init_data,
            now=request.app[keys.CLOCK].now(),
            max_age=config.initdata_max_age,
        )
    except NotAuthenticated as exc:
        return web.json_response({"ok": False, "error": exc.reason}, status=401)
    response = web.json_response({"ok": True, "user_id": viewer.user_id})
    _start_session(request, response, viewer)
    return response


async def login_with_link(request: web.Request) -> web.StreamResponse:
    """A signed link from the bot, for a browser outside Telegram."""
    try:
        viewer = request.app[keys.SESSIONS].from_link(
            request.query.get("token", ""), request.app[keys.CLOCK].now()
        )
    except NotAuthenticated:
        return aiohttp_jinja2.render_template(
            "error.html", request, _context(request, status=401, reason="link"), status=401
        )
    redirect = web.HTTPFound(request.app.router["miniapp"].url_for())
    _start_session(request, redirect, viewer)
    raise redirect


async def me(request: web.Request) -> web.Response:
    viewer: Viewer | None = request[VIEWER]
    if viewer is None:
        return web.json_response({"ok": False, "error": "not_authenticated"}, status=401)
    return web.json_response(
        {
            "ok": True,
            "user_id": viewer.user_id,
            "first_name": viewer.first_name,
            "locale": request[LOCALE],
        }
    )


async def healthz(request: web.Request) -> web.Response:
    results: dict[str, str] = {}
    healthy = True
    for name, check in request.app[keys.HEALTH_CHECKS].items():
        try:
            await check()
            results[name] = "ok"
        except Exception as exc:  # a health check reports failures, it does not raise them
            results[name] = f"error: {type(exc).__name__}"
            healthy = False
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", **results}, status=200 if healthy else 503
    )


async def readyz(request: web.Request) -> web.Response:
    """Readiness: every dependency answers within READY_TIMEOUT, checked side by side."""
    checks = request.app[keys.READY_CHECKS]
    outcomes = await asyncio.gather(*(_ready(check) for check in checks.values()))
    results = dict(zip(checks, outcomes, strict=True))
    failing = [name for name, outcome in results.items() if outcome != "ok"]
    body: dict[str, object] = {"status": "unavailable" if failing else "ready", "checks": results}
    if failing:
        body["failing"] = failing
    return web.json_response(body, status=503 if failing else 200)


async def _ready(check: Callable[[], Awaitable[None]]) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await check()
    except TimeoutError:
        return "error: timeout"
    except Exception as exc:  # the exception's text may name hosts: only its type goes out
        return f"error: {type(exc).__name__}"
    return "ok"

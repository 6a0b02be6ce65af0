"""Structured logs: one JSON object per line, tied to the update or web request it belongs to,
with no ID number or phone in it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from aiogram import Dispatcher
from aiogram.types import Message
from aiohttp import web

from bot.middlewares import LogContext
from infra.logging import setup_logging
from tests.support import updates
from webview import middlewares

log = logging.getLogger("jijiao.test")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging("INFO", "json", stream)
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


def lines(stream: io.StringIO, logger: str = "jijiao.test") -> list[dict]:
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [entry for entry in entries if entry["logger"] == logger]


async def test_every_line_logged_while_an_update_is_handled_names_the_update(
    json_log: io.StringIO, recording_bot
):
    bot, _session = recording_bot
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(LogContext())

    @dispatcher.message()
    async def handle(message: Message) -> None:
        log.info("handling a message from %s", message.text)

    update = updates.message("我的电话 13912345678，身份证 530102198501010011")
    await dispatcher.feed_update(bot, update)
    log.info("after the update")

    during, after = lines(json_log)
    assert during["update_id"] == update.update_id
    assert "13912345678" not in during["message"] and "530102198501010011" not in during["message"]
    assert "update_id" not in after


async def test_no_line_per_handled_update_but_aiograms_errors_are_logged(
    json_log: io.StringIO, recording_bot
):
    """Like the access log, aiogram's "Update id=… is handled" is not written for every update
    (the metrics count them, issue 20); its warnings and errors still are (a failing update
    is logged by the inbox itself, tests/bot/test_inbox.py)."""
    bot, _session = recording_bot
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def handle(message: Message) -> None:
        log.info("handled")

    await dispatcher.feed_update(bot, updates.message("hello"))
    logging.getLogger("aiogram.event").error("Failed to make answer: %s", "a test")

    assert [line["message"] for line in lines(json_log)] == ["handled"]
    [failed] = lines(json_log, "aiogram.event")
    assert failed["level"] == "ERROR"


async def test_every_line_logged_for_a_request_names_it_and_the_client_gets_the_id(
    json_log: io.StringIO, aiohttp_client
):
    async def ok(request: web.Request) -> web.Response:
        log.info("serving %s", request.path)
        return web.Response(text="ok")

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("boom for 530102198501010011")

    app = web.Application(middlewares=[middlewares.request_id, middlewares.errors])
    app.router.add_get("/ok", ok)
    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)

    fine = await client.get("/ok")
    failed = await client.get("/broken", headers={"Accept": "application/json"})
    from_proxy = await client.get("/ok", headers={"X-Request-ID": "proxy-1234abcd"})
    forged = await client.get("/ok", headers={"X-Request-ID": "bad id\u2028{}"})

    served, proxied, replaced = lines(json_log)
    [crashed] = lines(json_log, "webview.middlewares")
    assert served["request_id"] == fine.headers["X-Request-ID"]
    assert failed.status == 500 and crashed["request_id"] == failed.headers["X-Request-ID"]
    assert "RuntimeError" in crashed["exc"] and "530102198501010011" not in crashed["exc"]
    assert proxied["request_id"] == from_proxy.headers["X-Request-ID"] == "proxy-1234abcd"
    assert replaced["request_id"] == forged.headers["X-Request-ID"] != "bad id"
    assert len({fine.headers["X-Request-ID"], failed.headers["X-Request-ID"]}) == 2


async def test_a_refused_request_carries_its_id_too(aiohttp_client):
    app = web.Application(middlewares=[middlewares.request_id])
    client = await aiohttp_client(app)
    missing = await client.get("/nowhere")
    assert missing.status == 404 and len(missing.headers["X-Request-ID"]) == 32

"""Faults on loopback, for the tests in tests/faults: the real servers keep running (other
tests use them), the app's way to them breaks.

`TcpProxy` stands between the app and PostgreSQL or Redis: `cut()` closes every open
connection and refuses new ones (the server went away), `restore()` accepts again (it came
back: the same port, nothing kept from before), `freeze()` holds the bytes in both directions
without closing anything (a hung server) until `thaw()` or `cut()`.

`FaultyTelegram` stands between the app's bot session and the local chat's Bot API and
answers some calls itself: an error without passing the call on (`fail`), an error after
Telegram did it (`lose_answers`: the answer was lost on the way back), or no answer at all
(`hang`: the caller's timeout decides; the call never reaches Telegram).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from tests.support.app import free_port


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.accepted = 0
        self.held = 0  # chunks that arrived while frozen
        # The proxy's own ports towards the server: the clients' sessions as the server sees
        # them (PostgreSQL's pg_stat_activity.client_port).
        self.upstream_ports: set[int] = set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    @classmethod
    @contextlib.asynccontextmanager
    async def to(cls, url: str) -> AsyncIterator[TcpProxy]:
        """A proxy to the server of `url` (postgres://…, redis://…)."""
        parts = urlsplit(url)
        default = 6379 if parts.scheme.startswith("redis") else 5432
        proxy = cls(parts.hostname or "127.0.0.1", parts.port or default)
        await proxy.restore()
        try:
            yield proxy
        finally:
            await proxy.cut()

    def url_for(self, url: str) -> str:
        """`url` with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def is_cut(self) -> bool:
        return self._server is None

    async def restore(self) -> None:
        self._flowing.set()
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.port, reuse_address=True
            )

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        self._writers.clear()
        self._flowing.set()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def _accept(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter):
        self.accepted += 1
        try:
            server_in, server_out = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_out.transport.abort()
            return
        self._writers.update((client_out, server_out))
        self.upstream_ports.add(server_out.get_extra_info("sockname")[1])
        for source, target in ((client_in, server_out), (server_in, client_out)):
            task = asyncio.create_task(self._pipe(source, target, client_out, server_out))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        target: asyncio.StreamWriter,
        *ends: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await source.read(65536):
                if not self._flowing.is_set():
                    self.held += 1
                    await self._flowing.wait()
                target.write(data)
                await target.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # One side gone: the other goes too, as a dropped TCP connection would.
            for end in ends:
                end.transport.abort()
                self._writers.discard(end)


# ---- Telegram --------------------------------------------------------------------------------

_METHOD = re.compile(r"/bot[^/]+/(\w+)$")
EVERY = None  # a rule for every method but getUpdates


@dataclass
class _Rule:
    action: str  # fail | lose | hold | hang
    methods: frozenset[str] | None
    chats: frozenset[int] | None
    times: int | None  # None: until cleared
    status: int

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.methods is None:
            if method == "getupdates":
                return False
        elif method not in self.methods:
            return False
        return self.chats is None or chat_id in self.chats


@dataclass
class FaultyTelegram:
    """Serves the local chat's paths (`{url}/_local/bot…`) and forwards what no rule takes."""

    upstream: str
    url: str = ""
    calls: Counter[str] = field(default_factory=Counter)  # every call that arrived
    forwarded: Counter[str] = field(default_factory=Counter)  # reached Telegram
    faults: Counter[str] = field(default_factory=Counter)  # answered here, by action
    failed: Counter[str] = field(default_factory=Counter)  # answered here, by method
    # Awaited with the method's name once Telegram did a call, before its answer goes back.
    before_answer: Callable[[str], Awaitable[None]] | None = None
    _rules: list[_Rule] = field(default_factory=list)
    _down: asyncio.Event = field(default_factory=asyncio.Event)
    _in_flight: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    @contextlib.asynccontextmanager
    async def serve(cls, upstream: str) -> AsyncIterator[FaultyTelegram]:
        """`upstream` is the local chat server's base URL (without `/_local`)."""
        proxy = cls(upstream.rstrip("/"))
        proxy._idle.set()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", proxy._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        proxy.url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None)
        ) as http:
            proxy._http = http
            try:
                yield proxy
            finally:
                proxy.clear()
                await runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/_local"

    def fail(
        self,
        *methods: str,
        times: int | None = 1,
        status: int = 502,
        chats: Collection[int] | None = None,
    ) -> None:
        """Answer `status` without passing the call on: Telegram never saw it."""
        self._add("fail", methods, times, status, chats)

    def lose_answers(self, *methods: str, times: int | None = 1, status: int = 502) -> None:
        """Pass the call on (Telegram does it), then answer `status`: the answer was lost."""
        self._add("lose", methods, times, status, None)

    def hold_answers(self, *methods: str, times: int | None = 1) -> None:
        """Pass the call on (Telegram does it), then keep its answer until `clear()`: the caller
        waits, not knowing that the message is out (`faults["hold"]` counts them)."""
        self._add("hold", methods, times, 504, None)

    def hang(
        self, *methods: str, times: int | None = 1, chats: Collection[int] | None = None
    ) -> None:
        """Never answer and never pass on, until `clear()`: the caller times out."""
        self._add("hang", methods, times, 504, chats)

    def outage(self, status: int = 502) -> None:
        """Every call fails, getUpdates included, until `clear()`; a long poll waiting at
        Telegram is cut off too (what it would have returned is fetched again later, since
        Telegram forgets updates only when a later getUpdates confirms them)."""
        self._rules.append(_Rule("fail", None, None, None, status))
        self._rules.append(_Rule("fail", frozenset({"getupdates"}), None, None, status))
        self._down.set()

    def clear(self) -> None:
        """Telegram is well again; calls left hanging get 504 and are not passed on."""
        self._rules.clear()
        self._down.clear()
        self._release.set()
        self._release = asyncio.Event()

    async def idle(self, timeout: float = 10) -> None:
        """Until no call but getUpdates is being forwarded (what was in flight has landed)."""
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    def _add(
        self,
        action: str,
        methods: tuple[str, ...],
        times: int | None,
        status: int,
        chats: Collection[int] | None,
    ) -> None:
        wanted = frozenset(m.lower() for m in methods) if methods else None
        self._rules.append(
            _Rule(action, wanted, frozenset(chats) if chats else None, times, status)
        )

    def _take(self, method: str, chat_id: int | None) -> _Rule | None:
        for rule in self._rules:
            if rule.matches(method, chat_id):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                return rule
        return None

    @staticmethod
    def _error(status: int) -> web.Response:
        description = {500: "Internal Server Error", 504: "Gateway Timeout"}.get(
            status, "Bad Gateway"
        )
        body = {"ok": False, "error_code": status, "description": description}
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, bytes, str]:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in {"host", "content-length", "transfer-encoding"}
        }
        async with self._http.request(
            request.method, f"{self.upstream}{request.rel_url}", data=body, headers=headers
        ) as upstream:
            return upstream.status, await upstream.read(), upstream.content_type

    async def _long_poll(self, request: web.Request, body: bytes) -> web.StreamResponse:
        poll = asyncio.ensure_future(self._forward(request, body))
        down = asyncio.ensure_future(self._down.wait())
        await asyncio.wait({poll, down}, return_when=asyncio.FIRST_COMPLETED)
        down.cancel()
        if not poll.done():
            poll.cancel()
            self.faults["fail"] += 1
            self.failed["getupdates"] += 1
            return self._error(502)
        status, answer, content_type = poll.result()
        self.forwarded["getupdates"] += 1
        return web.Response(status=status, body=answer, content_type=content_type)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        found = _METHOD.search(request.path)
        method = found.group(1).lower() if found else ""
        chat_id = None
        if request.content_type == "application/x-www-form-urlencoded":
            values = parse_qs(body.decode(errors="replace")).get("chat_id")
            if values and values[0].lstrip("-").isdigit():
                chat_id = int(values[0])
        elif request.content_type == "application/json":  # the app's calls without a file
            with contextlib.suppress(ValueError):
                parsed = json.loads(body)
                named = parsed.get("chat_id") if isinstance(parsed, dict) else None
                chat_id = named if isinstance(named, int) else None
        if method:
            self.calls[method] += 1
        rule = self._take(method, chat_id) if method else None
        if rule is not None and rule.action in {"fail", "hang"}:
            self.faults[rule.action] += 1
            self.failed[method] += 1
            if rule.action == "hang":
                await self._release.wait()
            return self._error(rule.status)
        if method == "getupdates":
            return await self._long_poll(request, body)
        self._in_flight += 1
        self._idle.clear()
        try:
            status, answer, content_type = await self._forward(request, body)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
        if method:
            self.forwarded[method] += 1
            if self.before_answer is not None:
                await self.before_answer(method)
        if rule is not None:  # lose, hold: Telegram did it, the caller hears otherwise
            self.faults[rule.action] += 1
            self.failed[method] += 1
            if rule.action == "hold":
                if status == 200:  # not a refusal (a 429): the message is in the chat
                    self.faults["held_delivered"] += 1
                await self._release.wait()
            return self._error(rule.status)
        return web.Response(status=status, body=answer, content_type=content_type)

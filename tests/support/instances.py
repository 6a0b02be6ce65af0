"""Several real instances of the app, each its own process, as production runs them: one
Bot API stand-in (the local chat, in this process), a round-robin load balancer in front of the
instances (also in this process), and `python -m jijiao run` per instance against one
PostgreSQL and one Redis.

    async with Telegram.serve() as telegram, Balancer.serve() as balancer:
        fleet = Fleet(telegram, balancer, database_url=..., redis_url=..., data_dir=...)
        async with fleet.running(2) as instances:
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from infra.clock import SystemClock
from infra.settings import LOCAL_STAFF_GROUP_ID
from localchat import FloodLimits, LocalChat, LocalChatConfig
from tests.support.app import free_port
from tests.support.serving import serving, serving_localchat

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7000000002:fleet-test-token"
# The secret tests/support/registry.py seals ID numbers and phones with, so the instances read
# the rows a test adds.
SECRET_KEY = "k" * 32
WEBHOOK_SECRET = "fleet-webhook-secret"
STAFF = 900001
# The instances are real `jijiao run` processes, on the host's clock as in production: what a
# test tells them about time (a payment's time, a broadcast's start) comes from the same clock.
HOST_CLOCK = SystemClock()


@dataclass
class Telegram:
    """The local chat as a Bot API server on its own port, shared by every instance."""

    chat: LocalChat
    url: str

    @property
    def api_url(self) -> str:
        return f"{self.url}/_local"

    @classmethod
    @contextlib.asynccontextmanager
    async def serve(cls, limits: FloodLimits | None = None) -> AsyncIterator[Telegram]:
        chat = LocalChat(
            LocalChatConfig(
                token=TOKEN,
                staff_group_id=LOCAL_STAFF_GROUP_ID,
                staff_members=[(STAFF, "客服小李")],
                limits=limits or FloodLimits(),
                webhook_retry_first=0.05,
                webhook_retry_max=0.5,
            )
        )
        async with serving_localchat(chat) as url:
            yield cls(chat, url)


@dataclass
class Balancer:
    """Round robin over the instances, for every path (webhook, web view, payment callbacks).

    `lose_every=n` plays a network that cuts every n-th webhook answer after the instance took
    the update: the caller sees 502 and Telegram delivers the update again, to the next one."""

    url: str
    backends: list[str] = field(default_factory=list)
    lose_every: int = 0
    served: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    @contextlib.asynccontextmanager
    async def serve(cls) -> AsyncIterator[Balancer]:
        port = free_port()
        balancer = cls(f"http://127.0.0.1:{port}")
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", balancer._forward)
        async with serving(app, port), aiohttp.ClientSession(auto_decompress=False) as http:
            balancer._http = http
            yield balancer

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if not self.backends:
            return web.Response(status=503, text="no instance")
        turn = next(self._turn)
        backend = self.backends[turn % len(self.backends)]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host"}}
        async with self._http.request(
            request.method,
            f"{backend}{request.rel_url}",
            data=await request.read(),
            headers=headers,
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            self.served[backend] += 1
            webhook = request.path == "/telegram/webhook"
            if webhook and self.lose_every and upstream.status == 200:
                if turn % self.lose_every == 0:
                    self.lost += 1
                    return web.Response(status=502, text="answer lost on the way")
            skip = {"content-length", "transfer-encoding", "connection"}
            return web.Response(
                status=upstream.status,
                body=body,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in skip},
            )


@dataclass
class Instance:
    name: str
    url: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as an orchestrator stops a container: a graceful shutdown."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def kill(self) -> None:
        """SIGKILL: the process dies where it stands (a crash, an OOM kill)."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


@dataclass
class Fleet:
    telegram: Telegram
    balancer: Balancer
    database_url: str
    redis_url: str
    data_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)

    def environment(self, port: int | None = None) -> dict[str, str]:
        keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH"}
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": self.telegram.api_url,
                "TELEGRAM_WEBHOOK_URL": self.balancer.url,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "TELEGRAM_STAFF_GROUP_ID": str(LOCAL_STAFF_GROUP_ID),
                "SECURITY_SECRET_KEY": SECRET_KEY,
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "WEB_HOST": "127.0.0.1",
                "WEB_PUBLIC_URL": self.balancer.url,
                "PAYMENT_SANDBOX_OUTSIDE_LOCAL_MODE": "true",
                "APP_DATA_DIR": str(self.data_dir),
                "APP_LOG_FORMAT": "json",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if port is not None:
            env["WEB_PORT"] = str(port)
        env.update(self.env)
        return env

    async def command(self, *args: str) -> str:
        """A one-off `python -m jijiao ...` with the fleet's settings (migrate, seed-demo)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jijiao", *args,
            cwd=ROOT, env=self.environment(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
        text = output.decode(errors="replace")
        assert process.returncode == 0, f"jijiao {' '.join(args)} failed:\n{text}"
        return text

    async def start(
        self, name: str, port: int | None = None, python_args: Sequence[str] = ()
    ) -> Instance:
        """`python_args` go before `-m jijiao run`: e.g. `-m cProfile -o FILE` to profile."""
        port = port or free_port()
        log_path = self.data_dir / f"{name}.log"
        with log_path.open("ab") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable, *python_args, "-m", "jijiao", "run",
                cwd=ROOT, env=self.environment(port), stdout=log_file, stderr=log_file,
            )  # fmt: skip
        instance = Instance(name, f"http://127.0.0.1:{port}", process, log_path)
        await self.wait_ready(instance)
        return instance

    async def wait_ready(self, instance: Instance, timeout: float = 120) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as http:
            while loop.time() < deadline:
                if instance.process.returncode is not None:
                    raise AssertionError(f"{instance.name} exited:\n{instance.log()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{instance.url}/readyz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise AssertionError(f"{instance.name} not ready in {timeout}s:\n{instance.log()}")

    @contextlib.asynccontextmanager
    async def running(self, count: int) -> AsyncIterator[list[Instance]]:
        started = await asyncio.gather(
            *(self.start(f"instance-{n + 1}") for n in range(count)), return_exceptions=True
        )
        instances = [i for i in started if isinstance(i, Instance)]
        try:
            for failure in started:
                if isinstance(failure, BaseException):
                    raise failure
            self.balancer.backends[:] = [i.url for i in instances]
            yield instances
        finally:
            self.balancer.backends.clear()
            for instance in instances:
                with contextlib.suppress(TimeoutError):
                    await instance.stop()
                await instance.kill()

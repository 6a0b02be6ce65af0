"""Webhook updates per second sustained, with p50/p99 latency end to end, for a realistic mix on
PostgreSQL + Redis: one instance, two instances behind a load balancer, and a bare aiogram echo
webhook bot, in one run; then one instance again under cProfile, to show where the time goes.

Each simulated trainee does one thing at a time, round and round: /status in the chat, the
study page (GET /app/study with the session cookie), an exam autosave (POST .../answer), /pay
(the bill: the payment conversation's first step). The load generator plays Telegram: it posts
each update straight to the webhook through the balancer, at most 40 at once (max_connections),
and an update's latency runs from that post until the bot's reply is in the local chat (the Bot
API stand-in, in this process, flood limits off). Web view requests go from the "browsers" to
the balancer; their latency is the response's. The instances are `python -m jijiao run` in
production shape (tests/support/instances.py). The echo bot is an aiogram Dispatcher with
SimpleRequestHandler, answering each text with itself, in its own process, with bare aiohttp
handlers for the two web view routes; it gets the same mix through the same balancer.

Trainees run closed-loop, so the figures are at saturation: latency is about trainees divided by
throughput. Rounds alternate the order of the targets so machine noise hits them alike. The CPU
each process used in the measured window shows who has the machine's cores, and the CPU per
update or request of the serving processes is the figure least moved by other load.

    .venv/bin/python bench/bench_load.py [--short] [--profile-out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import random
import runpy
import shutil
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import ClientSession, DummyCookieJar, TCPConnector, web
from redis.asyncio import Redis
from tortoise import connections
from tortoise.transactions import in_transaction

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_exam_autosave import (
    Load,
    Taker,
    Unavailable,
    bare_app,
    make_exams,
    page_request,
    seed,
    servers,
)
from bench.bench_updates import echo_bot
from bot.webhook import WEBHOOK_PATH
from domain.registry import CertType
from infra.clock import SystemClock
from infra.db import connection_name, models
from infra.pii import Pii
from infra.signing import Signer
from localchat import FloodLimits, LocalChat
from tests.support import registry
from tests.support.instances import (
    ROOT,
    SECRET_KEY,
    TOKEN,
    WEBHOOK_SECRET,
    Balancer,
    Fleet,
    Instance,
    Telegram,
    free_port,
)
from webview.auth import Sessions


@dataclass(frozen=True)
class Shape:
    trainees: int
    warmup: float  # seconds of load before the measured window, each round
    seconds: float  # the measured window
    rounds: int


FULL = Shape(trainees=40, warmup=5, seconds=20, rounds=3)
SHORT = Shape(trainees=40, warmup=2, seconds=6, rounds=1)
TELEGRAM_CONNECTIONS = 40  # Telegram's default max_connections for a webhook
REPLY_TIMEOUT = 30
FIRST_USER = 500000
REDIS_URL = os.environ.get("JIJIAO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
KINDS = ("status", "study", "autosave", "pay")
UPDATES = ("status", "pay")
PAGES = ("study", "autosave")
COMMANDS = {"status": "/status", "pay": "/pay"}
# What the reply to each command says, so a message that is not the reply (a reminder) is not
# taken for it.
PRODUCT_REPLIES = {"status": "我的继续教育", "pay": "合计：¥"}
ECHO_REPLIES = COMMANDS
PROFILE_TOP = 12


# ---- the echo bot, in its own process ------------------------------------------------------


def serve_echo(port: int, api_url: str) -> None:
    dispatcher, bot = echo_bot(TOKEN, api_url)

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>study</title>", content_type="text/html")

    app = bare_app()
    app.router.add_get("/app/study", page)
    app.router.add_get("/readyz", page)
    SimpleRequestHandler(
        dispatcher, bot, handle_in_background=True, secret_token=WEBHOOK_SECRET
    ).register(app, path=WEBHOOK_PATH)
    setup_application(app, dispatcher, bot=bot)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def start_echo(fleet: Fleet) -> Instance:
    port = free_port()
    log_path = fleet.data_dir / "echo.log"
    with log_path.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--echo-server", str(port), fleet.telegram.api_url,
            cwd=ROOT, stdout=log_file, stderr=log_file,
        )  # fmt: skip
    echo = Instance("echo", f"http://127.0.0.1:{port}", process, log_path)
    await fleet.wait_ready(echo)
    return echo


# ---- the trainees ----------------------------------------------------------------------------


async def seed_trainees(count: int, data_dir: Path) -> list[Taker]:
    """The exam bench's trainees (a paid enrolment in its exam, an attempt open), signed in with
    the instances' key, and each with a second certificate enrolled and not paid: /pay bills it.
    """
    clock = SystemClock()
    signer = Signer(SECRET_KEY.encode())
    sessions = Sessions(signer, session_ttl=12 * 3600, link_ttl=600)
    exams = make_exams(data_dir, signer)
    takers = await seed(exams, sessions, clock, count, FIRST_USER, Pii.from_signer(signer))
    async with in_transaction():
        bindings = await models.Binding.filter(chat_user_id__in=[t.user_id for t in takers])
        for n, binding in enumerate(bindings):
            certificate = await models.Certificate.create(
                number=f"LOAD-{n:05d}",
                cert_type=CertType.SAFETY_B.value,
                person_id=binding.person_id,
                expires_on=date(2028, 6, 30),
            )
            await registry.enrolment(certificate, binding.chat_user_id, "enrolled")
    return takers


@dataclass
class Round:
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: Counter[str] = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)  # process -> cores busy

    def load(self, kinds: tuple[str, ...]) -> Load:
        latencies = [x for kind in kinds for x in self.latencies[kind]]
        return Load(len(latencies) / self.seconds, latencies, {}, len(latencies))

    def cpu_ms_per_op(self, processes: list[str]) -> float:
        """Milliseconds of CPU those processes spent per update or web request."""
        return 1000 * sum(self.cpu.get(name, 0.0) for name in processes) / self.load(KINDS).rps


class Mix:
    """The trainees' loop against one target behind the balancer, for one round."""

    def __init__(
        self, chat: LocalChat, http: ClientSession, base: str, replies: dict[str, str]
    ) -> None:
        self.chat = chat
        self.http = http
        self.base = base
        self.replies = replies
        self.telegram = asyncio.Semaphore(TELEGRAM_CONNECTIONS)

    async def update(self, taker: Taker, kind: str) -> str | None:
        """Posts the trainee's command as Telegram would; None once the reply is in the chat."""
        posted = self.chat.send_text(
            taker.user_id, COMMANDS[kind], first_name="考生", language_code="zh-hans"
        )
        # The local chat queued the update for its own webhook delivery (one at a time): take it.
        update = self.chat.updates.pop()
        assert update["update_id"] == posted["update_id"]
        headers = {
            "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
            "Content-Type": "application/json",
        }
        async with self.telegram:
            async with self.http.post(
                f"{self.base}{WEBHOOK_PATH}",
                data=json.dumps(update, ensure_ascii=False).encode(),
                headers=headers,
            ) as response:
                await response.read()
                if response.status != 200:
                    return f"webhook {response.status}"
        after = posted["message_id"]
        deadline = time.perf_counter() + REPLY_TIMEOUT
        while (remaining := deadline - time.perf_counter()) > 0:
            found = await self.chat.wait_messages(taker.user_id, after, wait=remaining)
            for message in found["messages"]:
                after = message["message_id"]
                if self.replies[kind] in (message.get("text") or ""):
                    return None
        return f"{kind}: no reply"

    async def page(self, taker: Taker, kind: str, rng: random.Random) -> str | None:
        request = page_request(self.http, self.base, taker, kind, rng)
        async with request as response:
            await response.read()
            return None if response.status == 200 else f"{kind} {response.status}"

    async def trainee(self, taker: Taker, window: tuple[float, float], result: Round) -> None:
        rng = random.Random(taker.user_id)
        step = rng.randrange(len(KINDS))
        while time.perf_counter() < window[1]:
            kind = KINDS[step % len(KINDS)]
            step += 1
            started = time.perf_counter()
            if kind in UPDATES:
                error = await self.update(taker, kind)
            else:
                error = await self.page(taker, kind, rng)
            ended = time.perf_counter()
            if window[0] <= ended <= window[1]:
                if error is None:
                    result.latencies[kind].append(ended - started)
                else:
                    result.errors[error] += 1


# ---- CPU per process -------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def machine_busy_seconds() -> float:
    """CPU time of everything on the machine, all cores: the shared machine's other load too."""
    user, nice, system, _, _, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / TICKS


Processes = Callable[[], Awaitable[dict[int, str]]]


async def until(moment: float) -> None:
    await asyncio.sleep(max(0, moment - time.perf_counter()))


async def cpu_split(processes: Processes, window: tuple[float, float]) -> dict[str, float]:
    """Cores each process (group) kept busy during the window."""
    await until(window[0])
    before = {pid: cpu_seconds(pid) for pid in await processes()}
    machine = machine_busy_seconds()
    await until(window[1])
    busy: Counter[str] = Counter()
    for pid, name in (await processes()).items():
        busy[name] += cpu_seconds(pid) - before.get(pid, 0.0)
    busy["others on the machine"] = machine_busy_seconds() - machine - sum(busy.values())
    return {name: seconds / (window[1] - window[0]) for name, seconds in busy.items()}


# ---- one round against one target ------------------------------------------------------------


@dataclass
class Target:
    name: str
    backends: list[str]
    serving: dict[int, str]  # pid -> name, of the processes behind the balancer
    replies: dict[str, str]
    profiled: int | None = None  # pid of an instance under `--profile-window`
    rounds: list[Round] = field(default_factory=list)

    def merged(self, kinds: tuple[str, ...]) -> Load:
        loads = [r.load(kinds) for r in self.rounds]
        rate = statistics.median(load.rps for load in loads)
        latencies = [x for load in loads for x in load.latencies]
        return Load(rate, latencies, {}, len(latencies))

    def cpu_ms_per_op(self, processes: list[str] | None = None) -> float:
        """The median round's; by default of the processes serving the target."""
        names = list(self.serving.values()) if processes is None else processes
        return statistics.median(r.cpu_ms_per_op(names) for r in self.rounds)


@dataclass
class Rig:
    fleet: Fleet
    redis: Redis
    takers: list[Taker]
    shape: Shape

    async def round(self, target: Target) -> None:
        """Every trainee on the target for warm-up and window; prints the round's figures."""
        self.fleet.balancer.backends[:] = target.backends
        result = Round(self.shape.seconds)
        started = time.perf_counter()
        window = (started + self.shape.warmup, started + self.shape.warmup + self.shape.seconds)
        side = [] if target.profiled is None else [profile_window(target.profiled, window)]
        connector = TCPConnector(limit=0)
        async with ClientSession(connector=connector, cookie_jar=DummyCookieJar()) as http:
            mix = Mix(self.fleet.telegram.chat, http, self.fleet.balancer.url, target.replies)
            result.cpu, *_ = await asyncio.gather(
                cpu_split(self.processes(target), window),
                *side,
                *(mix.trainee(t, window, result) for t in self.takers),
            )
        target.rounds.append(result)
        print_round(target, result)

    def processes(self, target: Target) -> Processes:
        async def find() -> dict[int, str]:
            found = {os.getpid(): "generator+chat+balancer", **target.serving}
            database = connections.get(connection_name(self.fleet.database_url))
            rows = await database.execute_query_dict(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            )
            found.update({row["pid"]: "postgres" for row in rows})
            server = await self.redis.info("server")
            found[int(server["process_id"])] = "redis"
            return found

        return find


def print_round(target: Target, result: Round) -> None:
    updates, pages = result.load(UPDATES), result.load(PAGES)
    cpu = ", ".join(f"{name} {cores:.2f}" for name, cores in sorted(result.cpu.items()))
    print(
        f"  {target.name}: {updates.rps:.0f} updates/s (p50 {updates.percentile(0.5):.0f} ms, "
        f"p99 {updates.percentile(0.99):.0f} ms), {pages.rps:.0f} web requests/s "
        f"(p50 {pages.percentile(0.5):.0f} ms, p99 {pages.percentile(0.99):.0f} ms)"
        f"{', errors ' + str(dict(result.errors)) if result.errors else ''}; "
        f"CPU per op {result.cpu_ms_per_op(list(target.serving.values())):.1f} ms; "
        f"cores busy: {cpu}",
        flush=True,
    )


def bench_line(label: str, target: Target, baseline: Target, baseline_key: str) -> str:
    updates, pages = target.merged(UPDATES), target.merged(PAGES)
    errors = sum(sum(r.errors.values()) for r in target.rounds)
    base = baseline.merged(UPDATES).rps
    return (
        f"BENCH load {label} updates_per_s={updates.rps:.0f} "
        f"p50_ms={updates.percentile(0.5):.0f} p99_ms={updates.percentile(0.99):.0f} "
        f"web_per_s={pages.rps:.0f} web_p50_ms={pages.percentile(0.5):.0f} "
        f"web_p99_ms={pages.percentile(0.99):.0f} cpu_ms_per_op={target.cpu_ms_per_op():.1f} "
        f"db_cpu_ms_per_op={target.cpu_ms_per_op(['postgres']):.1f} "
        f"{baseline_key}_updates_per_s={base:.0f} errors={errors} ratio={updates.rps / base:.2f}"
    )


def per_kind(target: Target) -> str:
    parts = []
    for kind in KINDS:
        load = target.merged((kind,))
        parts.append(
            f"{kind} {load.rps:.0f}/s p50 {load.percentile(0.5):.0f} ms "
            f"p99 {load.percentile(0.99):.0f} ms"
        )
    return f"  {target.name}: " + "; ".join(parts)


# ---- instances held to a share of a core --------------------------------------------------

CGROUP_CPU = Path("/sys/fs/cgroup/cpu")  # cgroup v1's CPU controller, as on this machine
HELD_CORES = 0.35  # each instance's share when held: two of them leave the rest room
HELD_PERIOD_US = 20_000  # short CFS periods, so a held instance is throttled in small slices


class CpuHolds:
    """Two instances on 2 shared cores are measured against the machine: the load generator,
    PostgreSQL and Redis take most of what one instance leaves. Held each to the same share of
    a core (a cgroup of its own with a CFS quota), one instance and two are compared on equal
    terms, as on machines of their own: whether the product scales (nothing shared between the
    instances, such as a lock, Redis or PostgreSQL, holding the second back) rather than whether
    this machine has a spare core. Needs a writable cgroup v1 CPU controller (root)."""

    def __init__(self, cores: float) -> None:
        self.cores = cores
        self.root = CGROUP_CPU / f"jijiao-bench-{os.getpid()}"
        self.groups: list[Path] = []

    def available(self) -> str | None:
        """None when holds can be made, else why not."""
        try:
            self.root.mkdir()
        except OSError as exc:
            return f"no cgroup CPU controller to hold instances with ({exc.strerror})"
        return None

    def hold(self, pid: int) -> None:
        group = self.root / str(pid)
        group.mkdir()
        (group / "cpu.cfs_period_us").write_text(str(HELD_PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(round(self.cores * HELD_PERIOD_US)))
        (group / "cgroup.procs").write_text(str(pid))
        self.groups.append(group)

    def release(self) -> None:
        for group in self.groups:
            for pid in (group / "cgroup.procs").read_text().split():
                try:
                    (CGROUP_CPU / "cgroup.procs").write_text(pid)
                except OSError:  # gone already
                    pass
            group.rmdir()
        self.groups.clear()
        self.root.rmdir()


async def held_scaling(rig: Rig, one: Target, two: Target) -> str:
    """The two targets again, each instance held to HELD_CORES: their BENCH line."""
    holds = CpuHolds(HELD_CORES)
    if (why := holds.available()) is not None:
        return f"BENCH load scaling=2_over_1_held skipped: {why}"
    try:
        for pid in two.serving:
            holds.hold(pid)
        label = f"{HELD_CORES} of a core each"
        held_one = replace(one, name=f"1 instance, {label}", rounds=[])
        held_two = replace(two, name=f"2 instances, {label}", rounds=[])
        for number in range(rig.shape.rounds):
            for target in (held_one, held_two) if number % 2 == 0 else (held_two, held_one):
                await rig.round(target)
    finally:
        holds.release()
    trainees = f"trainees={rig.shape.trainees} cores_each={HELD_CORES}"
    return bench_line(f"scaling=2_over_1_held {trainees}", held_two, held_one, "one_instance")


# ---- the profile -----------------------------------------------------------------------------


def run_profiled(out: Path, module: str, args: list[str]) -> None:
    """`bench_load.py --profile-window OUT -m jijiao run`: the module under cProfile switched on
    by SIGUSR1 and off by SIGUSR2 (which writes OUT), so that start-up is not in the profile."""
    profiler = cProfile.Profile()

    def start(signum: int, frame: object) -> None:
        profiler.enable()

    def stop(signum: int, frame: object) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


async def profile_window(pid: int, window: tuple[float, float]) -> None:
    await until(window[0])
    os.kill(pid, signal.SIGUSR1)
    await until(window[1])
    os.kill(pid, signal.SIGUSR2)


# Where the event loop waits for the network: the process idle, not working.
IDLE = "<method 'poll' of 'select.epoll' objects>"
PRODUCT = {"bot", "webview", "infra", "domain", "jijiao"}


def area(key: tuple[str, int, str]) -> str:
    path, _, name = key
    if path == "~":
        return "idle" if name == IDLE else "builtins (C)"
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if path.startswith(str(ROOT)):
        return path[len(str(ROOT)) + 1 :].split("/", 1)[0]
    if "/python3." in path:
        return "stdlib " + path.split("/lib/python3.", 1)[1].split("/")[1].removesuffix(".py")
    return path  # <frozen ...>, <string>


def label(key: tuple[str, int, str]) -> str:
    path, line, name = key
    if path == "~":
        return name
    if path.startswith(str(ROOT)):
        path = path[len(str(ROOT)) + 1 :]
    elif "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    else:
        path = "/".join(Path(path).parts[-2:])
    return f"{path}:{line}({name})"


def where_time_goes(path: Path) -> list[str]:
    entries = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    own = {key: value[2] for key, value in entries.items()}
    cumulative = {key: value[3] for key, value in entries.items()}
    total = sum(own.values())
    idle = sum(t for key, t in own.items() if area(key) == "idle")
    busy = total - idle
    by_area: Counter[str] = Counter()
    for key, seconds in own.items():
        if area(key) != "idle":
            by_area[area(key)] += seconds
    lines = [
        f"profile: {total:.1f} s profiled, {100 * idle / total:.0f}% idle in epoll, "
        f"{busy:.1f} s busy; busy time by package (own time):",
        "  " + ", ".join(f"{name} {100 * s / busy:.0f}%" for name, s in by_area.most_common(12)),
        "top own time (share of busy):",
    ]
    working = sorted((k for k in own if area(k) != "idle"), key=own.__getitem__, reverse=True)
    lines += [f"  {100 * own[k] / busy:5.1f}%  {label(k)}" for k in working[:PROFILE_TOP]]
    lines.append("top cumulative time in the product's own code (share of busy):")
    ranked = sorted(
        (k for k in cumulative if area(k) in PRODUCT), key=cumulative.__getitem__, reverse=True
    )
    lines += [f"  {100 * cumulative[k] / busy:5.1f}%  {label(k)}" for k in ranked[:PROFILE_TOP]]
    return lines


# ---- the run -------------------------------------------------------------------------------


async def measure(
    shape: Shape, url: str, redis: Redis, data_dir: Path, profile_out: Path | None
) -> None:
    started = time.perf_counter()
    takers = await seed_trainees(shape.trainees, data_dir)
    print(f"{shape.trainees} trainees seeded in {time.perf_counter() - started:.1f} s", flush=True)
    async with (
        Telegram.serve(limits=FloodLimits(enabled=False)) as telegram,
        Balancer.serve() as balancer,
    ):
        fleet = Fleet(telegram, balancer, database_url=url, redis_url=REDIS_URL, data_dir=data_dir)
        rig = Rig(fleet, redis, takers, shape)
        echo = await start_echo(fleet)
        try:
            async with fleet.running(2) as (first, second):
                echo_target = Target("echo", [echo.url], {echo.process.pid: "echo"}, ECHO_REPLIES)
                one = Target(
                    "1 instance", [first.url], {first.process.pid: "instance"}, PRODUCT_REPLIES
                )
                two = Target(
                    "2 instances",
                    [first.url, second.url],
                    {first.process.pid: "instance-1", second.process.pid: "instance-2"},
                    PRODUCT_REPLIES,
                )
                targets = [echo_target, one, two]
                for number in range(shape.rounds):
                    print(f"round {number + 1}", flush=True)
                    for target in targets if number % 2 == 0 else targets[::-1]:
                        await rig.round(target)
                print(f"each instance held to {HELD_CORES} of a core", flush=True)
                held = await held_scaling(rig, one, two)
        finally:
            await echo.stop()
        print("per kind:")
        for target in targets:
            print(per_kind(target))
        trainees = f"trainees={shape.trainees}"
        print(bench_line(f"target=echo {trainees}", echo_target, echo_target, "echo"))
        print(bench_line(f"instances=1 {trainees}", one, echo_target, "echo"))
        print(bench_line(f"instances=2 {trainees}", two, echo_target, "echo"))
        print(bench_line(f"scaling=2_over_1 {trainees}", two, one, "one_instance"))
        print(held)

        await profile(rig, profile_out)
    print(f"cores: {os.cpu_count()}")


async def profile(rig: Rig, keep: Path | None) -> None:
    """One more round on one instance, its measured window under cProfile."""
    path = rig.fleet.data_dir / "instance.prof"
    instance = await rig.fleet.start(
        "profiled", python_args=[__file__, "--profile-window", str(path)]
    )
    pid = instance.process.pid
    target = Target(
        "1 instance under cProfile", [instance.url], {pid: "instance"}, PRODUCT_REPLIES, pid
    )
    try:
        await rig.round(target)
    finally:
        await instance.stop()
    for line in where_time_goes(path):
        print(line)
    if keep is not None:
        shutil.copyfile(path, keep)
        print(f"profile kept in {keep} (python -m pstats {keep})")


async def main(shape: Shape, profile_out: Path | None) -> None:
    try:
        async with servers("load bench", REDIS_URL) as (url, redis, tmp):
            await measure(shape, url, redis, tmp, profile_out)
    except Unavailable as reason:
        print(reason)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="a quick run: fewer, shorter rounds")
    parser.add_argument("--profile-out", type=Path, help="keep the instance's cProfile file here")
    # The bench starts itself as the echo bot, and as the launcher of the profiled instance.
    parser.add_argument(
        "--echo-server", nargs=2, metavar=("PORT", "API_URL"), help=argparse.SUPPRESS
    )
    parser.add_argument("--profile-window", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("-m", dest="module", help=argparse.SUPPRESS)
    args, module_args = parser.parse_known_args()
    if module_args and not args.profile_window:
        parser.error(f"unrecognized arguments: {' '.join(module_args)}")
    if args.profile_window:
        run_profiled(args.profile_window, args.module, module_args)
        sys.exit(0)
    logging.basicConfig(level=logging.WARNING)
    if args.echo_server:
        serve_echo(int(args.echo_server[0]), args.echo_server[1])
    else:
        asyncio.run(main(SHORT if args.short else FULL, args.profile_out))

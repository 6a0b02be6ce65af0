"""Soak: two real instances for a while (15 minutes by default) under mixed traffic, a broadcast
and reminder scans, with PostgreSQL "restarted" once and Redis once in the middle. Nothing may
be lost, doubled or stuck, no request may fail with a 5xx outside the outages, and memory should
stay flat.

The instances are `python -m jijiao run` (tests/support/instances.py) behind the round-robin
balancer, against a throwaway PostgreSQL database and a Redis database, each reached through a
TCP proxy (tests/support/faults.py). A restart is what the app sees of one: the proxy closes
every connection, refuses new ones for OUTAGE_SECONDS, then accepts again. The real servers are
shared and never touched.

The local chat (the Bot API stand-in, Telegram's flood limits on) delivers every update by
webhook through the balancer and delivers it again when the webhook fails, as Telegram does.
Each trainee (seeded as bench_load.py does: a paid enrolment with an exam attempt open, a second
enrolment unpaid) does one thing at a time with a pause between: /status, /help, a press on a
help topic under that answer, a question typed in the chat, /start, the study page (GET
/app/study) and an exam autosave (POST .../answer; the Mini App's periodic call). A third of the
trainees have a study deadline in 3 days, so the reminder scanner (every SCAN_EVERY s on both
instances) has reminders to queue. The broadcast goes to every bound person (the trainees plus
EXTRA_RECIPIENTS who never write) and starts a few seconds before PostgreSQL goes away, so the
outage lands in the middle of it.

Counted at the end, once everything has settled:
- every update (message or press) is answered exactly once: the bot messages in the trainee's
  chat between that update and the next one, outbox messages (reminders, the broadcast) set
  apart by their ids, must be exactly one: the answer, or "temporarily unavailable" during an
  outage (that is the product's answer then);
- every recipient has the broadcast exactly once, and every outbox message arrived once;
- every HTTP answer through the balancer (webhooks and web view) with its status and time: a
  5xx counts against the run unless it was in flight during an outage window (from the cut
  until both instances' /readyz are 200 again);
- nothing stuck: no update left unfinished in the inbox, no outbox row pending or sending;
- each instance's RSS (/proc/<pid>/status VmRSS) when ready, after the warm-up, every half
  minute, and at the end; growth is from the warm-up to the end.

    .venv/bin/python bench/bench_soak.py [--minutes N] [--trainees N]

The duration is `--minutes`, else SOAK_MINUTES, else 15; `make bench` sets SOAK_MINUTES=2 so
that it stays short (`make bench SOAK_MINUTES=15` for the documented soak). Exit status 1 when
anything was lost, doubled, stuck, or failed with a 5xx outside the outages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import ClientSession, DummyCookieJar, TCPConnector, web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_exam_autosave import (
    Taker,
    Unavailable,
    page_request,
    servers,
)
from bench.bench_load import seed_trainees
from domain.accounts import ChatUserId
from domain.reminders import Audience, AudienceKind, BroadcastContent
from infra.db import models
from infra.outbox import TortoiseBroadcasts, TortoiseOutbox
from infra.pii import Pii
from infra.signing import Signer
from localchat import LocalChat
from tests.support.faults import TcpProxy
from tests.support.instances import (
    HOST_CLOCK,
    SECRET_KEY,
    STAFF,
    Balancer,
    Fleet,
    Instance,
    Telegram,
)
from tests.support.waiting import eventually

MINUTES = float(os.environ.get("SOAK_MINUTES", "15"))
TRAINEES = 60
EXTRA_RECIPIENTS = 300  # bound people who never write: the broadcast takes ~12 s at 30/s
FIRST_EXTRA = 760_000
REDIS_URL = os.environ.get("JIJIAO_BENCH_SOAK_REDIS_URL", "redis://127.0.0.1:6379/11")
OUTAGE_SECONDS = 15.0
BROADCAST_LEAD = 4.0  # seconds between the broadcast's start and PostgreSQL going away
SCAN_EVERY = 5
THINK = (2.0, 6.0)  # seconds a trainee pauses between two things
REPLY_TIMEOUT = 90.0  # longer than an outage plus Telegram's 429 waits
SETTLE_TIMEOUT = 180.0
RSS_EVERY = 30.0
PII = Pii.from_signer(Signer(SECRET_KEY.encode()))

# What a trainee does, round and round; what each update says, and words of its answer.
CYCLE = ("status", "study", "help", "press", "autosave", "question", "start", "study")
PAGES = ("study", "autosave")
SAY = {
    "status": "/status",
    "help": "/help",
    "question": "考试不及格怎么办？",
    "start": "/start",
}
PRESS = "help:order"  # the help answer's "Orders and paying" button
ANSWERS = {
    "status": "我的继续教育",
    "help": "帮助\n",
    "press": "订单有效期 30 分钟",
    "question": "这可能就是您要的答案",
    "start": "您好",
}
UNAVAILABLE = "服务暂时不可用"
BROADCAST = "浸泡测试通知：周五考试中心休息 Soak notice: the exam centre is closed on Friday"


def now() -> float:
    return time.monotonic()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---- HTTP through the balancer, each answer counted -------------------------------------------


@dataclass
class Answer:
    started: float
    ended: float
    kind: str  # webhook | web
    status: int


@dataclass
class CountingBalancer(Balancer):
    answers: list[Answer] = field(default_factory=list)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        started = now()
        kind = "webhook" if request.path == "/telegram/webhook" else "web"
        try:
            response = await super()._forward(request)
        except (aiohttp.ClientError, OSError) as exc:  # the instance unreachable
            response = web.Response(status=502, text=f"bad gateway: {type(exc).__name__}")
        self.answers.append(Answer(started, now(), kind, response.status))
        return response


# ---- the trainees ------------------------------------------------------------------------------


@dataclass
class Update:
    kind: str
    after: int  # the chat's last message id when it was sent: its answer comes after
    at: float
    query: str | None = None  # a press's callback query: an outage's answer is an alert on it


@dataclass
class Traffic:
    chat: LocalChat
    http: ClientSession
    base: str
    sent: dict[int, list[Update]] = field(default_factory=dict)
    pages: Counter[str] = field(default_factory=Counter)  # "study 200", ...
    late: int = 0  # answers not seen within REPLY_TIMEOUT while running
    alerts: dict[str, str] = field(default_factory=dict)  # callback query id -> alert text
    latencies: list[float] = field(default_factory=list)

    def last_id(self, user: int) -> int:
        chat = self.chat.chats.get(user)
        return chat.next_message_id - 1 if chat is not None else 0

    async def update(self, user: int, kind: str, help_answer: dict[str, Any] | None) -> Any:
        """Sends one update and waits for its answer; returns the answer to /help (for the
        press that follows), else None."""
        query = None
        revision = self.chat.messages(user)["revision"]
        if kind == "press":
            if help_answer is None:  # /help was answered "unavailable": nothing to press
                kind = "help"
            else:
                after = self.last_id(user)
                clicked = self.chat.click(user, help_answer["message_id"], PRESS)
                query = clicked["callback_query_id"]
        if kind != "press":
            posted = self.chat.send_text(user, SAY[kind], language_code="zh-hans")
            after = posted["message_id"]
        started = now()
        self.sent.setdefault(user, []).append(Update(kind, after, started, query))
        deadline = started + REPLY_TIMEOUT
        while (remaining := deadline - now()) > 0:
            # Woken by a new message or a toast (the chat's revision moves on for both).
            found = await self.chat.wait_messages(user, changed_after=revision, wait=remaining)
            revision = found["revision"]
            for toast in found["toasts"]:
                if toast["callback_query_id"] == query and toast["text"]:
                    self.alerts[query] = toast["text"]
            if query in self.alerts:
                self.latencies.append(now() - started)
                return None
            for message in found["messages"]:
                if message["message_id"] <= after:
                    continue  # an earlier message edited
                after = message["message_id"]
                text = message.get("text") or ""
                if UNAVAILABLE in text:
                    self.latencies.append(now() - started)
                    return None
                if ANSWERS[kind] in text:
                    self.latencies.append(now() - started)
                    return message if kind == "help" and message.get("reply_markup") else None
        self.late += 1
        return None

    async def page(self, taker: Taker, kind: str, rng: random.Random) -> None:
        request = page_request(self.http, self.base, taker, kind, rng)
        try:
            async with request as response:
                await response.read()
                self.pages[f"{kind} {response.status}"] += 1
        except aiohttp.ClientError as exc:
            self.pages[f"{kind} {type(exc).__name__}"] += 1

    async def trainee(self, taker: Taker, until: float) -> None:
        rng = random.Random(taker.user_id)
        step = rng.randrange(len(CYCLE))
        help_answer = None
        await asyncio.sleep(rng.uniform(0, THINK[1]))  # not all at once
        while now() < until:
            kind = CYCLE[step % len(CYCLE)]
            step += 1
            if kind in PAGES:
                await self.page(taker, kind, rng)
            else:
                help_answer = await self.update(taker.user_id, kind, help_answer)
            await asyncio.sleep(rng.uniform(*THINK))


# ---- the world ---------------------------------------------------------------------------------


@dataclass
class Outage:
    name: str
    cut: float
    restored: float
    ready: float  # both instances' /readyz 200 again


@dataclass
class Soak:
    fleet: Fleet
    balancer: CountingBalancer
    instances: list[Instance]
    database: TcpProxy
    redis: TcpProxy
    started: float
    outages: list[Outage] = field(default_factory=list)
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    warm: dict[str, float] = field(default_factory=dict)  # RSS after the warm-up

    def sample_rss(self) -> None:
        for instance in self.instances:
            mb = rss_mb(instance.process.pid)
            self.rss.setdefault(instance.name, []).append((now() - self.started, mb))

    async def watch_rss(self) -> None:
        while True:
            await asyncio.sleep(RSS_EVERY)
            self.sample_rss()

    async def all_ready(self, http: ClientSession) -> bool:
        for instance in self.instances:
            try:
                async with http.get(f"{instance.url}/readyz") as response:
                    if response.status != 200:
                        return False
            except aiohttp.ClientError:
                return False
        return True

    async def outage(self, name: str, proxy: TcpProxy, at: float) -> None:
        await asyncio.sleep(max(0.0, at - now()))
        cut = now()
        print(f"{cut - self.started:6.1f} s  {name} goes away (proxy cut)", flush=True)
        await proxy.cut()
        await asyncio.sleep(OUTAGE_SECONDS)
        await proxy.restore()
        restored = now()
        async with ClientSession() as http:
            await eventually(lambda: self.all_ready(http), timeout=120, what=f"ready after {name}")
        ready = now()
        self.outages.append(Outage(name, cut, restored, ready))
        print(
            f"{ready - self.started:6.1f} s  {name} back after {restored - cut:.1f} s; both "
            f"instances ready {ready - restored:.1f} s later",
            flush=True,
        )

    async def broadcast(self, at: float) -> int:
        await asyncio.sleep(max(0.0, at - now()))
        moment = HOST_CLOCK.now()
        broadcasts = TortoiseBroadcasts(TortoiseOutbox())
        progress = await broadcasts.start(
            Audience(AudienceKind.ALL),
            BroadcastContent(BROADCAST, len(BROADCAST)),
            ChatUserId(STAFF),
            moment,
            moment,
        )
        print(
            f"{now() - self.started:6.1f} s  broadcast started to {progress.remaining} recipients",
            flush=True,
        )
        return progress.remaining

    def outage_of(self, answer: Answer) -> str | None:
        """The outage the answer was in flight during, if any."""
        for outage in self.outages:
            if answer.started <= outage.ready and answer.ended >= outage.cut:
                return outage.name
        return None


async def seed(data_dir: Path, chat: LocalChat, trainees: int) -> list[Taker]:
    takers = await seed_trainees(trainees, data_dir)
    # A study deadline in 3 days for a third of them: the scanner has reminders to queue.
    due = [t.user_id for t in takers[::3]]
    enrolments = await models.Enrolment.filter(
        enrolled_by__in=due, state__in=["studying", "exam"]
    ).values_list("id", flat=True)
    await models.Enrolment.filter(id__in=list(enrolments)).update(
        study_deadline=HOST_CLOCK.now() + timedelta(days=3)
    )
    extras = range(FIRST_EXTRA, FIRST_EXTRA + EXTRA_RECIPIENTS)
    await models.Person.bulk_create(
        [
            models.Person(
                id_number_hash=PII.digest(f"5301031990{n:08d}"),
                id_number_sealed=PII.seal(f"5301031990{n:08d}"),
                name=f"收件人{n}",
            )
            for n in range(EXTRA_RECIPIENTS)
        ]
    )
    people = await models.Person.filter(name__startswith="收件人").order_by("id")
    await models.Binding.bulk_create(
        [models.Binding(chat_user_id=u, person=p) for u, p in zip(extras, people, strict=True)]
    )
    for user in [t.user_id for t in takers] + list(extras):
        chat.create_user(f"学员{user % 10000}", "zh-hans", user_id=user)
        chat.users[user].started = True
        chat.chat_for_user(user)
    return takers


# ---- the count ---------------------------------------------------------------------------------


@dataclass
class Count:
    updates: int = 0
    answered: int = 0
    lost: int = 0
    doubled: int = 0
    apologies: int = 0  # answered "temporarily unavailable"
    unexpected: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # the lost and doubled, for the report
    broadcast_ok: int = 0
    recipients: int = 0
    outbox_doubled: int = 0


async def count(chat: LocalChat, traffic: Traffic, extras: range, started: float) -> Count:
    result = Count()
    rows = await models.Outbox.filter(status="sent").values_list("chat_id", "telegram_message_id")
    outbox: dict[int, set[int]] = {}
    for chat_id, message_id in rows:
        outbox.setdefault(chat_id, set()).add(message_id)
    for user, updates in traffic.sent.items():
        messages = chat.messages(user)["messages"]
        ids = [u.after for u in updates[1:]] + [10**12]
        for update, before in zip(updates, ids, strict=True):
            result.updates += 1
            answers = [
                m
                for m in messages
                if update.after < m["message_id"] <= before
                and m["message_id"] not in outbox.get(user, set())
                and (m.get("text") or "") != BROADCAST
            ]
            alert = traffic.alerts.get(update.query or "")
            if alert is not None:  # the press answered with an alert instead of a message
                answers.append({"text": alert})
            if len(answers) != 1:
                texts = [(m.get("text") or "")[:40] for m in answers]
                result.missing.append(
                    f"{update.kind} from {user} at {update.at - started:.1f} s: {texts}"
                )
            if not answers:
                result.lost += 1
                continue
            result.answered += 1
            result.doubled += len(answers) - 1
            for message in answers:
                text = message.get("text") or ""
                if UNAVAILABLE in text:
                    result.apologies += 1
                elif ANSWERS[update.kind] not in text:
                    result.unexpected.append(f"{update.kind}: {text[:60]!r}")
    recipients = [*traffic.sent, *extras]
    result.recipients = len(recipients)
    for user in recipients:
        messages = chat.messages(user)["messages"]
        copies = sum((m.get("text") or "") == BROADCAST for m in messages)
        result.broadcast_ok += copies == 1
        # Every bot message in a silent recipient's chat is an outbox row's, sent once.
        if user in extras:
            result.outbox_doubled += len(messages) - len(outbox.get(user, set()))
    return result


async def settle(chat: LocalChat, timeout: float = SETTLE_TIMEOUT) -> float:
    """Until the local chat has delivered everything, the inbox has finished every update and
    the outbox has no row pending or sending; returns the seconds it took."""
    started = now()
    while now() - started < timeout:
        busy = (
            chat.updates
            or await models.UpdateInbox.filter(done_at=None).exists()
            or await models.Outbox.filter(status__in=["pending", "sending"]).exists()
        )
        if not busy:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # anything sent twice would land by now
    return now() - started


def log_levels(instance: Instance) -> Counter[str]:
    """Lines by level, and each ERROR's message (its first 100 characters) by count."""
    levels: Counter[str] = Counter()
    for line in instance.log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            levels["unparsed"] += 1
            continue
        levels[entry.get("level", "?")] += 1
        if entry.get("level") == "ERROR":
            levels[f"ERROR {str(entry.get('message'))[:100]!r}"] += 1
    return levels


# ---- the run -----------------------------------------------------------------------------------


async def soak(minutes: float, trainees: int, url: str, data_dir: Path) -> int:
    seconds = minutes * 60
    async with (
        Telegram.serve() as telegram,
        CountingBalancer.serve() as balancer,
        TcpProxy.to(url) as database,
        TcpProxy.to(REDIS_URL) as redis,
    ):
        assert isinstance(balancer, CountingBalancer)
        chat = telegram.chat
        clock = now()
        takers = await seed(data_dir, chat, trainees)
        print(f"{trainees} trainees and {EXTRA_RECIPIENTS} silent recipients seeded in "
              f"{now() - clock:.1f} s", flush=True)  # fmt: skip
        fleet = Fleet(
            telegram,
            balancer,
            database_url=database.url_for(url),
            redis_url=redis.url_for(REDIS_URL),
            data_dir=data_dir,
            env={
                "REMINDERS_SCAN_EVERY": str(SCAN_EVERY),
                "REMINDERS_SEND_EVERY": "0.5",
                "REMINDERS_QUIET_START": "00:00",
                "REMINDERS_QUIET_END": "00:00",
            },
        )
        async with fleet.running(2) as instances:
            world = Soak(fleet, balancer, instances, database, redis, now())
            world.sample_rss()
            connector = TCPConnector(limit=0)
            async with ClientSession(connector=connector, cookie_jar=DummyCookieJar()) as http:
                traffic = Traffic(chat, http, balancer.url)
                start = world.started
                until = start + seconds
                warm = start + min(60.0, seconds / 10)
                database_at, redis_at = start + 0.4 * seconds, start + 0.7 * seconds

                async def after_warmup() -> None:
                    await asyncio.sleep(max(0.0, warm - now()))
                    world.sample_rss()
                    world.warm = {name: series[-1][1] for name, series in world.rss.items()}

                watcher = asyncio.create_task(world.watch_rss())
                await asyncio.gather(
                    after_warmup(),
                    world.broadcast(database_at - BROADCAST_LEAD),
                    world.outage("PostgreSQL", database, database_at),
                    world.outage("Redis", redis, redis_at),
                    *(traffic.trainee(taker, until) for taker in takers),
                )
                watcher.cancel()
            print(f"{now() - start:6.1f} s  traffic stopped; settling", flush=True)
            settled = await settle(chat)
            world.sample_rss()
            stuck_updates = await models.UpdateInbox.filter(done_at=None).count()
            stuck_outbox = await models.Outbox.filter(status__in=["pending", "sending"]).count()
            failed_outbox = await models.Outbox.filter(status="failed").count()
            reminders = await models.Outbox.filter(broadcast=None, status="sent").count()
            extras = range(FIRST_EXTRA, FIRST_EXTRA + EXTRA_RECIPIENTS)
            counted = await count(chat, traffic, extras, world.started)
            levels = {i.name: log_levels(i) for i in instances}
        return report(
            minutes, world, traffic, counted, settled, stuck_updates + stuck_outbox,
            failed_outbox, reminders, levels, chat,
        )  # fmt: skip


def report(
    minutes: float,
    world: Soak,
    traffic: Traffic,
    counted: Count,
    settled: float,
    stuck: int,
    failed_outbox: int,
    reminders: int,
    levels: dict[str, Counter[str]],
    chat: LocalChat,
) -> int:
    answers = world.balancer.answers
    outside = [a for a in answers if a.status >= 500 and world.outage_of(a) is None]
    inside = [a for a in answers if a.status >= 500 and world.outage_of(a) is not None]
    statuses = Counter(f"{a.kind} {a.status}" for a in answers)
    latencies = sorted(traffic.latencies)
    p50 = latencies[len(latencies) // 2] if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0.0
    print(f"settled in {settled:.1f} s; local chat: {chat.stats}")
    print(f"HTTP through the balancer: {dict(sorted(statuses.items()))}")
    by_outage = Counter(f"{world.outage_of(a)}: {a.kind} {a.status}" for a in inside)
    print(f"5xx in the outage windows: {dict(sorted(by_outage.items()))}")
    print(f"5xx outside them: {Counter(f'{a.kind} {a.status}' for a in outside)}")
    print(f"web view as the trainees saw it: {dict(sorted(traffic.pages.items()))}")
    print(
        f"updates {counted.updates}, answered {counted.answered} (of them "
        f"{counted.apologies} 'temporarily unavailable'), lost {counted.lost}, doubled "
        f"{counted.doubled}, not seen within {REPLY_TIMEOUT:.0f} s while running {traffic.late}; "
        f"answer p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )
    for line in counted.unexpected[:10]:
        print(f"  unexpected answer: {line}")
    for line in counted.missing[:20]:
        print(f"  not answered exactly once: {line}")
    print(
        f"broadcast: {counted.broadcast_ok}/{counted.recipients} recipients exactly once; "
        f"reminders sent {reminders}; outbox failed {failed_outbox}; silent recipients' "
        f"messages beyond their outbox rows {counted.outbox_doubled}; stuck {stuck}"
    )
    for outage in world.outages:
        print(
            f"outage {outage.name}: {outage.restored - outage.cut:.1f} s cut, ready again "
            f"{outage.ready - outage.restored:.1f} s after"
        )
    for name, samples in world.rss.items():
        series = ", ".join(f"{t:.0f}s {mb:.0f}" for t, mb in samples)
        plain = {k: n for k, n in levels[name].items() if not k.startswith("ERROR ")}
        print(f"RSS {name} (MB): {series}; log lines by level: {plain}")
        for message, n in levels[name].most_common():
            if message.startswith("ERROR "):
                print(f"  {n} x {message}")
    ready = [samples[0][1] for samples in world.rss.values()]
    start = list(world.warm.values())
    end = [samples[-1][1] for samples in world.rss.values()]
    growth = max(100 * (e - s) / s for s, e in zip(start, end, strict=True))
    doubled = counted.doubled + counted.outbox_doubled
    print(
        f"BENCH soak minutes={minutes:g} instances=2 trainees={len(traffic.sent)} "
        f"updates={counted.updates} answered={counted.answered} lost={counted.lost} "
        f"doubled={doubled} apologies={counted.apologies} "
        f"broadcast_ok={counted.broadcast_ok}/{counted.recipients} reminders={reminders} "
        f"web_requests={sum(traffic.pages.values())} "
        f"http_5xx_in_outage={len(inside)} http_5xx_outside_outage={len(outside)} "
        f"stuck={stuck} rss_ready_mb=[{', '.join(f'{x:.0f}' for x in ready)}] "
        f"rss_start_mb=[{', '.join(f'{x:.0f}' for x in start)}] "
        f"rss_end_mb=[{', '.join(f'{x:.0f}' for x in end)}] growth_pct={growth:.1f}",
        flush=True,
    )
    failed = counted.lost or doubled or outside or stuck
    failed = failed or counted.broadcast_ok != counted.recipients
    return 1 if failed else 0


async def main(minutes: float, trainees: int) -> int:
    try:
        async with servers("soak", REDIS_URL) as (url, _redis, tmp):
            return await soak(minutes, trainees, url, tmp)
    except Unavailable as reason:
        print(reason)
        return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=MINUTES, help="how long the traffic runs")
    parser.add_argument("--trainees", type=int, default=TRAINEES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(main(args.minutes, args.trainees)))

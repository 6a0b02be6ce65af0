"""A broadcast to 100,000 while trainees chat (issue 20): do their replies wait behind it?

The whole product runs (`jijiao.app.running`, long polling, a throwaway PostgreSQL database)
against the local Bot API stand-in with Telegram's limits on (30/s overall, 1/s per chat with a
burst of 3, 429 + retry_after beyond). A few dozen trainees chat with the bot, each one thing at
a time (/start, then questions), pausing 1-3 s between; a reply's latency runs from the
trainee's message entering the stand-in until the bot's answer is in that chat.

First the chat alone for BENCH_SECONDS (default 60); then a running broadcast to 100,000
recipients is put in the outbox (`INSERT ... SELECT generate_series`, as bench_reminders
seeds), the product's own sender job drains it, and the same chat is measured again for
BENCH_SECONDS while it does. Printed: p50/p95 of both, the ratio of the p95s, the broadcast
messages a second that went out meanwhile (against the 30/s cap) and the 429s.

No Redis: the sender's limiter is then the in-process one, same limits as the Redis one.
Every reply is charged to that limiter (infra/telegram.py's RepliesFirst), so the sender
yields to the chat instead of the two meeting at Telegram. BENCH_SENDER_PER_S sets
`reminders.global_per_second` to see what headroom for replies buys.

BENCH_INSTANCES=2 (or more) runs the same two windows in production shape instead: that many
`python -m jijiao run` processes behind the round-robin balancer, updates by webhook, one
PostgreSQL (a throwaway database) and one Redis (database 12, emptied before and after;
JIJIAO_BENCH_BROADCAST_REDIS_URL to change), so the limiter is the Redis one every instance's
replies and sender share (tests/support/instances.py). The job `send_outbox` runs under a
lease in Redis: the run prints how many broadcast messages each instance sent in the window,
and each instance's log lines by level; BENCH_LOGS=DIR keeps the instances' logs there.

    .venv/bin/python bench/bench_broadcast_chat.py
    BENCH_INSTANCES=2 .venv/bin/python bench/bench_broadcast_chat.py
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg
from tortoise import connections

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_exam_autosave import Unavailable, servers
from bench.bench_soak import log_levels
from infra.db import connection_name, models
from infra.settings import load_settings
from jijiao.app import running
from localchat import FloodLimits, LocalChat
from tests.support.app import free_port
from tests.support.databases import POSTGRES_URL, unreachable
from tests.support.instances import Balancer, Fleet, Instance, Telegram
from tests.support.serving import start_users

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
TRAINEES = int(os.environ.get("BENCH_TRAINEES", "30"))
# The sender's own pace (`reminders.global_per_second`); unset: the product's default, 30.
SENDER_PER_S = os.environ.get("BENCH_SENDER_PER_S")
# 1: the product in this process, long polling, no Redis; more: that many real instances.
INSTANCES = int(os.environ.get("BENCH_INSTANCES", "1"))
REDIS_URL = os.environ.get("JIJIAO_BENCH_BROADCAST_REDIS_URL", "redis://127.0.0.1:6379/12")
LOGS = os.environ.get("BENCH_LOGS")
FIRST_RECIPIENT = 1_000_001
FIRST_TRAINEE = 300_001
TEXTS = ["/start", "你好，我想报名", "证书什么时候到期？", "怎么交费？"]


async def reply_after(chat: LocalChat, user: int, text: str, bot_id: int) -> float:
    """Seconds from the trainee's message until the bot's next message in that chat."""
    started = time.perf_counter()
    sent = chat.send_text(user, text, first_name=f"学员{user}", language_code="zh-hans")
    mine = sent["message_id"]
    room = chat.chat_for_user(user)
    while True:
        if any(
            mid > mine and msg.tg.get("from", {}).get("id") == bot_id
            for mid, msg in list(room.messages.items())[-8:]
        ):
            return time.perf_counter() - started
        await asyncio.sleep(0.005)


async def trainee(
    chat: LocalChat, user: int, bot_id: int, until: float, out: list[float], rng: random.Random
) -> None:
    turn = 0
    while time.perf_counter() < until:
        text = TEXTS[0] if turn == 0 else rng.choice(TEXTS[1:])
        out.append(await reply_after(chat, user, text, bot_id))
        turn += 1
        await asyncio.sleep(rng.uniform(1, 3))


async def chat_window(chat: LocalChat, first: int, seconds: float) -> list[float]:
    """TRAINEES trainees chatting for `seconds`; every reply's latency."""
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    rng = random.Random(first)
    await asyncio.gather(
        *(
            trainee(chat, user, chat.bot_id, until, latencies, random.Random(rng.random()))
            for user in range(first, first + TRAINEES)
        )
    )
    return latencies


def seed_sql(broadcast_id: int) -> str:
    last = FIRST_RECIPIENT + RECIPIENTS - 1
    return f"""INSERT INTO outbox (chat_id, kind, dedup_key, payload, essential, status, attempts,
                                   not_before, broadcast_id, created_at)
               SELECT i, 'broadcast', 'broadcast:{broadcast_id}:' || i, '{{}}', TRUE,
                      'pending', 0, now(), {broadcast_id}, now()
               FROM generate_series({FIRST_RECIPIENT}, {last}) i"""


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


async def sent_by(url: str) -> Counter[str]:
    """Broadcast messages sent so far, by the sender that claimed them (host:pid:tag)."""
    rows = await connections.get(connection_name(url)).execute_query_dict(
        "SELECT claimed_by, count(*) AS n FROM outbox"
        " WHERE kind = 'broadcast' AND status = 'sent' GROUP BY claimed_by"
    )
    return Counter({str(row["claimed_by"]): int(row["n"]) for row in rows})


async def windows(chat: LocalChat, url: str) -> dict[str, float]:
    """The chat alone, then the chat while the product drains a broadcast to RECIPIENTS; the
    product (one or several instances) answers `chat` and uses the database at `url`, which
    this process has open too."""
    start_users(chat, range(FIRST_RECIPIENT, FIRST_RECIPIENT + RECIPIENTS), "zh-hans")
    await asyncio.sleep(0.5)

    rejected0 = chat.stats["rejected_429"]
    alone = await chat_window(chat, FIRST_TRAINEE, SECONDS)
    rejected_alone = chat.stats["rejected_429"] - rejected0

    broadcast = await models.Broadcast.create(
        created_by=1, text="通知：继续教育报名已开始", status="running"
    )
    db = connections.get(connection_name(url))
    started = time.perf_counter()
    await db.execute_script(seed_sql(broadcast.id))
    seed_s = time.perf_counter() - started
    # The window opens once the sender is going (it runs every send_every seconds).
    while not await models.Outbox.filter(status="sent").exists():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    by_sender_before = await sent_by(url)
    sent_before = sum(by_sender_before.values())
    rejected1 = chat.stats["rejected_429"]
    started = time.perf_counter()
    during = await chat_window(chat, FIRST_TRAINEE + 1000, SECONDS)
    elapsed = time.perf_counter() - started
    by_sender = await sent_by(url)
    sent_after = sum(by_sender.values())
    by_sender.subtract(by_sender_before)
    rejected_during = chat.stats["rejected_429"] - rejected1
    return {
        "alone_p50": statistics.median(alone),
        "alone_p95": quantile(alone, 0.95),
        "alone_n": len(alone),
        "alone_max": max(alone),
        "during_p50": statistics.median(during),
        "during_p95": quantile(during, 0.95),
        "during_n": len(during),
        "during_max": max(during),
        "broadcast_per_s": (sent_after - sent_before) / elapsed,
        "rejected_alone": rejected_alone,
        "rejected_during": rejected_during,
        "seed_s": seed_s,
        # Sent in the window by each sender, keyed "sent_by:<claimed_by>".
        **{f"sent_by:{claimer}": n for claimer, n in by_sender.items() if n},
    }


async def run(url: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            app={"data_dir": Path(tmp)},
            web={"host": "127.0.0.1", "port": free_port()},
            database={"url": url},
            **({"reminders": {"global_per_second": float(SENDER_PER_S)}} if SENDER_PER_S else {}),
        )
        async with running(
            settings, flood_limits=FloodLimits(), persist_localchat=False
        ) as runtime:
            chat = runtime.localchat
            assert chat is not None
            return await windows(chat, url)


def report_logs(instances: list[Instance]) -> None:
    for instance in instances:
        levels = ", ".join(f"{k} {v}" for k, v in sorted(log_levels(instance).items()))
        print(f"{instance.name} (pid {instance.process.pid}) log: {levels}")
        if LOGS:
            Path(LOGS).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(instance.log_path, Path(LOGS) / instance.log_path.name)


async def run_fleet(url: str, data_dir: Path) -> dict[str, float]:
    """INSTANCES real instances behind the balancer, Telegram's limits on, Redis shared."""
    env = {
        # Quiet hours off, as the multi-instance tests have it: a broadcast waits out the night.
        "REMINDERS_QUIET_START": "00:00",
        "REMINDERS_QUIET_END": "00:00",
        **({"REMINDERS_GLOBAL_PER_SECOND": SENDER_PER_S} if SENDER_PER_S else {}),
    }
    async with Telegram.serve(limits=FloodLimits()) as telegram, Balancer.serve() as balancer:
        fleet = Fleet(
            telegram, balancer, database_url=url, redis_url=REDIS_URL, data_dir=data_dir, env=env
        )
        async with fleet.running(INSTANCES) as instances:
            r = await windows(telegram.chat, url)
        names = {str(i.process.pid): i.name for i in instances}
        report_logs(instances)
        by_url = {i.url: i.name for i in instances}
        served = ", ".join(f"{by_url.get(u, u)} {n}" for u, n in sorted(balancer.served.items()))
        print(f"balancer served (webhooks): {served}")
    for key in [k for k in r if k.startswith("sent_by:")]:
        pid = key.removeprefix("sent_by:").split(":")[1]
        r[f"sent_by:{names.get(pid, pid)}"] = r.pop(key)
    return r


async def measure() -> dict[str, float] | None:
    if INSTANCES > 1:
        try:
            async with servers("broadcast_chat", REDIS_URL) as (url, _redis, tmp):
                return await run_fleet(url, tmp)
        except Unavailable as unavailable:
            print(unavailable)
            return None
    reason = unreachable(POSTGRES_URL)
    if reason is not None:
        print(f"PostgreSQL unreachable ({reason}): nothing measured")
        return None
    admin = await asyncpg.connect(POSTGRES_URL)
    name = f"jijiao_bench_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return await run(POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    wall = time.perf_counter()
    r = await measure()
    if r is None:
        return
    senders = {k.removeprefix("sent_by:"): v for k, v in r.items() if k.startswith("sent_by:")}
    if INSTANCES > 1:
        print(
            "broadcast messages sent in the window, by instance: "
            + (", ".join(f"{name} {n:.0f}" for name, n in sorted(senders.items())) or "none")
            + f"; run took {time.perf_counter() - wall:.0f} s"
        )
    print(
        f"chat alone: {r['alone_n']:.0f} replies, p50 {r['alone_p50'] * 1000:.0f} ms, "
        f"p95 {r['alone_p95'] * 1000:.0f} ms, max {r['alone_max'] * 1000:.0f} ms, "
        f"{r['rejected_alone']:.0f} answered 429"
    )
    print(
        f"chat during the broadcast: {r['during_n']:.0f} replies, "
        f"p50 {r['during_p50'] * 1000:.0f} ms, p95 {r['during_p95'] * 1000:.0f} ms, "
        f"max {r['during_max'] * 1000:.0f} ms, {r['rejected_during']:.0f} answered 429; "
        f"broadcast {r['broadcast_per_s']:.2f} messages/s (cap 30/s); "
        f"{RECIPIENTS} rows seeded in {r['seed_s']:.1f} s"
    )
    shape = f"instances={INSTANCES} redis=yes " if INSTANCES > 1 else ""
    print(
        f"BENCH broadcast_chat {shape}"
        f"trainees={TRAINEES} recipients={RECIPIENTS} seconds={SECONDS:.0f} "
        f"sender_per_s={SENDER_PER_S or 30} "
        f"p50_ms_alone={r['alone_p50'] * 1000:.0f} p95_ms_alone={r['alone_p95'] * 1000:.0f} "
        f"p50_ms_broadcast={r['during_p50'] * 1000:.0f} "
        f"p95_ms_broadcast={r['during_p95'] * 1000:.0f} "
        f"broadcast_per_s={r['broadcast_per_s']:.2f} cap_per_s=30 "
        f"rejected_429={r['rejected_during']:.0f} "
        f"ratio={r['during_p95'] / r['alone_p95']:.2f}"
    )


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())

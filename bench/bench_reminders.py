"""Reminders at scale: the outbox sender's sustained rate against Telegram's 30 messages a
second, and the scanner's time on PostgreSQL with 100,000 and 1,000,000 trainees.

Send: 10,000 recipients are enqueued and the sender runs against the local Bot API stand-in
with Telegram's limits (30/s overall, 1/s per chat, 429 + retry_after beyond). 10,000 at 30/s
take 5.5 minutes, so the rate is measured over a steady window (BENCH_SEND_SECONDS, default
60 s) and printed as a share of the limit; 429s are counted.

Scan: a throwaway PostgreSQL database per size, filled by `INSERT ... SELECT generate_series`,
with exactly DUE trainees that have something due today (renewal windows opening, study
deadlines in 3 days) among many that do not (expiries months away, deadlines weeks away, old
passes). Both sizes have the same number due: the time should follow that, not the size.
EXPLAIN shows the index each query uses.

Indexes: the model declares `Enrolment.study_deadline` with db_index=True, but migration 0004
adds the column with `AddField`, which does not create the index (neither on PostgreSQL nor on
SQLite): the study query then falls back to the `state` index and reads every studying
enrolment. The models also have no index on enrolment(certificate_id) (the "CE passed?"
lookup) nor on enterprise_contact(enterprise_id). The scan is measured as migrated, then with
those three indexes created, which is what a migration should add.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from tortoise import connections

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from application.reminders import OutboxRefresh, ReminderScanner
from bot.reminder_messages import ReminderTexts
from domain.calendar import add_months
from domain.reminders import (
    QuietHours,
    Schedule,
    broadcast_key,
    expiry_spans,
    study_deadline_span,
)
from domain.timezone import CHINA
from infra.clock import SystemClock
from infra.db import connection_name, models, open_database
from infra.i18n import make_i18n
from infra.outbox import NewMessage, TortoiseBroadcasts, TortoiseOutbox
from infra.sender import BotTransport, Limits, LocalRateLimiter, OutboxSender, SenderConfig
from localchat import FloodLimits, LocalChat, LocalChatConfig
from tests.support.databases import POSTGRES_URL, unreachable
from tests.support.serving import api_base, serving_localchat, start_users

TOKEN = "7000000001:bench"
RECIPIENTS = 10_000
SEND_SECONDS = float(os.environ.get("BENCH_SEND_SECONDS", "60"))
POSTGRES = POSTGRES_URL
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "100000,1000000").split(","))
DUE = 1_000
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
TODAY = NOW.astimezone(CHINA).date()
PROPOSED_INDEXES = (
    "CREATE INDEX bench_enrolment_deadline ON enrolment (study_deadline)",
    "CREATE INDEX bench_enrolment_certificate ON enrolment (certificate_id)",
    "CREATE INDEX bench_contact_enterprise ON enterprise_contact (enterprise_id)",
)


@dataclass
class Clock:
    current: datetime

    def now(self) -> datetime:
        return self.current


# ---- send rate --------------------------------------------------------------------------------


async def send_rate() -> tuple[float, int, int]:
    """(messages a second over the window, 429s, messages sent)."""
    chat = LocalChat(LocalChatConfig(token=TOKEN, limits=FloodLimits()))
    async with serving_localchat(chat) as url:
        base = api_base(url)
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
        context = await open_database(f"sqlite://{tempfile.mkdtemp()}/send.sqlite3")
        users = range(1_000_001, 1_000_001 + RECIPIENTS)
        start_users(chat, users, "zh-hans")
        broadcast = await models.Broadcast.create(created_by=1, text="通知", status="running")
        outbox = TortoiseOutbox()
        clock = SystemClock()  # the local chat beside it keeps the host's time, as Telegram does
        now = clock.now()
        await outbox.enqueue(
            [
                NewMessage(
                    user,
                    "broadcast",
                    broadcast_key(broadcast.id, user),
                    {},
                    True,
                    now,
                    broadcast.id,
                )
                for user in users
            ]
        )

        sender = OutboxSender(
            outbox,
            BotTransport(bot),
            LocalRateLimiter(Limits()),  # Telegram's: 30/s, 1/s per chat
            clock,
            render=ReminderTexts(make_i18n()),
            refresh=OutboxRefresh(TortoiseBroadcasts(outbox)),
            quiet=QuietHours(datetime.min.time(), datetime.min.time()),
            config=SenderConfig(batch=450),
        )
        task = asyncio.create_task(sender())
        try:
            # The window starts at the first message: what is measured is the sustained pace.
            while chat.stats["sent"] == 0:  # noqa: ASYNC110 - the stand-in only counts
                await asyncio.sleep(0.001)
            started, first = time.perf_counter(), chat.stats["sent"]
            await asyncio.sleep(SEND_SECONDS)
            rate = (chat.stats["sent"] - first) / (time.perf_counter() - started)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await bot.session.close()
            await context.close_connections()
    return rate, chat.stats["rejected_429"], chat.stats["sent"]


# ---- scan time ----------------------------------------------------------------------------------


def fill_sql(size: int, id_offset: int = 0) -> list[str]:
    """`size` trainees, each with one certificate; DUE of them have a reminder due today: half
    a renewal window opening (expiry in 3 months), half a study deadline in 3 days. The rest
    expire 200+ days from now, study with deadlines 10-29 days away, or passed long ago.
    Trainee n (1..size) gets the ids, chat ids and numbers of id_offset + n, and the enterprises
    theirs likewise, so the rows can join a database that holds others below id_offset."""
    o = id_offset
    enterprises = max(1, size // 100)
    window_opens = add_months(TODAY, 3)
    far = TODAY + timedelta(days=200)
    half = DUE // 2
    deadline_soon = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=CHINA) + timedelta(3)
    return [
        # The scanner reads no ID number or phone: unique stand-ins for the digests suffice.
        f"""INSERT INTO person (id, id_number_hash, id_number_sealed, name, phone_hash,
                                phone_sealed, created_at, updated_at)
            SELECT {o} + i, lpad(({o} + i)::text, 64, '0'), '', 'P' || ({o} + i), '', '', now(),
                   now()
            FROM generate_series(1, {size}) i""",
        f"""INSERT INTO enterprise (id, credit_code, name, contact_phone_sealed, created_at,
                                    updated_at)
            SELECT {o} + e, 'E' || lpad(({o} + e)::text, 17, '0'), 'Company ' || ({o} + e), '',
                   now(), now()
            FROM generate_series(1, {enterprises}) e""",
        f"""INSERT INTO certificate (id, number, cert_type, person_id, enterprise_id, expires_on,
                                     status, created_at, updated_at)
            SELECT {o} + i, 'C' || ({o} + i), 'safety_b', {o} + i, {o} + 1 + i % {enterprises},
                   CASE WHEN i <= {half} THEN DATE '{window_opens}'
                        ELSE DATE '{far}' + (i % 900) END,
                   'valid', now(), now()
            FROM generate_series(1, {size}) i""",
        f"""INSERT INTO enrolment (certificate_id, active_key, channel, enrolled_by, state,
                                   paid_at, study_deadline, created_at, updated_at)
            SELECT {o} + i, 'C' || ({o} + i), 'individual', {o} + i, 'studying',
                   TIMESTAMPTZ '{deadline_soon.isoformat()}' - INTERVAL '30 days',
                   TIMESTAMPTZ '{deadline_soon.isoformat()}', now(), now()
            FROM generate_series({half + 1}, {DUE}) i""",
        f"""INSERT INTO enrolment (certificate_id, active_key, channel, enrolled_by, state,
                                   paid_at, study_deadline, created_at, updated_at)
            SELECT {o} + i, 'C' || ({o} + i), 'individual', {o} + i, 'studying',
                   TIMESTAMPTZ '{deadline_soon.isoformat()}' - INTERVAL '20 days',
                   TIMESTAMPTZ '{deadline_soon.isoformat()}' + (7 + i % 20) * INTERVAL '1 day',
                   now(), now()
            FROM generate_series({DUE + 1}, {size}) i WHERE i % 10 = 0""",
        f"""INSERT INTO enrolment (certificate_id, active_key, channel, enrolled_by, state,
                                   paid_at, study_deadline, created_at, updated_at)
            SELECT {o} + i, NULL, 'individual', {o} + i, 'passed',
                   TIMESTAMPTZ '2024-06-01T00:00:00+08:00',
                   TIMESTAMPTZ '2024-07-01T00:00:00+08:00', now(), now()
            FROM generate_series(1, {size}) i WHERE i % 5 = 1""",
        f"""INSERT INTO binding (chat_user_id, person_id, bound_at)
            SELECT 1000000000 + {o} + i, {o} + i, now() FROM generate_series(1, {size}) i
            WHERE i % 2 = 0""",
        f"""INSERT INTO enterprise_contact (chat_user_id, enterprise_id, bound_at)
            SELECT 2000000000 + {o} + e, {o} + e, now() FROM generate_series(1, {enterprises}) e""",
        "ANALYZE",
    ]


def explain_queries() -> dict[str, str]:
    """The scanner's queries, as it sends them (Tortoise's SQL for the same filters)."""
    schedule = Schedule()
    first, last = study_deadline_span(TODAY, schedule)
    start = datetime(first.year, first.month, first.day, tzinfo=CHINA)
    end = datetime(last.year, last.month, last.day, tzinfo=CHINA) + timedelta(days=1)
    low, high = expiry_spans(TODAY, schedule)[-1]
    return {
        "study deadlines": models.Enrolment.filter(
            study_deadline__gte=start, study_deadline__lt=end, state__in=["studying", "exam"]
        )
        .values("id", "certificate__number", "certificate__person_id")
        .sql(params_inline=True),
        "expiry span": models.Certificate.filter(
            expires_on__gte=low, expires_on__lte=high, status="valid"
        )
        .values("id", "person__name")
        .sql(params_inline=True),
        "CE passed?": models.Enrolment.filter(
            certificate_id__in=list(range(1, DUE // 2 + 1)), state="passed"
        )
        .values("certificate_id", "paid_at")
        .sql(params_inline=True),
        "bindings": models.Binding.filter(person_id__in=list(range(1, DUE + 1)))
        .values("person_id", "chat_user_id")
        .sql(params_inline=True),
        "contacts": models.EnterpriseContact.filter(enterprise_id__in=list(range(1, 500)))
        .values("enterprise_id", "chat_user_id")
        .sql(params_inline=True),
    }


async def explain(label: str) -> list[str]:
    db = connections.get(connection_name(POSTGRES))
    lines = []
    for name, sql in explain_queries().items():
        _, rows = await db.execute_query(f"EXPLAIN {sql}")
        plan = [row["QUERY PLAN"] for row in rows]
        scans = [p.strip() for p in plan if "Scan" in p]
        lines.append(f"  [{label}] {name}: " + " | ".join(scans))
    return lines


async def timed_scan(clock: Clock) -> tuple[float, float, int]:
    """(first scan ms, best rescan ms, rows enqueued by the first)."""
    scanner = ReminderScanner(TortoiseOutbox(), clock, Schedule(), QuietHours())
    started = time.perf_counter()
    report = await scanner()
    first = (time.perf_counter() - started) * 1000
    again = []
    for _ in range(3):
        started = time.perf_counter()
        assert (await scanner()).enqueued == 0
        again.append((time.perf_counter() - started) * 1000)
    return first, min(again), report.enqueued


async def scan_size(admin: asyncpg.Connection, size: int) -> dict[str, object]:
    name = f"jijiao_bench_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    context = await open_database(url)
    try:
        db = connections.get(connection_name(url))
        started = time.perf_counter()
        for sql in fill_sql(size):
            await db.execute_script(sql)
        fill_s = time.perf_counter() - started
        clock = Clock(NOW)
        plans = await explain("as migrated")
        first, rescan, enqueued = await timed_scan(clock)
        await models.Outbox.all().delete()
        for sql in PROPOSED_INDEXES:
            await db.execute_script(sql)
        await db.execute_script("ANALYZE")
        plans += await explain("with the missing indexes")
        first_ix, rescan_ix, _ = await timed_scan(clock)
        return {
            "size": size,
            "fill_s": fill_s,
            "first": first,
            "rescan": rescan,
            "first_ix": first_ix,
            "rescan_ix": rescan_ix,
            "enqueued": enqueued,
            "plans": plans,
        }
    finally:
        await context.close_connections()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    rate, rejected, sent = await send_rate() if SEND_SECONDS > 0 else (0.0, 0, 0)
    ratio = rate / Limits().global_per_second
    print(
        f"send: {rate:.2f} messages/s over {SEND_SECONDS:.0f} s against a 30/s limit "
        f"({ratio:.3f} of it), {sent} sent of {RECIPIENTS} enqueued, {rejected} answered 429"
    )
    results = []
    if unreachable(POSTGRES) is None:
        admin = await asyncpg.connect(POSTGRES)
        try:
            for size in SIZES:
                result = await scan_size(admin, size)
                results.append(result)
                print(
                    f"scan {size:>9,} trainees, {DUE} due (filled in {result['fill_s']:.0f} s): "
                    f"first scan {result['first']:.0f} ms ({result['enqueued']} enqueued), "
                    f"rescan {result['rescan']:.0f} ms; with the missing indexes "
                    f"{result['first_ix']:.0f} / {result['rescan_ix']:.0f} ms"
                )
                for line in result["plans"]:  # type: ignore[attr-defined]
                    print(line)
        finally:
            await admin.close()
    else:
        print("scan: PostgreSQL unreachable, skipped")
    by_size = {r["size"]: r for r in results}
    big, small = by_size.get(1_000_000), by_size.get(100_000)
    scan = ""
    if big and small:
        scan = (
            f"scan_ms_1m={big['rescan']:.0f} scan_ms_100k={small['rescan']:.0f} "
            f"scan_ms_1m_indexed={big['rescan_ix']:.0f} "
            f"scan_ms_100k_indexed={small['rescan_ix']:.0f} "
            f"first_scan_ms_1m_indexed={big['first_ix']:.0f} due={DUE} "
            f"growth_1m_vs_100k_indexed={big['rescan_ix'] / small['rescan_ix']:.2f} "
        )
    print(
        f"BENCH reminders send_ratio={ratio:.3f} send_per_s={rate:.2f} "
        f"rejected_429={rejected} {scan}ratio={ratio:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())

"""One outbox sender as its own process, for the crash test: it sends until no row is pending
or in flight, then exits. The test SIGKILLs one mid-broadcast and starts another.

    python -m tests.reminders.sender_process DATABASE_URL API_BASE RATE LEASE_SECONDS
"""

from __future__ import annotations

import asyncio
import sys
from datetime import time, timedelta

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from application.reminders import OutboxRefresh
from bot.reminder_messages import ReminderTexts
from domain.reminders import QuietHours
from infra.clock import SystemClock
from infra.db import models, open_database
from infra.i18n import make_i18n
from infra.outbox import TortoiseBroadcasts, TortoiseOutbox
from infra.sender import BotTransport, Limits, LocalRateLimiter, OutboxSender, SenderConfig
from tests.reminders.conftest import TOKEN


async def main(database_url: str, api_base: str, rate: float, lease: float) -> None:
    database = await open_database(database_url)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    outbox = TortoiseOutbox()
    sender = OutboxSender(
        outbox,
        BotTransport(bot),
        LocalRateLimiter(Limits(global_per_second=rate)),
        SystemClock(),
        render=ReminderTexts(make_i18n()),
        refresh=OutboxRefresh(TortoiseBroadcasts(outbox)),
        quiet=QuietHours(time(0), time(0)),  # whatever the hour the test runs at
        config=SenderConfig(lease=timedelta(seconds=lease), batch=50),
    )
    print("ready", flush=True)
    try:
        while await models.Outbox.filter(status__in=["pending", "sending"]).exists():
            await sender()
            await asyncio.sleep(0.1)
    finally:
        await bot.session.close()
        await database.close_connections()
    print("done", dict(sender.stats), flush=True)


if __name__ == "__main__":
    url, base, rate, lease = sys.argv[1:5]
    asyncio.run(main(url, base, float(rate), float(lease)))

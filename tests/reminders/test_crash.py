"""A sender process really killed (SIGKILL) in the middle of a broadcast: another one takes
over its rows after the lease, and every recipient ends up with exactly one message.

The messages that may arrive twice are documented in infra/sender.py: Telegram accepted them
and the process died before their rows were marked. Only rows the dead sender held can be in
that window, so duplicates go only to those recipients. On a quiet machine there are none; on
a loaded one the marks (SQLite commits) fall behind the sends and some are (seen once, with
the whole suite running: 14 of the 39 rows in flight).
tests/faults/test_process_killed.py measures the window exactly, against PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from infra.db import models
from localchat import FloodLimits
from tests.reminders import world
from tests.reminders.conftest import StandIn, StandInFactory
from tests.support.instances import HOST_CLOCK

ROOT = Path(__file__).resolve().parents[2]
RATE = 100  # messages a second, in the stand-in and in the sender processes
LEASE = 2  # seconds; production uses 60
USERS = range(400_001, 400_301)


async def spawn(database: str, telegram: StandIn) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.reminders.sender_process",
        database,
        telegram.base,
        str(RATE),
        str(LEASE),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 30)).strip() == b"ready"
    return process


async def test_a_killed_sender_is_replaced_and_every_recipient_gets_one_message(
    database: str, standin: StandInFactory
):
    telegram = await standin(FloodLimits(global_per_second=RATE))
    telegram.start_users(USERS)
    # The sender processes run on the host's clock.
    await world.broadcast_to(USERS, HOST_CLOCK.now())

    first = await spawn(database, telegram)
    async with asyncio.timeout(30):
        # Mid-batch (the process claims 50 at a time), so rows are in flight when it dies.
        while telegram.chat.stats["sent"] < 125:  # noqa: ASYNC110 - the stand-in only counts
            await asyncio.sleep(0.01)
    os.kill(first.pid, signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    sent_before_kill = telegram.chat.stats["sent"]
    held = set(await models.Outbox.filter(status="sending").values_list("chat_id", flat=True))
    in_flight = len(held)

    second = await spawn(database, telegram)
    assert await asyncio.wait_for(second.wait(), 60) == 0

    received = [telegram.received(user) for user in USERS]
    story = f"sent before the kill: {sent_before_kill}, in flight: {in_flight}"
    assert sent_before_kill < len(USERS) and in_flight > 0, story  # it died mid-broadcast
    assert min(received) == 1, story  # nobody missed out
    twice = {user for user, count in zip(USERS, received, strict=True) if count > 1}
    assert twice <= held and max(received) <= 2, story  # the documented window, nothing else
    assert await models.Outbox.filter(status="sent").count() == len(USERS), story
    assert telegram.chat.stats["rejected_429"] == 0, story

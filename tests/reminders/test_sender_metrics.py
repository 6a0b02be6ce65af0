"""The sender's outcomes on /metrics: what reached Telegram, who was unreachable, and the queue
emptying, with no chat id among the labels."""

from __future__ import annotations

from infra.db import models
from infra.metrics import Metrics, outbox_pending
from infra.sender import BotTransport
from localchat import FloodLimits
from tests.reminders import world
from tests.reminders.conftest import StandInFactory
from tests.support.clock import FixedClock
from tests.support.prometheus import label_values, sample

REACHABLE, BLOCKED = 300_101, 300_102


async def test_sends_are_counted_by_outcome_and_the_queue_drains(
    database, clock: FixedClock, i18n, standin: StandInFactory
):
    telegram = await standin(FloodLimits())
    telegram.start_users([REACHABLE, BLOCKED])
    await models.ChatUser.create(id=BLOCKED, first_name="blocked")
    telegram.chat.block(BLOCKED)
    await world.broadcast_to([REACHABLE, BLOCKED], clock.now())
    send = world.sender(i18n, clock, BotTransport(telegram.bot))
    metrics = Metrics(pending=outbox_pending)
    metrics.watch_sender(send.stats)

    before = await metrics.exposition()
    assert sample(before, "jijiao_outbox_pending") == 2
    assert sample(before, "jijiao_sends_total", outcome="sent") is None

    assert await send() == 1
    after = await metrics.exposition()

    assert sample(after, "jijiao_sends_total", outcome="sent") == 1
    assert sample(after, "jijiao_sends_total", outcome="unreachable") == 1
    assert sample(after, "jijiao_outbox_pending") == 0
    assert telegram.received(REACHABLE) == 1
    assert label_values(after, "outcome") == {"sent", "unreachable"}
    assert str(REACHABLE) not in after.decode() and str(BLOCKED) not in after.decode()

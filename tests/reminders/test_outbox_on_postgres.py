"""The outbox's precompiled statements on PostgreSQL (an order's notices and the reminders are
queued by them; the payment's confirmation by the payment's own statement, see
tests/payments/test_payment_round_trips.py): once per key however often and however concurrently
it is queued, the count of rows written, the payload as given, and the sent messages found by
a key prefix taken literally."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from infra.db import models, open_database
from infra.outbox import NewMessage, TortoiseOutbox

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[str]:
    context = await open_database(postgres_url)
    yield postgres_url
    await context.close_connections()


def message(key: str, chat_id: int = 7) -> NewMessage:
    return NewMessage(
        chat_id=chat_id,
        kind="order_paid",
        dedup_key=key,
        payload={"text_key": "order_paid", "params": {"order": key, "名": "张三", "n": [1, 2]}},
        essential=True,
        not_before=NOW,
    )


@pytest.mark.postgres
async def test_a_key_queued_many_times_at_once_is_one_row_counted_once(postgres):
    outbox = TortoiseOutbox()
    counts = await asyncio.gather(*(outbox.enqueue([message("k|1")]) for _ in range(8)))
    assert sorted(counts) == [0] * 7 + [1]
    assert await outbox.enqueue([message("k|1"), message("k|2"), message("k|2")]) == 1
    rows = await models.Outbox.all().order_by("id")
    assert [row.dedup_key for row in rows] == ["k|1", "k|2"]
    assert rows[0].payload == message("k|1").payload
    assert (rows[0].status, rows[0].attempts, rows[0].not_before) == ("pending", 0, NOW)


@pytest.mark.postgres
async def test_sent_messages_are_found_by_a_prefix_taken_literally(postgres):
    outbox = TortoiseOutbox()
    await outbox.record_sent(7, "order_qr", "order_qr|JJ_1|a", 101, NOW)
    await outbox.record_sent(7, "order_qr", "order_qr|JJ_1|b", 100, NOW)
    await outbox.record_sent(7, "order_qr", "order_qr|JJX1|a", 102, NOW)  # '_' is no wildcard
    await outbox.record_sent(8, "order_qr", "order_qr|JJ_1|c", 103, NOW)  # another chat
    await outbox.enqueue([message("order_qr|JJ_1|d")])  # not sent
    assert await outbox.sent_message_ids(7, "order_qr|JJ_1|") == [100, 101]
    assert await outbox.sent_message_ids(7, "order_qr|JJ%") == []

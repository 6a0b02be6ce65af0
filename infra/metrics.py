"""Prometheus metrics of one running app, served at /metrics by the web view.

Each app has its own registry, not prometheus_client's process-wide default, so two apps (or
two tests) in one process keep their counts apart. Labels are bounded sets (update types,
outcomes, route templates, status codes): never a user id, a chat id or a raw path.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from infra.db import models
from infra.outbox import Status

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# A scrape waits this long at most for the outbox count; a slow database leaves the last value.
REFRESH_TIMEOUT = 2.0


async def outbox_pending() -> int:
    return await models.Outbox.filter(status=Status.PENDING.value).count()


class _SenderOutcomes(Collector):
    """`jijiao_sends_total{outcome}` from the senders' own tallies (`OutboxSender.stats`),
    read at scrape time: the sender keeps counting as it did, with nothing new in its path."""

    def __init__(self) -> None:
        self.tallies: list[Mapping[str, int]] = []

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "jijiao_sends",
            "Outbox messages by outcome: sent, retried, retry_after (a 429 waited out), "
            "failed, unreachable, dropped, ...",
            labels=["outcome"],
        )
        totals: collections.Counter[str] = collections.Counter()
        for tally in self.tallies:
            totals.update(tally)
        for outcome, count in sorted(totals.items()):
            family.add_metric([outcome], count)
        yield family

    def describe(self) -> Iterable[Metric]:
        yield CounterMetricFamily("jijiao_sends", "", labels=["outcome"])


class Metrics:
    def __init__(self, pending: Callable[[], Awaitable[int]] | None = None) -> None:
        """`pending` counts the outbox queue at each scrape (the gauge stays 0 without it)."""
        self.registry = CollectorRegistry()
        self._pending = pending
        self._sends = _SenderOutcomes()
        self.registry.register(self._sends)
        self.updates = Counter(
            "jijiao_updates",
            "Telegram updates by event type and outcome (handled, unhandled, failed)",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.update_seconds = Histogram(
            "jijiao_update_seconds",
            "Time to handle one Telegram update, middlewares included",
            ["type"],
            registry=self.registry,
        )
        self.face_check_seconds = Histogram(
            "jijiao_face_check_seconds",
            "Face engine jobs (analysis, liveness), waiting for a free worker included",
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "jijiao_outbox_pending",
            "Outbox messages waiting to be sent (the shared queue: every instance reports it)",
            registry=self.registry,
        )
        self.http_requests = Counter(
            "jijiao_http_requests",
            "Web view requests by route template and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "jijiao_http_request_seconds",
            "Time to answer a web view request, by route template",
            ["route"],
            registry=self.registry,
        )

    def watch_sender(self, stats: Mapping[str, int]) -> None:
        self._sends.tallies.append(stats)

    def observe_update(self, kind: str, outcome: str, seconds: float) -> None:
        self.updates.labels(type=kind, outcome=outcome).inc()
        self.update_seconds.labels(type=kind).observe(seconds)

    def observe_face_check(self, seconds: float) -> None:
        self.face_check_seconds.observe(seconds)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(route=route, status=str(status)).inc()
        self.http_seconds.labels(route=route).observe(seconds)

    async def refresh(self) -> None:
        """The values read from elsewhere (collectors are synchronous, the database is not)."""
        if self._pending is None:
            return
        try:
            async with asyncio.timeout(REFRESH_TIMEOUT):
                self.outbox_pending.set(await self._pending())
        except Exception:
            log.warning("metrics: the outbox queue could not be counted", exc_info=True)

    async def exposition(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry)

"""Telegram's limits: the sizes of texts, captions, files and request bodies, and the broadcast
limits, as token buckets, so a bot that floods gets 429s locally too."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

BOT_API_BODY_LIMIT = 60 * 1024 * 1024
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class FloodLimits:
    enabled: bool = True
    global_per_second: float = 30
    private_per_second: float = 1
    private_burst: int = 3
    group_per_minute: float = 20


@dataclass
class _Bucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self) -> float:
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class FloodGate:
    limits: FloodLimits
    clock: Callable[[], float]
    _global: _Bucket | None = None
    _chats: dict[int, _Bucket] = field(default_factory=dict)

    def acquire(self, chat_id: int, private: bool) -> int | None:
        """Take one send from the buckets, or return retry_after seconds and take nothing."""
        if not self.limits.enabled:
            return None
        now = self.clock()
        buckets = [self._global_bucket(now), self._chat_bucket(chat_id, private, now)]
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.wait_time() for bucket in buckets)
        if wait > 0:
            # Telegram answers whole seconds and never 0.
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1
        return None

    def _global_bucket(self, now: float) -> _Bucket:
        if self._global is None:
            rate = self.limits.global_per_second
            self._global = _Bucket(capacity=rate, rate=rate, tokens=rate, stamp=now)
        return self._global

    def _chat_bucket(self, chat_id: int, private: bool, now: float) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if private:
                capacity = float(max(1, self.limits.private_burst))
                rate = self.limits.private_per_second
            else:
                capacity = self.limits.group_per_minute
                rate = self.limits.group_per_minute / 60
            bucket = _Bucket(capacity=capacity, rate=rate, tokens=capacity, stamp=now)
            self._chats[chat_id] = bucket
        return bucket

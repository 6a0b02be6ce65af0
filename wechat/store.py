"""What the channel must remember briefly across requests (and instances): the callbacks and
messages already seen (replays, WeChat's retries) and the OAuth states not yet used. Redis when
the app has one, else this process's memory."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis

from domain.clock import Clock

PREFIX = "wechat:"


class Memo(Protocol):
    async def first(self, key: str, ttl: timedelta) -> bool:
        """True the first time `key` is seen within `ttl`; False after."""
        ...

    async def forget(self, key: str) -> None: ...

    async def put(self, key: str, value: str, ttl: timedelta) -> None: ...

    async def take(self, key: str) -> str | None:
        """The value, once: a second take finds nothing."""
        ...


class MemoryMemo:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[str, tuple[datetime, str]] = {}

    def _prune(self, now: datetime) -> None:
        for key in [key for key, (until, _) in self._items.items() if until <= now]:
            del self._items[key]

    async def first(self, key: str, ttl: timedelta) -> bool:
        now = self._clock.now()
        self._prune(now)
        if key in self._items:
            return False
        self._items[key] = (now + ttl, "1")
        return True

    async def forget(self, key: str) -> None:
        self._items.pop(key, None)

    async def put(self, key: str, value: str, ttl: timedelta) -> None:
        self._items[key] = (self._clock.now() + ttl, value)

    async def take(self, key: str) -> str | None:
        self._prune(self._clock.now())
        item = self._items.pop(key, None)
        return item[1] if item else None


class RedisMemo:
    """Shared by every instance: a retry WeChat sends to another instance is still a retry.
    Expiry is Redis's own (the entries are short-lived; the Clock decides freshness before)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def first(self, key: str, ttl: timedelta) -> bool:
        return bool(await self._redis.set(PREFIX + key, "1", nx=True, px=_ms(ttl)))

    async def forget(self, key: str) -> None:
        await self._redis.delete(PREFIX + key)

    async def put(self, key: str, value: str, ttl: timedelta) -> None:
        await self._redis.set(PREFIX + key, value, px=_ms(ttl))

    async def take(self, key: str) -> str | None:
        value = await self._redis.getdel(PREFIX + key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)


def _ms(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() * 1000))

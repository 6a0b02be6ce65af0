"""Writes that arrive while one is under way go together as the next one (a group commit).

On every update's path the inbox writes twice: the update stored before Telegram hears it
arrived, and its done mark once handled. Each was a statement of its own, one round trip and
most of a query's CPU apiece (issue 20). Grouped, a caller alone is written at once, as before;
under load, those that arrived during a write share the next statement. Each caller still waits
for its own write: nothing is acknowledged before it is in the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Statements differ by how many rows they carry, and the database's client keeps each
# prepared (asyncpg: 100 per connection): a bounded group keeps them few.
MOST = 16


class GroupCommit(Generic[T, R]):
    """`write(items)` answers one result per item, in order; it runs once at a time, with up
    to `most` items that waited. A write that fails fails each of its callers."""

    def __init__(self, write: Callable[[list[T]], Awaitable[Sequence[R]]], most: int = MOST):
        self._write = write
        self._most = most
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[: self._most]
                del self._waiting[: self._most]
                try:
                    results = await self._write([item for item, _ in group])
                except asyncio.CancelledError:
                    for _, future in group:
                        future.cancel()
                    raise
                except Exception as exc:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(group, results, strict=True):
                    if not future.done():  # its caller may have gone (cancelled)
                        future.set_result(result)
        finally:
            self._writer = None
            for _, future in self._waiting:  # cancelled with callers still waiting
                if not future.done():
                    future.cancel()
            self._waiting.clear()

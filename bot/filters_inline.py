"""Synchronous filters awaited in the event loop instead of a worker thread.

aiogram calls a filter that is not a coroutine function through `asyncio.to_thread`
(`CallableObject.call` in aiogram/dispatcher/event/handler.py): every magic filter such as
`F.chat.type == "private"` costs a hand-off to the thread pool and a wake-up of the loop, about
20 per update here. Ours are attribute comparisons that take microseconds and never block, so
they run in place. (`Filter` subclasses, CallbackData's and commands, are awaited already.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router


def _in_place(check: Callable[..., Any]) -> Callable[..., Any]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return run


def await_filters_in_place(router: Router) -> None:
    """Every synchronous filter of `router` and the routers under it, its routers' own
    (`router.message.filter(...)`) included. Call it once all routers are included."""
    for each in router.chain_tail:
        for observer in each.observers.values():
            # The router-level filters live on the observer's own handler object.
            for handler in (observer._handler, *observer.handlers):
                for event_filter in handler.filters or ():
                    if not event_filter.awaitable:
                        event_filter.callback = _in_place(event_filter.callback)
                        event_filter.awaitable = True

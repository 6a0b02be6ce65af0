"""What a client posts, read whatever it sends: a body that is not what was asked for (bad JSON,
an unknown charset, nesting too deep) is None for the handler to refuse, never a 500."""

from __future__ import annotations

from typing import Any

from aiohttp import web

UNREADABLE = (ValueError, LookupError, RecursionError)


async def json_or_none(request: web.Request) -> Any:
    try:
        return await request.json()
    except UNREADABLE:
        return None

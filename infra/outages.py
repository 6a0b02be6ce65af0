"""Which failures mean "a service we depend on is down" (PostgreSQL, Redis, the network to
them) rather than a bug: the bot and the web view answer those with "temporarily unavailable,
try again in a minute" instead of "something went wrong", and the jobs log one line and wait
for their next turn. The drivers reconnect by themselves once the service is back (asyncpg's
pool replaces a closed connection when it is next acquired; redis-py opens a new one for the
next command), so nothing here retries.
"""

from __future__ import annotations

import asyncpg
from redis import exceptions as redis_errors
from tortoise.exceptions import DBConnectionError

OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe; tortoise's DBConnectionError too
    TimeoutError,  # a connect or a read that did not finish: socket and asyncio timeouts
    DBConnectionError,
    asyncpg.PostgresConnectionError,  # class 08: the connection does not exist, failed...
    asyncpg.CannotConnectNowError,  # 57P03: the server is starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: a restart ended our session
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.QueryCanceledError,  # 57014: past the server's statement_timeout (DATABASE_TIMEOUT)
    redis_errors.ConnectionError,  # BusyLoadingError (Redis loading its data) included
    redis_errors.TimeoutError,
)


def is_outage(error: BaseException) -> bool:
    """The error, or one it was raised from, says a dependency is unreachable."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OUTAGES):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(error: BaseException) -> str:
    """For a one-line log: the type and the message, which never carries personal data here
    (hosts and ports at most)."""
    return f"{type(error).__name__}: {error}"[:300]

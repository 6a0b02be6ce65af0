"""Tortoise's asyncpg client with a deadline on every wait for PostgreSQL.

A server that hangs without closing anything (a network black hole, a frozen host) would
otherwise keep a request waiting until the kernel gives up on the connection (minutes to hours):
asyncpg's `command_timeout` bounds each query (and its cancellation), `timeout` each new
connection, the server's `statement_timeout` a query the server itself is slow on, and this
pool each wait for a free connection, which Tortoise asks for without a timeout. The
`TimeoutError` they raise is an outage (infra.outages): "temporarily unavailable".
"""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionalDBClient, TransactionContextPooled
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connections

ENGINE = __name__

# asyncpg.create_pool's own defaults, which its Pool class takes without defaults.
_MAX_QUERIES = 50_000
_MAX_INACTIVE_CONNECTION_LIFETIME = 300.0


def connection_with_deadline(database_url: str, timeout: float | None) -> dict[str, Any]:
    """The Tortoise connection for `database_url` whose every wait ends after `timeout` s
    (None: no deadline, asyncpg's defaults)."""
    connection = expand_db_url(database_url)
    credentials = connection["credentials"]
    if timeout is not None:
        credentials.update(timeout=timeout, command_timeout=timeout, acquire_timeout=timeout)
        credentials["server_settings"] = {
            **credentials.get("server_settings", {}),
            "statement_timeout": str(max(1, round(timeout * 1000))),  # milliseconds
        }
    return {"engine": ENGINE, "credentials": credentials}


async def _keep_session(connection: asyncpg.Connection) -> None:
    """asyncpg's default reset on release (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`) is a round trip for every query Tortoise runs outside a transaction, and there
    is nothing for it to undo: the app keeps no session state on pooled connections (its
    advisory locks are transaction-scoped, the migrations' lock has a connection of its own).
    An open transaction is still rolled back by the pool before this is called."""


class NoFreeConnection(TimeoutError):
    """No connection from the pool within the deadline: all were busy (or a new one could not
    be opened in time). Still an outage to the person (a `TimeoutError`), but the log says
    which wait ran out, where asyncio's own `TimeoutError` says nothing."""


# asyncpg ships no types (no stubs, no py.typed), so its Pool is Any to mypy.
class _Pool(asyncpg.Pool):  # type: ignore[misc]
    __slots__ = ("acquire_timeout",)

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        # The same timeout bounds giving the connection back (asyncpg keeps it for release).
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)

    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy:
        try:
            return await super()._acquire(timeout)
        except TimeoutError as exc:
            if timeout is None or isinstance(exc, NoFreeConnection):
                raise
            raise NoFreeConnection(
                f"no connection from the pool within {timeout:g} s "
                f"({self.get_size()} open, {self.get_idle_size()} idle)"
            ) from None

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        """asyncpg's release, without the task that its `asyncio.shield` makes for each one:
        Tortoise gives a connection back after every query outside a transaction, and that
        task was a quarter of the client's CPU per query (docs/operations.md, "Fifth round").
        With `_keep_session` a release has nothing to wait for unless an open transaction must
        be rolled back or a cancelled query waited out; if the caller is cancelled right then,
        asyncpg terminates the connection (the pool opens another) rather than leaking it."""
        if type(connection) is not PoolConnectionProxy or connection._holder._pool is not self:
            await super().release(connection, timeout=timeout)  # asyncpg's own error
            return
        if connection._con is None:  # already given back
            return
        self._check_init()
        connection._con._on_release()
        holder = connection._holder
        await holder.release(holder._timeout if timeout is None else timeout)


class PostgresClient(AsyncpgDBClient):
    def __init__(self, *args: Any, acquire_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        pool = _Pool(
            None,
            max_queries=_MAX_QUERIES,
            max_inactive_connection_lifetime=_MAX_INACTIVE_CONNECTION_LIFETIME,
            record_class=asyncpg.Record,
            reset=_keep_session,
            **kwargs,
        )
        pool.acquire_timeout = self.acquire_timeout
        return await pool

    def _in_transaction(self) -> TransactionContextPooled:
        return _Transaction(TransactionWrapper(self), self._pool_init_lock)


class _Transaction(TransactionContextPooled):
    """Tortoise's, except when BEGIN fails (on a hung server: it times out). Tortoise has by
    then taken a connection and made the transaction the task's connection, and leaves both:
    the connection never went back to the pool, and every later query of that task (a job's
    loop lives for ever) went to a dead transaction ("connection has been released back to
    the pool"), an error that is no outage, long after the database was back."""

    __slots__ = ()

    async def __aenter__(self) -> TransactionalDBClient:
        try:
            return await super().__aenter__()
        except BaseException:
            with contextlib.suppress(AttributeError):  # unset: no connection was taken
                get_connections().reset(self.token)
            taken, pool = self.client._connection, self.client._parent._pool
            if taken is not None and pool is not None:
                with contextlib.suppress(Exception):  # it failed already: the BEGIN's error counts
                    await pool.release(taken)
            raise


client_class = PostgresClient

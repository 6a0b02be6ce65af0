"""The PostgreSQL server the tests and the benchmarks use, and whether a server answers."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

POSTGRES_URL = os.environ.get("JIJIAO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def unreachable(url: str) -> str | None:
    """Why the server of `url` (postgres://…, redis://…) takes no connection; None when it does."""
    parts = urlsplit(url)
    default_port = 6379 if parts.scheme.startswith("redis") else 5432
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return None
    except OSError as exc:
        return str(exc)


@contextlib.asynccontextmanager
async def new_database(server: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the PostgreSQL server at `server` (named `prefix` and a random
    tail), dropped afterwards, connections and all."""
    import asyncpg

    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

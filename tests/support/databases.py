"""The PostgreSQL server the tests and the benchmarks use, whether a server answers, and
databases already migrated.

Migrating an empty database through every committed migration takes seconds (much more on a
loaded machine); the tests need hundreds of fresh databases. So each test process migrates one
template once, in a child process (the migrations' Tortoise must not meet a test's), and each
test gets a copy: a file copy for SQLite, `CREATE DATABASE … TEMPLATE` for PostgreSQL. The
product still migrates the copy at start-up, as production does, and finds nothing to do. Tests
of the migrations themselves ask for an empty database instead."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
_MIGRATE = "import asyncio, sys; from infra.db import apply_migrations; " + (
    "asyncio.run(apply_migrations(sys.argv[1]))"
)
_sqlite_template: Path | None = None
_postgres_templates: dict[str, str] = {}

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


def _migrate_in_child(url: str) -> None:
    subprocess.run([sys.executable, "-c", _MIGRATE, url], cwd=ROOT, check=True, timeout=600)


def migrated_sqlite(path: Path) -> str:
    """A SQLite database at `path` with every migration applied (a copy of this process's
    template); its URL."""
    global _sqlite_template
    if _sqlite_template is None:
        template = Path(tempfile.mkdtemp(prefix="jijiao-template-")) / "migrated.sqlite3"
        _migrate_in_child(f"sqlite://{template}")
        _sqlite_template = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite://{path}"


async def _postgres_template(server: str) -> str:
    """This process's migrated template on `server` (dropped when the process ends)."""
    if server not in _postgres_templates:
        import asyncpg

        name = f"jijiao_template_{os.getpid()}_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        _migrate_in_child(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
        _postgres_templates[server] = name
    return _postgres_templates[server]


async def drop_templates() -> None:
    import asyncpg

    for server, name in list(_postgres_templates.items()):
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        del _postgres_templates[server]


@contextlib.asynccontextmanager
async def new_database(server: str, prefix: str, *, migrated: bool = False) -> AsyncIterator[str]:
    """A new database on the PostgreSQL server at `server` (named `prefix` and a random tail),
    empty or, `migrated`, with every migration applied; dropped afterwards, connections and
    all."""
    import asyncpg

    name = f"{prefix}_{secrets.token_hex(6)}"
    template = f' TEMPLATE "{await _postgres_template(server)}"' if migrated else ""
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{template}')
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

"""Hot reads as SQL written once for both databases (issue 20).

Tortoise builds each query's SQL and hydrates its models for several times what the database
takes to answer (docs/operations.md, "Hot paths"); the reads on every update's path are written
here as SQL instead. The SQL is PostgreSQL's, with numbered parameters (`$1`), which SQLite
takes as `?1`; values come back as each database gives them, and `decoded` turns SQLite's text
into what Tortoise would have given (a date, an aware datetime).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

_NUMBERED = re.compile(r"\$(\d+)")

Row = Mapping[str, Any]


@functools.cache
def _for_sqlite(sql: str) -> str:
    return _NUMBERED.sub(r"?\1", sql)


async def fetch(model: type[Model], sql: str, params: Sequence[Any]) -> Sequence[Row]:
    """The rows of `sql` on `model`'s connection (the transaction's, inside one)."""
    _, rows = await _run(model, sql, params)
    return rows


async def execute(model: type[Model], sql: str, params: Sequence[Any]) -> int:
    """An UPDATE or DELETE on `model`'s connection: the rows it changed. (Not an INSERT:
    Tortoise reads PostgreSQL's "INSERT oid count" as the oid; see `inserted`.)"""
    changed, _ = await _run(model, sql, params)
    return changed


async def inserted(model: type[Model], sql: str, params: Sequence[Any]) -> Sequence[Row]:
    """What an `INSERT … RETURNING` returned (Tortoise's `execute_query` runs an INSERT
    without reading its rows on PostgreSQL)."""
    db, sql = _on(model, sql)
    return await db.execute_query_dict(sql, list(params))


async def _run(model: type[Model], sql: str, params: Sequence[Any]) -> tuple[int, Sequence[Row]]:
    db, sql = _on(model, sql)
    return await db.execute_query(sql, list(params))


def _on(model: type[Model], sql: str) -> tuple[BaseDBAsyncClient, str]:
    """`model`'s connection (the transaction's, inside one) and `sql` in its dialect."""
    db = model._meta.db
    return db, _for_sqlite(sql) if db.capabilities.dialect == "sqlite" else sql


def numbered(first: int, count: int) -> str:
    """`$first, …` for `count` values of an IN list."""
    return ", ".join(f"${n}" for n in range(first, first + count))


def decoded(model: type[Model], field: str, value: Any) -> Any:
    """A date or time column's value as Tortoise gives it (SQLite keeps text)."""
    return model._meta.fields_map[field].to_python_value(value)

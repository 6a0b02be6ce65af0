"""One column of a query's rows, as a flat list."""

from __future__ import annotations

from typing import Any, cast

from tortoise.models import Model
from tortoise.queryset import QuerySet


async def column(query: QuerySet[Model] | QuerySet[Any], name: str) -> list[Any]:
    """`values_list(name, flat=True)`: Tortoise types every `values_list` result as a list of
    tuples, `flat` or not, so the flat list's type is stated here, once."""
    return cast(list[Any], await query.values_list(name, flat=True))

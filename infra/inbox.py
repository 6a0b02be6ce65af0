"""The update inbox's storage (bot/inbox.py runs it): one row per Telegram update, written
before Telegram hears that the update arrived.

A row is claimed from the start by the instance that stored it, until `claimed_until`, which
that instance renews while it handles the update. An instance that dies stops renewing; once
the lease has run out any instance takes the row over, with a compare-and-set on `attempts`
(one winner, on SQLite and PostgreSQL alike, no lock held). `done_at` ends a row's life; done
rows stay for the retention period so that a redelivery finds its update, then are pruned.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from infra.db import models
from infra.db.columns import column
from infra.db.sql import execute, inserted, numbered
from infra.outbox import new_worker_id
from infra.pii import Pii, PiiUnreadable


@dataclass(frozen=True, slots=True)
class TakenOver:
    update_id: int
    # None: sealed under another SECURITY_SECRET_KEY, nothing to handle.
    payload: dict[str, Any] | None
    attempts: int


# On every update's path, as SQL (infra/db/sql.py), for the updates that arrived together
# (bot/inbox.py groups them). A delivery of an update already stored inserts nothing and
# returns no row.
_STORE = """
INSERT INTO update_inbox (bot_id, update_id, payload_sealed, received_at, attempts, claimed_by,
    claimed_until)
VALUES {}
ON CONFLICT (bot_id, update_id) DO NOTHING
RETURNING update_id
"""
_STORED_ROW = "($1, ${}, ${}, $2, 1, $3, $4)"  # each update's id and payload after the four
_FINISH = """
UPDATE update_inbox SET done_at = $1
WHERE bot_id = $2 AND done_at IS NULL AND update_id IN ({})
"""


class TortoiseInbox:
    def __init__(self, pii: Pii, bot_id: int, worker_id: str | None = None) -> None:
        self._pii = pii
        self._bot_id = bot_id
        self.worker_id = worker_id or new_worker_id()

    def _rows(self) -> Any:
        return models.UpdateInbox.filter(bot_id=self._bot_id)

    async def store(
        self, updates: Sequence[tuple[int, dict[str, Any]]], now: datetime, lease: timedelta
    ) -> set[int]:
        """Stores new updates (id and payload), claimed by this instance until `now + lease`,
        in one statement; answers the ids stored now. An update there already (delivered
        again) is not: whoever holds it handles it."""
        if not updates:
            return set()
        rows, params = [], [self._bot_id, now, self.worker_id, now + lease]
        for update_id, payload in updates:
            rows.append(_STORED_ROW.format(len(params) + 1, len(params) + 2))
            dumped = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            params += [update_id, self._pii.seal(dumped)]
        stored = await inserted(models.UpdateInbox, _STORE.format(", ".join(rows)), params)
        return {row["update_id"] for row in stored}

    async def renew(self, update_ids: Collection[int], now: datetime, lease: timedelta) -> int:
        if not update_ids:
            return 0
        return int(
            await self._rows()
            .filter(update_id__in=list(update_ids), claimed_by=self.worker_id, done_at=None)
            .update(claimed_until=now + lease)
        )

    async def finish(self, update_ids: Collection[int], now: datetime) -> int:
        """Marks the updates done, ours or not (an update taken over after our lease ran out
        was handled all the same), in one statement: those handled together (bot/inbox.py
        groups them) on the hot path."""
        if not update_ids:
            return 0
        ids = list(update_ids)
        sql = _FINISH.format(numbered(3, len(ids)))
        return await execute(models.UpdateInbox, sql, [now, self._bot_id, *ids])

    async def release(self, update_ids: Collection[int], now: datetime) -> int:
        """Gives updates back unfinished (shutting down): any instance may take them at once."""
        if not update_ids:
            return 0
        return int(
            await self._rows()
            .filter(update_id__in=list(update_ids), claimed_by=self.worker_id, done_at=None)
            .update(claimed_until=now)
        )

    async def take_over(self, now: datetime, lease: timedelta, limit: int) -> list[TakenOver]:
        """Up to `limit` updates whose lease ran out (their instance died or gave them back),
        oldest first, now ours."""
        candidates = (
            await self._rows()
            .filter(done_at=None, claimed_until__lte=now)
            .order_by("update_id")
            .limit(limit)
            .values("id", "update_id", "attempts", "payload_sealed")
        )
        taken: list[TakenOver] = []
        for row in candidates:
            won = (
                await models.UpdateInbox.filter(
                    id=row["id"], attempts=row["attempts"], done_at=None, claimed_until__lte=now
                ).update(
                    claimed_by=self.worker_id,
                    claimed_until=now + lease,
                    attempts=row["attempts"] + 1,
                )
            ) == 1
            if won:
                taken.append(
                    TakenOver(
                        row["update_id"], self._open(row["payload_sealed"]), row["attempts"] + 1
                    )
                )
        return taken

    def _open(self, sealed: str) -> dict[str, Any] | None:
        try:
            payload = json.loads(self._pii.open(sealed))
        except (PiiUnreadable, ValueError):
            return None
        return payload if isinstance(payload, dict) else None

    async def prune(self, before: datetime) -> int:
        """Deletes the updates done before `before` (all bots': an old token's rows too)."""
        return int(await models.UpdateInbox.filter(done_at__lt=before).delete())

    async def undone(self) -> list[int]:
        return await column(self._rows().filter(done_at=None).order_by("update_id"), "update_id")

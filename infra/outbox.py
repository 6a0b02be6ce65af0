"""The outbox: every reminder and broadcast message is a row before it is a Telegram message.

Life of a row: `pending` → `sending` (claimed by one sender, under a lease) → `sent`, or
`failed` (permanent error, or out of attempts), `unreachable` (blocked the bot, chat gone),
`dropped` (pointless by the time it was due, or muted). Broadcast rows can also be `paused` and
`cancelled`. `dedup_key` is unique, so enqueueing is idempotent: the scanner can run any number
of times and each (recipient, kind, deadline, step) becomes one row.

Claiming: on PostgreSQL `SELECT ... FOR UPDATE SKIP LOCKED` inside a transaction, so several
senders take disjoint rows without waiting for each other. On SQLite (one process in practice)
the claim is a conditional UPDATE (`WHERE status = 'pending'`), which is atomic there and keeps
even a second process from taking a row twice. A row in `sending` whose lease ran out (the
sender crashed) is claimed again.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise import timezone
from tortoise.expressions import F, Q
from tortoise.functions import Count, Min
from tortoise.transactions import in_transaction

from domain.accounts import ChatUserId
from domain.locales import resolve_locale
from domain.reminders import (
    Audience,
    AudienceKind,
    BroadcastContent,
    BroadcastProgress,
    BroadcastRefused,
    BroadcastStatus,
    ReminderKind,
    broadcast_key,
)
from infra.db import models
from infra.db.columns import column
from infra.repositories import reach

ENQUEUE_CHUNK = 500
CLAIM_ROUNDS = 5
RATE_WINDOW = timedelta(seconds=30)


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    DROPPED = "dropped"
    PAUSED = "paused"
    CANCELLED = "cancelled"


FINAL = frozenset(
    {Status.SENT, Status.FAILED, Status.UNREACHABLE, Status.DROPPED, Status.CANCELLED}
)


@dataclass(frozen=True, slots=True)
class NewMessage:
    chat_id: int
    kind: str
    dedup_key: str
    payload: dict[str, Any]
    essential: bool
    not_before: datetime
    broadcast_id: int | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    chat_id: int
    kind: str
    payload: dict[str, Any]
    essential: bool
    attempts: int
    broadcast_id: int | None


@dataclass(frozen=True, slots=True)
class Recipient:
    locale: str
    muted: bool = False
    unreachable: bool = False
    channel: str = "telegram"  # the sender's transport for the row (chat_user.channel)


# Precompiled for PostgreSQL: notices are queued on hot paths (an order's notices, the
# reminders), where Tortoise's look-up, query building and insert cost more than the rows.
_ENQUEUE_POSTGRES = """
INSERT INTO outbox (chat_id, kind, dedup_key, payload, essential, not_before, broadcast_id,
    status, attempts, created_at)
SELECT chat_id, kind, dedup_key, payload, essential, not_before, broadcast_id, 'pending', 0, $8
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[], $5::boolean[],
    $6::timestamptz[], $7::bigint[])
    AS fresh (chat_id, kind, dedup_key, payload, essential, not_before, broadcast_id)
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
"""
_PAYLOAD = models.Outbox._meta.fields_map["payload"]
OUTBOX_ROW_PARAMS = 8


def insert_postgres(first: int, source: str) -> str:
    """One outbox row as the INSERT of a data-modifying CTE on PostgreSQL: its parameters are
    `$first` … `$first + 7` (`row_params_postgres`), and it is written once for each row of
    `source` (another CTE of the statement), so only when the statement's own write happened,
    and then together with it or not at all. A key already queued is skipped, as in `enqueue`.
    The payment's confirmation is queued this way by the payment's own statement."""
    p = [f"${first + n}" for n in range(OUTBOX_ROW_PARAMS)]
    return f"""INSERT INTO outbox (chat_id, kind, dedup_key, payload, essential, not_before,
        broadcast_id, status, attempts, created_at)
    SELECT {p[0]}::bigint, {p[1]}::text, {p[2]}::text, {p[3]}::jsonb, {p[4]}::boolean,
        {p[5]}::timestamptz, {p[6]}::bigint, 'pending', 0, {p[7]}::timestamptz
    FROM {source}
    ON CONFLICT (dedup_key) DO NOTHING"""


def row_params_postgres(message: NewMessage) -> list[Any]:
    """The parameters of `insert_postgres` for `message`, in order."""
    return [
        message.chat_id,
        message.kind,
        message.dedup_key,
        _PAYLOAD.to_db_value(message.payload, models.Outbox),
        message.essential,
        message.not_before,
        message.broadcast_id,
        timezone.now(),  # as Tortoise's auto_now_add would
    ]


_SENT_IDS_POSTGRES = """
SELECT telegram_message_id FROM outbox
WHERE chat_id = $1 AND starts_with(dedup_key, $2) AND status = 'sent'
    AND telegram_message_id IS NOT NULL
ORDER BY telegram_message_id
"""


def new_worker_id() -> str:
    """Unique per sender instance: host, process and a random tag (a restarted process with a
    recycled pid must not pass for the old one)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


def _connection() -> str:
    return models.Outbox._meta.default_connection or "default"


def _is_postgres() -> bool:
    return models.Outbox._meta.db.capabilities.dialect == "postgres"


def _claimed(row: models.Outbox) -> Claimed:
    return Claimed(
        id=row.id,
        chat_id=row.chat_id,
        kind=row.kind,
        payload=row.payload,
        essential=row.essential,
        attempts=row.attempts,
        broadcast_id=row.broadcast_id,  # type: ignore[attr-defined]
    )


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def enqueue(messages: Sequence[NewMessage]) -> int:
    """`TortoiseOutbox.enqueue`, for a writer that holds no outbox (the payment store queues
    the payer's confirmation in the payment's transaction on SQLite)."""
    unique = list({message.dedup_key: message for message in messages}.values())
    added = 0
    if unique and _is_postgres():
        for chunk in _chunks(unique, ENQUEUE_CHUNK):
            added += await _enqueue_postgres(chunk)
        return added
    for chunk in _chunks(unique, ENQUEUE_CHUNK):
        known = set(
            await column(
                models.Outbox.filter(dedup_key__in=[m.dedup_key for m in chunk]), "dedup_key"
            )
        )
        fresh = [m for m in chunk if m.dedup_key not in known]
        if not fresh:
            continue
        await models.Outbox.bulk_create(
            [
                models.Outbox(
                    chat_id=m.chat_id,
                    kind=m.kind,
                    dedup_key=m.dedup_key,
                    payload=m.payload,
                    essential=m.essential,
                    not_before=m.not_before,
                    broadcast_id=m.broadcast_id,
                )
                for m in fresh
            ],
            ignore_conflicts=True,
        )
        added += len(fresh)
    return added


async def _enqueue_postgres(chunk: Sequence[NewMessage]) -> int:
    """One statement a chunk: the rows whose key is taken (by an earlier or a concurrent
    enqueue) are skipped by the unique key, and the count is of the rows written."""
    # execute_query would count an INSERT's rows from its status' OID field (always 0).
    rows = await models.Outbox._meta.db.execute_query_dict(
        _ENQUEUE_POSTGRES,
        [
            [m.chat_id for m in chunk],
            [m.kind for m in chunk],
            [m.dedup_key for m in chunk],
            [_PAYLOAD.to_db_value(m.payload, models.Outbox) for m in chunk],
            [m.essential for m in chunk],
            [m.not_before for m in chunk],
            [m.broadcast_id for m in chunk],
            timezone.now(),  # as Tortoise's auto_now_add would
        ],
    )
    return len(rows)


class TortoiseOutbox:
    def __init__(self, worker_id: str | None = None) -> None:
        self.worker_id = worker_id or new_worker_id()

    async def enqueue(self, messages: Sequence[NewMessage]) -> int:
        """Adds the rows whose dedup_key is new; returns how many. Safe to repeat and to race:
        the unique key decides, a conflicting insert is skipped."""
        return await enqueue(messages)

    async def record_sent(
        self, chat_id: int, kind: str, dedup_key: str, message_id: int, now: datetime
    ) -> None:
        """A message sent directly (an answer), kept so a later notice can find it: the
        payment QR code whose buttons go once the order is over."""
        await models.Outbox.get_or_create(
            dedup_key=dedup_key,
            defaults={
                "chat_id": chat_id,
                "kind": kind,
                "status": Status.SENT.value,
                "not_before": now,
                "sent_at": now,
                "telegram_message_id": message_id,
            },
        )

    async def sent_message_ids(self, chat_id: int, dedup_prefix: str) -> list[int]:
        if _is_postgres():
            _, rows = await models.Outbox._meta.db.execute_query(
                _SENT_IDS_POSTGRES, [chat_id, dedup_prefix]
            )
            return [int(row["telegram_message_id"]) for row in rows]
        ids = await column(
            models.Outbox.filter(
                chat_id=chat_id,
                dedup_key__startswith=dedup_prefix,
                status=Status.SENT.value,
                telegram_message_id__isnull=False,
            ),
            "telegram_message_id",
        )
        return sorted(int(i) for i in ids if i is not None)

    async def claim(
        self, now: datetime, limit: int, lease: timedelta, kinds: Iterable[str] | None = None
    ) -> list[Claimed]:
        """Up to `limit` due rows (of `kinds` only, if given), now ours until `now + lease`
        (renewed by `heartbeat`)."""
        expired = now - lease
        due = Q(status=Status.PENDING.value, not_before__lte=now)
        stale = Q(status=Status.SENDING.value, claimed_at__lt=expired)
        if kinds is not None:
            only = Q(kind__in=list(kinds))
            due, stale = due & only, stale & only
        for _ in range(CLAIM_ROUNDS):
            if _is_postgres():
                async with in_transaction(_connection()) as db:
                    ids = await self._candidates(stale, due, limit, db, lock=True)
                    if ids:
                        await self._take(ids, now, db, stale | due)
            else:
                ids = await self._candidates(stale, due, limit, None, lock=False)
                if ids:
                    await self._take(ids, now, None, stale | due)
            if not ids:
                return []
            rows = await models.Outbox.filter(
                id__in=ids, status=Status.SENDING.value, claimed_by=self.worker_id
            ).order_by("not_before", "id")
            if rows:
                return [_claimed(row) for row in rows]
            # Another sender took these between our read and our update (SQLite): look again.
        return []

    async def _candidates(self, stale: Q, due: Q, limit: int, db: Any, *, lock: bool) -> list[int]:
        ids: list[int] = []
        # Stale claims first: they are the oldest work. Each part is one range of the
        # (status, not_before) index.
        for condition, order in ((stale, "claimed_at"), (due, "not_before")):
            query = models.Outbox.filter(condition).order_by(order, "id").limit(limit - len(ids))
            if lock:
                query = query.select_for_update(skip_locked=True)
            if db is not None:
                query = query.using_db(db)
            ids += [row["id"] for row in await query.values("id")]
            if len(ids) >= limit:
                break
        return ids

    async def _take(self, ids: list[int], now: datetime, db: Any, claimable: Q) -> None:
        query = models.Outbox.filter(claimable, id__in=ids)
        if db is not None:
            query = query.using_db(db)
        await query.update(
            status=Status.SENDING.value,
            claimed_by=self.worker_id,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )

    async def heartbeat(self, now: datetime) -> int:
        """Renews the lease on every row this sender still holds."""
        return await models.Outbox.filter(
            status=Status.SENDING.value, claimed_by=self.worker_id
        ).update(claimed_at=now)

    async def mark_sent(self, item: Claimed, message_id: int, now: datetime) -> bool:
        """False when the row was not ours any more (lease lost): the message may then have
        gone out twice, which the caller logs."""
        updated = await models.Outbox.filter(
            id=item.id, status=Status.SENDING.value, claimed_by=self.worker_id
        ).update(status=Status.SENT.value, sent_at=now, telegram_message_id=message_id, error=None)
        return updated == 1

    @staticmethod
    async def note_delivered(row_id: int, count: int) -> None:
        """A row whose message is several (WeChat's picture, then its words): the first `count`
        went out, so a retry after a refusal sends only the rest. Kept in the stored payload
        (`delivered`) while the row is being sent (the transport notes only rows it sends)."""
        async with in_transaction(_connection()) as db:
            row = (
                await models.Outbox.filter(id=row_id, status=Status.SENDING.value)
                .using_db(db)
                .select_for_update()
                .first()
            )
            if row is None:
                return
            row.payload = {**(row.payload or {}), "delivered": count}
            await row.save(using_db=db, update_fields=["payload"])

    async def finish(self, item: Claimed, status: Status, error: str | None) -> bool:
        updated = await models.Outbox.filter(
            id=item.id, status=Status.SENDING.value, claimed_by=self.worker_id
        ).update(status=status.value, error=(error or "")[:2000] or None)
        return updated == 1

    async def retry_later(self, item: Claimed, not_before: datetime, error: str) -> bool:
        updated = await models.Outbox.filter(
            id=item.id, status=Status.SENDING.value, claimed_by=self.worker_id
        ).update(
            status=Status.PENDING.value,
            not_before=not_before,
            claimed_by=None,
            claimed_at=None,
            error=error[:2000],
        )
        return updated == 1

    async def recipients(self, chat_ids: Iterable[int]) -> dict[int, Recipient]:
        rows = await models.ChatUser.filter(id__in=list(set(chat_ids))).values(
            "id", "locale", "language_code", "muted", "unreachable", "channel"
        )
        return {
            row["id"]: Recipient(
                locale=resolve_locale(row["locale"], row["language_code"]).value,
                muted=row["muted"],
                unreachable=row["unreachable"],
                channel=row["channel"],
            )
            for row in rows
        }

    async def mark_unreachable(self, chat_id: int) -> None:
        await models.ChatUser.filter(id=chat_id).update(unreachable=True)

    async def count_by_status(self, kind: str | None = None) -> dict[str, int]:
        query = models.Outbox.all()
        if kind is not None:
            query = query.filter(kind=kind)
        rows = await query.group_by("status").annotate(n=Count("id")).values("status", "n")
        return {row["status"]: row["n"] for row in rows}


# ---- staff broadcasts ----------------------------------------------------------------------

STATUS_TTL = 1.0
ACTIVE_BROADCAST = (BroadcastStatus.RUNNING.value, BroadcastStatus.PAUSED.value)
OVERDUE_STATES = ("studying", "exam", "overdue")


@dataclass(frozen=True, slots=True)
class BroadcastSnapshot:
    html: str
    photo_file_id: str | None
    status: BroadcastStatus


@dataclass(frozen=True, slots=True)
class ActiveBroadcast:
    id: int
    chat_id: int
    message_id: int


class TortoiseBroadcasts:
    """`domain.reminders.Broadcasts` on the outbox: one row per recipient, all at once."""

    def __init__(self, outbox: TortoiseOutbox) -> None:
        self._outbox = outbox
        self._content: dict[int, tuple[float, BroadcastSnapshot]] = {}

    @property
    def outbox(self) -> TortoiseOutbox:
        return self._outbox

    async def _recipients(self, audience: Audience, now: datetime) -> list[int]:
        """One account per person (the one used last, of their channels), and the
        enterprise's contacts."""
        bound = models.Binding.all()
        people: list[int]
        contacts: list[int] = []
        if audience.kind is AudienceKind.ALL:
            people = await column(bound, "person_id")
        elif audience.kind in {AudienceKind.CERT_TYPE, AudienceKind.TRACK}:
            types = [t.value for t in audience.cert_types()]
            people = await column(
                bound.filter(person__certificates__cert_type__in=types), "person_id"
            )
        elif audience.kind is AudienceKind.ENTERPRISE:
            enterprise = await models.Enterprise.get_or_none(credit_code=audience.credit_code)
            if enterprise is None:
                raise BroadcastRefused("unknown_enterprise")
            people = await column(
                bound.filter(person__certificates__enterprise_id=enterprise.id), "person_id"
            )
            contacts = await column(
                models.EnterpriseContact.filter(enterprise_id=enterprise.id), "chat_user_id"
            )
        else:
            people = await column(
                bound.filter(
                    person__certificates__enrolments__study_deadline__lt=now,
                    person__certificates__enrolments__state__in=OVERDUE_STATES,
                ),
                "person_id",
            )
        accounts = await reach.accounts_of(people)
        return sorted({*accounts.values(), *contacts})

    async def audience_size(self, audience: Audience, now: datetime) -> int:
        return len(await self._recipients(audience, now))

    async def start(
        self,
        audience: Audience,
        content: BroadcastContent,
        created_by: ChatUserId,
        now: datetime,
        not_before: datetime,
    ) -> BroadcastProgress:
        recipients = await self._recipients(audience, now)
        broadcast = await models.Broadcast.create(
            created_by=created_by,
            audience=audience.to_json(),
            text=content.html,
            photo_file_id=content.photo_file_id,
            status=BroadcastStatus.RUNNING.value,
        )
        await self._outbox.enqueue(
            [
                NewMessage(
                    chat_id=chat,
                    kind=ReminderKind.BROADCAST.value,
                    dedup_key=broadcast_key(broadcast.id, chat),
                    payload={"text_key": ReminderKind.BROADCAST.value, "params": {}},
                    # Staff chose to send it: muting covers reminders, not announcements.
                    essential=True,
                    not_before=not_before,
                    broadcast_id=broadcast.id,
                )
                for chat in recipients
            ]
        )
        progress = await self.progress(broadcast.id, now)
        assert progress is not None
        return progress

    async def attach_progress_message(
        self, broadcast_id: int, chat_id: int, message_id: int
    ) -> None:
        await models.Broadcast.filter(id=broadcast_id).update(
            progress_chat_id=chat_id, progress_message_id=message_id
        )

    async def change_status(
        self, broadcast_id: int, expected: BroadcastStatus, status: BroadcastStatus
    ) -> bool:
        moves = {
            BroadcastStatus.PAUSED: ((Status.PENDING,), Status.PAUSED),
            BroadcastStatus.RUNNING: ((Status.PAUSED,), Status.PENDING),
            BroadcastStatus.CANCELLED: ((Status.PENDING, Status.PAUSED), Status.CANCELLED),
        }
        async with in_transaction(_connection()) as db:
            changed = (
                await models.Broadcast.filter(id=broadcast_id, status=expected.value)
                .using_db(db)
                .update(status=status.value)
            )
            if changed and status in moves:
                sources, target = moves[status]
                await (
                    models.Outbox.filter(
                        broadcast_id=broadcast_id, status__in=[s.value for s in sources]
                    )
                    .using_db(db)
                    .update(status=target.value)
                )
        return changed == 1

    async def progress(self, broadcast_id: int, now: datetime) -> BroadcastProgress | None:
        broadcast = await models.Broadcast.get_or_none(id=broadcast_id)
        if broadcast is None:
            return None
        rows = (
            await models.Outbox.filter(broadcast_id=broadcast_id)
            .group_by("status")
            .annotate(n=Count("id"))
            .values("status", "n")
        )
        counts = {row["status"]: row["n"] for row in rows}
        sent = models.Outbox.filter(broadcast_id=broadcast_id, status=Status.SENT.value)
        rows = await sent.annotate(first=Min("sent_at")).values("first")
        first: datetime | None = rows[0]["first"] if rows else None
        # Over the last 30 s, or since the first message if that is more recent.
        window = RATE_WINDOW
        if first is not None:
            window = min(RATE_WINDOW, max(now - first, timedelta(seconds=1)))
        recent = await sent.filter(sent_at__gte=now - window).count()
        return BroadcastProgress(
            id=broadcast_id,
            status=BroadcastStatus(broadcast.status),
            sent=counts.get(Status.SENT.value, 0),
            failed=counts.get(Status.FAILED.value, 0),
            blocked=counts.get(Status.UNREACHABLE.value, 0),
            dropped=counts.get(Status.DROPPED.value, 0) + counts.get(Status.CANCELLED.value, 0),
            remaining=sum(
                counts.get(s.value, 0) for s in (Status.PENDING, Status.SENDING, Status.PAUSED)
            ),
            per_second=recent / window.total_seconds(),
            counts=counts,
        )

    async def active(self) -> list[ActiveBroadcast]:
        rows = await models.Broadcast.filter(
            status__in=ACTIVE_BROADCAST, progress_message_id__isnull=False
        ).values("id", "progress_chat_id", "progress_message_id")
        return [
            ActiveBroadcast(row["id"], row["progress_chat_id"], row["progress_message_id"])
            for row in rows
        ]

    async def content(self, broadcast_id: int) -> BroadcastSnapshot | None:
        """The text never changes and is cached; the status is re-read at most every second,
        so a pause or cancel stops rows already claimed by a sender too."""
        cached = self._content.get(broadcast_id)
        if cached is not None and time.monotonic() - cached[0] < STATUS_TTL:
            return cached[1]
        row = await models.Broadcast.get_or_none(id=broadcast_id)
        if row is None:
            return None
        snapshot = BroadcastSnapshot(row.text, row.photo_file_id, BroadcastStatus(row.status))
        if len(self._content) > 64:
            self._content.clear()
        self._content[broadcast_id] = (time.monotonic(), snapshot)
        return snapshot

"""`jijiao rotate-key`: every sealed value and face file moved to SECURITY_SECRET_KEY while the
service runs on the ring (the new key current, the old ones in SECURITY_PREVIOUS_KEYS).

Each batch of rows is one transaction and holds its rows (`FOR UPDATE` on PostgreSQL; SQLite
has one writer at a time), so a value the app changes meanwhile is never overwritten with an
older one. What is already under the current key is skipped: a run killed half-way goes on
where it stopped when started again, and a second run over a finished rotation changes nothing.
The end is a check with the current key alone, which is what the app will have once the old key
is dropped; docs/operations.md has the operator's procedure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction

from application.exam import RECEIPT_PURPOSE
from application.study import FaceStore
from infra.db.exam_models import Receipt
from infra.db.models import DeskQueue, Enterprise, FsmRecord, Person, UpdateInbox
from infra.fsm import SEALED
from infra.pii import Pii, PiiUnreadable
from infra.signing import Signer

BATCH = 200

Progress = Callable[[str, int, int], None]


@dataclass
class Outcome:
    """Per table (and "faces"): rows looked at, rows moved to the current key, and the keys of
    rows that could not be (a value no key of the ring opens); never the values themselves."""

    seen: dict[str, int] = field(default_factory=dict)
    moved: dict[str, int] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)

    def count(self, table: str, seen: int = 0, moved: int = 0) -> None:
        self.seen[table] = self.seen.get(table, 0) + seen
        self.moved[table] = self.moved.get(table, 0) + moved

    def fail(self, table: str, key: object) -> None:
        self.failed.setdefault(table, []).append(str(key))

    @property
    def ok(self) -> bool:
        return not any(self.failed.values())


@dataclass(frozen=True)
class _Table:
    model: type[Model]
    key: str
    # New column values for a row, or None when it is already under the current key.
    reseal: Callable[[Any, Pii], dict[str, Any] | None]
    # Whether every sealed value of the row opens with the current key alone (and, for a
    # digest, is the current key's digest of what it opens to).
    current: Callable[[Any, Pii], bool]

    @property
    def name(self) -> str:
        return str(self.model._meta.db_table)


def _sealed_and_digest(value_sealed: str, value_hash: str | None, pii: Pii) -> bool:
    if not pii.is_current(value_sealed):
        return False
    return value_hash is None or pii.digest(pii.open(value_sealed)) == value_hash


def _person_reseal(row: Person, pii: Pii) -> dict[str, Any] | None:
    if _sealed_and_digest(row.id_number_sealed, row.id_number_hash, pii) and _sealed_and_digest(
        row.phone_sealed, row.phone_hash, pii
    ):
        return None
    id_number, phone = pii.open(row.id_number_sealed), pii.open(row.phone_sealed)
    return {
        "id_number_hash": pii.digest(id_number),
        "id_number_sealed": pii.seal(id_number),
        "phone_hash": pii.digest(phone),
        "phone_sealed": pii.seal(phone),
    }


def _person_current(row: Person, pii: Pii) -> bool:
    return _sealed_and_digest(row.id_number_sealed, row.id_number_hash, pii) and (
        _sealed_and_digest(row.phone_sealed, row.phone_hash, pii)
    )


def _enterprise_reseal(row: Enterprise, pii: Pii) -> dict[str, Any] | None:
    if pii.is_current(row.contact_phone_sealed):
        return None
    return {"contact_phone_sealed": pii.seal(pii.open(row.contact_phone_sealed))}


def _desk_reseal(row: DeskQueue, pii: Pii) -> dict[str, Any] | None:
    if pii.is_current(row.text_sealed or ""):
        return None
    return {"text_sealed": pii.seal(pii.open(row.text_sealed or ""))}


def _fsm_reseal(row: FsmRecord, pii: Pii) -> dict[str, Any] | None:
    data = row.data if isinstance(row.data, dict) else {}
    if SEALED in data:
        if pii.is_current(data[SEALED]):
            return None
        return {"data": {SEALED: pii.seal(pii.open(data[SEALED]))}}
    # Written before conversation data was sealed: sealed now, as the storage writes it.
    return {"data": {SEALED: pii.seal(json.dumps(data))}} if data else None


def _fsm_current(row: FsmRecord, pii: Pii) -> bool:
    data = row.data if isinstance(row.data, dict) else {}
    return not data or (SEALED in data and pii.is_current(data[SEALED]))


TABLES = (
    _Table(Person, "id", _person_reseal, _person_current),
    _Table(
        Enterprise,
        "id",
        _enterprise_reseal,
        lambda row, pii: pii.is_current(row.contact_phone_sealed),
    ),
    _Table(DeskQueue, "id", _desk_reseal, lambda row, pii: pii.is_current(row.text_sealed or "")),
    _Table(FsmRecord, "key", _fsm_reseal, _fsm_current),
    # Updates waiting to be handled, and those kept for a while to recognise a redelivery.
    _Table(
        UpdateInbox,
        "id",
        lambda row, pii: (
            None
            if pii.is_current(row.payload_sealed)
            else {"payload_sealed": pii.seal(pii.open(row.payload_sealed))}
        ),
        lambda row, pii: pii.is_current(row.payload_sealed),
    ),
)


async def rotate(
    pii: Pii,
    faces: FaceStore,
    *,
    signer: Signer | None = None,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> Outcome:
    """Move every sealed value and face file to the current key of `pii` and `faces`; with the
    `signer`, keep the tag each receipt's QR code was printed with."""
    outcome = Outcome()
    for table in TABLES:
        await _rotate_table(table, pii, batch, outcome, progress)
    if signer is not None:
        await _keep_printed_tags(signer, batch, outcome, progress)
    _rotate_faces(faces, batch, outcome, progress)
    return outcome


async def _keep_printed_tags(
    signer: Signer, batch: int, outcome: Outcome, progress: Progress | None
) -> None:
    """Receipts made since migration 0018 carry the tag they were printed with; older ones
    were made under the key being replaced, so its tag is what their QR code shows, and what
    the verification page still accepts once that key is gone. Kept once: the next rotation
    leaves it as printed."""
    outcome.count("receipt")
    total = await Receipt.filter(printed_tag__isnull=True).count()
    last = 0
    while True:
        rows = (
            await Receipt.filter(printed_tag__isnull=True, id__gt=last).order_by("id").limit(batch)
        )
        if not rows or not signer.rotating:
            break
        async with in_transaction() as connection:
            for row in rows:
                sealed = signer.previous_seal(RECEIPT_PURPOSE, row.number)
                tag = sealed.rpartition(".")[2] if sealed else None
                await (
                    Receipt.filter(id=row.id, printed_tag__isnull=True)
                    .using_db(connection)
                    .update(printed_tag=tag)
                )
        last = rows[-1].id
        outcome.count("receipt", seen=len(rows), moved=len(rows))
        if progress is not None:
            progress("receipt", outcome.seen["receipt"], total)


async def _rotate_table(
    table: _Table, pii: Pii, batch: int, outcome: Outcome, progress: Progress | None
) -> None:
    total = await table.model.all().count()
    outcome.count(table.name)
    last: Any = None
    while True:
        async with in_transaction() as connection:
            query = table.model.all().using_db(connection)
            if last is not None:
                query = query.filter(**{f"{table.key}__gt": last})
            rows = await query.order_by(table.key).limit(batch).select_for_update()
            for row in rows:
                key = getattr(row, table.key)
                try:
                    values = table.reseal(row, pii)
                    if values is not None:
                        await (
                            table.model.filter(**{table.key: key})
                            .using_db(connection)
                            .update(**values)
                        )
                        outcome.count(table.name, moved=1)
                except PiiUnreadable:  # no key of the ring opens it: verify names it
                    outcome.fail(table.name, key)
        if not rows:
            break
        last = getattr(rows[-1], table.key)
        outcome.count(table.name, seen=len(rows))
        if progress is not None:
            progress(table.name, outcome.seen[table.name], total)


def _rotate_faces(
    faces: FaceStore, batch: int, outcome: Outcome, progress: Progress | None
) -> None:
    faces.drop_partial_reseals()
    paths = list(faces.sealed_files())
    outcome.count("faces")
    for done, path in enumerate(paths, 1):
        try:
            if faces.reseal(path):
                outcome.count("faces", moved=1)
        except FileNotFoundError:  # deleted meanwhile: nothing left to protect
            pass
        except Exception:  # InvalidToken: no key of the ring opens it
            outcome.fail("faces", path.relative_to(faces.root))
        outcome.count("faces", seen=1)
        if progress is not None and (done % batch == 0 or done == len(paths)):
            progress("faces", done, len(paths))


async def verify(pii: Pii, faces: FaceStore, *, batch: int = BATCH) -> Outcome:
    """Every sealed value and face file, opened with the current key alone."""
    current = pii.current_only()
    outcome = Outcome()
    for table in TABLES:
        last: Any = None
        outcome.count(table.name)
        while True:
            query = table.model.all()
            if last is not None:
                query = query.filter(**{f"{table.key}__gt": last})
            rows = await query.order_by(table.key).limit(batch)
            if not rows:
                break
            for row in rows:
                try:
                    fine = table.current(row, current)
                except PiiUnreadable:
                    fine = False
                if not fine:
                    outcome.fail(table.name, getattr(row, table.key))
            outcome.count(table.name, seen=len(rows))
            last = getattr(rows[-1], table.key)
    outcome.count("faces")
    for path in faces.sealed_files():
        outcome.count("faces", seen=1)
        try:
            if not faces.opens_with_current_key(path):
                outcome.fail("faces", path.relative_to(faces.root))
        except FileNotFoundError:
            pass
    return outcome

"""The ID numbers and phones stored in plaintext before migration 0011, sealed on the way up.

Migration 0011 adds the digest and seal columns, 0012 drops the plaintext ones. A migration has
no key, so between the two `apply_migrations` stops and fills the new columns with the key
(`seal_plaintext`); 0012 itself refuses to run while anything is left unsealed, so migrating
without the key stops there instead of losing data. Rows already sealed are skipped: a start
interrupted half-way goes on where it stopped.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from infra.db.models import Person
from infra.pii import Pii, PiiUnreadable

SEALED_COLUMNS_ADDED = "0011_pii_at_rest"
PLAINTEXT_DROPPED = "0012_plaintext_pii_dropped"
BATCH = 500


def _marks(client: BaseDBAsyncClient, count: int) -> list[str]:
    if client.capabilities.dialect == "postgres":
        return [f"${n}" for n in range(1, count + 1)]
    return ["?"] * count


async def seal_plaintext(client: BaseDBAsyncClient, pii: Pii) -> int:
    """Seal what the plaintext columns hold, in the schema of 0011 (raw SQL: the models no
    longer know those columns); returns the rows sealed. Each batch is one transaction."""
    moved = 0
    a, b, c, d, e = _marks(client, 5)
    while True:
        _, rows = await client.execute_query(
            "SELECT id, id_number, phone FROM person WHERE id_number_hash IS NULL "
            f"ORDER BY id LIMIT {BATCH}"
        )
        if not rows:
            break
        await client.execute_many(
            f"UPDATE person SET id_number_hash = {a}, id_number_sealed = {b}, phone_hash = {c}, "
            f"phone_sealed = {d} WHERE id = {e}",
            [
                [
                    pii.digest(row["id_number"]),
                    pii.seal(row["id_number"]),
                    pii.digest(row["phone"]),
                    pii.seal(row["phone"]),
                    row["id"],
                ]
                for row in rows
            ],
        )
        moved += len(rows)
    while True:
        _, rows = await client.execute_query(
            "SELECT id, contact_phone FROM enterprise WHERE contact_phone_sealed IS NULL "
            f"ORDER BY id LIMIT {BATCH}"
        )
        if not rows:
            break
        await client.execute_many(
            f"UPDATE enterprise SET contact_phone_sealed = {a} WHERE id = {b}",
            [[pii.seal(row["contact_phone"]), row["id"]] for row in rows],
        )
        moved += len(rows)
    return moved


async def scrub(client: BaseDBAsyncClient) -> None:
    """Once the plaintext columns are dropped, rewrite the tables: a dropped column's values
    stay in the file (SQLite's free pages and WAL, PostgreSQL's old row versions) until then."""
    if client.capabilities.dialect == "postgres":
        await client.execute_script("VACUUM FULL person")
        await client.execute_script("VACUUM FULL enterprise")
        return
    await client.execute_script("VACUUM")
    await client.execute_script("PRAGMA wal_checkpoint(TRUNCATE)")


async def check_key(pii: Pii) -> None:
    """Refuse to start with a key that opens nothing: every lookup would miss, and the registry
    would look empty rather than locked."""
    row = await Person.all().order_by("id").first()
    if row is not None and row.id_number_hash not in pii.digests(pii.open(row.id_number_sealed)):
        raise PiiUnreadable("the ID number digests were made with another SECURITY_SECRET_KEY")

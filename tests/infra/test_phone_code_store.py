"""SMS codes kept in the database: only digests at rest, and two instances racing on one phone
never both get past a limit (PostgreSQL row locks; SQLite has one writer)."""

from __future__ import annotations

import asyncio

import pytest

from domain.accounts import ChatUserId
from domain.locales import Locale
from domain.phone_codes import PhoneCodeRefused, PhoneCodes
from infra.db import models, open_database
from infra.sms.sandbox import SandboxSms
from infra.sms.store import KeyedCodeHasher, TortoiseCodeStore
from tests.support.clock import FixedClock

ME = ChatUserId(700001)
PHONE = "13800000007"
KEY = b"k" * 32


def instance(clock: FixedClock, sandbox: SandboxSms) -> PhoneCodes:
    """One app instance's use case: its own store object, the one database."""
    return PhoneCodes(TortoiseCodeStore(), sandbox, KeyedCodeHasher(KEY), clock)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def outcome(call: object) -> str:
    try:
        await call  # type: ignore[misc]
    except PhoneCodeRefused as refused:
        return refused.code
    return "accepted"


async def test_the_table_holds_digests_only(database: str, clock: FixedClock):
    sandbox = SandboxSms(clock)
    codes = instance(clock, sandbox)
    await codes.send(ME, PHONE, Locale.ZH_CN)
    code = sandbox.last_code(PHONE)
    [row] = await models.PhoneCode.all().values()
    [quota] = await models.SmsQuota.all().values()
    stored = repr((row, quota))
    assert code not in stored and PHONE not in stored and PHONE[-4:] not in row["phone_key"]
    assert len(row["code_digest"]) == 64 and row["sends"] == 1 and quota["sends"] == 1
    await codes.check(ME, PHONE, code)
    assert (await models.PhoneCode.get(phone_key=row["phone_key"])).code_digest is None


async def race(codes: list[PhoneCodes], clock: FixedClock, sandbox: SandboxSms) -> None:
    """Two instances: twelve wrong guesses at once, then the right code, then twelve rights."""
    await codes[0].send(ME, PHONE, Locale.ZH_CN)
    code = sandbox.last_code(PHONE)
    guesses = await asyncio.gather(
        *(codes[n % 2].check(ME, PHONE, wrong(code)) for n in range(12)),
        return_exceptions=True,
    )
    seen = [g.code for g in guesses if isinstance(g, PhoneCodeRefused)]
    assert sorted(seen) == ["too_many_tries"] * 8 + ["wrong_code"] * 4, seen
    # The sixth try is refused even with the right code, on either instance.
    assert await outcome(codes[1].check(ME, PHONE, code)) == "too_many_tries"

    clock.advance(minutes=1)
    await codes[1].send(ME, PHONE, Locale.ZH_CN)
    code = sandbox.last_code(PHONE)
    rights = await asyncio.gather(
        *(outcome(codes[n % 2].check(ME, PHONE, code)) for n in range(12))
    )
    assert rights.count("accepted") == 1, rights

    # Sends racing: one goes, the rest must wait their minute.
    clock.advance(minutes=1)
    sends = await asyncio.gather(
        *(outcome(codes[n % 2].send(ME, PHONE, Locale.ZH_CN)) for n in range(10))
    )
    assert sends.count("accepted") == 1 and len(sandbox.to(PHONE)) == 3, sends


async def test_two_instances_on_sqlite(database: str, clock: FixedClock):
    sandbox = SandboxSms(clock)
    await race([instance(clock, sandbox), instance(clock, sandbox)], clock, sandbox)


@pytest.mark.postgres
async def test_two_instances_on_postgresql(postgres_url: str, clock: FixedClock):
    context = await open_database(postgres_url)
    try:
        sandbox = SandboxSms(clock)
        await race([instance(clock, sandbox), instance(clock, sandbox)], clock, sandbox)
    finally:
        await context.close_connections()

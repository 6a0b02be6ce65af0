"""The rules of SMS codes that prove a phone (domain.phone_codes), pure: an in-memory store,
the tests' clock, a recording sender."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import domain.phone_codes as phone_codes
from domain.accounts import ChatUserId
from domain.locales import Locale
from domain.phone_codes import (
    AccountLedger,
    CodePolicy,
    Decision,
    PhoneCodeRefused,
    PhoneCodes,
    PhoneLedger,
    SmsFailed,
    mainland_mobile,
    new_code,
    next_day_start,
)
from domain.timezone import local_date
from infra.sms.store import KeyedCodeHasher
from tests.support.clock import FixedClock

ME, OTHER = ChatUserId(501), ChatUserId(502)
PHONE_A, PHONE_B = "13800000001", "13900000002"


@dataclass
class MemoryStore:
    phones: dict[str, PhoneLedger] = field(default_factory=dict)
    accounts: dict[ChatUserId, AccountLedger] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def change(
        self,
        phone_key: str,
        account: ChatUserId,
        decide: Callable[[PhoneLedger, AccountLedger], Decision],
    ) -> Decision:
        async with self.lock:
            decision = decide(
                self.phones.get(phone_key, PhoneLedger()),
                self.accounts.get(account, AccountLedger()),
            )
            if decision.phone is not None:
                self.phones[phone_key] = decision.phone
            if decision.account is not None:
                self.accounts[account] = decision.account
            return decision


@dataclass
class Outbox:
    sent: list[tuple[str, str, Locale]] = field(default_factory=list)
    failing: bool = False

    async def send(self, phone: str, code: str, locale: Locale) -> None:
        if self.failing:
            raise SmsFailed("down")
        self.sent.append((phone, code, locale))

    def last(self, phone: str) -> str:
        return [code for to, code, _ in self.sent if to == phone][-1]


@dataclass
class World:
    clock: FixedClock
    store: MemoryStore
    outbox: Outbox
    codes: PhoneCodes

    async def send(self, phone: str = PHONE_A, account: ChatUserId = ME) -> str:
        await self.codes.send(account, phone, Locale.ZH_CN)
        return self.outbox.last(phone)

    async def refusal(self, call: object) -> PhoneCodeRefused:
        with pytest.raises(PhoneCodeRefused) as caught:
            await call  # type: ignore[misc]
        return caught.value


def world(clock: FixedClock | None = None) -> World:
    clock = clock or FixedClock()
    store, outbox = MemoryStore(), Outbox()
    codes = PhoneCodes(store, outbox, KeyedCodeHasher(b"s" * 32), clock)
    return World(clock, store, outbox, codes)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_a_code_is_six_digits_from_secrets(monkeypatch: pytest.MonkeyPatch):
    drawn: list[int] = []

    def randbelow(n: int) -> int:
        drawn.append(n)
        return 42

    monkeypatch.setattr(phone_codes.secrets, "randbelow", randbelow)
    assert new_code() == "000042" and drawn == [10**6]
    monkeypatch.undo()
    codes = {new_code() for _ in range(300)}
    assert all(re.fullmatch(r"\d{6}", code) for code in codes) and len(codes) > 290


async def test_the_right_code_proves_the_phone_once():
    w = world()
    code = await w.send()
    await w.codes.check(ME, PHONE_A, code)
    assert (await w.refusal(w.codes.check(ME, PHONE_A, code))).code == "no_code"


async def test_only_a_keyed_digest_is_kept():
    w = world()
    code = await w.send()
    [(key, ledger)] = w.store.phones.items()
    kept = repr((key, astuple(ledger), w.store.accounts))
    assert code not in kept and PHONE_A not in kept and PHONE_A[-4:] not in key
    # Another key, another digest: the table is worthless without the key.
    assert KeyedCodeHasher(b"t" * 32).phone_key(PHONE_A) != key
    hasher = KeyedCodeHasher(b"s" * 32)
    assert ledger.code_digest == hasher.code_digest(PHONE_A, ME, code)
    assert ledger.code_digest not in {
        hasher.code_digest(PHONE_B, ME, code),
        hasher.code_digest(PHONE_A, OTHER, code),
    }


async def test_a_code_is_valid_five_minutes():
    w = world()
    code = await w.send()
    w.clock.advance(minutes=4, seconds=59)
    await w.codes.check(ME, PHONE_A, code)
    code = await w.send()
    w.clock.advance(minutes=5)
    refused = await w.refusal(w.codes.check(ME, PHONE_A, code))
    assert refused.code == "expired" and refused.retry_at == w.clock.now()


async def test_a_new_code_waits_a_minute_and_voids_the_old():
    w = world()
    first = await w.send()
    w.clock.advance(seconds=59)
    refused = await w.refusal(w.codes.send(ME, PHONE_A, Locale.EN))
    assert refused.code == "resend_too_soon"
    assert refused.retry_at == w.clock.now() + timedelta(seconds=1)
    w.clock.advance(seconds=1)
    second = await w.send()
    if second != first:
        assert (await w.refusal(w.codes.check(ME, PHONE_A, first))).code == "wrong_code"
    await w.codes.check(ME, PHONE_A, second)


async def test_five_codes_a_day_per_phone_then_tomorrow():
    w = world()
    for _ in range(5):
        await w.send()
        w.clock.advance(minutes=1)
    refused = await w.refusal(w.codes.send(ME, PHONE_A, Locale.ZH_CN))
    assert refused.code == "phone_daily_limit"
    assert refused.retry_at == next_day_start(w.clock.now())
    assert refused.retry_at.astimezone(phone_codes.CHINA).hour == 0
    # Another account asking for the same phone does not get past it: the phone is the limit.
    assert (await w.refusal(w.codes.send(OTHER, PHONE_A, Locale.ZH_CN))).code == (
        "phone_daily_limit"
    )
    w.clock.current = refused.retry_at.astimezone(UTC)
    await w.send()


async def test_ten_codes_a_day_per_account_across_phones():
    w = world()
    for n in range(10):
        await w.send(f"1370000{n:04d}")
    refused = await w.refusal(w.codes.send(ME, "13700009999", Locale.ZH_CN))
    assert refused.code == "account_daily_limit"
    assert refused.retry_at == next_day_start(w.clock.now())
    await w.send("13700009999", OTHER)  # another account is not held back by mine


async def test_five_wrong_tries_void_the_code_even_for_the_right_one():
    w = world()
    code = await w.send()
    for left in (4, 3, 2, 1):
        refused = await w.refusal(w.codes.check(ME, PHONE_A, wrong(code)))
        assert (refused.code, refused.tries_left) == ("wrong_code", left)
    fifth = await w.refusal(w.codes.check(ME, PHONE_A, wrong(code)))
    assert fifth.code == "too_many_tries" and fifth.retry_at is not None
    sixth = await w.refusal(w.codes.check(ME, PHONE_A, code))
    assert sixth.code == "too_many_tries"
    w.clock.advance(minutes=1)
    await w.codes.check(ME, PHONE_A, await w.send())  # a new code starts afresh


async def test_what_is_not_a_code_is_not_a_try():
    w = world()
    code = await w.send()
    for typed in ("12345", "1234567", "abcdef", "１２３４５６", ""):
        assert (await w.refusal(w.codes.check(ME, PHONE_A, typed))).code == "not_a_code"
    await w.codes.check(ME, PHONE_A, f" {code[:3]} {code[3:]} ")


async def test_a_code_is_only_for_its_phone_and_its_account():
    w = world()
    code = await w.send(PHONE_A)
    assert (await w.refusal(w.codes.check(ME, PHONE_B, code))).code == "no_code"
    assert (await w.refusal(w.codes.check(OTHER, PHONE_A, code))).code == "no_code"
    # Neither counted against the code: it still works for whom it was sent.
    await w.codes.check(ME, PHONE_A, code)


async def test_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch):
    w = world()
    code = await w.send()
    compared: list[tuple[str, str]] = []
    real = phone_codes.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(phone_codes.hmac, "compare_digest", spy)
    await w.refusal(w.codes.check(ME, PHONE_A, wrong(code)))
    await w.codes.check(ME, PHONE_A, code)
    assert len(compared) == 2 and all(len(a) == len(b) == 64 for a, b in compared)


async def test_an_sms_the_provider_refused_uses_nothing_up():
    w = world()
    w.outbox.failing = True
    for _ in range(7):
        assert (await w.refusal(w.codes.send(ME, PHONE_A, Locale.ZH_CN))).code == "sms_failed"
    w.outbox.failing = False
    code = await w.send()  # no wait, no day's sends used
    await w.codes.check(ME, PHONE_A, code)
    [ledger] = w.store.phones.values()
    assert ledger.sends == 1


def test_a_mainland_mobile_number_is_what_is_typed():
    assert mainland_mobile("138 0000 0007") == "13800000007"
    assert mainland_mobile("+86 138-0000-0007") == "13800000007"
    assert mainland_mobile("１３８００００００07") == "13800000007"
    for bad in ("12800000007", "1380000000", "138000000071", "0871-64332710", "hello", ""):
        assert mainland_mobile(bad) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["send", "right", "wrong", "other_account", "wait"]),
            st.integers(min_value=0, max_value=400),
        ),
        max_size=40,
    )
)
def test_no_sequence_gets_past_the_limits(steps: list[tuple[str, int]]):
    """Whatever anyone does, in any order: at most 5 codes a day reach a phone, a code works
    at most once, and never after 5 wrong tries or 5 minutes."""

    async def run() -> None:
        w = world(FixedClock(datetime(2026, 11, 27, 2, 0, tzinfo=UTC)))
        live: str | None = None
        sent_on: list[object] = []
        sent_at = w.clock.now()
        wrong_tries = 0
        for action, seconds in steps:
            if action == "wait":
                w.clock.advance(seconds=seconds * 10)
            elif action == "send":
                try:
                    live = await w.send()
                    sent_at, wrong_tries = w.clock.now(), 0
                    sent_on.append(local_date(sent_at))
                except PhoneCodeRefused:
                    pass
            elif action == "other_account" and live is not None:
                with pytest.raises(PhoneCodeRefused):
                    await w.codes.check(OTHER, PHONE_A, live)
            elif live is not None:
                typed = live if action == "right" else wrong(live)
                try:
                    await w.codes.check(ME, PHONE_A, typed)
                except PhoneCodeRefused:
                    if action == "wrong":
                        wrong_tries += 1
                    continue
                assert action == "right" and wrong_tries < 5
                assert w.clock.now() < sent_at + timedelta(minutes=5)
                live = None
        limit = CodePolicy().sends_per_phone_a_day
        assert all(sent_on.count(day) <= limit for day in sent_on)
        assert len(w.outbox.sent) == len(sent_on)

    asyncio.run(run())

"""Proving a phone is the person's own by a code sent to it by SMS (channels without a
"share my contact": WeChat).

The rules are pure transitions of two ledgers, the phone's and the account's; a store applies
one under a lock (one row per phone and per account), so two instances never both accept the
same code, nor a sixth guess:

- a code is 6 digits from `secrets`, stored only as a keyed digest bound to the phone and the
  account it was sent for, compared in constant time;
- it is valid 5 minutes; one code is live per phone, a new one voids the old;
- a new code no sooner than 60 s after the last; at most 5 sends per phone and 10 per account
  a day (Beijing's day), so no one is flooded with texts nor runs up the bill;
- 5 wrong tries void the code: 5 guesses at one in a million, then a new code is needed;
- every refusal says when the person can try again.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Protocol

from domain.accounts import ChatUserId
from domain.clock import Clock
from domain.errors import DomainError
from domain.identifiers import normalise_phone
from domain.locales import Locale
from domain.timezone import CHINA, local_date

CODE_DIGITS = 6


@dataclass(frozen=True, slots=True)
class CodePolicy:
    valid_for: timedelta = timedelta(minutes=5)
    resend_after: timedelta = timedelta(seconds=60)
    sends_per_phone_a_day: int = 5
    sends_per_account_a_day: int = 10
    tries: int = 5


class PhoneCodeRefused(DomainError):
    """code: resend_too_soon, phone_daily_limit, account_daily_limit, sms_failed, no_code,
    expired, wrong_code, too_many_tries, not_a_code. `retry_at` (when set) is the moment a new
    code can be asked for; `tries_left` follows a wrong code."""

    def __init__(
        self, code: str, *, retry_at: datetime | None = None, tries_left: int | None = None
    ) -> None:
        super().__init__(code, retry_at=retry_at, tries_left=tries_left)
        self.retry_at = retry_at
        self.tries_left = tries_left


class SmsFailed(Exception):
    """The provider did not take the message (down, refused, misconfigured)."""


class SmsSender(Protocol):
    async def send(self, phone: str, code: str, locale: Locale) -> None:
        """Sends the code to the phone in the provider's approved template; raises SmsFailed."""
        ...


class CodeHasher(Protocol):
    """Keyed digests (the keys never reach the database), so a copied table gives away neither
    the phones nor the codes: 10^6 codes and 10^10 phones are few enough to try them all
    against a plain hash."""

    def phone_key(self, phone: str) -> str: ...

    def code_digest(self, phone: str, account: ChatUserId, code: str) -> str: ...


@dataclass(frozen=True, slots=True)
class PhoneLedger:
    """What is kept per phone (by its keyed digest)."""

    account: ChatUserId | None = None  # whom the live code was sent for
    code_digest: str | None = None  # the live code; None: none live
    sent_at: datetime | None = None
    wrong_tries: int = 0
    day: date | None = None  # the Beijing day `sends` counts
    sends: int = 0


@dataclass(frozen=True, slots=True)
class AccountLedger:
    day: date | None = None
    sends: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """A transition's outcome: the ledgers to write (None: unchanged), and the refusal to give
    once they are written (a wrong try is counted, then refused)."""

    phone: PhoneLedger | None = None
    account: AccountLedger | None = None
    refused: PhoneCodeRefused | None = None


class CodeStore(Protocol):
    async def change(
        self,
        phone_key: str,
        account: ChatUserId,
        decide: Callable[[PhoneLedger, AccountLedger], Decision],
    ) -> Decision:
        """Reads both ledgers, locked against every other instance, applies `decide` and
        writes what it returns, all or nothing."""
        ...


MOBILE = re.compile(r"1[3-9]\d{9}")


def mainland_mobile(raw: str) -> str | None:
    """The 11-digit mainland mobile number typed (spaces, dashes, +86 allowed), or None."""
    phone = normalise_phone(raw)
    return phone if MOBILE.fullmatch(phone) else None


def next_day_start(now: datetime) -> datetime:
    """The start of tomorrow in Beijing: when the daily limits begin again."""
    tomorrow = local_date(now) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=CHINA)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _today_count(day: date | None, sends: int, today: date) -> int:
    return sends if day == today else 0


def decide_send(
    policy: CodePolicy,
    now: datetime,
    account_id: ChatUserId,
    digest: str,
    phone: PhoneLedger,
    account: AccountLedger,
) -> Decision:
    """A new code (by its `digest`) for the phone, voiding any other; or why not now."""
    today = local_date(now)
    if phone.sent_at is not None and now < phone.sent_at + policy.resend_after:
        wait = phone.sent_at + policy.resend_after
        return Decision(refused=PhoneCodeRefused("resend_too_soon", retry_at=wait))
    phone_sends = _today_count(phone.day, phone.sends, today)
    if phone_sends >= policy.sends_per_phone_a_day:
        return Decision(refused=PhoneCodeRefused("phone_daily_limit", retry_at=next_day_start(now)))
    account_sends = _today_count(account.day, account.sends, today)
    if account_sends >= policy.sends_per_account_a_day:
        return Decision(
            refused=PhoneCodeRefused("account_daily_limit", retry_at=next_day_start(now))
        )
    return Decision(
        PhoneLedger(account_id, digest, now, 0, today, phone_sends + 1),
        AccountLedger(today, account_sends + 1),
    )


def decide_unsent(digest: str, phone: PhoneLedger, account: AccountLedger) -> Decision:
    """The provider did not take the message: the code goes, and so does what it counted, so
    an outage neither uses up a person's sends nor makes them wait."""
    if phone.code_digest != digest:
        return Decision()  # replaced meanwhile: nothing of ours to take back
    return Decision(
        PhoneLedger(day=phone.day, sends=max(phone.sends - 1, 0)),
        AccountLedger(account.day, max(account.sends - 1, 0)),
    )


def decide_check(
    policy: CodePolicy,
    now: datetime,
    account_id: ChatUserId,
    digest: str,
    phone: PhoneLedger,
) -> Decision:
    """The code typed (by its `digest`) against the live one. A right code is used up; a wrong
    one counts, and the last wrong one voids the code."""
    if phone.code_digest is None or phone.account != account_id or phone.sent_at is None:
        # Nothing was sent to this phone for this account (or it is used up): nothing to guess
        # at, and another account's code is not touched.
        if phone.account == account_id and phone.wrong_tries >= policy.tries:
            return Decision(
                refused=PhoneCodeRefused("too_many_tries", retry_at=_resend_at(policy, now, phone))
            )
        return Decision(refused=PhoneCodeRefused("no_code"))
    if now >= phone.sent_at + policy.valid_for:
        spent = replace(phone, code_digest=None)
        return Decision(
            spent, refused=PhoneCodeRefused("expired", retry_at=_resend_at(policy, now, phone))
        )
    if hmac.compare_digest(phone.code_digest, digest):
        return Decision(replace(phone, code_digest=None, wrong_tries=0))
    tries = phone.wrong_tries + 1
    if tries >= policy.tries:
        void = replace(phone, code_digest=None, wrong_tries=tries)
        return Decision(
            void,
            refused=PhoneCodeRefused("too_many_tries", retry_at=_resend_at(policy, now, phone)),
        )
    left = policy.tries - tries
    return Decision(
        replace(phone, wrong_tries=tries), refused=PhoneCodeRefused("wrong_code", tries_left=left)
    )


def _resend_at(policy: CodePolicy, now: datetime, phone: PhoneLedger) -> datetime:
    """When a new code can be sent to the phone: after the resend wait, or tomorrow."""
    today = local_date(now)
    if _today_count(phone.day, phone.sends, today) >= policy.sends_per_phone_a_day:
        return next_day_start(now)
    if phone.sent_at is not None:
        return max(now, phone.sent_at + policy.resend_after)
    return now


@dataclass(frozen=True, slots=True)
class CodeSent:
    phone: str
    valid_until: datetime
    resend_at: datetime


class PhoneCodes:
    """The use case: send a code to a phone for an account; check the code typed back."""

    def __init__(
        self,
        store: CodeStore,
        sender: SmsSender,
        hasher: CodeHasher,
        clock: Clock,
        policy: CodePolicy | None = None,
        make_code: Callable[[], str] = new_code,
    ) -> None:
        self._store = store
        self._sender = sender
        self._hasher = hasher
        self._clock = clock
        self.policy = policy or CodePolicy()
        self._make_code = make_code

    async def send(self, account: ChatUserId, phone: str, locale: Locale) -> CodeSent:
        code = self._make_code()
        digest = self._hasher.code_digest(phone, account, code)
        key = self._hasher.phone_key(phone)
        now = self._clock.now()
        decision = await self._store.change(
            key, account, lambda p, a: decide_send(self.policy, now, account, digest, p, a)
        )
        if decision.refused is not None:
            raise decision.refused
        try:
            await self._sender.send(phone, code, locale)
        except SmsFailed:
            await self._store.change(key, account, lambda p, a: decide_unsent(digest, p, a))
            raise PhoneCodeRefused("sms_failed", retry_at=now) from None
        return CodeSent(phone, now + self.policy.valid_for, now + self.policy.resend_after)

    async def check(self, account: ChatUserId, phone: str, typed: str) -> None:
        """Returns when the code is the live one for this phone and account (and uses it up);
        raises PhoneCodeRefused otherwise."""
        code = "".join(typed.split())
        if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
            raise PhoneCodeRefused("not_a_code")  # not a guess: no try is counted
        digest = self._hasher.code_digest(phone, account, code)
        now = self._clock.now()
        decision = await self._store.change(
            self._hasher.phone_key(phone),
            account,
            lambda p, _a: decide_check(self.policy, now, account, digest, p),
        )
        if decision.refused is not None:
            raise decision.refused

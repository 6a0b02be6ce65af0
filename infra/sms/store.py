"""The codes' ledgers in the database, one row per phone and per account, each change made
under row locks (SELECT … FOR UPDATE on PostgreSQL; SQLite takes one writer at a time)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.accounts import ChatUserId
from domain.phone_codes import AccountLedger, Decision, PhoneLedger
from infra.db import models


def _connection() -> str:
    return models.PhoneCode._meta.default_connection or "default"


class KeyedCodeHasher:
    """HMAC-SHA256 under a key derived from SECURITY_SECRET_KEY (`Signer.key_for("sms-code")`):
    the table holds neither a phone nor a code, nor a digest anyone without the key could
    reverse by trying every phone or code."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the SMS code key must be at least 32 bytes")
        self._key = key

    def _mac(self, *parts: str) -> str:
        return hmac.new(self._key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()

    def phone_key(self, phone: str) -> str:
        return self._mac("phone", phone)

    def code_digest(self, phone: str, account: ChatUserId, code: str) -> str:
        # Bound to the phone and the account: a code is worth nothing for another of either.
        return self._mac("code", phone, str(int(account)), code)


class TortoiseCodeStore:
    async def _rows_exist(self, phone_key: str, account: ChatUserId) -> None:
        """Both rows, before the transaction locks them (two instances creating one at once:
        one insert wins, the other finds it)."""
        for model, key in (
            (models.PhoneCode, {"phone_key": phone_key}),
            (models.SmsQuota, {"account_id": int(account)}),
        ):
            if await model.exists(**key):
                continue
            try:
                await model.create(**key)
            except IntegrityError:
                pass

    async def change(
        self,
        phone_key: str,
        account: ChatUserId,
        decide: Callable[[PhoneLedger, AccountLedger], Decision],
    ) -> Decision:
        await self._rows_exist(phone_key, account)
        async with in_transaction(_connection()) as db:
            # Always the phone's row first, then the account's: no two changes wait on each
            # other in opposite order.
            row = await (
                models.PhoneCode.filter(phone_key=phone_key).select_for_update().using_db(db).get()
            )
            quota = await (
                models.SmsQuota.filter(account_id=int(account))
                .select_for_update()
                .using_db(db)
                .get()
            )
            decision = decide(
                PhoneLedger(
                    account=ChatUserId(row.account_id) if row.account_id is not None else None,
                    code_digest=row.code_digest,
                    sent_at=row.sent_at,
                    wrong_tries=row.wrong_tries,
                    day=row.day,
                    sends=row.sends,
                ),
                AccountLedger(quota.day, quota.sends),
            )
            if (phone := decision.phone) is not None:
                row.account_id = int(phone.account) if phone.account is not None else None
                row.code_digest = phone.code_digest
                row.sent_at = phone.sent_at
                row.wrong_tries = phone.wrong_tries
                row.day = phone.day
                row.sends = phone.sends
                await row.save(using_db=db)
            if (counted := decision.account) is not None:
                quota.day, quota.sends = counted.day, counted.sends
                await quota.save(using_db=db)
        return decision

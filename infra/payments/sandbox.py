"""The sandbox payment provider: a stand-in for WeChat Pay that behaves like one.

Its QR code opens the web view's checkout page; "pay" records the payment in the sandbox's own
ledger and sends a signed notification over HTTP to the product, exactly as a real provider
calls back. Reconciliation queries the same ledger, so "paid but the notification got lost"
(S9) can be shown and tested.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from domain.payment import CURRENCY, InvalidNotification, PaymentEvent
from infra.db import models

SIGNATURE = "X-Sandbox-Signature"
TIMESTAMP = "X-Sandbox-Timestamp"
MAX_SKEW = 300  # seconds; older notifications are replays


class SandboxProvider:
    name = "sandbox"

    def __init__(self, base_url: str, secret: bytes) -> None:
        self._base_url = base_url
        self._secret = secret

    def _mac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def checkout_token(self, order_number: str) -> str:
        return self._mac(f"checkout:{order_number}")[:32]

    def checkout_url(self, order_number: str) -> str:
        return f"{self._base_url}/sandbox/pay/{order_number}?t={self.checkout_token(order_number)}"

    async def create(
        self, order_number: str, amount_fen: int, description: str, expires_at: datetime
    ) -> str:
        await models.SandboxPayment.update_or_create(
            order_number=order_number,
            defaults={"amount_fen": amount_fen, "expires_at": expires_at, "state": "open"},
        )
        return self.checkout_url(order_number)

    async def query(self, order_number: str) -> PaymentEvent | None:
        row = await models.SandboxPayment.get_or_none(order_number=order_number)
        if row is None:
            return None
        return PaymentEvent(
            order_number=row.order_number,
            paid=row.state == "paid",
            amount_fen=row.amount_fen,
            currency=CURRENCY,
            transaction_id=row.transaction_id,
            paid_at=row.paid_at,
        )

    async def close(self, order_number: str) -> None:
        await models.SandboxPayment.filter(order_number=order_number, state="open").update(
            state="closed"
        )

    async def pay(self, order_number: str, now: datetime) -> PaymentEvent | None:
        """The payer scans and confirms: once only; a closed (expired) order cannot be paid."""
        changed = await models.SandboxPayment.filter(
            order_number=order_number, state="open"
        ).update(state="paid", transaction_id=f"SBX{secrets.token_hex(8).upper()}", paid_at=now)
        event = await self.query(order_number)
        return event if event is not None and (changed or event.paid) else None

    def notification(
        self, event: PaymentEvent, now: datetime, trade_state: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(
            {
                "order_number": event.order_number,
                "trade_state": trade_state or ("SUCCESS" if event.paid else "PAYERROR"),
                "amount_fen": event.amount_fen,
                "currency": event.currency,
                "transaction_id": event.transaction_id,
                "paid_at": event.paid_at.isoformat() if event.paid_at else None,
            }
        ).encode()
        timestamp = str(int(now.timestamp()))
        signature = self._mac(f"{timestamp}\n{body.decode()}")
        return {SIGNATURE: signature, TIMESTAMP: timestamp}, body

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> PaymentEvent:
        timestamp = headers.get(TIMESTAMP, "")
        expected = self._mac(f"{timestamp}\n{body.decode(errors='replace')}")
        if not hmac.compare_digest(headers.get(SIGNATURE, "").encode(), expected.encode()):
            raise InvalidNotification("bad_signature")
        if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > MAX_SKEW:
            raise InvalidNotification("stale_timestamp")
        try:
            data = json.loads(body)
            paid_at = data.get("paid_at")
            return PaymentEvent(
                order_number=str(data["order_number"]),
                paid=data["trade_state"] == "SUCCESS",
                amount_fen=int(data["amount_fen"]),
                currency=str(data["currency"]),
                transaction_id=data.get("transaction_id"),
                paid_at=datetime.fromisoformat(paid_at).astimezone(UTC) if paid_at else None,
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidNotification("bad_resource") from None

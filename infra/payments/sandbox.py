"""The sandbox payment provider: a stand-in for WeChat Pay that behaves like one.

Its QR code opens the web view's checkout page; "pay" records the payment in the sandbox's own
ledger and sends a signed notification over HTTP to the product, exactly as a real provider
calls back. Reconciliation queries the same ledger, so "paid but the notification got lost"
(S9) can be shown and tested.

Inside WeChat's browser it plays WeChat Pay's JSAPI too: a prepay id bound to the order and the
payer's openid, bridge parameters signed like WeChat's (an HMAC here, the sandbox holds no RSA
key), and a payment the WeChat stand-in's fake `WeixinJSBridge` confirms for that openid only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from domain.payment import (
    CURRENCY,
    InvalidNotification,
    JsapiRequest,
    PaymentEvent,
    pay_sign_message,
)
from infra.db import models

SIGNATURE = "X-Sandbox-Signature"
TIMESTAMP = "X-Sandbox-Timestamp"
MAX_SKEW = 300  # seconds; older notifications are replays
JSAPI_SIGN_TYPE = "HMAC-SHA256"
LOCAL_APPID = "wxsandbox"


class SandboxRefused(Exception):
    """A JSAPI payment the sandbox will not take; nothing changed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SandboxProvider:
    name = "sandbox"

    def __init__(self, base_url: str, secret: bytes, *, appid: str = LOCAL_APPID) -> None:
        self._base_url = base_url
        self._secret = secret
        self.appid = appid  # the Official Account's: its openids are the payers

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

    def _prepay_id(self, order_number: str, openid: str) -> str:
        return f"sbx_{order_number}_{self._mac(f'jsapi:{order_number}:{openid}')[:24]}"

    def _pay_sign(self, time_stamp: str, nonce_str: str, package: str) -> str:
        message = pay_sign_message(self.appid, time_stamp, nonce_str, package)
        return self._mac(message.decode())

    async def create_jsapi(
        self,
        order_number: str,
        amount_fen: int,
        description: str,
        expires_at: datetime,
        openid: str,
        *,
        now: datetime,
    ) -> JsapiRequest:
        await models.SandboxPayment.get_or_create(
            order_number=order_number,
            defaults={"amount_fen": amount_fen, "expires_at": expires_at, "state": "open"},
        )
        time_stamp, nonce = str(int(now.timestamp())), secrets.token_hex(16)
        package = f"prepay_id={self._prepay_id(order_number, openid)}"
        return JsapiRequest(
            self.appid,
            time_stamp,
            nonce,
            package,
            JSAPI_SIGN_TYPE,
            self._pay_sign(time_stamp, nonce, package),
        )

    async def pay_jsapi(
        self, bridge: Mapping[str, str], openid: str, now: datetime
    ) -> PaymentEvent:
        """The payer confirmed in WeChat's checkout: the parameters must be ours, unchanged, and
        for this payer (a prepay id is bound to one openid, as WeChat Pay's is)."""
        package = str(bridge.get("package", ""))
        expected = self._pay_sign(
            str(bridge.get("timeStamp", "")), str(bridge.get("nonceStr", "")), package
        )
        if bridge.get("appId") != self.appid or not hmac.compare_digest(
            str(bridge.get("paySign", "")).encode(), expected.encode()
        ):
            raise SandboxRefused("bad_pay_sign")
        prepay_id = package.removeprefix("prepay_id=")
        order_number = prepay_id.split("_")[1] if prepay_id.count("_") == 2 else ""
        if not hmac.compare_digest(
            prepay_id.encode(), self._prepay_id(order_number, openid).encode()
        ):
            raise SandboxRefused("not_this_payer")
        event = await self.pay(order_number, now)
        if event is None:
            raise SandboxRefused("order_closed")
        return event

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

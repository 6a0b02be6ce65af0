"""Alipay face-to-face payment (当面付, alipay.trade.precreate): the QR code a learner scans with
Alipay, and Alipay's word on it.

Keys in public-key mode (公钥模式): our application's RSA private key signs requests, Alipay's
public key checks its answers and notifications, RSA2 (SHA256withRSA) only. The SDK's client is
synchronous (`urllib`), so every call runs in a worker thread and the event loop stays free.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from alipay import AliPay as SdkClient
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig as SdkConfig

from domain.payment import CURRENCY, InvalidNotification, PaymentEvent

__all__ = ["AliPay", "AliPayConfig", "AliPayError"]

log = logging.getLogger(__name__)

GATEWAY = "https://openapi.alipay.com/gateway.do"
BEIJING = timezone(timedelta(hours=8))
HTTP_TIMEOUT = 15  # seconds: a worker thread must never hang
SUBJECT_MAX = 256
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_]{6,64}")
OK = "10000"
PAID_STATES = frozenset(
    {"TRADE_SUCCESS", "TRADE_FINISHED"}
)  # FINISHED: no refund possible any more
# Before the payer scans, Alipay has no trade for a precreated order: "not exist" is its normal
# answer then, not an error.
NOT_EXIST = "ACQ.TRADE_NOT_EXIST"
NOTHING_TO_CLOSE = PAID_STATES | {"TRADE_CLOSED"}


@dataclass(frozen=True, slots=True)
class AliPayConfig:
    app_id: str
    app_private_key_pem: str = field(repr=False)
    alipay_public_key_pem: str
    notify_url: str
    seller_id: str | None = None  # the merchant's 2088… PID: checked in notifications when set
    gateway: str = GATEWAY


class AliPayError(Exception):
    """Alipay refused a call or could not be asked; nothing changed on our side."""

    def __init__(self, operation: str, code: str, sub_code: str = "") -> None:
        self.operation = operation
        self.code = code
        self.sub_code = sub_code
        super().__init__(f"{operation}: {code} {sub_code}".rstrip())


class AliPay:
    name = "alipay"

    def __init__(self, config: AliPayConfig, now: Callable[[], datetime]) -> None:
        self._config = config
        self._now = now
        # verbose=False: at debug level the SDK would log every signed request.
        self._sdk = SdkClient(
            appid=config.app_id,
            app_notify_url=config.notify_url,
            app_private_key_string=config.app_private_key_pem,
            alipay_public_key_string=config.alipay_public_key_pem,
            sign_type="RSA2",
            config=SdkConfig(timeout=HTTP_TIMEOUT),
        )
        self._sdk._gateway = config.gateway

    async def create(
        self, order_number: str, amount_fen: int, description: str, expires_at: datetime
    ) -> str:
        _check_order_number(order_number)
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        answer = await self._call(
            "alipay.trade.precreate",
            order_number,
            {
                "out_trade_no": order_number,
                "total_amount": yuan(amount_fen),
                "subject": description[:SUBJECT_MAX],
                # Absolute: Alipay refuses payment after it even if the close below never came
                # (before the payer scans, Alipay has no trade that close could reach).
                "time_expire": _beijing(expires_at),
            },
            notify_url=self._config.notify_url,
        )
        qr_code = answer.get("qr_code")
        if answer.get("code") != OK or not isinstance(qr_code, str):
            raise self._refused("create", order_number, answer)
        return qr_code

    async def query(self, order_number: str) -> PaymentEvent | None:
        trade = await self._trade(order_number)
        if trade is None:
            return None
        try:
            return _event(trade, paid_at_field="send_pay_date")
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise self._refused("query", order_number, {"code": "bad_answer"}) from None

    async def close(self, order_number: str) -> None:
        _check_order_number(order_number)
        answer = await self._call(
            "alipay.trade.close", order_number, {"out_trade_no": order_number}
        )
        if answer.get("code") == OK or answer.get("sub_code") == NOT_EXIST:
            return  # closed, or never scanned (time_expire keeps it unpayable)
        # Alipay refuses to close a paid or already closed trade: its state tells whether that
        # is the caller's no-op or a failure worth retrying.
        trade = await self._trade(order_number)
        if trade is None or trade.get("trade_status") in NOTHING_TO_CLOSE:
            return
        raise self._refused("close", order_number, answer)

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> PaymentEvent:
        """Alipay POSTs the trade as form fields, signed RSA2 over the sorted fields without
        sign and sign_type. A replay of a genuine notification is a duplicate (Alipay itself
        repeats one for 25 hours), which exactly-once makes harmless."""
        try:
            fields = dict(
                parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            )
        except (UnicodeDecodeError, ValueError):
            raise InvalidNotification("bad_resource") from None
        signature = fields.pop("sign", "")
        if not signature or fields.pop("sign_type", "RSA2") != "RSA2":
            raise InvalidNotification("bad_signature")
        try:
            verified = self._sdk.verify(dict(fields), signature)
        except (AliPayException, ValueError, TypeError, IndexError):
            verified = False
        if not verified:
            raise InvalidNotification("bad_signature")
        if fields.get("app_id") != self._config.app_id or (
            self._config.seller_id is not None and fields.get("seller_id") != self._config.seller_id
        ):
            raise InvalidNotification("wrong_merchant")
        if fields.get("trade_status") not in PAID_STATES:
            raise InvalidNotification("not_a_payment")
        try:
            return _event(fields, paid_at_field="gmt_payment")
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise InvalidNotification("bad_resource") from None

    async def _trade(self, order_number: str) -> dict[str, Any] | None:
        _check_order_number(order_number)
        answer = await self._call(
            "alipay.trade.query", order_number, {"out_trade_no": order_number}
        )
        if answer.get("code") != OK:
            if answer.get("sub_code") == NOT_EXIST:
                return None
            raise self._refused("query", order_number, answer)
        if answer.get("out_trade_no") != order_number:
            raise self._refused("query", order_number, {"code": "bad_answer"})
        return answer

    async def _call(
        self, method: str, order_number: str, biz_content: dict[str, str], **params: str
    ) -> dict[str, Any]:
        # The request's timestamp is ours (the Clock, Beijing time), not the SDK's local now().
        data = self._sdk.build_body(method, biz_content, timestamp=_beijing(self._now()), **params)
        try:
            answer = await asyncio.to_thread(
                self._sdk.verified_sync_response, data, method.replace(".", "_") + "_response"
            )
        except AliPayException:
            # An answer without a signature (Alipay's gateway errors): never its word.
            log.warning("alipay %s for order %s: unsigned error answer", method, order_number)
            raise AliPayError(method, "unavailable", "unsigned") from None
        except AliPayValidationError:
            log.warning("alipay %s for order %s: answer signature invalid", method, order_number)
            raise AliPayError(method, "unavailable", "bad_signature") from None
        except Exception as exc:  # the network, urllib's errors, a body that is not JSON
            log.warning(
                "alipay %s for order %s failed: %s", method, order_number, type(exc).__name__
            )
            raise AliPayError(method, "unavailable", type(exc).__name__) from exc
        return answer if isinstance(answer, dict) else {}

    def _refused(self, operation: str, order_number: str, answer: Mapping[str, Any]) -> AliPayError:
        code = str(answer.get("code") or "unexpected_answer")
        sub_code = str(answer.get("sub_code") or "")
        log.warning(
            "alipay %s for order %s refused: %s %s", operation, order_number, code, sub_code
        )
        return AliPayError(operation, code, sub_code)


def yuan(fen: int) -> str:
    """Alipay's amounts: yuan with two decimals, as a string."""
    if fen <= 0:
        raise ValueError("an amount must be positive")
    return f"{fen // 100}.{fen % 100:02d}"


def fen(amount: str) -> int:
    value = Decimal(amount) * 100
    if value != value.to_integral_value():
        raise ValueError(f"not a whole number of fen: {amount}")
    return int(value)


def _beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _utc(text: str) -> datetime:
    """Alipay's times are Beijing wall-clock times without an offset."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).astimezone(UTC)


def _check_order_number(order_number: str) -> None:
    if not OUT_TRADE_NO.fullmatch(order_number):
        raise ValueError(f"Alipay cannot take order number {order_number!r}")


def _event(trade: Mapping[str, Any], *, paid_at_field: str) -> PaymentEvent:
    """A query answer and a notification name the trade's fields alike (but the payment time)."""
    paid = trade["trade_status"] in PAID_STATES
    return PaymentEvent(
        order_number=str(trade["out_trade_no"]),
        paid=paid,
        amount_fen=fen(str(trade["total_amount"])),
        currency=CURRENCY,
        transaction_id=str(trade["trade_no"]) if paid else None,
        paid_at=_utc(str(trade[paid_at_field])) if paid and trade.get(paid_at_field) else None,
    )

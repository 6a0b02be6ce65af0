"""WeChat Pay (APIv3): Native payment (the QR code a learner scans) and JSAPI (the checkout
WeChat's browser opens for a person, by openid), and WeChat's word on either.

WeChat Pay refuses an out_trade_no made again as another trade type (OUT_TRADE_NO_USED), so the
JSAPI order of an order is `{order number}-JS` (JSAPI_SUFFIX): derived, reversible, never an
order number itself (ours never hold "-"). Notifications and query answers for it are the
order's; the query and the close ask about both numbers.

Public-key mode: WeChat Pay signs answers and notifications with the public key shown on the
merchant platform, so nothing downloads platform certificates. The SDK's client is synchronous
(`requests`), so every call runs in a worker thread and the event loop stays free.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from wechatpayv3 import WeChatPay as SdkClient
from wechatpayv3 import WeChatPayType

from domain.payment import CURRENCY, InvalidNotification, JsapiRequest, PaymentEvent

__all__ = [
    "InvalidNotification",
    "WeChatPay",
    "WeChatPayConfig",
    "WeChatPayError",
    "jsapi_number",
    "order_number_of",
]

log = logging.getLogger(__name__)

GATEWAY = "https://api.mch.weixin.qq.com"
BEIJING = timezone(timedelta(hours=8))
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
NOTIFICATION_MAX_AGE = timedelta(minutes=5)
HTTP_TIMEOUT = (5, 15)  # seconds to connect, to read: a worker thread must never hang
DESCRIPTION_MAX = 127
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")  # it is also a URL path segment
# The JSAPI order's number is the order's plus this suffix. An order number is WeChat's
# alphabet without "-" and short enough for the suffix, so the mapping is one-to-one.
JSAPI_SUFFIX = "-JS"
ORDER_NUMBER = re.compile(rf"[0-9A-Za-z_|*]{{6,{32 - len(JSAPI_SUFFIX)}}}")
PAID_STATES = frozenset({"SUCCESS", "REFUND"})  # REFUND: paid first, a refund began later
NOTHING_TO_CLOSE = PAID_STATES | {"CLOSED", "REVOKED"}


@dataclass(frozen=True, slots=True)
class WeChatPayConfig:
    mchid: str
    appid: str
    api_v3_key: str = field(repr=False)
    cert_serial_no: str
    private_key_pem: str = field(repr=False)
    public_key_pem: str
    public_key_id: str
    notify_url: str
    gateway: str = GATEWAY


class WeChatPayError(Exception):
    """WeChat Pay refused a call or could not be asked; nothing changed on our side."""

    def __init__(self, operation: str, status: int, code: str, message: str = "") -> None:
        self.operation = operation
        self.status = status
        self.code = code
        super().__init__(f"{operation}: HTTP {status} {code} {message}".rstrip())


class WeChatPay:
    name = "wechatpay"

    def __init__(self, config: WeChatPayConfig) -> None:
        if len(config.api_v3_key.encode()) != 32:
            raise ValueError("the WeChat Pay APIv3 key must be 32 bytes")
        public_key = load_pem_public_key(config.public_key_pem.encode())
        if not isinstance(public_key, RSAPublicKey):
            raise ValueError("the WeChat Pay public key must be an RSA key")
        self._config = config
        self._public_key = public_key
        self._resource_cipher = AESGCM(config.api_v3_key.encode())
        # No logger for the SDK: at debug level it writes headers and whole bodies.
        self._sdk = SdkClient(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=config.mchid,
            private_key=config.private_key_pem,
            cert_serial_no=config.cert_serial_no,
            appid=config.appid,
            apiv3_key=config.api_v3_key,
            notify_url=config.notify_url,
            timeout=HTTP_TIMEOUT,
            public_key=config.public_key_pem,
            public_key_id=config.public_key_id,
        )
        self._sdk._core._gate_way = config.gateway.rstrip("/")

    async def create(
        self, order_number: str, amount_fen: int, description: str, expires_at: datetime
    ) -> str:
        status, answer = await self._order(
            "create", order_number, amount_fen, description, expires_at, WeChatPayType.NATIVE
        )
        code_url = answer.get("code_url")
        if status != 200 or not isinstance(code_url, str):
            raise self._refused("create", order_number, status, answer)
        return code_url

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
        """`/v3/pay/transactions/jsapi` for the payer's openid (of this appid), and the
        bridge's parameters signed with the merchant key as v3 documents it."""
        status, answer = await self._order(
            "create_jsapi",
            order_number,
            amount_fen,
            description,
            expires_at,
            WeChatPayType.JSAPI,
            payer={"openid": openid},
        )
        prepay_id = answer.get("prepay_id")
        if status != 200 or not isinstance(prepay_id, str):
            raise self._refused("create_jsapi", order_number, status, answer)
        time_stamp, nonce = str(int(now.timestamp())), secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        pay_sign = self._sdk.sign([self._config.appid, time_stamp, nonce, package])
        return JsapiRequest(self._config.appid, time_stamp, nonce, package, "RSA", pay_sign)

    async def _order(
        self,
        operation: str,
        order_number: str,
        amount_fen: int,
        description: str,
        expires_at: datetime,
        kind: WeChatPayType,
        **extra: Any,
    ) -> tuple[int, dict[str, Any]]:
        """One order at WeChat Pay, Native or JSAPI: the same amount and expiry, each under its
        own out_trade_no (the order's number for Native, the JSAPI number for JSAPI)."""
        _check_order_number(order_number)
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        return await self._call(
            operation,
            order_number,
            self._sdk.pay,
            description=description[:DESCRIPTION_MAX],
            out_trade_no=_out_trade_no(order_number, kind),
            amount={"total": amount_fen, "currency": CURRENCY},
            time_expire=expires_at.astimezone(BEIJING).isoformat(timespec="seconds"),
            pay_type=kind,
            **extra,
        )

    async def query(self, order_number: str) -> PaymentEvent | None:
        """WeChat's word on the order, whichever way it was paid: the Native number, then the
        JSAPI one (unknown there when nobody opened the checkout in WeChat). A payment under
        either wins over "not paid"; if both were paid, the Native one is told here and the
        other reaches the order by its notification, a double charge for staff."""
        events: list[PaymentEvent] = []
        for number in (order_number, jsapi_number(order_number)):
            transaction = await self._transaction(order_number, number)
            if transaction is None:
                continue
            try:
                event = _event(transaction)
            except (KeyError, TypeError, ValueError):
                raise self._refused("query", order_number, 200, {"code": "bad_answer"}) from None
            if event.paid:
                return event
            events.append(event)
        return events[0] if events else None

    async def close(self, order_number: str) -> None:
        """Closes both the Native and the JSAPI order; one that fails does not keep the other
        open (the first failure is raised after both were tried)."""
        _check_order_number(order_number)
        failures: list[WeChatPayError] = []
        for number in (order_number, jsapi_number(order_number)):
            try:
                await self._close(order_number, number)
            except WeChatPayError as failure:
                failures.append(failure)
        if failures:
            raise failures[0]

    async def _close(self, order_number: str, out_trade_no: str) -> None:
        status, answer = await self._call(
            "close", order_number, self._sdk.close, out_trade_no=out_trade_no
        )
        if status == 204:
            return
        # WeChat refuses to close an order that is paid, already closed or unknown to it; its
        # state tells whether that is the caller's no-op or a failure worth retrying.
        transaction = await self._transaction(order_number, out_trade_no)
        if transaction is None or transaction.get("trade_state") in NOTHING_TO_CLOSE:
            return
        raise self._refused("close", order_number, status, answer)

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> PaymentEvent:
        fields = {name.lower(): value for name, value in headers.items()}
        self._verify_signature(fields, body)
        timestamp = fields["wechatpay-timestamp"]
        if (
            not timestamp.isdigit()
            or abs(now.timestamp() - int(timestamp)) > NOTIFICATION_MAX_AGE.total_seconds()
        ):
            raise InvalidNotification("stale_timestamp")
        envelope, transaction = self._decrypt(body)
        if envelope.get("event_type") != "TRANSACTION.SUCCESS":
            raise InvalidNotification("not_a_payment")
        if (
            transaction.get("mchid") != self._config.mchid
            or transaction.get("appid") != self._config.appid
        ):
            raise InvalidNotification("wrong_merchant")
        if transaction.get("trade_state") != "SUCCESS":
            raise InvalidNotification("not_a_payment")
        try:
            return _event(transaction)
        except (KeyError, TypeError, ValueError):
            raise InvalidNotification("bad_resource") from None

    async def _transaction(self, order_number: str, out_trade_no: str) -> dict[str, Any] | None:
        _check_order_number(order_number)
        status, answer = await self._call(
            "query", order_number, self._sdk.query, out_trade_no=out_trade_no
        )
        if status == 404 and answer.get("code") == "ORDER_NOT_EXIST":
            return None
        if status != 200 or answer.get("out_trade_no") != out_trade_no:
            raise self._refused("query", order_number, status, answer)
        return answer

    async def _call(
        self, operation: str, order_number: str, method: Callable[..., Any], **params: Any
    ) -> tuple[int, dict[str, Any]]:
        try:
            status, text = await asyncio.to_thread(method, **params)
        except Exception as exc:
            # The SDK raises a bare Exception for an answer whose signature fails, requests its
            # own for the network: either way WeChat's word is missing.
            log.warning(
                "wechatpay %s for order %s failed: %s: %s",
                operation,
                order_number,
                type(exc).__name__,
                exc,
            )
            raise WeChatPayError(operation, 0, "unavailable", type(exc).__name__) from exc
        return status, _json_object(text)

    def _refused(
        self, operation: str, order_number: str, status: int, answer: Mapping[str, Any]
    ) -> WeChatPayError:
        code = str(answer.get("code") or "unexpected_answer")
        log.warning(
            "wechatpay %s for order %s refused: HTTP %s %s", operation, order_number, status, code
        )
        return WeChatPayError(operation, status, code, str(answer.get("message") or ""))

    def _verify_signature(self, headers: Mapping[str, str], body: bytes) -> None:
        signature = headers.get("wechatpay-signature", "")
        timestamp = headers.get("wechatpay-timestamp", "")
        nonce = headers.get("wechatpay-nonce", "")
        if (
            not (signature and timestamp and nonce)
            or headers.get("wechatpay-serial") != self._config.public_key_id
            or headers.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE
        ):
            raise InvalidNotification("bad_signature")
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        try:
            self._public_key.verify(
                base64.b64decode(signature, validate=True),
                message,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, binascii.Error):
            raise InvalidNotification("bad_signature") from None

    def _decrypt(self, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            if (
                envelope.get("resource_type") != "encrypt-resource"
                or resource.get("algorithm") != "AEAD_AES_256_GCM"
            ):
                raise ValueError(resource.get("algorithm"))
            plain = self._resource_cipher.decrypt(
                str(resource["nonce"]).encode(),
                base64.b64decode(resource["ciphertext"], validate=True),
                str(resource.get("associated_data") or "").encode(),
            )
            transaction = json.loads(plain)
            if not isinstance(transaction, dict):
                raise TypeError(type(transaction).__name__)
        except (InvalidTag, KeyError, TypeError, ValueError, AttributeError, binascii.Error):
            raise InvalidNotification("bad_resource") from None
        return envelope, transaction


def _check_order_number(order_number: str) -> None:
    if not ORDER_NUMBER.fullmatch(order_number):
        raise ValueError(f"WeChat Pay cannot take order number {order_number!r}")


def jsapi_number(order_number: str) -> str:
    """The out_trade_no of the order's JSAPI order at WeChat Pay."""
    return order_number + JSAPI_SUFFIX


def _out_trade_no(order_number: str, kind: WeChatPayType) -> str:
    return jsapi_number(order_number) if kind is WeChatPayType.JSAPI else order_number


def order_number_of(out_trade_no: str) -> str:
    """The order an out_trade_no of ours stands for: itself (Native) or the JSAPI number less
    its suffix. Anything else was never made by us: ValueError."""
    number = out_trade_no.removesuffix(JSAPI_SUFFIX)
    if not ORDER_NUMBER.fullmatch(number):
        raise ValueError(f"not an out_trade_no of ours: {out_trade_no!r}")
    return number


def _json_object(text: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _event(transaction: Mapping[str, Any]) -> PaymentEvent:
    """The query answer and a notification's resource share one shape: the transaction."""
    amount = transaction["amount"]
    paid = transaction["trade_state"] in PAID_STATES
    fen = amount.get("payer_total") if paid else None
    return PaymentEvent(
        order_number=order_number_of(str(transaction["out_trade_no"])),
        paid=paid,
        amount_fen=int(amount["total"] if fen is None else fen),
        currency=str(amount.get("currency") or CURRENCY),
        transaction_id=str(transaction["transaction_id"]) if paid else None,
        paid_at=_utc(transaction["success_time"]) if paid else None,
    )


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time without an offset: {text}")
    return moment.astimezone(UTC)

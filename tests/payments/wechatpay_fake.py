"""A loopback WeChat Pay (APIv3, Native and JSAPI payment) built to the published rules, for
offline tests.

Like WeChat Pay it checks the merchant's request signature on every call, keeps Native and JSAPI
orders (each under its out_trade_no, with its trade type),
signs every answer with the platform key (public-key mode), and writes payment notifications
signed and AEAD_AES_256_GCM-encrypted. It runs as an aiohttp app on the test's loop: the
adapter's blocking client works from a worker thread, so a client that blocked the loop would
hang here instead of passing.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BEIJING = timezone(timedelta(hours=8))
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW = 300  # seconds WeChat Pay tolerates between its clock and a request's timestamp
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d")
AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')
TRADE_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭"}


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8, like the apiclient_key.pem the merchant platform hands out."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def beijing_time(moment: datetime) -> str:
    return moment.astimezone(BEIJING).isoformat(timespec="seconds")


def compact_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def server_time() -> float:
    """WeChat Pay's own clock, the one place this stand-in reads the host's time: the real
    server keeps the world's time, and wechatpayv3 stamps each request with the host's
    `time.time()`, which the product's Clock does not reach; a test clock here would reject
    every genuine request as skewed (named in pyproject's per-file ignores)."""
    return time.time()


@dataclass
class FakeOrder:
    request: dict[str, Any]  # the order exactly as the merchant sent it
    code_url: str  # Native: the QR code's text; JSAPI: the prepay id
    trade_type: str = "NATIVE"  # or "JSAPI"
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    payer_total: int | None = None

    @property
    def total(self) -> int:
        return int(self.request["amount"]["total"])


@dataclass
class FakeWeChatPay:
    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_key: rsa.RSAPublicKey
    platform_key: rsa.RSAPrivateKey
    public_key_id: str
    api_v3_key: str
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # why requests got 401 SIGN_ERROR
    # WeChat Pay takes only an https notify_url; the whole product run locally has an http one
    # (its end-to-end test posts the notifications itself).
    https_notify_url: bool = True
    _nonces: set[str] = field(default_factory=set)

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._authenticate])
        base = "/v3/pay/transactions"
        app.router.add_post(f"{base}/native", self._create)
        app.router.add_post(f"{base}/jsapi", self._create_jsapi)
        app.router.add_get(f"{base}/out-trade-no/{{number}}", self._query)
        app.router.add_post(f"{base}/out-trade-no/{{number}}/close", self._close)
        return app

    # What a payer and WeChat Pay do outside the merchant's API.

    def mark_paid(self, order_number: str, *, at: datetime, payer_total: int | None = None) -> str:
        """The payer scans the code (Native) or confirms the checkout in WeChat (JSAPI); returns
        WeChat's transaction id."""
        order = self.orders[order_number]
        expires = datetime.fromisoformat(order.request["time_expire"])
        if order.trade_state != "NOTPAY" or at > expires:
            raise ValueError(f"order {order_number} cannot be paid: {order.trade_state}")
        order.trade_state = "SUCCESS"
        order.transaction_id = "4200" + "".join(secrets.choice("0123456789") for _ in range(24))
        order.success_time = at
        order.payer_total = order.total if payer_total is None else payer_total
        return order.transaction_id

    def transaction(self, order_number: str) -> dict[str, Any]:
        """The order as the query API shows it (and as a notification's resource carries it)."""
        order = self.orders[order_number]
        shown: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": order_number,
            "trade_type": order.trade_type,
            "trade_state": order.trade_state,
            "trade_state_desc": TRADE_STATE_DESC[order.trade_state],
            "amount": {"total": order.total, "payer_currency": "CNY"},
            "promotion_detail": [],
            "scene_info": {"device_id": ""},
        }
        if order.trade_state == "SUCCESS":
            assert order.success_time is not None
            shown |= {
                "transaction_id": order.transaction_id,
                "bank_type": "OTHERS",
                "attach": "",
                "success_time": beijing_time(order.success_time),
                # JSAPI: the payer the order was made for; Native: whoever scanned.
                "payer": order.request.get("payer") or {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
                "amount": {
                    "total": order.total,
                    "payer_total": order.payer_total,
                    "currency": "CNY",
                    "payer_currency": "CNY",
                },
            }
        return shown

    def notification(
        self,
        order_number: str,
        *,
        at: datetime,
        signed_by: rsa.RSAPrivateKey | None = None,
        api_v3_key: str | None = None,
        event_type: str = "TRANSACTION.SUCCESS",
        **resource_changes: Any,
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body of WeChat Pay's payment notification for the order, as of `at`.

        The keyword overrides forge what WeChat Pay would never send, for rejection tests.
        """
        plain = compact_json(self.transaction(order_number) | resource_changes).encode()
        nonce = secrets.token_hex(6)  # WeChat uses 12 characters
        associated_data = "transaction"
        key = (api_v3_key or self.api_v3_key).encode()
        ciphertext = AESGCM(key).encrypt(nonce.encode(), plain, associated_data.encode())
        envelope = {
            "id": str(uuid.uuid4()),
            "create_time": beijing_time(at),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": associated_data,
                "nonce": nonce,
            },
        }
        body = compact_json(envelope).encode()
        headers = self._signature_headers(body, at=at, key=signed_by or self.platform_key)
        return headers | {"Content-Type": "application/json"}, body

    # The merchant API.

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        problem = self._authorization_problem(
            request.method, request.raw_path, body, request.headers.get("Authorization", "")
        )
        if problem is not None:
            self.rejected.append(problem)
            return self._answer(401, {"code": "SIGN_ERROR", "message": problem})
        response: web.StreamResponse = await handler(request)
        return response

    def _authorization_problem(
        self, method: str, path: str, body: bytes, authorization: str
    ) -> str | None:
        scheme, _, params = authorization.partition(" ")
        if scheme != SIGNATURE_TYPE:
            return "missing or unknown authorization scheme"
        fields = dict(AUTH_FIELD.findall(params))
        if fields.keys() != {"mchid", "nonce_str", "signature", "timestamp", "serial_no"}:
            return "incomplete authorization"
        if fields["mchid"] != self.mchid:
            return "mchid does not match"
        if fields["serial_no"] != self.merchant_serial_no:
            return "unknown merchant certificate serial"
        if not fields["timestamp"].isdigit():
            return "bad timestamp"
        if abs(server_time() - int(fields["timestamp"])) > MAX_CLOCK_SKEW:
            return "timestamp too far from now"
        if fields["nonce_str"] in self._nonces:
            return "nonce_str reused"
        message = (
            f"{method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode()
            + body
            + b"\n"
        )
        try:
            self.merchant_key.verify(
                base64.b64decode(fields["signature"]),
                message,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return "signature does not verify with the merchant certificate"
        self._nonces.add(fields["nonce_str"])
        return None

    async def _create(self, request: web.Request) -> web.Response:
        return await self._make(request, "code_url", jsapi=False)

    async def _create_jsapi(self, request: web.Request) -> web.Response:
        """JSAPI: the same order rules, a payer's openid of this appid, a prepay id back."""
        return await self._make(request, "prepay_id", jsapi=True)

    async def _make(self, request: web.Request, answer: str, *, jsapi: bool) -> web.Response:
        try:
            order = json.loads(await request.read())
        except ValueError:
            return self._param_error("body is not JSON")
        problem = self._native_order_problem(order)
        payer = order.get("payer") if isinstance(order, dict) else None
        if problem is None and jsapi and (not isinstance(payer, dict) or not payer.get("openid")):
            problem = "payer.openid is required for JSAPI"
        if problem is not None:
            return self._param_error(problem)
        number = order["out_trade_no"]
        known = self.orders.get(number)
        if known is not None:
            # A retry of the same order gets the same code; anything else reuses a number.
            if known.request == order and known.trade_state == "NOTPAY":
                return self._answer(200, {answer: known.code_url})
            return self._answer(403, {"code": "OUT_TRADE_NO_USED", "message": "商户订单号重复"})
        if jsapi:
            code = f"wx{secrets.token_hex(15)}"
        else:
            code = f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(7)}"
        trade_type = "JSAPI" if jsapi else "NATIVE"
        self.orders[number] = FakeOrder(request=order, code_url=code, trade_type=trade_type)
        return self._answer(200, {answer: code})

    def _native_order_problem(self, order: Any) -> str | None:
        if not isinstance(order, dict):
            return "body is not an object"
        if order.get("mchid") != self.mchid or order.get("appid") != self.appid:
            return "appid and mchid do not match"
        description = order.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 127:
            return "description must be 1-127 characters"
        if not OUT_TRADE_NO.fullmatch(str(order.get("out_trade_no", ""))):
            return "out_trade_no must be 6-32 of 0-9 A-Z a-z _-|*"
        if not RFC3339.fullmatch(str(order.get("time_expire", ""))):
            return "time_expire must be RFC 3339 with an offset"
        notify_url = str(order.get("notify_url", ""))
        scheme = "https://" if self.https_notify_url else "http"
        if not notify_url.startswith(scheme) or "?" in notify_url:
            return "notify_url must be https without a query"
        amount = order.get("amount")
        if (
            not isinstance(amount, dict)
            or not isinstance(amount.get("total"), int)
            or amount["total"] <= 0
            or amount.get("currency", "CNY") != "CNY"
        ):
            return "amount.total must be a positive integer of fen in CNY"
        return None

    async def _query(self, request: web.Request) -> web.Response:
        if request.query.get("mchid") != self.mchid:
            return self._param_error("mchid missing or wrong")
        number = request.match_info["number"]
        if number not in self.orders:
            return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        return self._answer(200, self.transaction(number))

    async def _close(self, request: web.Request) -> web.Response:
        try:
            mchid = json.loads(await request.read()).get("mchid")
        except (ValueError, AttributeError):
            mchid = None
        if mchid != self.mchid:
            return self._param_error("mchid missing or wrong")
        order = self.orders.get(request.match_info["number"])
        if order is None:
            return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        if order.trade_state == "SUCCESS":
            return self._answer(400, {"code": "ORDERPAID", "message": "订单已支付"})
        if order.trade_state == "CLOSED":
            return self._answer(400, {"code": "ORDER_CLOSED", "message": "订单已关闭"})
        order.trade_state = "CLOSED"
        return self._answer(204, None)

    def _param_error(self, message: str) -> web.Response:
        return self._answer(400, {"code": "PARAM_ERROR", "message": message})

    def _answer(self, status: int, payload: dict[str, Any] | None) -> web.Response:
        text = "" if payload is None else compact_json(payload)
        now = datetime.fromtimestamp(server_time(), BEIJING)
        headers = self._signature_headers(text.encode(), at=now, key=self.platform_key)
        headers["Request-ID"] = str(uuid.uuid4())
        if payload is None:
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status,
            text=text,
            content_type="application/json",
            charset="utf-8",
            headers=headers,
        )

    def _signature_headers(
        self, body: bytes, *, at: datetime, key: rsa.RSAPrivateKey
    ) -> dict[str, str]:
        timestamp = str(int(at.timestamp()))
        nonce = secrets.token_hex(16).upper()
        return {
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign(key, f"{timestamp}\n{nonce}\n".encode() + body + b"\n"),
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

"""A loopback Alipay open-platform gateway built to the published rules (RSA2, public-key mode).

- Requests: the gateway's parameters (app_id, method, charset, sign_type, timestamp, version,
  notify_url, biz_content) signed by the application's private key, SHA256withRSA over the
  parameters except `sign`, sorted by name, joined `k=v` with `&` (values not URL-encoded).
- Answers: `{"<method>_response": {...}, "sign": "..."}`, signed by Alipay's key over the exact
  text of the `<method>_response` object.
- Face-to-face precreate: the trade only exists at Alipay once the payer scans the QR code;
  before that, query and close answer `ACQ.TRADE_NOT_EXIST`. `time_expire` stops payment.
- Notifications: form-encoded POST fields, signed like requests but without `sign` and
  `sign_type` in the signed text.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BEIJING = timezone(timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def rsa2_sign(key: rsa.RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def signed_text(params: dict[str, str], *, without: tuple[str, ...]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in without)


def beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT)


@dataclass
class FakeTrade:
    out_trade_no: str
    total_amount: str
    subject: str
    time_expire: datetime
    notify_url: str
    qr_code: str
    scanned: bool = False
    status: str = "WAIT_BUYER_PAY"
    trade_no: str | None = None
    paid_at: datetime | None = None


@dataclass
class FakeAlipay:
    app_id: str
    app_key: rsa.RSAPublicKey
    alipay_key: rsa.RSAPrivateKey
    now: Callable[[], datetime]
    seller_id: str = "2088102177846880"
    trades: dict[str, FakeTrade] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/gateway.do", self._gateway)
        return app

    # What the payer does in the Alipay app

    def scan(self, order_number: str) -> None:
        self.trades[order_number].scanned = True

    def mark_paid(self, order_number: str, *, at: datetime) -> str:
        trade = self.trades[order_number]
        if trade.status != "WAIT_BUYER_PAY" or at > trade.time_expire:
            raise ValueError(f"Alipay would not take payment for {order_number} ({trade.status})")
        trade.scanned = True
        trade.status = "TRADE_SUCCESS"
        trade.trade_no = f"2026{secrets.randbelow(10**24):024d}"
        trade.paid_at = at
        return trade.trade_no

    def notification(
        self,
        order_number: str,
        *,
        at: datetime,
        key: rsa.RSAPrivateKey | None = None,
        after_signing: dict[str, str] | None = None,
        **fields: str,
    ) -> bytes:
        """The body Alipay POSTs to notify_url. `fields` forge what is signed (another app_id,
        amount or status), `after_signing` what a tamperer changes in transit, `key` another
        signer."""
        trade = self.trades[order_number]
        assert trade.trade_no is not None and trade.paid_at is not None
        params = {
            "notify_time": beijing(at),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_id": "2088102177846881",
            "buyer_logon_id": "159****5620",
            "seller_id": self.seller_id,
            "trade_status": trade.status,
            "total_amount": trade.total_amount,
            "receipt_amount": trade.total_amount,
            "buyer_pay_amount": trade.total_amount,
            "subject": trade.subject,
            "gmt_create": beijing(trade.paid_at - timedelta(seconds=20)),
            "gmt_payment": beijing(trade.paid_at),
            "fund_bill_list": '[{"amount":"'
            + trade.total_amount
            + '","fundChannel":"ALIPAYACCOUNT"}]',
        }
        params.update(fields)
        params["sign"] = rsa2_sign(
            key or self.alipay_key, signed_text(params, without=("sign", "sign_type"))
        )
        params["sign_type"] = "RSA2"
        params.update(after_signing or {})
        return urlencode(params).encode()

    async def notify(self, order_number: str, body: bytes) -> tuple[int, str]:
        """POSTs a notification to the order's notify_url, as Alipay's servers do."""
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with http.post(
                self.trades[order_number].notify_url,
                data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            ) as answer:
                return answer.status, await answer.text()

    # The gateway

    async def _gateway(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        method = params.get("method", "")
        self.calls.append(method)
        response_type = method.replace(".", "_") + "_response"
        problem = self._authentication_problem(params)
        if problem is not None:
            self.rejected.append(problem)
            return self._answer(
                response_type,
                {"code": "40002", "msg": "Invalid Arguments", "sub_code": problem},
            )
        try:
            biz = json.loads(params.get("biz_content", "{}"))
        except ValueError:
            return self._answer(response_type, _invalid("isv.invalid-biz-content"))
        handler = {
            "alipay.trade.precreate": self._precreate,
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
        }.get(method)
        if handler is None:
            return self._answer(response_type, _invalid("isv.invalid-method"))
        return self._answer(response_type, handler(biz, params))

    def _authentication_problem(self, params: dict[str, str]) -> str | None:
        if params.get("app_id") != self.app_id:
            return "isv.invalid-app-id"
        if params.get("sign_type") != "RSA2" or params.get("charset") != "utf-8":
            return "isv.invalid-signature-type"
        try:
            sent = datetime.strptime(params.get("timestamp", ""), TIME_FORMAT).replace(
                tzinfo=BEIJING
            )
        except ValueError:
            return "isv.invalid-timestamp"
        if abs(sent - self.now()) > timedelta(minutes=10):
            return "isv.invalid-timestamp"
        try:
            self.app_key.verify(
                base64.b64decode(params.get("sign", ""), validate=True),
                signed_text(params, without=("sign",)).encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return "isv.invalid-signature"
        return None

    def _precreate(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        number = str(biz.get("out_trade_no", ""))
        try:
            amount = Decimal(str(biz.get("total_amount")))
            expire = datetime.strptime(str(biz.get("time_expire")), TIME_FORMAT).replace(
                tzinfo=BEIJING
            )
        except (InvalidOperation, ValueError):
            return _invalid("isv.invalid-parameter")
        if (
            not number
            or not biz.get("subject")
            or amount.as_tuple().exponent != -2
            or not Decimal("0.01") <= amount <= Decimal("100000000")
            or not params.get("notify_url", "").startswith(("http://", "https://"))
        ):
            return _invalid("isv.invalid-parameter")
        trade = self.trades.get(number)
        if trade is not None:
            if trade.status in {"TRADE_SUCCESS", "TRADE_FINISHED"}:
                return _business("ACQ.TRADE_HAS_SUCCESS")
            if trade.status == "TRADE_CLOSED":
                return _business("ACQ.TRADE_HAS_CLOSE")
            if trade.total_amount != biz["total_amount"]:
                return _business("ACQ.CONTEXT_INCONSISTENT")
        else:
            trade = FakeTrade(
                out_trade_no=number,
                total_amount=str(biz["total_amount"]),
                subject=str(biz["subject"]),
                time_expire=expire.astimezone(UTC),
                notify_url=params["notify_url"],
                qr_code=f"https://qr.alipay.com/bax0{secrets.token_hex(10)}",
            )
            self.trades[number] = trade
        return {"code": "10000", "msg": "Success", "out_trade_no": number, "qr_code": trade.qr_code}

    def _query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None or not trade.scanned:
            return _business("ACQ.TRADE_NOT_EXIST")
        answer: dict[str, Any] = {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "trade_no": trade.trade_no or f"2026{secrets.randbelow(10**24):024d}",
            "trade_status": trade.status,
            "total_amount": trade.total_amount,
            "buyer_logon_id": "159****5620",
        }
        if trade.paid_at is not None:
            answer["send_pay_date"] = beijing(trade.paid_at)
            answer["buyer_pay_amount"] = trade.total_amount
        return answer

    def _close(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None or not trade.scanned:
            return _business("ACQ.TRADE_NOT_EXIST")
        if trade.status != "WAIT_BUYER_PAY":
            return _business("ACQ.TRADE_STATUS_ERROR")
        trade.status = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no}

    def _answer(self, response_type: str, payload: dict[str, Any]) -> web.Response:
        inner = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        sign = rsa2_sign(self.alipay_key, inner)
        text = f'{{"{response_type}":{inner},"sign":"{sign}"}}'
        return web.Response(text=text, content_type="application/json", charset="utf-8")


def _invalid(sub_code: str) -> dict[str, Any]:
    return {"code": "40002", "msg": "Invalid Arguments", "sub_code": sub_code}


def _business(sub_code: str) -> dict[str, Any]:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code}

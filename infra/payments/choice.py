"""Several payment providers behind one QR code: the trainee scans ours with WeChat or Alipay,
and the scan page opens that app's checkout (「扫码付(微信、支付宝扫码支付)」).

The order is made at a provider only when its app opens the scan page: both providers answer
the same order number with the same QR code again, so a second scan, another instance or a
restart changes nothing. Reconciliation and expiry ask every provider, since the payer may
have used either (or, by mistake, both: a double charge for staff).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from domain.payment import JsapiProvider, JsapiRequest, NotifiedProvider, PaymentEvent

log = logging.getLogger(__name__)

# The in-app browsers announce themselves: WeChat's as MicroMessenger/x.y, Alipay's as
# AlipayClient/x.y (both on Android and iOS).
APPS = (("AlipayClient", "alipay"), ("MicroMessenger", "wechatpay"))


def app_of(user_agent: str) -> str | None:
    """The provider whose app is showing the page, or None for a plain browser."""
    for marker, provider in APPS:
        if marker in user_agent:
            return provider
    return None


class ProviderChoice:
    name = "choice"

    def __init__(self, providers: Sequence[NotifiedProvider], base_url: str, secret: bytes) -> None:
        if len({p.name for p in providers}) != len(providers) or len(providers) < 2:
            raise ValueError("a choice needs two or more different providers")
        self.providers = {provider.name: provider for provider in providers}
        self._base_url = base_url
        self._secret = secret

    def token(self, order_number: str) -> str:
        # Not a secret to the payer (it is in the QR code): it keeps strangers from walking
        # order numbers to learn amounts.
        return hmac.new(self._secret, f"scan:{order_number}".encode(), hashlib.sha256).hexdigest()[
            :32
        ]

    def scan_url(self, order_number: str) -> str:
        # The token in the path, not the query: the page's language links replace the query.
        return f"{self._base_url}/pay/{order_number}/{self.token(order_number)}"

    async def create(
        self, order_number: str, amount_fen: int, description: str, expires_at: datetime
    ) -> str:
        return self.scan_url(order_number)

    async def create_at(
        self,
        provider: str,
        order_number: str,
        amount_fen: int,
        description: str,
        expires_at: datetime,
    ) -> str:
        """The provider's own checkout URL for the order (made there on first use)."""
        return await self.providers[provider].create(
            order_number, amount_fen, description, expires_at
        )

    def jsapi(self) -> JsapiProvider | None:
        """Who takes payment inside WeChat's browser: WeChat Pay, else the sandbox playing it."""
        for name in ("wechatpay", "sandbox"):
            provider = self.providers.get(name)
            if provider is not None and hasattr(provider, "create_jsapi"):
                return provider  # type: ignore[return-value]
        return None

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
        provider = self.jsapi()
        if provider is None:
            raise LookupError("no provider here takes payment inside WeChat")
        return await provider.create_jsapi(
            order_number, amount_fen, description, expires_at, openid, now=now
        )

    async def query(self, order_number: str) -> PaymentEvent | None:
        """A payment at any provider wins over 'not paid'; each event names its provider. One
        provider that cannot be asked does not hide a payment found at another."""
        answers = await asyncio.gather(
            *(provider.query(order_number) for provider in self.providers.values()),
            return_exceptions=True,
        )
        events: list[PaymentEvent] = []
        failures: list[BaseException] = []
        for name, answer in zip(self.providers, answers, strict=True):
            if isinstance(answer, BaseException):
                failures.append(answer)
            elif answer is not None:
                events.append(replace(answer, provider=name))
        paid = [event for event in events if event.paid]
        if paid:
            return paid[0]
        if failures:
            raise failures[0]
        return events[0] if events else None

    async def close(self, order_number: str) -> None:
        """Closes at every provider; one that fails does not keep the others open."""
        results = await asyncio.gather(
            *(provider.close(order_number) for provider in self.providers.values()),
            return_exceptions=True,
        )
        failures = [result for result in results if isinstance(result, BaseException)]
        for failure in failures:
            log.warning("closing order %s: %s", order_number, type(failure).__name__)
        if failures:
            raise failures[0]

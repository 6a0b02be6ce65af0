"""WeChat's callback protocol (消息加解密 / 接入指南): what is signed, what is fresh, what was
seen before. wechatpy 1.8.18 does the signature and the AES; freshness and replays are ours.

- URL verification (GET): `signature` = SHA-1 of token, timestamp and nonce sorted and joined;
  the answer is `echostr`.
- Messages (POST): the same `signature` on the query; in safe mode (`encrypt_type=aes`) the
  body's `Encrypt` is AES-256-CBC under the EncodingAESKey (PKCS#7, our appid at the end) and
  `msg_signature` = SHA-1 of token, timestamp, nonce and the ciphertext sorted and joined.
- Refused with nothing changed: a bad signature, a timestamp more than `MAX_SKEW` away from
  the Clock (stale or from the future), a callback seen before (same signature, timestamp and
  nonce). WeChat's retries of one message (a new callback, the same MsgId) are answered without
  being handled again: `Inbound.dedup_key`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from domain.clock import Clock
from wechat.store import Memo

MAX_SKEW = timedelta(minutes=5)
# A callback's signature is remembered a little longer than it can be fresh.
REPLAY_TTL = MAX_SKEW * 2 + timedelta(minutes=1)
# WeChat retries a message 3 times within about 15 seconds; a day covers any retry.
DEDUP_TTL = timedelta(hours=1)


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Inbound:
    """A verified callback: the message as wechatpy parsed it, and how to answer in kind."""

    message: Any  # wechatpy.messages.BaseMessage or an event
    raw: Mapping[str, Any]
    encrypted: bool
    timestamp: str
    nonce: str

    @property
    def dedup_key(self) -> str:
        """WeChat's own advice: a message by its MsgId, an event by sender and CreateTime."""
        msg_id = self.raw.get("MsgId")
        if msg_id:
            return f"msg:{msg_id}"
        sender, created = self.raw.get("FromUserName", ""), self.raw.get("CreateTime", "")
        return f"event:{sender}:{created}:{self.raw.get('Event', '')}"


class Callbacks:
    def __init__(
        self,
        *,
        token: str,
        appid: str,
        encoding_aes_key: str | None,
        clock: Clock,
        seen: Memo,
    ) -> None:
        self._token = token
        self._appid = appid
        self._crypto = (
            WeChatCrypto(token, encoding_aes_key, appid) if encoding_aes_key is not None else None
        )
        self._clock = clock
        self._seen = seen

    def _signed_and_fresh(self, query: Mapping[str, str]) -> tuple[str, str, str]:
        signature = query.get("signature", "")
        timestamp = query.get("timestamp", "")
        nonce = query.get("nonce", "")
        try:
            check_signature(self._token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Refused("bad_signature") from None
        try:
            sent = int(timestamp)
        except ValueError:
            raise Refused("bad_timestamp") from None
        skew = self._clock.now().timestamp() - sent
        if abs(skew) > MAX_SKEW.total_seconds():
            raise Refused("stale" if skew > 0 else "future")
        return signature, timestamp, nonce

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The GET WeChat sends when the server URL is configured: echoes `echostr`."""
        self._signed_and_fresh(query)
        return query.get("echostr", "")

    async def open(self, query: Mapping[str, str], body: bytes) -> Inbound:
        signature, timestamp, nonce = self._signed_and_fresh(query)
        text = body.decode("utf-8", errors="strict") if body else ""
        encrypted = query.get("encrypt_type", "raw") == "aes"
        if encrypted:
            if self._crypto is None:
                raise Refused("safe_mode_not_configured")
            msg_signature = query.get("msg_signature", "")
            try:
                text = self._crypto.decrypt_message(text, msg_signature, timestamp, nonce)
            except (InvalidSignatureException, InvalidAppIdException):
                raise Refused("bad_signature") from None
            except Exception:  # a body that is not WeChat's envelope (bad XML, bad padding)
                raise Refused("bad_body") from None
            replay_key = f"{signature}:{msg_signature}"
        else:
            replay_key = signature
        try:
            message = parse_message(text)
        except Exception:
            raise Refused("bad_body") from None
        if message is None or not getattr(message, "source", None):
            raise Refused("bad_body")
        digest = hashlib.sha1(f"{timestamp}:{nonce}:{replay_key}".encode()).hexdigest()
        if not await self._seen.first(f"callback:{digest}", REPLAY_TTL):
            raise Refused("replayed")
        return Inbound(message, dict(message._data), encrypted, timestamp, nonce)

    async def first_delivery(self, inbound: Inbound) -> bool:
        return await self._seen.first(inbound.dedup_key, DEDUP_TTL)

    async def undeliver(self, inbound: Inbound) -> None:
        """The handling failed: WeChat's retry may try again."""
        await self._seen.forget(inbound.dedup_key)

    def answer(self, inbound: Inbound, reply_xml: str) -> str:
        """A passive reply in the callback's own mode: sealed in safe mode."""
        if not inbound.encrypted or self._crypto is None:
            return reply_xml
        return str(self._crypto.encrypt_message(reply_xml, inbound.nonce, inbound.timestamp))

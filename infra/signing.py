"""Signed tokens: links the bot hands out, web view sessions, receipt QR codes.

A token is `base64url(json payload) . base64url(hmac-sha256)`; the purpose is part of the MAC so
a token made for one use is worthless for another.

A key ring: the current key signs and derives every key that seals; the previous keys (during a
rotation, docs/operations.md) only verify and open. A token carries no key id: its MAC is
checked against each key in turn, so tokens issued before the rotation need nothing new.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any


class BadToken(Exception):
    """Forged, altered, expired, or made for another purpose."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        if any(len(key) < 16 for key in (secret, *previous)):
            raise ValueError("the signing secret must be at least 16 bytes")
        self._secret = secret
        # The current key again among the previous ones would only cost a second MAC.
        self._previous = tuple(dict.fromkeys(key for key in previous if key != secret))

    @property
    def rotating(self) -> bool:
        return bool(self._previous)

    def current_only(self) -> Signer:
        """The ring without its previous keys: what is left once a rotation is over."""
        return Signer(self._secret)

    def _mac(self, purpose: str, body: str, secret: bytes | None = None) -> str:
        digest = hmac.new(
            secret or self._secret, f"{purpose}\n{body}".encode(), hashlib.sha256
        ).digest()
        return _b64(digest)

    def _macs(self, purpose: str, body: str) -> list[bytes]:
        return [self._mac(purpose, body, key).encode() for key in (self._secret, *self._previous)]

    def sign(self, purpose: str, payload: dict[str, Any], *, now: datetime, ttl: int) -> str:
        body = _b64(
            json.dumps(
                {**payload, "exp": int(now.timestamp()) + ttl}, separators=(",", ":")
            ).encode()
        )
        return f"{body}.{self._mac(purpose, body)}"

    def unsign(self, purpose: str, token: str, *, now: datetime) -> dict[str, Any]:
        body, _, mac = token.partition(".")
        if not mac or not any(
            hmac.compare_digest(mac.encode(), known) for known in self._macs(purpose, body)
        ):
            raise BadToken("signature")
        try:
            payload = json.loads(_unb64(body))
        except ValueError:
            raise BadToken("payload") from None
        if not isinstance(payload, dict) or payload.get("exp", 0) < now.timestamp():
            raise BadToken("expired")
        return payload

    def key_for(self, purpose: str) -> bytes:
        """A key for another use (encrypting files), derived so it is not the signing key."""
        return self._derive(self._secret, purpose)

    def previous_keys_for(self, purpose: str) -> list[bytes]:
        """The same derivation from each previous key: they open what they sealed, nothing new."""
        return [self._derive(key, purpose) for key in self._previous]

    @staticmethod
    def _derive(secret: bytes, purpose: str) -> bytes:
        return hmac.new(secret, f"key\n{purpose}".encode(), hashlib.sha256).digest()

    def seal(self, purpose: str, value: str) -> str:
        """A token that never expires, for a printed QR code: `value.tag`, the tag a truncated
        MAC (96 bits: unguessable, and short enough for a QR code a phone reads at a glance)."""
        return f"{value}.{self._mac(purpose, value)[:16]}"

    def previous_seal(self, purpose: str, value: str) -> str | None:
        """`seal` under the key this one replaced (the first previous key), if any."""
        if not self._previous:
            return None
        return f"{value}.{self._mac(purpose, value, self._previous[0])[:16]}"

    def unseal(self, purpose: str, token: str) -> str:
        value, _, tag = token.rpartition(".")
        # Bytes: compare_digest refuses non-ASCII str, and a token is whatever a URL carried.
        if not value or not any(
            hmac.compare_digest(tag.encode(), known[:16]) for known in self._macs(purpose, value)
        ):
            raise BadToken("signature")
        return value

"""ID numbers and phones at rest (PIPL): sealed, and found through a keyed digest.

The database holds, per value, an HMAC-SHA256 digest (equality lookups and the unique index)
and an AES-256-GCM seal (the value itself, random nonce, authenticated). Both keys derive from
SECURITY_SECRET_KEY, so a copied database shows neither values nor guessable digests: the
18-digit ID numbers and 11-digit phones are few enough that a plain hash would be reversed by
trying them all.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.signing import Signer

NONCE_BYTES = 12


class PiiUnreadable(Exception):
    """A seal this key cannot open: sealed under another SECURITY_SECRET_KEY, or altered."""


class Pii:
    """An empty value (a person without a phone) stays empty in every form: there is nothing
    to hide, and no digest of a real value is empty."""

    def __init__(self, hash_key: bytes, seal_key: bytes) -> None:
        if len(hash_key) < 32 or len(seal_key) != 32:
            raise ValueError("the PII keys must be 32 bytes")
        self._hash_key = hash_key
        self._aead = AESGCM(seal_key)

    @classmethod
    def from_signer(cls, signer: Signer) -> Pii:
        return cls(signer.key_for("pii-hash"), signer.key_for("pii-seal"))

    def digest(self, value: str) -> str:
        if not value:
            return ""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def seal(self, value: str) -> str:
        if not value:
            return ""
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, value.encode(), None)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, sealed: str) -> str:
        if not sealed:
            return ""
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise PiiUnreadable(
                "a sealed ID number or phone does not open with this key: SECURITY_SECRET_KEY "
                "is not the one it was sealed with, or the value was altered"
            ) from None

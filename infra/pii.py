"""ID numbers and phones at rest (PIPL): sealed, and found through a keyed digest.

The database holds, per value, an HMAC-SHA256 digest (equality lookups and the unique index)
and an AES-256-GCM seal (the value itself, random nonce, authenticated). Both keys derive from
SECURITY_SECRET_KEY, so a copied database shows neither values nor guessable digests: the
18-digit ID numbers and 11-digit phones are few enough that a plain hash would be reversed by
trying them all.

During a key rotation (`jijiao rotate-key`, docs/operations.md) the previous keys still open seals
and make digests, so lookups try every key's digest; only the current key seals or makes the
digest a new row gets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.signing import Signer

NONCE_BYTES = 12


class PiiUnreadable(Exception):
    """A seal this key cannot open: sealed under another SECURITY_SECRET_KEY, or altered."""


class Pii:
    """An empty value (a person without a phone) stays empty in every form: there is nothing
    to hide, and no digest of a real value is empty."""

    def __init__(
        self, hash_key: bytes, seal_key: bytes, previous: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        for hashing, sealing in ((hash_key, seal_key), *previous):
            if len(hashing) < 32 or len(sealing) != 32:
                raise ValueError("the PII keys must be 32 bytes")
        self._hash_key = hash_key
        self._seal_key = seal_key
        self._aead = AESGCM(seal_key)
        self._previous = tuple(previous)
        self._previous_aeads = [AESGCM(sealing) for _, sealing in previous]

    @classmethod
    def from_signer(cls, signer: Signer) -> Pii:
        previous = zip(
            signer.previous_keys_for("pii-hash"), signer.previous_keys_for("pii-seal"), strict=True
        )
        return cls(signer.key_for("pii-hash"), signer.key_for("pii-seal"), list(previous))

    def current_only(self) -> Pii:
        """This key alone: what `jijiao rotate-key` verifies with before the old key goes."""
        return Pii(self._hash_key, self._seal_key)

    def digest(self, value: str) -> str:
        if not value:
            return ""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def digests(self, value: str) -> list[str]:
        """The value's digest under every key of the ring, current first: what a lookup matches
        while rows made before a rotation still carry an old one."""
        if not value:
            return [""]
        keys = (self._hash_key, *(hashing for hashing, _ in self._previous))
        return [hmac.new(key, value.encode(), hashlib.sha256).hexdigest() for key in keys]

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
        except (ValueError, binascii.Error):
            raw = b""
        # GCM's tag tells the right key from a wrong one: no key id needed in the seal.
        for aead in (self._aead, *self._previous_aeads):
            try:
                return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode()
            except (InvalidTag, ValueError):
                continue
        raise PiiUnreadable(
            "a sealed ID number or phone does not open with this key: SECURITY_SECRET_KEY "
            "is not the one it was sealed with, or the value was altered"
        )

    def is_current(self, sealed: str) -> bool:
        """Sealed with the current key (or empty): nothing for a rotation to do."""
        if not sealed:
            return True
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
            self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
        except (InvalidTag, ValueError, binascii.Error):
            return False
        return True

"""SECURITY_SECRET_KEY with SECURITY_PREVIOUS_KEYS: the current key seals and signs, the previous
ones only open and verify (docs/operations.md, "Rotating SECURITY_SECRET_KEY")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from application.study import FaceStore
from infra.pii import Pii, PiiUnreadable
from infra.settings import SettingsError, load_settings
from infra.signing import BadToken, Signer

NOW = datetime(2026, 12, 6, tzinfo=UTC)
OLD, NEW = b"o" * 32, b"n" * 32


def test_tokens_signed_with_the_previous_key_verify_until_it_leaves_the_ring():
    old_token = Signer(OLD).sign("webview-session", {"u": 1}, now=NOW, ttl=3600)
    ring = Signer(NEW, [OLD])
    assert ring.unsign("webview-session", old_token, now=NOW)["u"] == 1
    # Nothing new is signed with the old key.
    with pytest.raises(BadToken):
        Signer(OLD).unsign(
            "webview-session", ring.sign("webview-session", {}, now=NOW, ttl=60), now=NOW
        )
    # Their natural expiry still holds, and once the old key is dropped they are refused.
    with pytest.raises(BadToken):
        ring.unsign("webview-session", old_token, now=NOW + timedelta(seconds=3601))
    with pytest.raises(BadToken):
        Signer(NEW).unsign("webview-session", old_token, now=NOW)


def test_a_printed_receipt_tag_made_with_the_previous_key_still_verifies_during_the_rotation():
    tag = Signer(OLD).seal("receipt", "R2026000001")
    assert Signer(NEW, [OLD]).unseal("receipt", tag) == "R2026000001"
    with pytest.raises(BadToken):
        Signer(NEW).unseal("receipt", tag)


def test_values_sealed_with_the_previous_key_open_and_new_seals_need_only_the_new_key():
    old = Pii.from_signer(Signer(OLD))
    ring = Pii.from_signer(Signer(NEW, [OLD]))
    sealed_before = old.seal("110101199003078888")
    assert ring.open(sealed_before) == "110101199003078888"
    assert not ring.is_current(sealed_before)
    sealed_now = ring.seal("110101199003078888")
    assert ring.is_current(sealed_now)
    assert ring.current_only().open(sealed_now) == "110101199003078888"
    with pytest.raises(PiiUnreadable):
        ring.current_only().open(sealed_before)
    with pytest.raises(PiiUnreadable):
        old.open(sealed_now)
    # A lookup finds a row whichever key made its digest; a new row gets the new digest.
    assert ring.digests("13800138000") == [ring.digest("13800138000"), old.digest("13800138000")]
    assert ring.digest("13800138000") != old.digest("13800138000")


def test_face_files_encrypted_with_the_previous_key_read_and_reseal_under_the_new_one(
    tmp_path: Path,
):
    old_key, new_key = Signer(OLD).key_for("faces"), Signer(NEW).key_for("faces")
    photo, _ = FaceStore(tmp_path, old_key).save(7, b"jpeg bytes", np.zeros(4))
    ring = FaceStore(tmp_path, new_key, [old_key])
    assert ring.read(photo) == b"jpeg bytes"
    assert not ring.opens_with_current_key(photo)
    assert ring.reseal(photo)
    assert not ring.reseal(photo)  # already under the new key: nothing to do
    assert FaceStore(tmp_path, new_key).read(photo) == b"jpeg bytes"
    assert sorted(p.name for p in ring.sealed_files()) == ["enrolment.jpg.enc", "enrolment.npy.enc"]


def test_previous_keys_come_from_one_comma_separated_setting(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC")
    monkeypatch.setenv("SECURITY_SECRET_KEY", "n" * 32)
    monkeypatch.setenv("SECURITY_PREVIOUS_KEYS", "o" * 32 + ", " + "p" * 32)
    settings = load_settings()
    assert settings.previous_keys() == [b"o" * 32, b"p" * 32]
    assert "oooo" not in repr(settings)
    monkeypatch.setenv("SECURITY_PREVIOUS_KEYS", "short")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert refused.value.name == "SECURITY_PREVIOUS_KEYS"

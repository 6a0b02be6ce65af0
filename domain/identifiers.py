"""Chinese identifiers: resident ID numbers (GB 11643), unified social credit codes (GB 32100)."""

from __future__ import annotations

import unicodedata
from datetime import date

from domain.errors import DomainError

ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
ID_CHECK_CHARS = "10X98765432"
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = [3**i % 31 for i in range(17)]


class InvalidIdentifier(DomainError):
    """code: id_length, id_format, id_birth_date, id_check, credit_length, credit_format,
    credit_check."""


def _normalise(raw: str) -> str:
    # Phones often type full-width digits and letters (１２３Ｘ); NFKC folds them to ASCII.
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def id_check_char(first17: str) -> str:
    return ID_CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(raw: str, *, today: date | None = None) -> str:
    """The normalised 18-character ID number, or InvalidIdentifier saying what is wrong."""
    value = _normalise(raw)
    if len(value) != 18:
        raise InvalidIdentifier("id_length", length=len(value))
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise InvalidIdentifier("id_format")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdentifier("id_birth_date") from None
    if born.year < 1900 or (today is not None and born > today):
        raise InvalidIdentifier("id_birth_date")
    if id_check_char(value[:17]) != value[17]:
        raise InvalidIdentifier("id_check")
    return value


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def validate_credit_code(raw: str) -> str:
    value = _normalise(raw)
    if len(value) != 18:
        raise InvalidIdentifier("credit_length", length=len(value))
    if any(c not in CREDIT_CHARS for c in value):
        raise InvalidIdentifier("credit_format")
    if credit_check_char(value[:17]) != value[17]:
        raise InvalidIdentifier("credit_check")
    return value


def normalise_phone(raw: str) -> str:
    """Mainland mobile number as 11 digits: drops spaces, dashes and a +86 / 0086 prefix."""
    digits = "".join(c for c in unicodedata.normalize("NFKC", raw) if c.isdigit())
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits

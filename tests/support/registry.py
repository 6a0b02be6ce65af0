"""Registry rows for tests, with ID numbers and credit codes that pass their checks."""

from __future__ import annotations

from datetime import date

from domain.identifiers import credit_check_char, id_check_char
from infra.db import models


def id_number(sequence: int, born: str = "19850312", region: str = "530102") -> str:
    first17 = f"{region}{born}{sequence % 1000:03d}"
    return first17 + id_check_char(first17)


def credit_code(sequence: int) -> str:
    first17 = f"91530100MA6K{sequence:05d}"
    return first17 + credit_check_char(first17)


async def person(sequence: int, name: str, phone: str) -> models.Person:
    return await models.Person.create(id_number=id_number(sequence), name=name, phone=phone)


async def enterprise(sequence: int, name: str, contact_phone: str) -> models.Enterprise:
    return await models.Enterprise.create(
        credit_code=credit_code(sequence), name=name, contact_phone=contact_phone
    )


async def certificate(
    holder: models.Person,
    number: str,
    cert_type: str,
    expires_on: date,
    *,
    status: str = "valid",
    category: str | None = None,
    employer: models.Enterprise | None = None,
) -> models.Certificate:
    return await models.Certificate.create(
        number=number,
        cert_type=cert_type,
        person=holder,
        enterprise=employer,
        expires_on=expires_on,
        status=status,
        category=category,
    )

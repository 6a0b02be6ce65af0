"""Registry rows for tests, with ID numbers and credit codes that pass their checks, stored the
way the product stores them: ID numbers and phones sealed (infra.pii), never in plaintext."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from domain.identifiers import credit_check_char, id_check_char
from infra.db import models
from infra.pii import Pii
from infra.signing import Signer

# The secret every test fixture signs with (tests/conftest.py and friends), so the services a
# test builds open what these helpers seal.
SECRET = "k" * 32
PII = Pii.from_signer(Signer(SECRET.encode()))


def id_number(sequence: int, born: str = "19850312", region: str = "530102") -> str:
    first17 = f"{region}{born}{sequence % 1000:03d}"
    return first17 + id_check_char(first17)


def credit_code(sequence: int) -> str:
    first17 = f"91530100MA6K{sequence:05d}"
    return first17 + credit_check_char(first17)


def unsaved_person(id_number: str, name: str, phone: str = "") -> models.Person:
    """A registry person as stored, not yet saved (for bulk_create)."""
    return models.Person(
        id_number_hash=PII.digest(id_number),
        id_number_sealed=PII.seal(id_number),
        name=name,
        phone_hash=PII.digest(phone),
        phone_sealed=PII.seal(phone),
    )


async def holder(id_number: str, name: str, phone: str = "") -> models.Person:
    """A registry person with this exact ID number."""
    person = unsaved_person(id_number, name, phone)
    await person.save()
    return person


async def person(sequence: int, name: str, phone: str) -> models.Person:
    return await holder(id_number(sequence), name, phone)


async def enterprise(sequence: int, name: str, contact_phone: str) -> models.Enterprise:
    return await models.Enterprise.create(
        credit_code=credit_code(sequence), name=name, contact_phone_sealed=PII.seal(contact_phone)
    )


async def person_by_id_number(id_number: str) -> models.Person:
    return await models.Person.get(id_number_hash=PII.digest(id_number))


def opened(row: models.Person) -> tuple[str, str]:
    """The ID number and phone a person row holds."""
    return PII.open(row.id_number_sealed), PII.open(row.phone_sealed)


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


async def enrolment(
    cert: models.Certificate, enrolled_by: int, state: str, **fields: Any
) -> models.Enrolment:
    """A trainee's own enrolment on `cert`, active (it holds the certificate's number)."""
    return await models.Enrolment.create(
        certificate=cert,
        active_key=cert.number,
        channel="individual",
        enrolled_by=enrolled_by,
        state=state,
        **fields,
    )


async def extension_waiting(
    sequence: int, trainee: int, now: datetime, *, name: str | None = None
) -> models.Application:
    """A paid safety_b enrolment 10 days past its study window, an extension application
    waiting for staff."""
    holder_row = await person(sequence, name or f"学员{sequence:02d}", f"1380000{sequence:04d}")
    cert = await certificate(
        holder_row, f"B-53-{sequence:04d}", "safety_b", (now + timedelta(days=120)).date()
    )
    row = await enrolment(
        cert,
        trainee,
        "overdue",
        paid_at=now - timedelta(days=40),
        study_deadline=now - timedelta(days=10),
    )
    return await models.Application.create(
        kind="extension",
        enrolment=row,
        chat_user_id=trainee,
        form_file_id="f",
        created_at=now - timedelta(hours=1),
    )

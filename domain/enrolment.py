"""Enrolling certificates for continuing education (R-ENROL-1..5)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from domain.accounts import ChatUserId
from domain.certrules import categories_for, is_ce_due, is_void, void_on
from domain.clock import Clock
from domain.errors import DomainError
from domain.identity import Bindings, Registry, SupportDesk
from domain.masking import mask_id_number
from domain.registry import Certificate, Enterprise, RegistryStatus, Track, due_from
from domain.timezone import local_date


class EnrolmentState(StrEnum):
    ENROLLED = "enrolled"  # waiting for payment
    AWAITING_PAYMENT = "awaiting_payment"  # an order is open
    STUDYING = "studying"
    EXAM = "exam"
    PASSED = "passed"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"


ACTIVE_STATES = frozenset(
    {
        EnrolmentState.ENROLLED,
        EnrolmentState.AWAITING_PAYMENT,
        EnrolmentState.STUDYING,
        EnrolmentState.EXAM,
        EnrolmentState.OVERDUE,
    }
)


# Where the study window runs (R-STUDY-2): past its end they become overdue.
WINDOW_STATES = frozenset({EnrolmentState.STUDYING, EnrolmentState.EXAM})


def becomes_overdue(state: EnrolmentState, study_deadline: datetime | None, now: datetime) -> bool:
    """R-STUDY-2, R-EXT-1: the 30 days (or an approved window) ended without a pass; the next
    step is an application. Only from the states in which the window runs."""
    return state in WINDOW_STATES and study_deadline is not None and now >= study_deadline


class Channel(StrEnum):
    INDIVIDUAL = "individual"
    ENTERPRISE = "enterprise"


class EnrolmentRefused(DomainError):
    """code: not_bound, not_enterprise_contact, certificate_not_found, certificate_busy,
    certificate_void, already_enrolled, nothing_selected; for staff correcting a category:
    no_category, bad_category."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    id: int
    certificate: Certificate
    state: EnrolmentState
    channel: Channel


@dataclass(frozen=True, slots=True)
class CertificateStanding:
    """A certificate as the trainee or enterprise sees it when choosing what to enrol."""

    certificate: Certificate
    due: bool
    due_from: date
    void_on: date | None  # None: the manual gives this type no void date of ours
    enrolment: Enrolment | None
    refusal: str | None  # why it cannot be enrolled now, or None

    @property
    def enrollable(self) -> bool:
        return self.refusal is None


class Enrolments(Protocol):
    async def active_for(self, numbers: Iterable[str]) -> dict[str, Enrolment]: ...
    async def create(
        self,
        certificate: Certificate,
        channel: Channel,
        enrolled_by: ChatUserId,
        enterprise_credit_code: str | None,
        at: datetime,
    ) -> Enrolment:
        """Raises EnrolmentRefused('already_enrolled') if another active one exists."""
        ...

    async def of_person(self, id_number: str) -> list[Enrolment]: ...
    async def of_enterprise(self, credit_code: str) -> list[Enrolment]: ...


def refusal_for(certificate: Certificate, active: Enrolment | None, today: date) -> str | None:
    """R-ENROL-3: what stops this certificate from being enrolled now."""
    if active is not None:
        return "already_enrolled"
    if is_void(certificate, today):
        return "certificate_void"
    if certificate.status is RegistryStatus.BUSY:
        return "certificate_busy"
    return None


def standings(
    certificates: list[Certificate], active: dict[str, Enrolment], today: date
) -> list[CertificateStanding]:
    return [
        CertificateStanding(
            certificate=certificate,
            due=is_ce_due(certificate, today),
            due_from=due_from(certificate),
            void_on=void_on(certificate.cert_type, certificate.expires_on),
            enrolment=active.get(certificate.number),
            refusal=refusal_for(certificate, active.get(certificate.number), today),
        )
        for certificate in sorted(certificates, key=lambda c: (c.expires_on, c.number))
    ]


@dataclass(frozen=True, slots=True)
class EnrolmentOutcome:
    enrolled: list[Enrolment]
    refused: list[tuple[Certificate, str]]


class _Enrol:
    def __init__(
        self, registry: Registry, bindings: Bindings, enrolments: Enrolments, clock: Clock
    ) -> None:
        self._registry = registry
        self._bindings = bindings
        self._enrolments = enrolments
        self._clock = clock

    async def _enrol(
        self,
        account: ChatUserId,
        candidates: list[Certificate],
        numbers: list[str],
        channel: Channel,
        enterprise: str | None,
    ) -> EnrolmentOutcome:
        if not numbers:
            raise EnrolmentRefused("nothing_selected")
        by_number = {c.number: c for c in candidates}
        unknown = [n for n in numbers if n not in by_number]
        if unknown:
            # Only certificates of this person / this enterprise can be chosen at all.
            raise EnrolmentRefused("certificate_not_found")
        now = self._clock.now()
        today = local_date(now)
        active = await self._enrolments.active_for(numbers)
        enrolled: list[Enrolment] = []
        refused: list[tuple[Certificate, str]] = []
        for number in dict.fromkeys(numbers):
            certificate = by_number[number]
            refusal = refusal_for(certificate, active.get(number), today)
            if refusal is not None:
                refused.append((certificate, refusal))
                continue
            try:
                enrolled.append(
                    await self._enrolments.create(certificate, channel, account, enterprise, now)
                )
            except EnrolmentRefused as exc:
                refused.append((certificate, exc.code))
        return EnrolmentOutcome(enrolled, refused)


class MyCertificates(_Enrol):
    async def __call__(self, account: ChatUserId) -> list[CertificateStanding]:
        person = await self._bindings.person_of(account)
        if person is None:
            raise EnrolmentRefused("not_bound")
        certificates = await self._registry.certificates_of_person(person.id_number)
        active = await self._enrolments.active_for(c.number for c in certificates)
        return standings(certificates, active, local_date(self._clock.now()))


class EnrolCertificates(_Enrol):
    """The individual enrols their own certificates (R-ENROL-2)."""

    async def __call__(self, account: ChatUserId, numbers: list[str]) -> EnrolmentOutcome:
        person = await self._bindings.person_of(account)
        if person is None:
            raise EnrolmentRefused("not_bound")
        certificates = await self._registry.certificates_of_person(person.id_number)
        return await self._enrol(account, certificates, numbers, Channel.INDIVIDUAL, None)


@dataclass(frozen=True, slots=True)
class EnterpriseRoster:
    enterprise: Enterprise
    standings: list[CertificateStanding]

    def preselected(self) -> list[str]:
        """S4: only certificates due for CE are preselected; the rest can be added by hand."""
        return [s.certificate.number for s in self.standings if s.due and s.enrollable]


class EnterpriseEmployees(_Enrol):
    async def __call__(self, account: ChatUserId) -> EnterpriseRoster:
        enterprise = await self._bindings.enterprise_of(account)
        if enterprise is None:
            raise EnrolmentRefused("not_enterprise_contact")
        certificates = await self._registry.certificates_of_enterprise(enterprise.credit_code)
        active = await self._enrolments.active_for(c.number for c in certificates)
        return EnterpriseRoster(
            enterprise, standings(certificates, active, local_date(self._clock.now()))
        )


class EnrolEmployees(_Enrol):
    """An enterprise enrols several employees at once ("enrol all", R-ENROL-2)."""

    async def __call__(self, account: ChatUserId, numbers: list[str]) -> EnrolmentOutcome:
        enterprise = await self._bindings.enterprise_of(account)
        if enterprise is None:
            raise EnrolmentRefused("not_enterprise_contact")
        certificates = await self._registry.certificates_of_enterprise(enterprise.credit_code)
        return await self._enrol(
            account, certificates, numbers, Channel.ENTERPRISE, enterprise.credit_code
        )


@dataclass(frozen=True, slots=True)
class Status:
    person_enrolments: list[Enrolment]
    enterprise: Enterprise | None
    enterprise_enrolments: list[Enrolment]
    bound: bool


class MyStatus:
    def __init__(self, bindings: Bindings, enrolments: Enrolments) -> None:
        self._bindings = bindings
        self._enrolments = enrolments

    async def __call__(self, account: ChatUserId) -> Status:
        person, enterprise = await self._bindings.bound(account)
        return Status(
            person_enrolments=await self._enrolments.of_person(person.id_number) if person else [],
            enterprise=enterprise,
            enterprise_enrolments=(
                await self._enrolments.of_enterprise(enterprise.credit_code) if enterprise else []
            ),
            bound=person is not None or enterprise is not None,
        )


class RequestSupport:
    """A refusal's one-tap "contact support": the case goes to the right desk, complete."""

    def __init__(self, desk: SupportDesk) -> None:
        self._desk = desk

    async def __call__(
        self, account: ChatUserId, case: str, track: Track | None, details: dict[str, object]
    ) -> int:
        return await self._desk.record(account, case, track, details)


class RequestCategoryCorrection:
    """R-ENROL-4, S3: a wrong 施工员 category is corrected by staff, never by the trainee."""

    def __init__(self, registry: Registry, bindings: Bindings, desk: SupportDesk) -> None:
        self._registry = registry
        self._bindings = bindings
        self._desk = desk

    async def __call__(self, account: ChatUserId, number: str) -> int:
        """Asked by the holder, or by the enterprise contact for an employee's certificate."""
        person, enterprise = await self._bindings.bound(account)
        if person is None and enterprise is None:
            raise EnrolmentRefused("not_bound")
        certificates = (
            await self._registry.certificates_of_person(person.id_number) if person else []
        )
        if enterprise is not None:
            certificates += await self._registry.certificates_of_enterprise(enterprise.credit_code)
        certificate = next((c for c in certificates if c.number == number), None)
        if certificate is None:
            raise EnrolmentRefused("certificate_not_found")
        return await self._desk.record(
            account,
            "category_correction",
            certificate.track,
            {
                "id_number": mask_id_number(certificate.holder_id_number),
                "certificate": certificate.number,
                "category": certificate.category,
            },
        )


class CertificateRecords(Protocol):
    async def certificate(self, number: str) -> Certificate | None: ...
    async def set_category(self, number: str, category: str) -> None: ...


@dataclass(frozen=True, slots=True)
class CategoryCorrected:
    certificate: Certificate  # as it is now
    old: str | None
    holder: ChatUserId | None  # the holder's chat, to be told; None if they never bound it


class CorrectCategory:
    """R-ENROL-4, S3: staff set a 施工员 certificate's category from the chat, not by
    re-importing the roster. Only a category its role has (domain.certrules)."""

    def __init__(self, records: CertificateRecords, bindings: Bindings) -> None:
        self._records = records
        self._bindings = bindings

    async def __call__(self, number: str, category: str) -> CategoryCorrected:
        # Written as the roster import stores them (infra.registry_import).
        number = "".join(unicodedata.normalize("NFKC", number).split()).upper()
        category = "".join(unicodedata.normalize("NFKC", category).split())
        certificate = await self._records.certificate(number)
        if certificate is None:
            raise EnrolmentRefused("certificate_not_found", number=number)
        allowed = categories_for(certificate.cert_type, certificate.role)
        if not allowed:
            raise EnrolmentRefused("no_category", number=number)
        if category not in allowed:
            raise EnrolmentRefused("bad_category", number=number, allowed="、".join(allowed))
        if category != certificate.category:
            await self._records.set_category(certificate.number, category)
        return CategoryCorrected(
            replace(certificate, category=category),
            certificate.category,
            await self._bindings.account_of(certificate.holder_id_number),
        )

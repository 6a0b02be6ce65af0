"""The registry, bindings, enrolments and support cases, stored with Tortoise."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from tortoise.exceptions import IntegrityError

from domain import registry as domain
from domain.accounts import ChatUserId
from domain.enrolment import ACTIVE_STATES, Channel, Enrolment, EnrolmentRefused, EnrolmentState
from domain.identity import Bound
from domain.registry import CertType, RegistryStatus, SiteRole, Track
from infra.db import models
from infra.db.sql import Row, decoded, fetch, numbered
from infra.pii import Pii
from infra.repositories import reach


def person_to_domain(row: models.Person, pii: Pii) -> domain.Person:
    return _person(row.id_number_sealed, row.name, row.phone_sealed, pii)


def _person(id_number_sealed: str, name: str, phone_sealed: str, pii: Pii) -> domain.Person:
    return domain.Person(
        id_number=pii.open(id_number_sealed), name=name, phone=pii.open(phone_sealed)
    )


def enterprise_to_domain(row: models.Enterprise, pii: Pii) -> domain.Enterprise:
    return _enterprise(row.credit_code, row.name, row.contact_phone_sealed, pii)


def _enterprise(credit_code: str, name: str, phone_sealed: str, pii: Pii) -> domain.Enterprise:
    return domain.Enterprise(
        credit_code=credit_code, name=name, contact_phone=pii.open(phone_sealed)
    )


def certificate_to_domain(row: models.Certificate, pii: Pii) -> domain.Certificate:
    """Needs `person` and `enterprise` fetched (select_related)."""
    enterprise = row.enterprise
    return domain.Certificate(
        number=row.number,
        cert_type=CertType(row.cert_type),
        holder_id_number=pii.open(row.person.id_number_sealed),
        holder_name=row.person.name,
        expires_on=row.expires_on,
        status=RegistryStatus(row.status),
        category=row.category,
        role=SiteRole(row.role) if row.role else None,
        enterprise_credit_code=enterprise.credit_code if enterprise else None,
        issued_on=row.issued_on,
    )


# A certificate with its holder and enterprise, as columns of a hot read's rows (infra/db/sql.py):
# the tables are `certificate`, `person` and `cert_enterprise` (LEFT JOIN enterprise).
CERTIFICATE_COLUMNS = """certificate.number AS cert_number, certificate.cert_type AS cert_type,
    certificate.expires_on AS cert_expires_on, certificate.status AS cert_status,
    certificate.category AS cert_category, certificate.role AS cert_role,
    certificate.issued_on AS cert_issued_on, person.id_number_sealed AS holder_sealed,
    person.name AS holder_name, cert_enterprise.credit_code AS cert_credit_code"""
CERTIFICATE_JOINS = """JOIN person ON person.id = certificate.person_id
LEFT JOIN enterprise cert_enterprise ON cert_enterprise.id = certificate.enterprise_id"""


def certificate_of_row(row: Row, pii: Pii) -> domain.Certificate:
    """The certificate of a row with CERTIFICATE_COLUMNS."""
    return domain.Certificate(
        number=row["cert_number"],
        cert_type=CertType(row["cert_type"]),
        holder_id_number=pii.open(row["holder_sealed"]),
        holder_name=row["holder_name"],
        expires_on=decoded(models.Certificate, "expires_on", row["cert_expires_on"]),
        status=RegistryStatus(row["cert_status"]),
        category=row["cert_category"],
        role=SiteRole(row["cert_role"]) if row["cert_role"] else None,
        enterprise_credit_code=row["cert_credit_code"],
        issued_on=decoded(models.Certificate, "issued_on", row["cert_issued_on"]),
    )


# Whom account $1 speaks for, read on most turns (with the account, in an update: one_update):
# a person, an enterprise (as its contact), both or neither.
BOUND_COLUMNS = """person.id_number_sealed, person.name, person.phone_sealed,
    enterprise.credit_code, enterprise.name AS enterprise_name, enterprise.contact_phone_sealed"""


def bound_joins(account: str) -> str:
    """The joins BOUND_COLUMNS come from, for the account whose id is `account` (a parameter,
    or the column of a table already in the query)."""
    return f"""LEFT JOIN binding ON binding.chat_user_id = {account}
LEFT JOIN person ON person.id = binding.person_id
LEFT JOIN enterprise_contact ON enterprise_contact.chat_user_id = {account}
LEFT JOIN enterprise ON enterprise.id = enterprise_contact.enterprise_id"""


_BOUND = f"SELECT {BOUND_COLUMNS} FROM (SELECT 1 AS one) AS account {bound_joins('$1')}"
# Enrolments with their certificates (/status, the bill): WHERE and ORDER BY follow.
ENROLMENTS = f"""
SELECT enrolment.id AS enrolment_id, enrolment.state AS enrolment_state,
    enrolment.channel AS enrolment_channel, {CERTIFICATE_COLUMNS}
FROM enrolment
JOIN certificate ON certificate.id = enrolment.certificate_id
{CERTIFICATE_JOINS}
"""


class TortoiseRegistry:
    def __init__(self, pii: Pii) -> None:
        self._pii = pii

    async def person(self, id_number: str) -> domain.Person | None:
        row = await models.Person.filter(id_number_hash__in=self._pii.digests(id_number)).first()
        return person_to_domain(row, self._pii) if row else None

    async def certificates_of_person(self, id_number: str) -> list[domain.Certificate]:
        rows = await models.Certificate.filter(
            person__id_number_hash__in=self._pii.digests(id_number)
        ).select_related("person", "enterprise")
        return [certificate_to_domain(row, self._pii) for row in rows]

    async def certificate(self, number: str) -> domain.Certificate | None:
        row = await models.Certificate.get_or_none(number=number).select_related(
            "person", "enterprise"
        )
        return certificate_to_domain(row, self._pii) if row else None

    async def set_category(self, number: str, category: str) -> None:
        await models.Certificate.filter(number=number).update(category=category)

    async def enterprise(self, credit_code: str) -> domain.Enterprise | None:
        row = await models.Enterprise.get_or_none(credit_code=credit_code)
        return enterprise_to_domain(row, self._pii) if row else None

    async def certificates_of_enterprise(self, credit_code: str) -> list[domain.Certificate]:
        rows = await models.Certificate.filter(enterprise__credit_code=credit_code).select_related(
            "person", "enterprise"
        )
        return [certificate_to_domain(row, self._pii) for row in rows]


class _Known:
    """Whom the update's account is bound to, as read with the account (`row`: None until
    read, or once a binding of this update changed it)."""

    __slots__ = ("account", "row")

    def __init__(self) -> None:
        self.account: int | None = None
        self.row: Row | None = None


_update: ContextVar[_Known | None] = ContextVar("update_bound", default=None)


@contextmanager
def one_update() -> Iterator[None]:
    """Around the handling of one update: whom its account is bound to is read with the
    account (`remember_bound`, TortoiseAccountRepository.seen) and not again by each use case
    that asks (/status, the bill): one round trip less per update (issue 20). A binding made
    within it is read afresh; outside it, every ask reads."""
    known = _Known()
    token = _update.set(known)
    try:
        yield
    finally:
        known.account = known.row = None  # a task started within it outlives the update
        _update.reset(token)


def remember_bound(account: int, row: Row) -> None:
    """`row`, with BOUND_COLUMNS, is whom `account` is bound to for the rest of the update."""
    known = _update.get()
    if known is not None:
        known.account, known.row = account, row


def _forget_bound() -> None:
    """A binding changed: the update reads it afresh."""
    known = _update.get()
    if known is not None:
        known.row = None


class TortoiseBindings:
    def __init__(self, pii: Pii) -> None:
        self._pii = pii

    async def person_of(self, account: ChatUserId) -> domain.Person | None:
        return (await self.bound(account)).person

    async def bound(self, account: ChatUserId) -> Bound:
        known = _update.get()
        if known is not None and known.account == account and known.row is not None:
            row = known.row
        else:
            [row] = await fetch(models.Binding, _BOUND, [account])
        person = enterprise = None
        if row["id_number_sealed"] is not None:
            person = _person(row["id_number_sealed"], row["name"], row["phone_sealed"], self._pii)
        if row["credit_code"] is not None:
            enterprise = _enterprise(
                row["credit_code"], row["enterprise_name"], row["contact_phone_sealed"], self._pii
            )
        return Bound(person, enterprise)

    async def account_of(self, id_number: str) -> ChatUserId | None:
        person = await models.Person.get_or_none(
            id_number_hash__in=self._pii.digests(id_number)
        ).only("id")
        account = await reach.account_of(person.id) if person is not None else None
        return ChatUserId(account) if account is not None else None

    async def account_beside(self, id_number: str, account: ChatUserId) -> ChatUserId | None:
        row = await models.Binding.filter(
            person__id_number_hash__in=self._pii.digests(id_number),
            channel=await reach.channel_of(account),
        ).first()
        return ChatUserId(row.chat_user_id) if row else None

    async def bind_person(self, account: ChatUserId, id_number: str) -> None:
        person = await models.Person.get(id_number_hash__in=self._pii.digests(id_number))
        await models.Binding.create(
            chat_user_id=account, person=person, channel=await reach.channel_of(account)
        )
        _forget_bound()

    async def enterprise_of(self, account: ChatUserId) -> domain.Enterprise | None:
        return (await self.bound(account)).enterprise

    async def bind_enterprise(self, account: ChatUserId, credit_code: str) -> None:
        enterprise = await models.Enterprise.get(credit_code=credit_code)
        await models.EnterpriseContact.update_or_create(
            chat_user_id=account, defaults={"enterprise": enterprise}
        )
        _forget_bound()


def enrolment_to_domain(row: models.Enrolment, pii: Pii) -> Enrolment:
    """Needs `certificate__person` and `certificate__enterprise` fetched."""
    return Enrolment(
        id=row.id,
        certificate=certificate_to_domain(row.certificate, pii),
        state=EnrolmentState(row.state),
        channel=Channel(row.channel),
    )


class TortoiseEnrolments:
    _related = ("certificate__person", "certificate__enterprise")

    def __init__(self, pii: Pii) -> None:
        self._pii = pii

    async def active_for(self, numbers: Iterable[str]) -> dict[str, Enrolment]:
        keys = list(numbers)
        if not keys:
            return {}
        rows = await models.Enrolment.filter(active_key__in=keys).select_related(*self._related)
        return {
            row.active_key: enrolment_to_domain(row, self._pii) for row in rows if row.active_key
        }

    async def create(
        self,
        certificate: domain.Certificate,
        channel: Channel,
        enrolled_by: ChatUserId,
        enterprise_credit_code: str | None,
        at: datetime,
    ) -> Enrolment:
        row_certificate = await models.Certificate.get(number=certificate.number)
        enterprise = (
            await models.Enterprise.get(credit_code=enterprise_credit_code)
            if enterprise_credit_code
            else None
        )
        try:
            row = await models.Enrolment.create(
                certificate=row_certificate,
                active_key=certificate.number,
                channel=channel.value,
                enterprise=enterprise,
                enrolled_by=enrolled_by,
                state=EnrolmentState.ENROLLED.value,
                created_at=at,
            )
        except IntegrityError:
            # Two taps, two devices or the enterprise and the person at once: one wins.
            raise EnrolmentRefused("already_enrolled") from None
        return Enrolment(row.id, certificate, EnrolmentState.ENROLLED, channel)

    async def of_person(self, id_number: str) -> list[Enrolment]:
        digests = self._pii.digests(id_number)
        sql = f"""{ENROLMENTS}WHERE person.id_number_hash IN ({numbered(1, len(digests))})
ORDER BY enrolment.created_at DESC"""
        return self._enrolments(await fetch(models.Enrolment, sql, digests))

    async def of_enterprise(self, credit_code: str) -> list[Enrolment]:
        states = sorted(state.value for state in ACTIVE_STATES | {EnrolmentState.PASSED})
        sql = f"""{ENROLMENTS}WHERE cert_enterprise.credit_code = $1
AND enrolment.state IN ({numbered(2, len(states))})
ORDER BY enrolment.created_at DESC"""
        return self._enrolments(await fetch(models.Enrolment, sql, [credit_code, *states]))

    def _enrolments(self, rows: Iterable[Row]) -> list[Enrolment]:
        return [
            Enrolment(
                id=row["enrolment_id"],
                certificate=certificate_of_row(row, self._pii),
                state=EnrolmentState(row["enrolment_state"]),
                channel=Channel(row["enrolment_channel"]),
            )
            for row in rows
        ]


class TortoiseSupportDesk:
    def __init__(self, pii: Pii) -> None:
        self._pii = pii

    async def record(
        self,
        account: ChatUserId,
        kind: str,
        track: Track | None,
        details: dict[str, object],
        *,
        about: str | None = None,
    ) -> int:
        """The number the trainee is told is their ticket's, the one on their topic and card
        in the staff group: one person, one conversation with the desk, one number."""
        if about is not None:
            person = await models.Person.filter(id_number_hash__in=self._pii.digests(about)).first()
            if person is not None:  # the staff console acts on this person (a rebind)
                details = {**details, "person_id": person.id}
        await models.SupportRequest.create(
            chat_user_id=account, kind=kind, track=track.value if track else None, details=details
        )
        ticket, _ = await models.SupportTicket.get_or_create(chat_user_id=account)
        return ticket.id

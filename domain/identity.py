"""Binding a chat account to a registry person or an enterprise: no passwords, ever (S5, S11).

Proof of identity is a phone number the channel vouches for (Telegram: the account shares its own
contact; elsewhere an SMS code sent to the number comes back), and that phone must be the one
the registry holds for the ID number or credit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from domain.accounts import ChatUserId
from domain.errors import DomainError
from domain.masking import mask_id_number, mask_phone
from domain.registry import Certificate, Enterprise, Person, Track


class IdentityRefused(DomainError):
    """code: contact_not_own, person_not_found, name_mismatch, phone_mismatch,
    person_bound_elsewhere, account_bound_elsewhere, enterprise_not_found,
    enterprise_phone_mismatch."""


@dataclass(frozen=True, slots=True)
class PhoneProof:
    """A phone number, and whether the channel proved it belongs to the account that gave it
    (not a forwarded contact, not someone else's)."""

    phone: str
    own: bool


class Registry(Protocol):
    async def person(self, id_number: str) -> Person | None: ...
    async def certificates_of_person(self, id_number: str) -> list[Certificate]: ...
    async def enterprise(self, credit_code: str) -> Enterprise | None: ...
    async def certificates_of_enterprise(self, credit_code: str) -> list[Certificate]: ...


class Bound(NamedTuple):
    """Whom an account speaks for: its registry person, its enterprise, either or both."""

    person: Person | None
    enterprise: Enterprise | None


class Bindings(Protocol):
    """A person is bound to at most one account per channel (a Telegram account, a WeChat
    account): both proved the registry phone, so both are the person's."""

    async def person_of(self, account: ChatUserId) -> Person | None: ...
    async def bound(self, account: ChatUserId) -> Bound:
        """person_of and enterprise_of at once (one read: /status and /pay need both)."""
        ...

    async def account_of(self, id_number: str) -> ChatUserId | None:
        """The account to write to: of the person's bindings, the one they used last."""
        ...

    async def account_beside(self, id_number: str, account: ChatUserId) -> ChatUserId | None:
        """The person's account on `account`'s channel (`account` itself, another, or none)."""
        ...

    async def bind_person(self, account: ChatUserId, id_number: str) -> None: ...
    async def enterprise_of(self, account: ChatUserId) -> Enterprise | None: ...
    async def bind_enterprise(self, account: ChatUserId, credit_code: str) -> None: ...


class SupportDesk(Protocol):
    async def record(
        self,
        account: ChatUserId,
        kind: str,
        track: Track | None,
        details: dict[str, object],
        *,
        about: str | None = None,
    ) -> int:
        """Stores a case for staff and returns the number staff know it by (the trainee's
        ticket, on their topic and card). `about` is the ID number of the registry person the
        case concerns, kept so staff can act on that person (never shown, never stored in
        plaintext)."""
        ...


def _same_name(left: str, right: str) -> bool:
    return "".join(left.split()).casefold() == "".join(right.split()).casefold()


def _track_of(certificates: list[Certificate]) -> Track | None:
    return certificates[0].track if certificates else None


class BindPerson:
    def __init__(self, registry: Registry, bindings: Bindings, desk: SupportDesk) -> None:
        self._registry = registry
        self._bindings = bindings
        self._desk = desk

    async def __call__(
        self, account: ChatUserId, id_number: str, name: str, contact: PhoneProof
    ) -> Person:
        if not contact.own:
            raise IdentityRefused("contact_not_own")
        person = await self._registry.person(id_number)
        if person is None:
            # Staff look the person up by what they gave: the name as typed, the shared phone.
            raise IdentityRefused(
                "person_not_found",
                id_number=mask_id_number(id_number),
                name=" ".join(name.split())[:64],
                phone=mask_phone(contact.phone),
            )
        if not _same_name(person.name, name):
            raise IdentityRefused("name_mismatch", id_number=mask_id_number(id_number))
        if person.phone != contact.phone:
            raise IdentityRefused(
                "phone_mismatch",
                id_number=mask_id_number(id_number),
                phone=mask_phone(contact.phone),
            )
        current = await self._bindings.person_of(account)
        if current is not None and current.id_number != id_number:
            raise IdentityRefused("account_bound_elsewhere")
        # S5 on each channel: the person's account on another channel proved the same
        # registry phone, so this is the person again, not a rival; a second account on the
        # same channel is a rebind, which only staff decide.
        owner = await self._bindings.account_beside(id_number, account)
        if owner is not None and owner != account:
            # Never rebind silently: the person may have a new phone, or someone may be
            # trying to take over the identity. Staff decide, with the case in front of them.
            certificates = await self._registry.certificates_of_person(id_number)
            ticket = await self._desk.record(
                account,
                "rebind_request",
                _track_of(certificates),
                {"id_number": mask_id_number(id_number), "phone": mask_phone(contact.phone)},
                about=id_number,
            )
            raise IdentityRefused("person_bound_elsewhere", ticket=ticket)
        if owner is None:
            await self._bindings.bind_person(account, id_number)
        return person


class BindEnterprise:
    def __init__(self, registry: Registry, bindings: Bindings) -> None:
        self._registry = registry
        self._bindings = bindings

    async def __call__(
        self, account: ChatUserId, credit_code: str, contact: PhoneProof
    ) -> Enterprise:
        if not contact.own:
            raise IdentityRefused("contact_not_own")
        enterprise = await self._registry.enterprise(credit_code)
        if enterprise is None:
            raise IdentityRefused("enterprise_not_found")
        if not enterprise.contact_phone or enterprise.contact_phone != contact.phone:
            raise IdentityRefused("enterprise_phone_mismatch", phone=mask_phone(contact.phone))
        await self._bindings.bind_enterprise(account, credit_code)
        return enterprise

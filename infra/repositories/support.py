"""Support tickets, relayed messages, applications and the audit log."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from domain.desks import DeskTopic, topic_of_stage
from domain.enrolment import EnrolmentState
from domain.locales import resolve_locale
from domain.masking import mask_id_number, mask_phone
from domain.registry import TRACKS, CertType, Track
from infra.db import models
from infra.db.columns import column
from infra.pii import Pii


@dataclass(frozen=True, slots=True)
class CardEnrolment:
    cert_type: CertType
    number: str
    state: str
    study_deadline: datetime | None


@dataclass(frozen=True, slots=True)
class TraineeCard:
    """What staff see at the top of a trainee's topic: masked, complete, no need to ask."""

    chat_user_id: int
    first_name: str
    locale: str | None
    name: str | None
    id_number: str | None
    phone: str | None
    enterprise: str | None
    enrolments: list[CardEnrolment]
    orders: list[tuple[str, str, int]]  # number, status, amount
    applications: list[tuple[int, str, str]]  # id, kind, status
    recent_cases: list[str]
    track: Track | None
    ticket: int | None = None  # the number the trainee was told, as on the topic's title
    given_name: str | None = None  # typed by a person the registry does not know
    given_phone: str | None = None  # masked

    @property
    def desk_topic(self) -> DeskTopic:
        """What the case is most likely about, hence its desk: the latest enrolment's stage."""
        return topic_of_stage(EnrolmentState(self.enrolments[0].state) if self.enrolments else None)


async def trainee_card(chat_user_id: int, pii: Pii) -> TraineeCard:
    account = await models.ChatUser.get_or_none(id=chat_user_id)
    binding = await models.Binding.get_or_none(chat_user_id=chat_user_id).select_related("person")
    contact = await models.EnterpriseContact.get_or_none(chat_user_id=chat_user_id).select_related(
        "enterprise"
    )
    person = binding.person if binding else None
    enrolment_rows = (
        await models.Enrolment.filter(certificate__person_id=person.id)
        .select_related("certificate")
        .order_by("-created_at")
        if person
        else []
    )
    enrolments = [
        CardEnrolment(
            CertType(e.certificate.cert_type), e.certificate.number, e.state, e.study_deadline
        )
        for e in enrolment_rows
    ]
    orders = [
        (o.number, o.status, o.amount_fen)
        for o in await models.Order.filter(payer_chat_user_id=chat_user_id)
        .order_by("-created_at")
        .limit(5)
    ]
    applications = [
        (a.id, a.kind, a.status)
        for a in await models.Application.filter(chat_user_id=chat_user_id).order_by("-id").limit(5)
    ]
    case_rows = (
        await models.SupportRequest.filter(chat_user_id=chat_user_id).order_by("-id").limit(5)
    )
    cases = [c.kind for c in case_rows]
    # Not in the registry: what the person typed and shared is all staff have to go on.
    given = next((c.details for c in case_rows if c.kind == "person_not_found"), {})
    track = TRACKS[enrolments[0].cert_type] if enrolments else None
    ticket = await models.SupportTicket.get_or_none(chat_user_id=chat_user_id).only("id")
    return TraineeCard(
        chat_user_id=chat_user_id,
        first_name=account.first_name if account else "",
        locale=resolve_locale(account.locale, account.language_code) if account else None,
        name=person.name if person else None,  # staff tell trainees apart by name
        id_number=mask_id_number(pii.open(person.id_number_sealed)) if person else None,
        phone=mask_phone(pii.open(person.phone_sealed)) if person and person.phone_sealed else None,
        enterprise=contact.enterprise.name if contact else None,
        enrolments=enrolments,
        orders=orders,
        applications=applications,
        recent_cases=cases,
        track=track,
        ticket=ticket.id if ticket else None,
        given_name=str(given.get("name") or "") or None if person is None else None,
        given_phone=str(given.get("phone") or "") or None if person is None else None,
    )


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    id: int
    message_id: int
    text: str | None  # plain text; None: copied as it is (photo, file, formatted text...)


class TortoiseTickets:
    def __init__(self, pii: Pii) -> None:
        self._pii = pii

    async def card(self, chat_user_id: int) -> TraineeCard:
        return await trainee_card(chat_user_id, self._pii)

    async def locale_of(self, ticket: models.SupportTicket) -> str:
        account = await models.ChatUser.get_or_none(id=ticket.chat_user_id)
        if account is None:
            return resolve_locale(None, None).value
        return resolve_locale(account.locale, account.language_code).value

    async def get(self, chat_user_id: int) -> models.SupportTicket | None:
        return await models.SupportTicket.get_or_none(chat_user_id=chat_user_id)

    async def open(self, chat_user_id: int) -> tuple[models.SupportTicket, bool]:
        """The trainee's ticket, open; True when it had been closed (its topic needs reopening)."""
        ticket, _ = await models.SupportTicket.get_or_create(chat_user_id=chat_user_id)
        if ticket.status == "open":
            return ticket, False
        ticket.status = "open"
        await ticket.save(update_fields=["status"])
        return ticket, True

    async def by_thread(
        self, thread_id: int, group_id: int, default_group: int | None
    ) -> models.SupportTicket | None:
        """The ticket of a topic: thread ids are per group, and tickets from before desk
        groups (group_id None) are in the default group."""
        in_group = Q(group_id=group_id)
        if group_id == default_group:
            in_group |= Q(group_id__isnull=True)
        return await models.SupportTicket.filter(in_group, thread_id=thread_id).first()

    async def set_topic(
        self, ticket: models.SupportTicket, thread_id: int, name: str, group_id: int
    ) -> None:
        ticket.thread_id, ticket.topic_name, ticket.group_id = thread_id, name, group_id
        await ticket.save(update_fields=["thread_id", "topic_name", "group_id"])

    async def set_card(self, ticket: models.SupportTicket, message_id: int) -> None:
        ticket.card_message_id = message_id
        await ticket.save(update_fields=["card_message_id"])

    async def close(self, ticket: models.SupportTicket) -> None:
        ticket.status = "closed"
        await ticket.save(update_fields=["status"])

    async def set_banned(self, ticket: models.SupportTicket, banned: bool) -> None:
        ticket.banned = banned
        await ticket.save(update_fields=["banned"])

    async def relayed(
        self,
        ticket: models.SupportTicket,
        direction: str,
        private_id: int,
        group_id: int,
        at: datetime,
    ) -> None:
        await models.RelayedMessage.create(
            ticket=ticket,
            direction=direction,
            private_message_id=private_id,
            group_message_id=group_id,
        )
        ticket.last_message_at = at
        await ticket.save(update_fields=["last_message_at"])

    # The queue to the topic (models.DeskQueue): rows in, relayed in message order, deleted.

    async def queue(
        self, chat_user_id: int, message_id: int, text: str | None, at: datetime
    ) -> None:
        """Idempotent: Telegram delivering the same message again queues it once."""
        with contextlib.suppress(IntegrityError):
            await models.DeskQueue.create(
                chat_user_id=chat_user_id,
                message_id=message_id,
                text_sealed=self._pii.seal(text) if text else None,
                created_at=at,
            )

    async def queued(self, chat_user_id: int, limit: int = 100) -> list[QueuedMessage]:
        rows = (
            await models.DeskQueue.filter(chat_user_id=chat_user_id)
            .order_by("message_id")
            .limit(limit)
        )
        return [
            QueuedMessage(row.id, row.message_id, self._pii.open(row.text_sealed or "") or None)
            for row in rows
        ]

    async def dequeue(self, ids: list[int]) -> None:
        await models.DeskQueue.filter(id__in=ids).delete()

    async def waiting_since(self, before: datetime) -> list[int]:
        """Trainees with a message queued since before `before` (a sender that stopped)."""
        return await column(
            models.DeskQueue.filter(created_at__lt=before).distinct(), "chat_user_id"
        )

    async def claim_relay(self, chat_user_id: int, now: datetime, until: datetime) -> bool:
        """One sender per trainee at a time, across instances: a conditional UPDATE wins once."""
        won = await models.SupportTicket.filter(
            Q(relay_until__isnull=True) | Q(relay_until__lte=now), chat_user_id=chat_user_id
        ).update(relay_until=until)
        return bool(won)

    async def extend_relay(self, chat_user_id: int, until: datetime) -> None:
        await models.SupportTicket.filter(chat_user_id=chat_user_id).update(relay_until=until)

    async def release_relay(self, chat_user_id: int) -> None:
        await models.SupportTicket.filter(chat_user_id=chat_user_id).update(relay_until=None)

    async def group_copy_of(self, ticket: models.SupportTicket, private_id: int) -> int | None:
        row = await models.RelayedMessage.get_or_none(
            ticket=ticket, direction="in", private_message_id=private_id
        )
        return row.group_message_id if row else None

    async def shares_group_copy(self, ticket: models.SupportTicket, group_id: int) -> bool:
        """A burst joined into one message in the topic: editing one of its messages must not
        replace the others."""
        return (
            await models.RelayedMessage.filter(
                ticket=ticket, direction="in", group_message_id=group_id
            ).count()
            > 1
        )

    async def open_by_age(self) -> list[models.SupportTicket]:
        return await models.SupportTicket.filter(status="open", thread_id__isnull=False).order_by(
            "last_message_at"
        )

    async def find(self, query: str) -> list[int]:
        """Chat accounts whose bound person matches a name, or a full phone or ID number (their
        digests: equality is all the sealed columns allow)."""
        query = query.strip()
        people = await models.Person.filter(
            Q(name__icontains=query)
            | Q(phone_hash__in=self._pii.digests(query))
            | Q(id_number_hash__in=self._pii.digests(query.upper()))
        ).limit(10)
        bindings = await models.Binding.filter(person_id__in=[p.id for p in people])
        return [b.chat_user_id for b in bindings]


async def audit(actor_id: int, action: str, subject: str, **details: object) -> None:
    await models.AuditLog.create(actor_id=actor_id, action=action, subject=subject, details=details)

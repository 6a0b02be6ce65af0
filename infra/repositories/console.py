"""What the staff console reads and changes: lists with search, filters and pages; a person's
record; moving an identity to a new account; a registry phone changed after a check. ID numbers
and phones leave here masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from math import ceil
from typing import Generic, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from domain.certrules import categories_for
from domain.enrolment import EnrolmentState
from domain.exam import AttemptStatus, allowance, attempts_used, may_give_back
from domain.identifiers import InvalidIdentifier, normalise_phone, validate_id_number
from domain.masking import mask_id_number, mask_phone
from domain.payment import OrderStatus
from domain.registry import CertType, SiteRole
from domain.reminders import BroadcastProgress
from domain.support import ApplicationKind, ApplicationStatus
from infra.db import models
from infra.db.columns import column
from infra.db.exam_models import ExamAttempt
from infra.db.study_models import FaceReview
from infra.outbox import TortoiseBroadcasts, TortoiseOutbox
from infra.pii import Pii
from infra.repositories import reach
from infra.repositories.exams import attempt_of as exam_attempt
from infra.repositories.exams import makeups_granted
from infra.repositories.reach import channel_of
from infra.repositories.support import audit

PER_PAGE = 25
T = TypeVar("T")
M = TypeVar("M", bound=Model)
REBIND_REQUEST = "rebind_request"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    id: int
    kind: ApplicationKind
    status: ApplicationStatus
    person_id: int
    name: str
    cert_type: CertType
    cert_number: str  # masked where shown (texts.enrolment.masked_number)
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    name: str
    id_number: str  # masked
    phone: str  # masked
    certificates: int
    account: int | None  # the chat account bound to this person


@dataclass(frozen=True, slots=True)
class AttemptLine:
    id: int
    number: int
    status: AttemptStatus
    score: int | None
    started_at: datetime
    may_give_back: bool


@dataclass(frozen=True, slots=True)
class EnrolmentLine:
    id: int
    cert_type: CertType
    cert_number: str  # masked where shown (texts.enrolment.masked_number)
    category: str | None
    state: str
    paid_at: datetime | None
    study_deadline: datetime | None
    attempts: list[AttemptLine]
    role: SiteRole | None = None
    categories: tuple[str, ...] = ()  # what staff may set it to (R-ENROL-4)


@dataclass(frozen=True, slots=True)
class EnrolmentRow:
    line: EnrolmentLine
    person_id: int
    name: str
    enterprise: str | None


@dataclass(frozen=True, slots=True)
class GivenBack:
    """An exam attempt given back (S15): whom to tell, and how many attempts they now have."""

    account: int
    number: int
    left: int


@dataclass(frozen=True, slots=True)
class RebindRequest:
    id: int
    account: int
    phone: str  # masked, as given by the account asking
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PersonDetail:
    person: PersonRow
    bound_at: datetime | None
    enrolments: list[EnrolmentLine]
    applications: list[ApplicationRow]
    rebind_requests: list[RebindRequest]


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    actor_id: int
    action: str
    subject: str
    details: dict[str, object]
    created_at: datetime


class InvoiceState(StrEnum):
    NOT_DUE = "not_due"  # the order is not paid: no invoice owed
    TO_ISSUE = "to_issue"
    OVERDUE = "overdue"  # past the promised date (R-PAY-4)
    ISSUED = "issued"


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    number: str
    enterprise: str | None
    people: list[str]  # names of whom the order covers
    amount_fen: int
    provider: str
    status: OrderStatus
    created_at: datetime
    paid_at: datetime | None
    invoice_title: str
    invoice_due_on: date | None
    invoice: InvoiceState


@dataclass(frozen=True, slots=True)
class TopicRow:
    ticket: int
    account: int
    title: str  # the topic's: name, certificate type, number; never an ID number or phone
    open: bool
    banned: bool
    last_message_at: datetime | None
    link: str | None  # the topic in Telegram, for staff to jump to it


@dataclass(frozen=True, slots=True)
class ReviewRow:
    id: int
    kind: str
    account: int
    name: str | None
    status: str
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class BroadcastRow:
    id: int
    created_by: int
    created_at: datetime
    text: str
    progress: BroadcastProgress


class Rebound(StrEnum):
    """How a move of a person's identity to the account that asked for it ended."""

    MOVED = "moved"
    GONE = "gone"  # the request was already handled, or is not this person's
    ACCOUNT_TAKEN = "account_taken"  # that account is meanwhile bound to somebody else


@dataclass(frozen=True, slots=True)
class Rebinding:
    outcome: Rebound
    new_account: int | None = None
    old_account: int | None = None


def _application_row(row: models.Application) -> ApplicationRow:
    certificate = row.enrolment.certificate
    return ApplicationRow(
        id=row.id,
        kind=ApplicationKind(row.kind),
        status=ApplicationStatus(row.status),
        person_id=certificate.person_id,
        name=certificate.person.name,
        cert_type=CertType(certificate.cert_type),
        cert_number=certificate.number,
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        reason=row.reason,
    )


def _enrolment_line(row: models.Enrolment, attempts: list[ExamAttempt]) -> EnrolmentLine:
    role = SiteRole(row.certificate.role) if row.certificate.role else None
    return EnrolmentLine(
        role=role,
        categories=categories_for(row.certificate.cert_type, role),
        id=row.id,
        cert_type=CertType(row.certificate.cert_type),
        cert_number=row.certificate.number,
        category=row.certificate.category,
        state=row.state,
        paid_at=row.paid_at,
        study_deadline=row.study_deadline,
        attempts=_attempt_lines(attempts),
    )


def _order_row(order: models.Order, people: list[str], today: date) -> OrderRow:
    if order.status != OrderStatus.PAID.value:
        invoice = InvoiceState.ISSUED if order.invoice_file_id else InvoiceState.NOT_DUE
    elif order.invoice_file_id:
        invoice = InvoiceState.ISSUED
    elif order.invoice_due_on is not None and order.invoice_due_on < today:
        invoice = InvoiceState.OVERDUE
    else:
        invoice = InvoiceState.TO_ISSUE
    return OrderRow(
        id=order.id,
        number=order.number,
        enterprise=order.enterprise.name if order.enterprise else None,
        people=people,
        amount_fen=order.amount_fen,
        provider=order.provider,
        status=OrderStatus(order.status),
        created_at=order.created_at,
        paid_at=order.paid_at,
        invoice_title=order.invoice_title,
        invoice_due_on=order.invoice_due_on,
        invoice=invoice,
    )


async def _paged(
    rows: QuerySet[M], page: int, *order: str, related: tuple[str, ...] = ()
) -> tuple[int, list[M]]:
    """How many rows match, and the page of them in this order."""
    total = await rows.count()
    query = rows.order_by(*order).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    return total, list(await (query.select_related(*related) if related else query))


def _topic_link(group: int | None, thread: int | None) -> str | None:
    """t.me/c/ takes a supergroup's id without its -100."""
    text = str(group) if group is not None else ""
    if thread is None or not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text[4:]}/{thread}"


def _attempt_lines(rows: list[ExamAttempt]) -> list[AttemptLine]:
    attempts = [exam_attempt(row) for row in rows]
    return [
        AttemptLine(
            id=row.id,
            number=row.number,
            status=AttemptStatus(row.status),
            score=row.score,
            started_at=row.started_at,
            may_give_back=may_give_back(attempt, attempts),
        )
        for row, attempt in zip(rows, attempts, strict=True)
    ]


class ConsoleRecords:
    def __init__(self, pii: Pii) -> None:
        self._pii = pii

    async def applications(
        self,
        *,
        status: ApplicationStatus | None,
        kind: ApplicationKind | None,
        name: str,
        person: int | None,
        page: int,
        newest_first: bool,
    ) -> Page[ApplicationRow]:
        rows = models.Application.all()
        if status is not None:
            rows = rows.filter(status=status.value)
        if kind is not None:
            rows = rows.filter(kind=kind.value)
        if name:
            rows = rows.filter(enrolment__certificate__person__name__icontains=name)
        if person is not None:
            rows = rows.filter(enrolment__certificate__person_id=person)
        total, found = await _paged(
            rows,
            page,
            "-created_at" if newest_first else "created_at",
            "id",
            related=("enrolment__certificate__person",),
        )
        return Page([_application_row(row) for row in found], page, total)

    async def find_people(self, text: str) -> list[int] | None:
        """A whole ID number or phone finds its people by the keyed digest (they are never
        stored in plaintext); None when the text is neither, to be searched as a name."""
        text = text.strip()
        try:
            digests = self._pii.digests(validate_id_number(text))
            field = "id_number_hash__in"
        except InvalidIdentifier:
            phone = normalise_phone(text)
            if len(phone) != 11 or not phone.startswith("1") or len(text) > 20:
                return None
            digests, field = self._pii.digests(phone), "phone_hash__in"
        rows = await column(models.Person.filter(**{field: digests}), "id")
        return [int(row) for row in rows]

    def _person_row(
        self, person: models.Person, certificates: int, account: int | None
    ) -> PersonRow:
        phone = self._pii.open(person.phone_sealed) if person.phone_sealed else ""
        return PersonRow(
            id=person.id,
            name=person.name,
            id_number=mask_id_number(self._pii.open(person.id_number_sealed)),
            phone=mask_phone(phone) if phone else "",
            certificates=certificates,
            account=account,
        )

    async def people(self, *, name: str, person: int | None, page: int) -> Page[PersonRow]:
        rows = models.Person.all()
        if name:
            rows = rows.filter(name__icontains=name)
        if person is not None:
            rows = rows.filter(id=person)
        total, found = await _paged(rows, page, "name", "id")
        ids = [person.id for person in found]
        counts: dict[int, int] = {}
        for certificate in await models.Certificate.filter(person_id__in=ids).values("person_id"):
            counts[certificate["person_id"]] = counts.get(certificate["person_id"], 0) + 1
        accounts = await reach.accounts_of(ids)
        return Page(
            [self._person_row(p, counts.get(p.id, 0), accounts.get(p.id)) for p in found],
            page,
            total,
        )

    async def person(self, person_id: int) -> PersonDetail | None:
        person = await models.Person.get_or_none(id=person_id)
        if person is None:
            return None
        account = await reach.account_of(person_id)
        binding = (
            await models.Binding.get_or_none(chat_user_id=account) if account is not None else None
        )
        certificates = await models.Certificate.filter(person_id=person_id).count()
        enrolments = (
            await models.Enrolment.filter(certificate__person_id=person_id)
            .select_related("certificate")
            .order_by("-created_at")
        )
        applications = (
            await models.Application.filter(enrolment__certificate__person_id=person_id)
            .select_related("enrolment__certificate__person")
            .order_by("-created_at")
        )
        attempts: dict[int, list[ExamAttempt]] = {}
        for attempt in await ExamAttempt.filter(
            enrolment_id__in=[row.id for row in enrolments]
        ).order_by("number"):
            attempts.setdefault(attempt.enrolment_id, []).append(attempt)
        requests = await models.SupportRequest.filter(kind=REBIND_REQUEST, status="open").order_by(
            "-created_at"
        )
        return PersonDetail(
            person=self._person_row(
                person, certificates, binding.chat_user_id if binding else None
            ),
            bound_at=binding.bound_at if binding else None,
            enrolments=[_enrolment_line(row, attempts.get(row.id, [])) for row in enrolments],
            applications=[_application_row(row) for row in applications],
            rebind_requests=[
                RebindRequest(
                    id=row.id,
                    account=row.chat_user_id,
                    phone=str(row.details.get("phone", "")),
                    created_at=row.created_at,
                )
                for row in requests
                if row.details.get("person_id") == person_id
                and (binding is None or row.chat_user_id != binding.chat_user_id)
            ],
        )

    async def rebind(self, person_id: int, request_id: int, staff_id: int) -> Rebinding:
        """Moves the person's identity to the account that asked (S5, a new phone): that
        account proved the registry phone and name when it asked; staff checked the rest. One
        transaction: the request is taken once, the old account loses the person as the new
        one gains it."""
        async with in_transaction(models.Binding._meta.default_connection or "default") as db:
            request = await (
                models.SupportRequest.filter(id=request_id, kind=REBIND_REQUEST, status="open")
                .select_for_update()
                .using_db(db)
                .first()
            )
            if request is None or request.details.get("person_id") != person_id:
                return Rebinding(Rebound.GONE)
            new_account = request.chat_user_id
            if (
                await models.Binding.filter(chat_user_id=new_account)
                .exclude(person_id=person_id)
                .using_db(db)
                .exists()
            ):
                return Rebinding(Rebound.ACCOUNT_TAKEN, new_account)
            # The person's account on the asking account's channel gives way; a binding on
            # another channel stays (one account per channel, docs/architecture.md).
            channel = await channel_of(new_account)
            old = (
                await models.Binding.filter(person_id=person_id, channel=channel)
                .using_db(db)
                .first()
            )
            old_account = old.chat_user_id if old else None
            try:
                if old is not None:
                    await (
                        models.Binding.filter(id=old.id)
                        .using_db(db)
                        .update(chat_user_id=new_account)
                    )
                else:
                    await models.Binding.create(
                        chat_user_id=new_account, person_id=person_id, channel=channel, using_db=db
                    )
            except IntegrityError:
                return Rebinding(Rebound.ACCOUNT_TAKEN, new_account)
            await models.SupportRequest.filter(id=request_id).using_db(db).update(status="done")
            await models.AuditLog.create(
                actor_id=staff_id,
                action="rebind",
                subject=f"person:{person_id}",
                details={"from": old_account, "to": new_account, "request": request_id},
                using_db=db,
            )
        return Rebinding(Rebound.MOVED, new_account, old_account)

    async def change_phone(self, person_id: int, phone: str, staff_id: int) -> str | None:
        """The registry phone after staff checked the person's new number (S5): the person
        then proves it from their account as anyone does. Returns the masked old phone, None
        for no such person."""
        person = await models.Person.get_or_none(id=person_id)
        if person is None:
            return None
        old = self._pii.open(person.phone_sealed) if person.phone_sealed else ""
        person.phone_sealed = self._pii.seal(phone)
        person.phone_hash = self._pii.digest(phone)
        await person.save(update_fields=["phone_sealed", "phone_hash", "updated_at"])
        await audit(
            staff_id,
            "registry_phone",
            f"person:{person_id}",
            old=mask_phone(old) if old else "",
            new=mask_phone(phone),
        )
        return mask_phone(old) if old else ""

    async def give_back(
        self, person_id: int, attempt_id: int, staff_id: int, reason: str
    ) -> GivenBack | None:
        """S15: an attempt a technical failure wasted no longer counts. None when it may not be
        given back (running, given back already, the exam passed, not this person's)."""
        row = await ExamAttempt.get_or_none(
            id=attempt_id, enrolment__certificate__person_id=person_id
        )
        if row is None:
            return None
        rows = await ExamAttempt.filter(enrolment_id=row.enrolment_id)
        attempts = [exam_attempt(r) for r in rows]
        if not may_give_back(exam_attempt(row), attempts):
            return None
        won = await ExamAttempt.filter(
            id=attempt_id,
            status__in=[AttemptStatus.SUBMITTED.value, AttemptStatus.TIMED_OUT.value],
        ).update(status=AttemptStatus.VOIDED.value)
        if not won:
            return None
        await audit(
            staff_id,
            "attempt_given_back",
            f"enrolment:{row.enrolment_id}",
            attempt=row.number,
            reason=reason,
        )
        granted = await makeups_granted(row.enrolment_id)
        used = attempts_used(
            [exam_attempt(r) for r in await ExamAttempt.filter(enrolment_id=row.enrolment_id)]
        )
        return GivenBack(row.chat_user_id, row.number, max(0, allowance(granted) - used))

    async def enrolments(
        self,
        *,
        state: EnrolmentState | None,
        cert_type: CertType | None,
        name: str,
        person: int | None,
        page: int,
    ) -> Page[EnrolmentRow]:
        rows = models.Enrolment.all()
        if state is not None:
            rows = rows.filter(state=state.value)
        if cert_type is not None:
            rows = rows.filter(certificate__cert_type=cert_type.value)
        if name:
            rows = rows.filter(certificate__person__name__icontains=name)
        if person is not None:
            rows = rows.filter(certificate__person_id=person)
        total, found = await _paged(
            rows,
            page,
            "-created_at",
            "-id",
            related=(
                "certificate__person",
                "enterprise",
            ),
        )
        return Page(
            [
                EnrolmentRow(
                    line=_enrolment_line(row, []),
                    person_id=row.certificate.person_id,
                    name=row.certificate.person.name,
                    enterprise=row.enterprise.name if row.enterprise else None,
                )
                for row in found
            ],
            page,
            total,
        )

    async def orders(
        self,
        *,
        status: OrderStatus | None,
        invoice: InvoiceState | None,
        number: str,
        page: int,
        today: date,
    ) -> Page[OrderRow]:
        rows = models.Order.all()
        if status is not None:
            rows = rows.filter(status=status.value)
        if number:
            rows = rows.filter(number=number.strip().upper())
        paid = OrderStatus.PAID.value
        if invoice is InvoiceState.TO_ISSUE:
            rows = rows.filter(status=paid, invoice_file_id__isnull=True)
        elif invoice is InvoiceState.OVERDUE:
            rows = rows.filter(status=paid, invoice_file_id__isnull=True, invoice_due_on__lt=today)
        elif invoice is InvoiceState.ISSUED:
            rows = rows.filter(invoice_file_id__isnull=False)
        total, found = await _paged(rows, page, "-created_at", "-id", related=("enterprise",))
        people: dict[int, list[str]] = {}
        for item in await models.OrderItem.filter(order_id__in=[o.id for o in found]).values(
            "order_id", "enrolment__certificate__person__name"
        ):
            people.setdefault(item["order_id"], []).append(
                item["enrolment__certificate__person__name"]
            )
        return Page([_order_row(o, people.get(o.id, []), today) for o in found], page, total)

    async def topics(
        self, *, open_only: bool, page: int, staff_group: int | None
    ) -> Page[TopicRow]:
        rows = models.SupportTicket.filter(thread_id__isnull=False)
        if open_only:
            rows = rows.filter(status="open")
        total, found = await _paged(rows, page, "last_message_at", "id")
        return Page(
            [
                TopicRow(
                    ticket=t.id,
                    account=t.chat_user_id,
                    title=t.topic_name,
                    open=t.status == "open",
                    banned=t.banned,
                    last_message_at=t.last_message_at,
                    link=_topic_link(t.group_id or staff_group, t.thread_id),
                )
                for t in found
            ],
            page,
            total,
        )

    async def reviews(self, *, pending_only: bool, page: int) -> Page[ReviewRow]:
        rows = FaceReview.all()
        if pending_only:
            rows = rows.filter(status="pending")
        total, found = await _paged(
            rows, page, "created_at", "id", related=("enrolment__certificate__person",)
        )
        return Page(
            [
                ReviewRow(
                    id=r.id,
                    kind=r.kind,
                    account=r.chat_user_id,
                    name=r.enrolment.certificate.person.name if r.enrolment else None,
                    status=r.status,
                    created_at=r.created_at,
                    decided_by=r.decided_by,
                    decided_at=r.decided_at,
                )
                for r in found
            ],
            page,
            total,
        )

    async def broadcasts(self, *, page: int, now: datetime) -> Page[BroadcastRow]:
        total, found = await _paged(models.Broadcast.all(), page, "-created_at", "-id")
        outbox = TortoiseBroadcasts(TortoiseOutbox())
        rows = []
        for b in found:
            progress = await outbox.progress(b.id, now)
            if progress is not None:
                rows.append(BroadcastRow(b.id, b.created_by, b.created_at, b.text, progress))
        return Page(rows, page, total)

    async def audit_log(self, *, page: int) -> Page[AuditRow]:
        total, rows = await _paged(models.AuditLog.all(), page, "-created_at", "-id")
        return Page(
            [
                AuditRow(r.id, r.actor_id, r.action, r.subject, dict(r.details), r.created_at)
                for r in rows
            ],
            page,
            total,
        )

    async def certificate_number(self, person_id: int, enrolment_id: int) -> str | None:
        """The certificate of one of this person's enrolments; None when it is not theirs."""
        row = await models.Enrolment.get_or_none(
            id=enrolment_id, certificate__person_id=person_id
        ).select_related("certificate")
        return row.certificate.number if row is not None else None

    async def note(self, staff_id: int, action: str, subject: str) -> None:
        await audit(staff_id, action, subject)

    async def sign_in_once(self, nonce: str, staff_id: int, now: datetime) -> bool:
        """False when this link was used already."""
        try:
            await models.StaffSignIn.create(nonce=nonce, staff_id=staff_id, used_at=now)
        except IntegrityError:
            return False
        await audit(staff_id, "console_sign_in", f"staff:{staff_id}")
        return True

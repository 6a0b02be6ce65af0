"""The queries behind the records pages (issue 19). Every query starts from the viewer's chat
account, so a record outside what they answer for is simply not found:

- a trainee: enrolments of the certificates of the person bound to their account;
- an enterprise contact: enrolments their enterprise made (the ones it paid or will pay for);
- a payer: orders they placed.

ID numbers and phones leave here masked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from tortoise.expressions import Q

from domain.enrolment import EnrolmentState
from domain.exam import Attempt, AttemptStatus, Identity, attempts_used, best_score
from domain.masking import mask_id_number, mask_phone
from domain.records import (
    FILTER_STATES,
    CoveredItem,
    EmployeeDetail,
    EmployeeFilter,
    EnrolmentRecord,
    OrderRecord,
    days_left,
)
from domain.registry import CertType, SiteRole
from domain.study import LessonState
from infra.content import Catalogue, Course
from infra.db import models
from infra.db.columns import column
from infra.db.exam_models import ExamAttempt, Receipt
from infra.db.study_models import LessonProgress
from infra.pii import Pii

# Rows read at a time by an export: memory stays that of one batch, whatever the total.
BATCH = 500
_RELATED = ("certificate__person",)
_ATTEMPT_FIELDS = (
    "enrolment_id",
    "number",
    "status",
    "started_at",
    "deadline",
    "score",
    "identity",
)


class Records:
    def __init__(self, pii: Pii, courses: dict[CertType, Course], minutes_scale: float) -> None:
        self._pii = pii
        self._courses = courses
        self._scale = minutes_scale

    def course(self, cert_type: CertType) -> Course | None:
        return self._courses.get(cert_type)

    def _course_of(self, certificate: models.Certificate) -> Course | None:
        """The course this certificate takes: its role's, for a 现场专业人员 role that has one."""
        role = SiteRole(certificate.role) if certificate.role else None
        if isinstance(self._courses, Catalogue):
            return self._courses.for_certificate(certificate.cert_type, role)
        return self._courses.get(CertType(certificate.cert_type))

    # Who the viewer answers for.

    async def enterprise_of(self, user_id: int) -> int | None:
        contact = await models.EnterpriseContact.get_or_none(chat_user_id=user_id)
        return contact.enterprise_id if contact is not None else None

    async def is_trainee(self, user_id: int) -> bool:
        return await models.Binding.exists(chat_user_id=user_id)

    async def is_payer(self, user_id: int) -> bool:
        return await models.Order.exists(payer_chat_user_id=user_id)

    # A trainee's own enrolments, every year.

    async def trainee_records(self, user_id: int) -> list[EnrolmentRecord]:
        rows = (
            await models.Enrolment.filter(certificate__person__binding__chat_user_id=user_id)
            .select_related(*_RELATED)
            .order_by("-created_at", "-id")
        )
        return await self._records(rows)

    # An enterprise contact's employees.

    def _employees(self, enterprise_id: int, only: EmployeeFilter) -> Q:
        states = [state.value for state in FILTER_STATES[only]]
        return Q(enterprise_id=enterprise_id, state__in=states)

    async def employees(
        self, user_id: int, only: EmployeeFilter, *, offset: int = 0, limit: int | None = None
    ) -> list[EnrolmentRecord] | None:
        """By name, `limit` from `offset`. None: the viewer is no enterprise's contact."""
        enterprise_id = await self.enterprise_of(user_id)
        if enterprise_id is None:
            return None
        query = (
            models.Enrolment.filter(self._employees(enterprise_id, only))
            .select_related(*_RELATED)
            .order_by("certificate__person__name", "id")
            .offset(offset)
        )
        return await self._records(await (query.limit(limit) if limit is not None else query))

    async def employee_counts(self, user_id: int) -> dict[EmployeeFilter, int]:
        enterprise_id = await self.enterprise_of(user_id)
        if enterprise_id is None:
            return {}
        states = await column(models.Enrolment.filter(enterprise_id=enterprise_id), "state")
        return {
            only: sum(1 for state in states if state in allowed)
            for only, allowed in FILTER_STATES.items()
        }

    async def employee_batches(
        self, user_id: int, only: EmployeeFilter
    ) -> AsyncIterator[list[EnrolmentRecord]]:
        """The export's rows, BATCH at a time in id order (keyset paging: no offset to skip)."""
        enterprise_id = await self.enterprise_of(user_id)
        if enterprise_id is None:
            return
        after = 0
        while True:
            rows = (
                await models.Enrolment.filter(self._employees(enterprise_id, only), id__gt=after)
                .select_related(*_RELATED)
                .order_by("id")
                .limit(BATCH)
            )
            if not rows:
                return
            after = rows[-1].id
            yield await self._records(rows)

    async def employee_detail(
        self, user_id: int, enrolment_id: int, now: datetime
    ) -> EmployeeDetail | None:
        """None for an enrolment that is not of the viewer's enterprise, or does not exist."""
        enterprise_id = await self.enterprise_of(user_id)
        if enterprise_id is None:
            return None
        row = await models.Enrolment.get_or_none(
            id=enrolment_id, enterprise_id=enterprise_id
        ).select_related(*_RELATED)
        if row is None:
            return None
        (record,) = await self._records([row])
        credited = dict(
            await LessonProgress.filter(enrolment_id=row.id).values_list(
                "lesson", "seconds_credited"
            )
        )
        course = self._course_of(row.certificate)
        lessons = tuple(
            LessonState(
                lesson.key, int(credited.get(lesson.key, 0)), lesson.required_seconds(self._scale)
            )
            for lesson in (course.lessons if course else ())
        )
        return EmployeeDetail(record, lessons, days_left(record.deadline, record.state, now))

    async def employee_receipts(self, user_id: int) -> list[tuple[int, str, str]]:
        """(receipt id, receipt number, holder's name) of every valid receipt of the viewer's
        enterprise's enrolments."""
        enterprise_id = await self.enterprise_of(user_id)
        if enterprise_id is None:
            return []
        rows = await Receipt.filter(
            enrolment__enterprise_id=enterprise_id, revoked_at__isnull=True
        ).values_list("id", "number", "enrolment__certificate__person__name")
        return [(int(i), str(number), str(name)) for i, number, name in rows]

    async def employee_receipt(self, user_id: int, enrolment_id: int) -> tuple[int, str] | None:
        enterprise_id = await self.enterprise_of(user_id)
        if enterprise_id is None:
            return None
        receipt = await Receipt.get_or_none(
            enrolment_id=enrolment_id,
            enrolment__enterprise_id=enterprise_id,
            revoked_at__isnull=True,
        )
        return (receipt.id, receipt.number) if receipt is not None else None

    # A payer's orders.

    async def orders(self, user_id: int) -> list[OrderRecord]:
        rows = (
            await models.Order.filter(payer_chat_user_id=user_id)
            .prefetch_related("items__enrolment__certificate__person")
            .order_by("-created_at", "-id")
        )
        return [
            OrderRecord(
                order_id=row.id,
                number=row.number,
                status=row.status,
                amount_fen=row.amount_fen,
                created_at=row.created_at,
                paid_at=row.paid_at,
                invoice_title=row.invoice_title,
                invoice_due_on=row.invoice_due_on,
                has_invoice=row.invoice_file_id is not None,
                items=tuple(
                    CoveredItem(
                        item.enrolment_id,
                        item.enrolment.certificate.person.name,
                        CertType(item.enrolment.certificate.cert_type),
                        item.enrolment.certificate.number,
                        item.amount_fen,
                    )
                    for item in sorted(row.items, key=lambda item: item.id)
                ),
            )
            for row in rows
        ]

    async def invoice(self, user_id: int, order_id: int) -> tuple[str, str] | None:
        """(order number, the invoice's file id) of the viewer's own order, when issued."""
        row = await models.Order.get_or_none(
            id=order_id, payer_chat_user_id=user_id, invoice_file_id__isnull=False
        )
        if row is None or row.invoice_file_id is None:
            return None
        return row.number, row.invoice_file_id

    # Rows to records: three queries per batch, whatever its size.

    async def _records(self, rows: list[models.Enrolment]) -> list[EnrolmentRecord]:
        ids = [row.id for row in rows]
        if not ids:
            return []
        credited: dict[int, dict[str, int]] = defaultdict(dict)
        for enrolment_id, lesson, seconds in await LessonProgress.filter(
            enrolment_id__in=ids
        ).values_list("enrolment_id", "lesson", "seconds_credited"):
            credited[enrolment_id][lesson] = seconds
        attempts: dict[int, list[Attempt]] = defaultdict(list)
        for values in await ExamAttempt.filter(enrolment_id__in=ids).values(*_ATTEMPT_FIELDS):
            attempts[values["enrolment_id"]].append(
                Attempt(
                    values["number"],
                    AttemptStatus(values["status"]),
                    values["started_at"],
                    values["deadline"],
                    values["score"],
                    Identity(values["identity"]),
                )
            )
        receipts = {
            enrolment_id: (receipt_id, passed_at)
            for enrolment_id, receipt_id, passed_at in await Receipt.filter(
                enrolment_id__in=ids, revoked_at__isnull=True
            ).values_list("enrolment_id", "id", "passed_at")
        }
        return [self._record(row, credited[row.id], attempts[row.id], receipts) for row in rows]

    def _record(
        self,
        row: models.Enrolment,
        credited: dict[str, int],
        attempts: Iterable[Attempt],
        receipts: dict[int, tuple[int, datetime]],
    ) -> EnrolmentRecord:
        certificate = row.certificate
        person = certificate.person
        cert_type = CertType(certificate.cert_type)
        course = self._course_of(certificate)
        lessons = course.lessons if course else ()
        required = [(lesson.key, lesson.required_seconds(self._scale)) for lesson in lessons]
        receipt = receipts.get(row.id)
        listed = list(attempts)
        return EnrolmentRecord(
            enrolment_id=row.id,
            name=person.name,
            id_number_masked=mask_id_number(self._pii.open(person.id_number_sealed)),
            phone_masked=mask_phone(self._pii.open(person.phone_sealed)),
            cert_type=cert_type,
            certificate_number=certificate.number,
            category=certificate.category,
            state=EnrolmentState(row.state),
            enrolled_at=row.created_at,
            paid_at=row.paid_at,
            deadline=row.study_deadline,
            credited_seconds=sum(min(credited.get(key, 0), need) for key, need in required),
            required_seconds=sum(need for _, need in required),
            attempts=attempts_used(listed),
            best_score=best_score(listed),
            passed_at=receipt[1] if receipt else None,
            receipt_id=receipt[0] if receipt else None,
            class_hours=course.class_hours if course else 0.0,
            illustrative=course.illustrative if course else False,
        )

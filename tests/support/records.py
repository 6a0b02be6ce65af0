"""Records as the product leaves them, for the records pages' tests and the export's bench: an
enterprise with employees in every state, a trainee with enrolments over two years, a payer
with orders and invoices. Everything relative to the `now` handed in (the clock fixture)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.registry import CertType
from infra.content import load_courses
from infra.db import models
from infra.db.exam_models import ExamAttempt, Receipt
from infra.db.study_models import LessonProgress
from tests.support import registry
from tests.support.clock import days_from_today

COURSES = load_courses()
# The cycle of states an enterprise's employees go through, one after another.
CYCLE = ("enrolled", "awaiting_payment", "studying", "exam", "passed", "overdue")


def employee_id_number(enterprise: int, n: int) -> str:
    return registry.id_number(n % 1000, region=f"53{enterprise % 100:02d}{n // 1000 % 100:02d}")


def employee_phone(enterprise: int, n: int) -> str:
    return f"139{enterprise % 100:02d}{n:06d}"


def submitted(
    enrolment_id: int, user_id: int, number: int, score: int, started: datetime
) -> ExamAttempt:
    """An exam attempt handed in after 20 minutes with this score."""
    return ExamAttempt(
        enrolment_id=enrolment_id,
        chat_user_id=user_id,
        number=number,
        status="submitted",
        bank_version=1,
        started_at=started,
        deadline=started + timedelta(minutes=30),
        closed_at=started + timedelta(minutes=20),
        draw=[],
        score=score,
    )


@dataclass(frozen=True)
class Employees:
    enterprise_id: int
    enrolment_ids: list[int]


def _required(cert_type: str) -> list[tuple[str, int]]:
    lessons = COURSES[CertType(cert_type)].lessons
    return [(lesson.key, lesson.required_seconds(1.0)) for lesson in lessons]


async def enterprise_with_employees(
    sequence: int,
    contact: int,
    count: int,
    now: datetime,
    *,
    cert_type: str = "safety_c",
    batch: int = 1000,
) -> Employees:
    """`count` employees enrolled by the enterprise, the n-th in state CYCLE[n % 6]: paid ones
    with lessons part-way or done, exam ones with attempts, passed ones with a receipt."""
    enterprise = await registry.enterprise(sequence, f"云南第{sequence}建筑公司", "13800000000")
    await models.EnterpriseContact.create(chat_user_id=contact, enterprise=enterprise)
    lessons = _required(cert_type)
    enrolment_ids: list[int] = []
    for start in range(0, count, batch):
        numbers = range(start, min(count, start + batch))
        await models.Person.bulk_create(
            [
                registry.unsaved_person(
                    employee_id_number(sequence, n), f"员工{n:05d}", employee_phone(sequence, n)
                )
                for n in numbers
            ]
        )
        people = {
            person.name: person
            for person in await models.Person.filter(
                name__in=[f"员工{n:05d}" for n in numbers],
                id_number_hash__in=[
                    registry.PII.digest(employee_id_number(sequence, n)) for n in numbers
                ],
            )
        }
        await models.Certificate.bulk_create(
            [
                models.Certificate(
                    number=f"C{sequence:03d}-{n:06d}",
                    cert_type=cert_type,
                    person=people[f"员工{n:05d}"],
                    enterprise=enterprise,
                    expires_on=days_from_today(60),
                )
                for n in numbers
            ]
        )
        certificates = {
            c.number: c
            for c in await models.Certificate.filter(
                number__in=[f"C{sequence:03d}-{n:06d}" for n in numbers]
            )
        }
        rows = []
        for n in numbers:
            state = CYCLE[n % len(CYCLE)]
            paid = state not in ("enrolled", "awaiting_payment")
            paid_at = now - timedelta(days=5 + n % 20) if paid else None
            deadline = (
                now - timedelta(days=1)
                if state == "overdue"
                else (paid_at + timedelta(days=30) if paid_at else None)
            )
            number = f"C{sequence:03d}-{n:06d}"
            rows.append(
                models.Enrolment(
                    certificate=certificates[number],
                    active_key=None if state == "passed" else number,
                    channel="enterprise",
                    enterprise=enterprise,
                    enrolled_by=contact,
                    state=state,
                    paid_at=paid_at,
                    study_deadline=deadline,
                    ended_at=now - timedelta(days=1) if state == "passed" else None,
                )
            )
        await models.Enrolment.bulk_create(rows)
        made = await models.Enrolment.filter(
            enterprise_id=enterprise.id, certificate__number__in=list(certificates)
        ).select_related("certificate")
        by_number = {row.certificate.number: row for row in made}
        progress, attempts, receipts = [], [], []
        for n in numbers:
            row = by_number[f"C{sequence:03d}-{n:06d}"]
            enrolment_ids.append(row.id)
            if row.paid_at is None:
                continue
            # studying: the first lesson half done; exam, passed, overdue: every lesson done
            done = row.state != "studying"
            for i, (key, need) in enumerate(lessons):
                seconds = need if done else (need // 2 if i == 0 else 0)
                if seconds:
                    progress.append(
                        LessonProgress(
                            enrolment=row, lesson=key, chat_user_id=0, seconds_credited=seconds
                        )
                    )
            scores = {"exam": [40, 55], "passed": [50, 80], "overdue": []}.get(row.state, [])
            for number, score in enumerate(scores, start=1):
                attempts.append(
                    submitted(row.id, 0, number, score, now - timedelta(days=3 - number))
                )
            if row.state == "passed":
                receipts.append(
                    Receipt(
                        enrolment=row,
                        number=f"R{sequence:03d}{n:07d}",
                        score=80,
                        hours=sum(need for _, need in lessons) / 3600,
                        passed_at=now - timedelta(days=1),
                    )
                )
        await LessonProgress.bulk_create(progress)
        await ExamAttempt.bulk_create(attempts)
        await Receipt.bulk_create(receipts)
    return Employees(enterprise.id, enrolment_ids)


async def trainee_over_two_years(user_id: int, sequence: int, now: datetime) -> list[int]:
    """Last year's safety C enrolment passed with a receipt, this year's rigger one studying.
    Returns the enrolment ids, last year's first."""
    person = await registry.person(sequence, "王五", f"1370000{sequence:04d}")
    await models.Binding.create(chat_user_id=user_id, person=person)
    last_year = now - timedelta(days=365)
    ids = []
    for number, cert_type, state, paid_at in (
        (f"W{sequence}-2025", "safety_c", "passed", last_year),
        (f"W{sequence}-2026", "rigger", "studying", now - timedelta(days=10)),
    ):
        certificate = await models.Certificate.create(
            number=number, cert_type=cert_type, person=person, expires_on=days_from_today(200)
        )
        row = await models.Enrolment.create(
            certificate=certificate,
            active_key=None if state == "passed" else number,
            channel="individual",
            enrolled_by=user_id,
            state=state,
            paid_at=paid_at,
            study_deadline=paid_at + timedelta(days=30),
        )
        # The row's own clock is the database's: the record says when it was enrolled.
        await models.Enrolment.filter(id=row.id).update(created_at=paid_at - timedelta(days=2))
        ids.append(row.id)
    lessons = _required("safety_c")
    for key, need in lessons:
        await LessonProgress.create(
            enrolment_id=ids[0], lesson=key, chat_user_id=user_id, seconds_credited=need
        )
    key, need = _required("rigger")[0]
    await LessonProgress.create(
        enrolment_id=ids[1], lesson=key, chat_user_id=user_id, seconds_credited=need
    )
    await ExamAttempt.bulk_create(
        [
            submitted(ids[0], user_id, number, score, last_year + timedelta(days=number))
            for number, score in ((1, 45), (2, 72), (3, 66))
        ]
    )
    await Receipt.create(
        enrolment_id=ids[0],
        number=f"RW{sequence:06d}",
        score=72,
        hours=sum(need for _, need in lessons) / 3600,
        passed_at=last_year + timedelta(days=2),
    )
    return ids


async def payer_with_orders(
    payer: int, enrolment_ids: list[int], now: datetime, *, invoiced: int = 2
) -> list[models.Order]:
    """One paid order per enrolment id (its fee ¥120, or ¥100 past the first), the first
    `invoiced` with an invoice attached; then one order that expired unpaid."""
    orders = []
    for n, enrolment_id in enumerate(enrolment_ids):
        fee = 12000 if n == 0 else 10000
        created = now - timedelta(days=20 - n)
        order = await models.Order.create(
            number=f"JJ{payer % 100000:05d}{n:04d}",
            payer_chat_user_id=payer,
            channel="individual",
            amount_fen=fee,
            status="paid",
            provider="sandbox",
            created_at=created,
            expires_at=created + timedelta(minutes=30),
            paid_at=created + timedelta(minutes=3),
            invoice_title="王五",
            invoice_due_on=(created + timedelta(days=5)).date(),
            invoice_file_id=f"invoice-file-{payer}-{n}" if n < invoiced else None,
        )
        await models.OrderItem.create(order=order, enrolment_id=enrolment_id, amount_fen=fee)
        orders.append(order)
    created = now - timedelta(days=2)
    expired = await models.Order.create(
        number=f"JJ{payer % 100000:05d}9999",
        payer_chat_user_id=payer,
        channel="individual",
        amount_fen=10000,
        status="expired",
        provider="sandbox",
        created_at=created,
        expires_at=created + timedelta(minutes=30),
        invoice_title="王五",
    )
    await models.OrderItem.create(order=expired, enrolment_id=enrolment_ids[-1], amount_fen=10000)
    orders.append(expired)
    return orders

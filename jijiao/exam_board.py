"""The conversation core's `ExamBoard` port on the exam use cases (application/exam.py)."""

from __future__ import annotations

from application.exam import Exams
from conversation.ports import ExamStanding, ReceiptFiles
from domain.accounts import ChatUserId
from domain.clock import Clock


class ChatExams:
    def __init__(self, exams: Exams, clock: Clock) -> None:
        self._exams = exams
        self._clock = clock

    async def standings(self, account: ChatUserId) -> list[ExamStanding]:
        study = self._exams.study
        found = []
        for enrolment in await study.enrolments(account):
            overview = await self._exams.overview(account, enrolment, self._clock.now())
            lessons = study.course(enrolment).lessons
            found.append(
                ExamStanding(
                    enrolment.id,
                    enrolment.cert_type,
                    enrolment.certificate_number,
                    overview.eligibility,
                    overview.best,
                    {lesson.key: lesson.title for lesson in lessons},
                    overview.receipt_id,
                )
            )
        return found

    async def receipt_ids(self, account: ChatUserId) -> list[int]:
        return [receipt.id for receipt in await self._exams.receipts_of(account)]

    async def renewal_applied(self, receipt_id: int, account: ChatUserId) -> bool:
        return await self._exams.renewal_applied(receipt_id, account, self._clock.now())

    async def receipt(self, receipt_id: int) -> ReceiptFiles:
        receipt = await self._exams.receipt(receipt_id)
        if receipt.revoked_at is not None:
            return ReceiptFiles(receipt.number, receipt.score, revoked=True)
        png, pdf = await self._exams.receipt_files(receipt_id)
        return ReceiptFiles(receipt.number, receipt.score, revoked=False, png=png, pdf=pdf)

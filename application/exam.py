"""Exams on Tortoise: attempts with one server deadline, autosave, closing, receipts.

The rules are domain/exam.py. Closing an attempt is one conditional UPDATE (`status = 'open'`),
so the trainee's "submit" and the server's deadline job can race and exactly one of them scores
it; only that one goes on to the pass and the receipt. A save is one statement that merges the
answer into the attempt in the database (two tabs, or two instances, lose nothing) and is refused
once the deadline has passed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
import random
import weakref
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from application.study import PendingCheck, Study, StudyEnrolment
from domain.enrolment import ACTIVE_STATES, EnrolmentState
from domain.exam import (
    Attempt,
    AttemptStatus,
    Drawn,
    ExamBlock,
    ExamEligibility,
    Identity,
    InvalidAnswer,
    TimelineEvent,
    accepts_answers,
    allowance,
    attempts_used,
    best_score,
    deadline_for,
    draw,
    exam_eligibility,
    failed_in_current_set,
    has_passed,
    normalise_answer,
    overdue,
    passes,
    score,
    warning_due,
)
from domain.masking import mask_id_number
from domain.registry import CertType, SiteRole
from domain.reminders import ReminderKind
from domain.study import CheckResult
from domain.timezone import local_date
from infra.content import Bank, BankQuestion, ContentError, check_banks
from infra.db import models
from infra.db.columns import column
from infra.db.exam_models import ExamAttempt, ExamEvent, Receipt
from infra.db.study_models import FaceCheck, FaceProfile, FaceReview
from infra.outbox import NewMessage, TortoiseOutbox
from infra.pii import Pii
from infra.receipt import CERT_TYPE_NAMES, ReceiptData, render_pdf, render_png, role_names
from infra.repositories.exams import (
    answers_of,
    attempt_of,
    draw_of,
    makeups_granted,
    save_answer,
)
from infra.signing import BadToken, Signer

log = logging.getLogger(__name__)

RECEIPT_PURPOSE = "receipt"
ACTIVE = frozenset(state.value for state in ACTIVE_STATES)
# Events whose detail is the score the attempt closed with.
RECEIPT_NUMBER_MAX = 32  # Receipt.number's column
CLOSING_EVENTS = frozenset({AttemptStatus.SUBMITTED.value, AttemptStatus.TIMED_OUT.value})


@dataclass(frozen=True, slots=True)
class ExamConfig:
    questions: int = 20
    time_limit: timedelta = timedelta(minutes=60)
    # Where the receipt's QR code points: `{verify_base}/verify/{token}`.
    verify_base: str = "http://127.0.0.1:8080"
    # Rendered receipts are kept here (they carry the photo as it was at the pass).
    receipts_dir: Path = Path("var/receipts")
    # A failed attempt with no new one after this long gets a reminder of the attempts left.
    retry_reminder: timedelta = timedelta(hours=24)


class ExamNotifier(Protocol):
    """What the trainee hears in the chat about attempts closed or nearly closed by the server,
    about a pass (with the receipt), and about a pass held for staff and their decision."""

    async def passed(self, user_id: int, receipt_id: int) -> None: ...

    async def held(self, user_id: int, attempt: Attempt) -> None: ...

    async def identity_rejected(
        self, user_id: int, attempt: Attempt, reasons: list[tuple[datetime, str]]
    ) -> None: ...

    async def timed_out(self, user_id: int, attempt: Attempt, passed: bool) -> None: ...

    async def ten_minutes_left(self, user_id: int, attempt_id: int, deadline: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class AttemptView:
    id: int
    enrolment_id: int
    attempt: Attempt
    draw: tuple[Drawn, ...]
    answers: dict[str, frozenset[str]]
    check: PendingCheck | None = None


@dataclass(frozen=True, slots=True)
class Overview:
    eligibility: ExamEligibility
    attempts: tuple[tuple[int, Attempt], ...]  # (id, attempt), oldest first
    best: int | None
    makeup_open: bool
    receipt_id: int | None


@dataclass(frozen=True, slots=True)
class Saved:
    ok: bool
    code: str | None = None  # closed | deadline_passed | unknown_question | unknown_option | ...
    check: PendingCheck | None = None


@dataclass(frozen=True, slots=True)
class Closed:
    attempt: Attempt
    passed: bool
    receipt_id: int | None


@dataclass(frozen=True, slots=True)
class ReviewItem:
    question: str
    picked: frozenset[str]
    right: bool


@dataclass(frozen=True, slots=True)
class Verification:
    status: str  # genuine | revoked | invalid
    receipt: Receipt | None = None
    id_number_masked: str = ""


class Exams:
    def __init__(
        self,
        banks: dict[str, Bank],
        study: Study,
        signer: Signer,
        pii: Pii,
        config: ExamConfig,
        notifier: ExamNotifier | None = None,
        rng: random.Random | None = None,
        outbox: TortoiseOutbox | None = None,
    ) -> None:
        check_banks(study.courses, banks)
        self.banks = banks
        self.study = study
        self.config = config
        self.notifier = notifier
        self._outbox = outbox
        self._signer = signer
        self._pii = pii
        self._rng = rng or random.SystemRandom()
        # Weak: a lock lives while someone waits on it, so the map does not grow forever.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        # Every question by key: an attempt's draw names them, whichever bank it came from.
        self.questions: dict[str, BankQuestion] = {}
        for bank in banks.values():
            for question in bank.questions:
                if self.questions.setdefault(question.key, question) != question:
                    raise ContentError(f"question {question.key} differs between banks")

    def _lock(self, attempt_id: int) -> asyncio.Lock:
        lock = self._locks.get(attempt_id)
        if lock is None:
            lock = self._locks[attempt_id] = asyncio.Lock()
        return lock

    def bank(self, enrolment: StudyEnrolment) -> Bank:
        return self.banks[self.study.course(enrolment).exam_bank]

    # Where the trainee stands.

    async def attempt_rows(self, enrolment_id: int) -> list[tuple[int, Attempt]]:
        return [(row.id, attempt_of(row)) for row in await self._rows(enrolment_id)]

    async def _rows(self, enrolment_id: int) -> list[ExamAttempt]:
        return await ExamAttempt.filter(enrolment_id=enrolment_id).order_by("number")

    async def overview(self, user_id: int, enrolment: StudyEnrolment, now: datetime) -> Overview:
        await self.close_overdue(now, enrolment_id=enrolment.id)
        rows = await self._rows(enrolment.id)
        attempts = [attempt_of(row) for row in rows]
        granted = await makeups_granted(enrolment.id)
        lessons = [(s.key, s.percent) for s in await self.study.progress(enrolment)]
        eligibility = exam_eligibility(
            lessons=lessons,
            window_end=enrolment.window_end() if enrolment.deadline else None,
            now=now,
            attempts=attempts,
            makeups_granted=granted,
        )
        receipt = await Receipt.get_or_none(enrolment_id=enrolment.id)
        if receipt is not None and eligibility.block is not ExamBlock.PASSED:
            # A receipt is the pass on record, whatever happened to the attempts since.
            eligibility = ExamEligibility(ExamBlock.PASSED, eligibility.attempts_left)
        used = failed_in_current_set(attempts_used(attempts), granted)
        return Overview(
            eligibility,
            tuple((row.id, a) for row, a in zip(rows, attempts, strict=True)),
            best_score(attempts),
            used >= 5
            and receipt is None
            and not any(a.status is AttemptStatus.OPEN for a in attempts),
            receipt.id if receipt else None,
        )

    # Attempts.

    async def start(
        self, user_id: int, enrolment: StudyEnrolment, now: datetime
    ) -> AttemptView | ExamEligibility | PendingCheck:
        """The running attempt if there is one (a second tap, another phone), else a new one,
        else why not. A new one needs the face check that opens it to have passed just now:
        until then the check to answer comes back, and no question is drawn, no attempt used."""
        overview = await self.overview(user_id, enrolment, now)
        eligibility = overview.eligibility
        if not eligibility.allowed:
            return eligibility
        if eligibility.resume is None:
            if await self.study.photo_pending(user_id):
                return ExamEligibility(ExamBlock.PHOTO_PENDING, eligibility.attempts_left)
            used = set(
                await column(
                    ExamAttempt.filter(chat_user_id=user_id, opening_check_id__isnull=False),
                    "opening_check_id",
                )
            )
            gate = await self.study.exam_gate(user_id, enrolment.id, now, used)
            if isinstance(gate, PendingCheck):
                return gate
            bank = self.bank(enrolment)
            drawn = draw([q.rule for q in bank.questions], self.config.questions, self._rng)
            number = len(overview.attempts) + 1
            try:
                async with in_transaction():
                    row = await ExamAttempt.create(
                        enrolment_id=enrolment.id,
                        chat_user_id=user_id,
                        number=number,
                        bank_version=bank.version,
                        started_at=now,
                        deadline=deadline_for(now, self.config.time_limit),
                        draw=[{"q": d.question, "o": list(d.options)} for d in drawn],
                        answers={},
                        opening_check_id=gate,
                    )
                    await ExamEvent.create(attempt=row, at=now, kind="started", detail=None)
                    await models.Enrolment.filter(
                        id=enrolment.id, state=EnrolmentState.STUDYING.value
                    ).update(state=EnrolmentState.EXAM.value)
                log.info("exam attempt %s (#%s) started by user %s", row.id, number, user_id)
            except IntegrityError:
                # Two taps at once: the other one made attempt `number`; use it.
                pass
        latest = await ExamAttempt.filter(enrolment_id=enrolment.id).order_by("-number").first()
        assert latest is not None
        return await self._view(latest, now)

    async def _view(self, row: ExamAttempt, now: datetime) -> AttemptView:
        check = None
        if accepts_answers(attempt_of(row), now):
            check = await self.study.exam_check(
                row.chat_user_id, row.enrolment_id, row.started_at, now
            )
        return AttemptView(
            row.id, row.enrolment_id, attempt_of(row), draw_of(row), answers_of(row), check
        )

    async def _own(self, user_id: int, attempt_id: int) -> ExamAttempt | None:
        return await ExamAttempt.get_or_none(id=attempt_id, chat_user_id=user_id)

    async def attempt(self, user_id: int, attempt_id: int, now: datetime) -> AttemptView | None:
        """None when it is not this trainee's. An overdue attempt is closed first (the job
        may not have come round yet)."""
        row = await self._own(user_id, attempt_id)
        if row is None:
            return None
        if overdue(attempt_of(row), now):
            await self._close(row.id, now, AttemptStatus.TIMED_OUT)
            row = await ExamAttempt.get(id=attempt_id)
        return await self._view(row, now)

    async def save(
        self, user_id: int, attempt_id: int, question: str, picked: Sequence[str], now: datetime
    ) -> Saved | None:
        """One statement checks ownership, state, deadline and the draw, writes the answer into
        the attempt (and its timeline) and reads the latest face check, which says whether a
        check is due; a refusal is explained by reading the attempt."""
        bank_question = self.questions.get(question)
        try:
            answer = normalise_answer(bank_question.rule, picked) if bank_question else None
        except InvalidAnswer:
            answer = None
        saved = (
            await save_answer(user_id, attempt_id, question, sorted(answer), now)
            if answer is not None
            else None
        )
        if saved is None:
            return await self._refusal(user_id, attempt_id, question, picked, now)
        check = await self.study.exam_check_seen(
            user_id, saved.enrolment_id, saved.started_at, now, saved.latest_check
        )
        return Saved(True, None, check)

    async def _refusal(
        self, user_id: int, attempt_id: int, question: str, picked: Sequence[str], now: datetime
    ) -> Saved | None:
        """Why an answer was not saved, in the order a trainee would want to hear it."""
        row = await self._own(user_id, attempt_id)
        if row is None:
            return None
        attempt = attempt_of(row)
        if not accepts_answers(attempt, now):
            return Saved(False, "closed" if attempt.closed else "deadline_passed")
        bank_question = self.questions.get(question)
        if bank_question is None or all(d.question != question for d in draw_of(row)):
            return Saved(False, "unknown_question")
        try:
            normalise_answer(bank_question.rule, picked)
        except InvalidAnswer as refused:
            return Saved(False, refused.code)
        return Saved(False, "closed")  # it was open a moment ago: closed in between

    # Closing: by the trainee, or by the server at the deadline.

    async def submit(self, user_id: int, attempt_id: int, now: datetime) -> Closed | None:
        row = await self._own(user_id, attempt_id)
        if row is None:
            return None
        status = (
            AttemptStatus.TIMED_OUT if overdue(attempt_of(row), now) else AttemptStatus.SUBMITTED
        )
        closed = await self._close(row.id, now, status)
        if closed is not None:
            return closed
        row = await ExamAttempt.get(id=attempt_id)
        receipt = await Receipt.get_or_none(enrolment_id=row.enrolment_id)
        return Closed(
            attempt_of(row),
            row.score is not None and passes(row.score),
            receipt.id if receipt else None,
        )

    async def _close(self, attempt_id: int, now: datetime, status: AttemptStatus) -> Closed | None:
        """Score and close; None when somebody else closed it first."""
        async with self._lock(attempt_id):
            row = await ExamAttempt.get(id=attempt_id)
            if row.status != AttemptStatus.OPEN.value:
                return None
            drawn = [d.question for d in draw_of(row)]
            rules = {key: self.questions[key].rule for key in drawn}
            value = score(rules, drawn, answers_of(row))
            # Who sat it: the check that opened it passed, and every one during it.
            failed = await self._unconfirmed(row, now) if passes(value) else None
            identity = Identity.CONFIRMED if failed is None else Identity.HELD
            async with in_transaction():
                won = await ExamAttempt.filter(id=attempt_id, status="open").update(
                    status=status.value, score=value, closed_at=now, identity=identity.value
                )
                if not won:
                    return None
                await ExamEvent.create(
                    attempt_id=attempt_id, at=now, kind=status.value, detail=str(value)
                )
                receipt_id = (
                    await self._on_pass(row, value, now)
                    if passes(value) and identity is Identity.CONFIRMED
                    else None
                )
        row = await ExamAttempt.get(id=attempt_id)
        log.info("exam attempt %s %s with %s (%s)", attempt_id, status.value, value, identity)
        if failed is not None:
            await self.study.hold_for_staff(row.chat_user_id, row.enrolment_id, row.id, failed, now)
            if self.notifier is not None:
                await self._notify(self.notifier.held(row.chat_user_id, attempt_of(row)))
        closed = Closed(
            attempt_of(row), passes(value) and identity is Identity.CONFIRMED, receipt_id
        )
        if not closed.passed and self._outbox is not None:
            await self._remind_attempts_left(row, now)
        if self.notifier is not None:
            # Whoever closed it (the trainee, a page load after the deadline, the job), the
            # chat hears once: the attempt ended by time, and the receipt on a pass.
            if status is AttemptStatus.TIMED_OUT:
                await self._notify(
                    # A held pass is still a pass mark: the held message says what follows.
                    self.notifier.timed_out(row.chat_user_id, closed.attempt, passes(value))
                )
            if receipt_id is not None:
                await self._notify(self.notifier.passed(row.chat_user_id, receipt_id))
        return closed

    async def _unconfirmed(self, row: ExamAttempt, now: datetime) -> list[int] | None:
        """None when the sitter is confirmed: the check that opened the attempt passed, and
        every one during it. Else the checks that did not pass, for staff (none at all for an
        attempt from before opening checks: it is held all the same)."""
        checks = await self.study.close_checks(row.chat_user_id, row.started_at, now)
        failed = [c.id for c in checks if c.result != CheckResult.PASSED.value]
        opening = (
            await FaceCheck.get_or_none(id=row.opening_check_id)
            if row.opening_check_id is not None
            else None
        )
        if opening is None or opening.result != CheckResult.PASSED.value:
            return ([opening.id] if opening is not None else []) + failed
        return failed or None

    async def held_attempt(self, attempt_id: int) -> Attempt | None:
        row = await ExamAttempt.get_or_none(id=attempt_id)
        return attempt_of(row) if row is not None else None

    async def settle(
        self, review: FaceReview, *, cleared: bool, staff_id: int, now: datetime
    ) -> None:
        """Staff decided a held attempt: cleared, it is a pass with its receipt; rejected, it
        does not count, and the trainee hears which checks failed."""
        if review.attempt_id is None:
            return
        row = await ExamAttempt.get_or_none(id=review.attempt_id, identity=Identity.HELD.value)
        if row is None:
            return
        identity = Identity.CONFIRMED if cleared else Identity.REJECTED
        receipt_id = None
        async with in_transaction():
            won = await ExamAttempt.filter(id=row.id, identity=Identity.HELD.value).update(
                identity=identity.value
            )
            if not won:
                return
            await ExamEvent.create(
                attempt_id=row.id,
                at=now,
                kind="staff_cleared" if cleared else "staff_rejected",
                detail=str(staff_id),
            )
            if cleared and row.score is not None:
                receipt_id = await self._on_pass(row, row.score, now)
        row = await ExamAttempt.get(id=row.id)
        log.info("held exam attempt %s %s by staff %s", row.id, identity.value, staff_id)
        if self.notifier is None:
            return
        if receipt_id is not None:
            await self._notify(self.notifier.passed(row.chat_user_id, receipt_id))
        elif not cleared:
            checks = await FaceCheck.filter(id__in=review.check_ids).order_by("requested_at")
            reasons = [(c.requested_at, c.reason or "no_match") for c in checks]
            await self._notify(
                self.notifier.identity_rejected(row.chat_user_id, attempt_of(row), reasons)
            )

    async def _on_pass(self, row: ExamAttempt, value: int, now: datetime) -> int | None:
        """The first pass ends the enrolment and makes the receipt; a later, better attempt
        cannot happen (a pass closes the exam), so the receipt's score is the best."""
        if await Receipt.exists(enrolment_id=row.enrolment_id):
            return None
        enrolment = await models.Enrolment.get(id=row.enrolment_id).select_related("certificate")
        enrolment.state = EnrolmentState.PASSED.value
        enrolment.active_key = None
        enrolment.ended_at = now
        await enrolment.save(update_fields=["state", "active_key", "ended_at"])
        course = self.study.courses.for_certificate(
            enrolment.certificate.cert_type, _role(enrolment.certificate.role)
        )
        number = f"JJ{local_date(now):%Y%m%d}{enrolment.id:06d}"
        receipt = await Receipt.create(
            enrolment_id=enrolment.id,
            number=number,
            score=value,
            hours=course.class_hours,
            passed_at=now,
            printed_tag=self._signer.seal(RECEIPT_PURPOSE, number).rpartition(".")[2],
        )
        return receipt.id

    async def close_overdue(self, now: datetime, enrolment_id: int | None = None) -> int:
        """The job: every open attempt past its deadline is scored with what was saved, whether
        or not a page is open; attempts with ten minutes left are warned once in the chat."""
        query = ExamAttempt.filter(status="open", deadline__lte=now)
        if enrolment_id is not None:
            query = query.filter(enrolment_id=enrolment_id)
        closed = 0
        for row in await query.order_by("deadline").limit(500):
            result = await self._close(row.id, now, AttemptStatus.TIMED_OUT)
            if result is None:
                continue
            closed += 1
        if enrolment_id is None and self.notifier is not None:
            await self._warn(now)
        return closed

    async def _remind_attempts_left(self, row: ExamAttempt, now: datetime) -> None:
        """One outbox row per failed attempt, due a while later; the sender drops it if a new
        attempt was started or the exam passed meanwhile (`still_useful`)."""
        assert self._outbox is not None
        enrolment = await models.Enrolment.get(id=row.enrolment_id).select_related("certificate")
        await self._outbox.enqueue(
            [
                NewMessage(
                    chat_id=row.chat_user_id,
                    kind=ReminderKind.EXAM_ATTEMPTS.value,
                    dedup_key=f"{ReminderKind.EXAM_ATTEMPTS.value}|{row.enrolment_id}|{row.number}",
                    payload={
                        "text_key": ReminderKind.EXAM_ATTEMPTS.value,
                        "params": {
                            "enrolment": row.enrolment_id,
                            "attempt": row.number,
                            "cert_type": enrolment.certificate.cert_type,
                            "number": enrolment.certificate.number,
                            "deadline": (
                                enrolment.study_deadline.isoformat()
                                if enrolment.study_deadline
                                else None
                            ),
                        },
                    },
                    essential=False,
                    not_before=now + self.config.retry_reminder,
                )
            ]
        )

    async def _warn(self, now: datetime) -> None:
        soon = now + timedelta(minutes=10)
        for row in await ExamAttempt.filter(
            status="open", deadline__gt=now, deadline__lte=soon, warned_at__isnull=True
        ).limit(500):
            if not warning_due(row.deadline, now):
                continue
            won = await ExamAttempt.filter(id=row.id, warned_at__isnull=True).update(warned_at=now)
            if won and self.notifier is not None:
                await self._notify(
                    self.notifier.ten_minutes_left(row.chat_user_id, row.id, row.deadline)
                )

    @staticmethod
    async def _notify(call: Awaitable[None]) -> None:
        """A chat message that does not arrive must not undo a closed attempt: the page and
        the bot show the same facts on request."""
        try:
            await call
        except Exception:
            log.exception("exam notification failed")

    # After an attempt.

    async def review(self, user_id: int, attempt_id: int) -> list[ReviewItem] | None:
        """Every question of a closed attempt with what was picked; None while it runs."""
        row = await self._own(user_id, attempt_id)
        if row is None or row.status == AttemptStatus.OPEN.value:
            return None
        answers = answers_of(row)
        items = []
        for drawn in draw_of(row):
            picked = answers.get(drawn.question, frozenset())
            rule = self.questions[drawn.question].rule
            items.append(ReviewItem(drawn.question, picked, picked == rule.correct))
        return items

    async def timeline(self, attempt_id: int) -> list[TimelineEvent]:
        """For staff: the attempt's own events and the face checks during it, in time order."""
        row = await ExamAttempt.get_or_none(id=attempt_id)
        if row is None:
            return []
        places = {drawn.question: place for place, drawn in enumerate(draw_of(row), 1)}
        events = []
        for event in await ExamEvent.filter(attempt_id=attempt_id).order_by("at", "id"):
            detail = event.detail or ""
            closing = event.kind in CLOSING_EVENTS and detail.isdigit()
            events.append(
                TimelineEvent(
                    event.at,
                    event.kind,
                    question=places.get(detail) if event.kind == "saved" else None,
                    score=int(detail) if closing else None,
                )
            )
        end = row.closed_at or row.deadline
        for check in await self.study.checks_between(row.chat_user_id, row.started_at, end):
            events.append(
                TimelineEvent(
                    check.requested_at,
                    "check",
                    check=check.kind,
                    result=check.result,
                    reason=check.reason,
                )
            )
        return sorted(events, key=lambda event: event.at)

    # Receipts.

    def receipt_token(self, receipt: Receipt) -> str:
        """Fixed when the receipt is made: the QR code on paper and on screen stay the same
        across key rotations."""
        if receipt.printed_tag:
            return f"{receipt.number}.{receipt.printed_tag}"
        return self._signer.seal(RECEIPT_PURPOSE, receipt.number)

    async def receipt(self, receipt_id: int) -> Receipt:
        return await Receipt.get(id=receipt_id).select_related("enrolment__certificate__person")

    async def receipt_of_enrolment(self, enrolment_id: int) -> Receipt | None:
        return await Receipt.get_or_none(enrolment_id=enrolment_id)

    async def receipts_of(self, user_id: int) -> list[Receipt]:
        return (
            await Receipt.filter(enrolment__certificate__person__binding__chat_user_id=user_id)
            .select_related("enrolment__certificate__person")
            .order_by("-passed_at")
        )

    async def renewal_applied(self, receipt_id: int, user_id: int, now: datetime) -> bool:
        """The holder, or a contact of the enterprise that enrolled them, says the renewal
        (到期换证) was applied for: the renewal reminders stop. False for anyone else."""
        receipt = await Receipt.get_or_none(id=receipt_id).select_related("enrolment__certificate")
        if receipt is None:
            return False
        enrolment = receipt.enrolment
        holder = await models.Binding.exists(
            chat_user_id=user_id, person_id=enrolment.certificate.person_id
        )
        contact = enrolment.enterprise_id is not None and await models.EnterpriseContact.exists(
            chat_user_id=user_id, enterprise_id=enrolment.enterprise_id
        )
        if not (holder or contact):
            return False
        await Receipt.filter(id=receipt_id, renewal_applied_at__isnull=True).update(
            renewal_applied_at=now
        )
        return True

    async def verify(self, token: str) -> Verification:
        try:
            number = self._signer.unseal(RECEIPT_PURPOSE, token)
        except BadToken:
            number, _, tag = token.rpartition(".")
            printed = True
        else:
            printed = False
        if len(number) > RECEIPT_NUMBER_MAX:  # no receipt has it; the ORM would refuse it
            return Verification("invalid")
        receipt = await Receipt.get_or_none(number=number).select_related(
            "enrolment__certificate__person"
        )
        if receipt is None:
            return Verification("invalid")
        # Not signed by a key of the ring: genuine only as the tag printed under a retired key.
        if printed and not (
            receipt.printed_tag and hmac.compare_digest(tag.encode(), receipt.printed_tag.encode())
        ):
            return Verification("invalid")
        return Verification(
            "revoked" if receipt.revoked_at else "genuine",
            receipt,
            mask_id_number(self._pii.open(receipt.enrolment.certificate.person.id_number_sealed)),
        )

    async def revoke(self, number: str, staff_id: int, reason: str, now: datetime) -> bool:
        won = await Receipt.filter(number=number, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=staff_id, revoked_reason=reason
        )
        if won:
            await models.AuditLog.create(
                actor_id=staff_id, action="receipt_revoked", subject=f"receipt:{number}"
            )
        return bool(won)

    def verify_url(self, receipt: Receipt) -> str:
        return f"{self.config.verify_base}/verify/{self.receipt_token(receipt)}"

    async def receipt_files(self, receipt_id: int) -> tuple[bytes, bytes]:
        """(PNG, PDF), rendered on first need and kept: a receipt keeps the photo it was issued
        with even after the face data is deleted at the end of the retention period."""
        receipt = await self.receipt(receipt_id)
        folder = self.config.receipts_dir
        png_path, pdf_path = folder / f"{receipt.number}.png", folder / f"{receipt.number}.pdf"
        if png_path.is_file() and pdf_path.is_file():
            return await asyncio.to_thread(lambda: (png_path.read_bytes(), pdf_path.read_bytes()))
        enrolment = receipt.enrolment
        certificate = enrolment.certificate
        person = certificate.person
        # The photo is the trainee's: of the accounts bound to the certificate's person (one
        # per channel), the one that enrolled a face.
        accounts = await models.Binding.filter(person_id=person.id).values_list(
            "chat_user_id", flat=True
        )
        profile = (
            await FaceProfile.filter(chat_user_id__in=list(accounts), deleted_at=None)
            .order_by("-id")
            .first()
            if accounts
            else None
        )
        cert_type, role = CertType(certificate.cert_type), _role(certificate.role)
        course = self.study.courses.for_certificate(cert_type, role)
        role_zh, role_en = role_names(role)
        data = ReceiptData(
            receipt_number=receipt.number,
            name=person.name,
            id_number_masked=mask_id_number(self._pii.open(person.id_number_sealed)),
            cert_type_zh=CERT_TYPE_NAMES[cert_type][0],
            cert_type_en=CERT_TYPE_NAMES[cert_type][1],
            role_zh=role_zh,
            role_en=role_en,
            category=certificate.category or "",
            course_zh=course.title["zh_CN"],
            course_en=course.title["en"],
            hours_illustrative=course.illustrative,
            certificate_number=certificate.number,
            hours=receipt.hours,
            passed_on=local_date(receipt.passed_at),
            best_score=receipt.score,
            photo=None,
            verify_url=self.verify_url(receipt),
        )

        def render() -> tuple[bytes, bytes]:
            photo = None
            store = self.study.store
            if (
                profile is not None
                and profile.photo_path
                and store.locate(profile.photo_path).is_file()
            ):
                photo = store.read(profile.photo_path)
            full = dataclasses.replace(data, photo=photo)
            png, pdf = render_png(full), render_pdf(full)
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            for path, content in ((png_path, png), (pdf_path, pdf)):
                partial = path.with_suffix(path.suffix + ".part")
                partial.write_bytes(content)
                partial.replace(path)
            return png, pdf

        return await asyncio.to_thread(render)


async def still_useful(params: dict[str, Any]) -> dict[str, Any] | None:
    """At send time: the attempts-left reminder with today's count, or None when a newer
    attempt exists or the exam is passed."""
    enrolment_id = int(params["enrolment"])
    rows = await ExamAttempt.filter(enrolment_id=enrolment_id).order_by("number")
    attempts = [attempt_of(row) for row in rows]
    if not attempts or attempts[-1].number != params["attempt"] or has_passed(attempts):
        return None
    if any(a.status is AttemptStatus.OPEN for a in attempts):
        return None
    granted = await makeups_granted(enrolment_id)
    left = max(0, allowance(granted) - attempts_used(attempts))
    return {**params, "left": left, "best": best_score(attempts)}


async def purge_face_data(exams: Exams, now: datetime, retention: timedelta) -> int:
    """Retention: the enrolment photo and embedding of a trainee who studies nothing now are
    deleted `retention` after their last pass (or the end of their last enrolment). The
    receipts are rendered first, so they keep the photo they were issued with."""
    cutoff = now - retention
    deleted = 0
    profiles = await FaceProfile.filter(photo_path__isnull=False, deleted_at__isnull=True)
    for profile in profiles:
        user_id = profile.chat_user_id
        enrolments = await models.Enrolment.filter(
            certificate__person__binding__chat_user_id=user_id
        ).values("state", "ended_at")
        if any(row["state"] in ACTIVE for row in enrolments):
            continue
        receipts = await exams.receipts_of(user_id)
        # The last pass, or for a trainee who never finished the moment their last enrolment
        # ended (cancelled), or the photo itself when nothing is enrolled any more.
        ended = [r.passed_at for r in receipts] + [
            row["ended_at"] for row in enrolments if row["ended_at"] is not None
        ]
        if max(ended, default=profile.photo_at or profile.consent_at or now) > cutoff:
            continue
        for receipt in receipts:
            await exams.receipt_files(receipt.id)
        await exams.study.delete_photo(user_id, now, reason="retention")
        deleted += 1
    if deleted:
        log.info("face data of %s trainees deleted after the retention period", deleted)
    return deleted


def _role(value: str | None) -> SiteRole | None:
    return SiteRole(value) if value else None

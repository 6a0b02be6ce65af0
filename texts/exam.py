"""Words of the exam and the receipt in the chat."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Protocol

from domain.exam import (
    Attempt,
    AttemptStatus,
    ExamBlock,
    ExamEligibility,
    Identity,
    TimelineEvent,
)
from domain.registry import CertType
from domain.timezone import CHINA
from texts.enrolment import cert_type_name, masked_number
from texts.faces import check_outcome, face_reason
from texts.i18n import current_locale
from texts.i18n import gettext as _


def _when(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else ""


class StandingFacts(Protocol):
    @property
    def cert_type(self) -> CertType: ...
    @property
    def certificate_number(self) -> str: ...
    @property
    def eligibility(self) -> ExamEligibility: ...
    @property
    def best(self) -> int | None: ...
    @property
    def lesson_titles(self) -> dict[str, dict[str, str]]: ...


def standings(facts: Sequence[StandingFacts]) -> str:
    """Each enrolment's standing, a paragraph each, in the reader's language."""
    lang = current_locale()
    return "\n\n".join(
        standing(
            f"{cert_type_name(fact.cert_type)} {masked_number(fact.certificate_number)}",
            fact.eligibility,
            fact.best,
            {key: titles[lang] for key, titles in fact.lesson_titles.items()},
        )
        for fact in facts
    )


def identity_rejected_for(attempt: Attempt, reasons: Sequence[tuple[datetime, str]]) -> str:
    """`identity_rejected` with each failed check's time (Beijing) and reason."""
    lines = [
        f"{at.astimezone(CHINA).strftime('%H:%M')} {face_reason(_, code) or code}"
        for at, code in reasons
    ]
    return identity_rejected(attempt, lines)


def standing(
    label: str, eligibility: ExamEligibility, best: int | None, titles: dict[str, str]
) -> str:
    """S13/S14 in one paragraph: what is missing or what is possible, and the best score."""
    lines = [f"<b>{label}</b>"]
    if eligibility.resume is not None:
        lines.append(
            _(
                "Attempt {number} is running until {deadline} (Beijing time): continue it now."
            ).format(number=eligibility.resume.number, deadline=_when(eligibility.resume.deadline))
        )
    elif eligibility.block is ExamBlock.LESSONS:
        lines.append(_("The exam opens when every lesson is at 100%. Still to finish:"))
        lines += [
            _("• {lesson}: {percent}%").format(lesson=titles.get(key, key), percent=percent)
            for key, percent in eligibility.short_lessons
        ]
    elif eligibility.block is ExamBlock.WINDOW_CLOSED:
        lines.append(
            _(
                "Your study window closed on {date} (Beijing time). You can apply for an extension "
                "under 📨 Applications."
            ).format(date=_when(eligibility.window_end))
        )
    elif eligibility.block is ExamBlock.NO_ATTEMPTS:
        lines.append(
            _(
                "All attempts are used without a pass. You can apply for a make-up exam under "
                "📨 Applications; approved, it gives 5 new attempts."
            )
        )
    elif eligibility.block is ExamBlock.PASSED:
        lines.append(_("Passed. Your completion receipt is below."))
    elif eligibility.block is ExamBlock.HELD:
        lines.append(held_standing())
    elif eligibility.block is ExamBlock.PHOTO_PENDING:
        lines.append(
            _(
                "Your new enrolment photo is waiting for staff approval. The exam opens once "
                "they approve it; you hear it here."
            )
        )
    else:
        lines.append(
            _("The exam is open: {left} attempts left, 60 points pass.").format(
                left=eligibility.attempts_left
            )
        )
    if best is not None:
        lines.append(_("Best score so far: {best}").format(best=best))
    return "\n".join(lines)


def no_paid_enrolment() -> str:
    return _("The exam opens after your enrolment is paid and every lesson is finished.")


def open_exam_button() -> str:
    return _("✍️ Open the exam")


def receipt_button() -> str:
    return _("🧾 Send my receipt")


def receipt_caption(number: str, score: int) -> str:
    return _(
        "🎓 Congratulations, you passed with {score} points. Here is your completion receipt "
        "{number}: keep the PDF for the certificate renewal; its QR code proves it is genuine."
    ).format(score=score, number=number)


def receipt_revoked(number: str) -> str:
    return _("Receipt {number} was revoked by staff. Please contact support.").format(number=number)


def no_receipt() -> str:
    return _("You have no completion receipt yet: it comes with a pass in the exam.")


def timed_out(attempt: Attempt, passed: bool) -> str:
    text = _(
        "⏰ The time of exam attempt {number} ran out. It was submitted with the answers saved "
        "until then: {score} points."
    ).format(number=attempt.number, score=attempt.score)
    if not passed:
        text += "\n" + _("60 points are needed to pass. The review of your answers is on the page.")
    return text


def held_standing() -> str:
    return _(
        "Your last attempt reached the pass mark, but a face check during it did not pass. Staff "
        "confirm that it was you before the receipt is issued; you hear it here."
    )


def held(attempt: Attempt) -> str:
    return _(
        "Exam attempt {number}: {score} points. A face check during it did not pass, so staff "
        "now look at the photos to confirm that it was you who sat it. The receipt follows as "
        "soon as they do; you hear it here."
    ).format(number=attempt.number, score=attempt.score)


def identity_rejected(attempt: Attempt, reasons: list[str]) -> str:
    lines = [
        _(
            "Staff could not confirm that it was you who sat exam attempt {number}, so it does "
            "not count: no receipt, and it does not use one of your attempts. Why:"
        ).format(number=attempt.number)
    ]
    lines += [f"• {reason}" for reason in reasons]
    lines.append(
        _(
            "You can sit the exam again. Every face check must pass; if something is wrong "
            "with your enrolment photo, write to 💬 Contact support."
        )
    )
    return "\n".join(lines)


def ten_minutes_left(deadline: datetime) -> str:
    return _(
        "⏳ 10 minutes left in your exam attempt (until {deadline}, Beijing time). At the "
        "deadline it is submitted with the answers saved so far."
    ).format(deadline=_when(deadline))


# Staff.


def staff_exam_usage() -> str:
    return _("Usage: /exam CERTIFICATE_NUMBER — the attempts of that enrolment and their timeline.")


def staff_revoke_usage() -> str:
    return _("Usage: /revoke RECEIPT_NUMBER reason")


def staff_not_found() -> str:
    return _("Nothing found for that number.")


def staff_revoked(number: str) -> str:
    return _("Receipt {number} is revoked; its QR code now shows “revoked”.").format(
        number=escape(number)
    )


def staff_not_revoked(number: str) -> str:
    return _("Receipt {number} does not exist or is already revoked.").format(number=escape(number))


def staff_attempt_line(attempt_id: int, attempt: Attempt) -> str:
    score = "—" if attempt.score is None else attempt.score
    line = _("<b>Attempt {number}</b> (id {id}): {status}, score {score}").format(
        number=attempt.number,
        id=attempt_id,
        status=attempt_status_name(attempt.status),
        score=score,
    )
    if attempt.identity is not Identity.CONFIRMED:
        line += f" · {identity_name(attempt.identity)}"
    return line


def identity_name(identity: Identity) -> str:
    return {
        Identity.CONFIRMED: _("identity confirmed"),
        Identity.HELD: _("held for staff: a face check failed"),
        Identity.REJECTED: _("rejected by staff: does not count"),
    }[identity]


def attempt_status_name(status: AttemptStatus) -> str:
    return {
        AttemptStatus.OPEN: _("in progress"),
        AttemptStatus.SUBMITTED: _("submitted"),
        AttemptStatus.TIMED_OUT: _("time ran out"),
        AttemptStatus.VOIDED: _("given back by staff: does not count"),
    }[status]


def staff_event_line(event: TimelineEvent) -> str:
    """One moment of an attempt as a sentence, at its Beijing time."""
    if event.kind == "check":
        what = check_outcome(event.check or "", event.result or "", event.reason)
    elif event.kind == "started":
        what = _("Started the attempt")
    elif event.kind == "saved" and event.question is not None:
        what = _("Saved the answer to question {number}").format(number=event.question)
    elif event.kind == "saved":
        what = _("Saved an answer")
    elif event.kind == AttemptStatus.SUBMITTED.value and event.score is None:
        what = _("Submitted the attempt")
    elif event.kind == AttemptStatus.SUBMITTED.value:
        what = _("Submitted: {score} points").format(score=event.score)
    elif event.kind == AttemptStatus.TIMED_OUT.value:
        what = _("Time ran out; submitted with the saved answers: {score} points").format(
            score=event.score
        )
    elif event.kind == "staff_cleared":
        what = _("Staff confirmed it was the trainee")
    elif event.kind == "staff_rejected":
        what = _("Staff could not confirm it was the trainee: the attempt does not count")
    else:
        what = _("Another event")
    return f"  {_when(event.at)[11:]} {what}"


def courses_heading() -> str:
    return _("<b>Courses</b> (a class hour is 45 minutes):")


def course_line(
    kind: str,
    title: str,
    version: int,
    lessons: int,
    minutes: float,
    hours: float,
    bank: int,
    illustrative: bool,
) -> str:
    note = _("(illustrative hours: demo catalogue)") if illustrative else ""
    return (
        _(
            "• {kind}: {title} (v{version}), {lessons} lessons, {minutes} min of study; "
            "{hours} class hours on the receipt; {bank} exam questions {note}"
        )
        .format(
            kind=kind,
            title=title,
            version=version,
            lessons=lessons,
            minutes=f"{minutes:g}",
            hours=f"{hours:g}",
            bank=bank,
            note=note,
        )
        .rstrip()
    )

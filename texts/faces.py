"""Face checks in words: why one was refused (shared by the study page and the chat) and the
staff review card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.exam import Attempt
from domain.timezone import CHINA
from texts.i18n import gettext as _


def face_reason(_: Callable[[str], str], reason: str | None) -> str:
    """A sentence for each refusal code, in the language of `_`."""
    texts = {
        "not_an_image": _("We could not read this picture. Please take the photo again."),
        "not_a_video": _(
            "We could not read this video. Record a round video message in this chat (up to "
            "20 seconds)."
        ),
        "staff_review": _("Staff look at this check; progress waits for their answer."),
        "too_large": _(
            "This picture is far larger than a selfie needs. Please take it with the camera on "
            "the study page, or send it as a photo (not as a file)."
        ),
        "busy": _("Your previous picture is still being checked. Please wait a moment."),
        "no_face": _("We could not find a face. Look straight into the camera."),
        "several_faces": _("More than one face is in the picture. Please be alone in the frame."),
        "face_too_small": _("Your face is too small in the picture. Come closer to the camera."),
        "too_dark": _("The picture is too dark. Turn towards a light or a window."),
        "too_blurred": _("The picture is blurred. Hold the phone still and try again."),
        "eyes_not_visible": _(
            "Your eyes are not visible. Take off sunglasses and move hair aside."
        ),
        "same_image": _("This picture was sent before. Please take a new selfie now."),
        "challenge_needed": _("Please follow the instruction and turn your head when asked."),
        "not_facing_camera": _("Look straight into the camera first, then turn when asked."),
        "no_head_turn": _("We did not see your head turn. Try again and turn it clearly."),
        "wrong_direction": _("You turned the other way. Try again and turn as shown."),
        "flat_image": _("This looks like a photo of a photo. Please use the camera yourself."),
        "different_person": _("The two pictures show different people. Please try again."),
        "no_consent": _("Please agree to the face check first."),
        "photo_exists": _("Your enrolment photo is already taken. Staff can change it for you."),
        "no_match": _("The face does not match your enrolment photo. Progress is paused."),
        "unanswered": _("The check was not answered before the attempt ended."),
        "too_late": _(
            "The minute for this check has passed. Progress is paused until the next check."
        ),
        "no_photo": _("There is no enrolment photo yet. Please take it on the study page first."),
        "photo_pending": _(
            "Your new enrolment photo is waiting for staff approval. Lessons count again once "
            "they approve it; you hear it in the chat."
        ),
        "face_check": _("Progress is paused until the face check is passed."),
        "window_closed": _(
            "The 30-day study period has ended. You can apply for an extension in the chat."
        ),
        "complete": _("This lesson is complete."),
        "gap": "",
    }
    return str(texts.get(reason or "", ""))


# For staff: a face check in a few words (face_reason speaks to the trainee).


def check_name(kind: str) -> str:
    return {
        "enrolment": _("Enrolment photo"),
        "start": _("Face check opening a lesson"),
        "exam": _("Face check opening the exam"),
        "random": _("Random face check"),
        "staff": _("Staff face check"),
    }.get(kind, _("Face check"))


def staff_reason(reason: str | None) -> str:
    """Why a check did not pass, for staff."""
    short = {
        "too_late": _("too late"),
        "unanswered": _("not answered"),
        "no_match": _("the face does not match the enrolment photo"),
        "no_photo": _("no enrolment photo"),
        "photo_pending": _("the new enrolment photo awaits approval"),
        "staff_review": _("sent to staff (no camera)"),
    }.get(reason or "")
    return short or face_reason(_, reason) or _("no reason recorded")


def check_outcome(kind: str, result: str, reason: str | None) -> str:
    """One sentence: which check, and whether it passed (and if not, why)."""
    if result == "passed":
        return _("{check} passed").format(check=check_name(kind))
    if result == "failed":
        return _("{check} failed: {reason}").format(
            check=check_name(kind), reason=staff_reason(reason)
        )
    return _("{check} asked, waiting for the answer").format(check=check_name(kind))


def _check_line(
    at: datetime, kind: str, reason: str | None, score: float | None, *, failed: bool
) -> str:
    outcome = check_outcome(kind, "failed" if failed else "passed", reason)
    if score is not None:
        outcome = _("{outcome} (similarity {score})").format(outcome=outcome, score=f"{score:.3f}")
    return f"• {_when(at)} {outcome}"


# The staff review after three failed checks.


def record_a_video(challenge: str | None) -> str:
    """A still photo answered a check that asks for a head turn."""
    turn = (
        _("then turn your head slowly to your left ⬅️")
        if challenge == "left"
        else _("then turn your head slowly to your right ➡️")
    )
    return _(
        "This check asks you to turn your head, which a photo cannot show. Record a round video "
        "message in this chat (tap the microphone button until it shows a camera, then hold it): "
        "look straight into the camera, {turn}. Within the minute."
    ).format(turn=turn)


def sent_to_staff() -> str:
    return _(
        "Staff will look at your face checks and the photo you sent. Progress resumes as soon as "
        "they confirm it is you; you hear it here."
    )


def _when(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%m-%d %H:%M:%S")


def review_card(
    review_id: int,
    checks: tuple[tuple[datetime, str, str | None, float | None], ...],
    *,
    has_photos: bool,
) -> str:
    lines = [
        _(
            "🔍 Face review {id}: three face checks in a row failed. Above: the enrolment photo "
            "and the last selfie that did not match."
        ).format(id=review_id)
        if has_photos
        else _("🔍 Face review {id}: three face checks in a row failed.").format(id=review_id)
    ]
    lines += [
        _check_line(at, kind, reason, score, failed=True) for at, kind, reason, score in checks
    ]
    lines.append(
        _("Clear if it is the trainee (progress resumes), reject if not (progress stays paused).")
    )
    return "\n".join(lines)


def exam_review_card(
    review_id: int,
    attempt: Attempt | None,
    checks: tuple[tuple[datetime, str, str | None, float | None], ...],
) -> str:
    number, score = (attempt.number, attempt.score) if attempt else ("?", "?")
    lines = [
        _(
            "🔍 Face review {id}: exam attempt {number} scored {score}, but face checks during "
            "it did not pass. Above: the enrolment photo and the failed selfies. The receipt "
            "waits for your decision."
        ).format(id=review_id, number=number, score=score)
    ]
    # A check without a reason passed.
    lines += [
        _check_line(at, kind, reason, score_of, failed=reason is not None)
        for at, kind, reason, score_of in checks
    ]
    lines.append(
        _(
            "Clear if it is the trainee (the receipt goes out), reject if not (the attempt does "
            "not count and the trainee is told why)."
        )
    )
    return "\n".join(lines)


def photo_review_card(review_id: int, *, has_photo: bool) -> str:
    lines = [
        _(
            "🔍 Face review {id}: a new enrolment photo, taken after the trainee deleted their "
            "face data (or staff removed the old photo). Until you approve it, no face check "
            "uses it and no study time counts."
        ).format(id=review_id)
    ]
    if has_photo:
        lines.append(
            _(
                "Above: the new photo. Compare it with the person you know from the support "
                "conversation, their ID card photo, or an earlier receipt."
            )
        )
    lines.append(
        _(
            "Clear if it is the trainee (their lessons count again), reject if not (they take "
            "another)."
        )
    )
    return "\n".join(lines)


def photo_approved_for_trainee() -> str:
    return _(
        "✅ Staff approved your new enrolment photo. Face checks compare with it from now on and "
        "your lessons count again."
    )


def photo_refused_for_trainee() -> str:
    return _(
        "Staff could not approve your new enrolment photo as yours, so it was removed. Please "
        "take another on the study page, alone, facing the camera; it comes to staff again. If "
        "this is wrong, write to 💬 Contact support."
    )


def clear_button() -> str:
    return _("✅ It is the trainee")


def reject_button() -> str:
    return _("❌ Not the trainee")


def review_decided_by_other() -> str:
    return _("Someone already decided this review.")


def review_recorded(cleared: bool, kind: str = "checks") -> str:
    if kind == "photo":
        return (
            _("Approved: the new photo is used from now on.")
            if cleared
            else _("Refused: the photo is removed; the trainee takes another.")
        )
    if kind == "exam":
        return (
            _("Cleared: the receipt goes out.")
            if cleared
            else _("Rejected: the attempt does not count.")
        )
    return _("Cleared: progress resumes.") if cleared else _("Rejected: progress stays paused.")


def review_cleared_for_trainee() -> str:
    return _(
        "✅ Staff looked at your face checks and confirmed it is you. Your progress continues on "
        "the study page."
    )


def review_rejected_for_trainee() -> str:
    return _(
        "Staff could not confirm from your face checks that it is you studying, so progress stays "
        "paused. If this is wrong, write to 💬 Contact support: staff can take a new enrolment "
        "photo with you."
    )


def new_photo_usage() -> str:
    return _("Usage: /newphoto CERTIFICATE_NUMBER — the trainee takes a new enrolment photo.")


def new_photo_done(number: str) -> str:
    return _("The enrolment photo of {number} is removed; the trainee takes a new one.").format(
        number=number
    )


def new_photo_for_trainee() -> str:
    return _(
        "📷 Staff removed your enrolment photo as you asked. Open 📖 Study to take a new one; "
        "face checks compare with the new photo from then on."
    )

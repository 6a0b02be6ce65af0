"""Why a face check or photo was refused, in words: shared by the study page and the chat."""

from __future__ import annotations

from collections.abc import Callable


def face_reason(_: Callable[[str], str], reason: str | None) -> str:
    """A sentence for each refusal code, in the language of `_`."""
    texts = {
        "not_an_image": _("We could not read this picture. Please take the photo again."),
        "no_face": _("We could not find a face. Look straight into the camera."),
        "several_faces": _("More than one face is in the picture. Please be alone in the frame."),
        "face_too_small": _("Your face is too small in the picture. Come closer to the camera."),
        "too_dark": _("The picture is too dark. Turn towards a light or a window."),
        "too_blurred": _("The picture is blurred. Hold the phone still and try again."),
        "eyes_not_visible": _(
            "Your eyes are not visible. Take off sunglasses and move hair aside."
        ),
        "no_consent": _("Please agree to the face check first."),
        "photo_exists": _("Your enrolment photo is already taken. Staff can change it for you."),
        "no_match": _("The face does not match your enrolment photo. Progress is paused."),
        "too_late": _(
            "The minute for this check has passed. Progress is paused until the next check."
        ),
        "no_photo": _("There is no enrolment photo yet. Please take it on the study page first."),
        "face_check": _("Progress is paused until the face check is passed."),
        "window_closed": _(
            "The 30-day study period has ended. You can apply for an extension in the chat."
        ),
        "complete": _("This lesson is complete."),
        "gap": "",
    }
    return str(texts.get(reason or "", ""))

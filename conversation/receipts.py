"""The completion receipt as the chat says it after a pass (R-EXAM-3), whichever channel: the
image to look at with its caption, then the PDF to print; or why there is none (revoked).
Telegram sends both files; WeChat the image, and the PDF as a link to the records page."""

from __future__ import annotations

from conversation.replies import Attachment, FileKind, Reply, Turn, say
from texts import exam as texts


def receipt_turn(number: str, score: int, files: tuple[bytes, bytes] | None) -> Turn:
    """`files`: the receipt's (PNG, PDF); None when the receipt is revoked."""
    if files is None:
        return Turn().add(Reply(say(texts.receipt_revoked, number)))
    png, pdf = files
    return Turn().add(
        Reply(
            say(texts.receipt_caption, number, score),
            attachment=Attachment(FileKind.PHOTO, f"receipt-{number}.png", data=png),
        ),
        Reply("", attachment=Attachment(FileKind.DOCUMENT, f"receipt-{number}.pdf", data=pdf)),
    )

"""Outbox rows as WeChat messages, rendered for WeChat from the row's payload: the words and
next steps every channel shares (texts/notices.py) made a core reply, shown as a conversation
turn is (`WeChatReplies`: links, menu choices, pages through OAuth), plus what a notice outside
the 48-hour window carries (its words without links, one link)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from conversation import actions
from conversation.actions import MenuAction, PayAction
from conversation.flows.exam import renewal_press
from conversation.replies import (
    Attachment,
    Button,
    FileKind,
    OpenPage,
    Reply,
    Turn,
    rows,
)
from domain.locales import Locale, resolve_locale
from domain.reminders import ANSWER_KINDS
from infra.outbox import Claimed
from texts import common
from texts import payment as payment_texts
from texts.exam import receipt_button
from texts.i18n import Catalogs
from texts.notices import Composed, Step, compose
from texts.reminders import renewal_applied_button
from wechat.channel import _HREF, _TAG, RECORDS_PATH, Outgoing, WeChatReplies, plain

# Telegram's way into the web view (webview/views.py `launch`), under the web view's root.
LAUNCH = "/launch"
# A template message's field holds so much; the rest is behind its link.
NOTICE_LIMIT = 180


@dataclass(frozen=True, slots=True)
class WeChatNotice:
    """One outbox row for one WeChat account."""

    kind: str  # the outbox row's kind: the notice's template
    messages: tuple[Outgoing, ...]  # inside the window: customer-service messages
    summary: str  # outside it: the words of the notice, without links, shortened
    url: str  # the notice's link
    photo: str | None = None  # a broadcast's picture (a Telegram file id): sent as an image
    row: int | None = None  # the outbox row, for noting which messages went
    delivered: int = 0  # messages an earlier try delivered (the picture first): not again

    def to_payload(self) -> dict[str, Any]:
        """As an outbox row's payload (words already made, for `kind` TOLD or TURN): JSON, a
        picture by its reference (or, made by us with none, its bytes in base64)."""
        return {
            "messages": [_outgoing_json(outgoing) for outgoing in self.messages],
            "summary": self.summary,
            "url": self.url,
        }

    @classmethod
    def from_payload(cls, kind: str, payload: dict[str, Any]) -> WeChatNotice:
        return cls(
            kind,
            tuple(_outgoing_of(part) for part in payload["messages"]),
            payload["summary"],
            payload["url"],
        )


def _outgoing_json(outgoing: Outgoing) -> dict[str, Any]:
    upload = outgoing.upload
    if upload is None:
        return {"message": outgoing.message}
    picture: dict[str, str] = {"name": upload.name}
    if upload.file_ref:
        picture["ref"] = upload.file_ref
    else:
        picture["base64"] = base64.b64encode(upload.data or b"").decode("ascii")
    return {"message": {"msgtype": "image"}, "picture": picture}


def _outgoing_of(part: dict[str, Any]) -> Outgoing:
    picture = part.get("picture")
    if picture is None:
        return Outgoing(part["message"])
    data = base64.b64decode(picture["base64"]) if "base64" in picture else None
    upload = Attachment(FileKind.PHOTO, picture["name"], data=data, file_ref=picture.get("ref"))
    return Outgoing({"msgtype": "image"}, upload)


def _path(url: str, webapp_url: str) -> str:
    """A web view address as the path of its page (what `OpenPage` carries). Telegram's Mini
    App opens through its launch page (`/app/launch/…`), which only Telegram can sign in: in
    WeChat the link goes to the page itself, through OAuth."""
    parts = urlsplit(url)
    path = parts.path.removeprefix(urlsplit(webapp_url).path.rstrip("/"))
    if path == LAUNCH or path.startswith(LAUNCH + "/"):
        path = path.removeprefix(LAUNCH)
    return path + (f"?{parts.query}" if parts.query else "")


class WeChatNotices:
    """`infra.sender.Render` for WeChat accounts."""

    def __init__(self, i18n: Catalogs, replies: WeChatReplies, webapp_url: str) -> None:
        self._i18n = i18n
        self._replies = replies
        self._webapp_url = webapp_url.rstrip("/")

    def _button(self, step: Step, params: dict[str, Any]) -> Button | None:
        if step is Step.APPLICATIONS:
            return Button(common.applications_button(), actions.menu(MenuAction.APPLICATIONS))
        if step is Step.START_STUDYING:
            page = OpenPage(_path(params["webapp_url"], self._webapp_url))
            return Button(payment_texts.start_studying_button(), page)
        if step is Step.NEW_QR:
            return Button(payment_texts.new_qr(), actions.pay(PayAction.RENEW))
        if step is Step.RECEIPT:  # receipts are downloaded from the records page
            return Button(receipt_button(), OpenPage(RECORDS_PATH))
        # "I applied for the renewal": the core's exam flow answers the press.
        return Button(renewal_applied_button(), renewal_press(params["receipt"]))

    def notice(self, kind: str, composed: Composed, locale: Locale) -> WeChatNotice:
        buttons = [self._button(step, composed.params) for step in composed.steps]
        document = (
            Attachment(FileKind.DOCUMENT, "invoice", file_ref=composed.document)
            if composed.document
            else None
        )
        reply = Reply(composed.text, rows(*([b] for b in buttons if b)), attachment=document)
        messages = tuple(self._replies.render(Turn().add(reply), locale))
        text = " ".join(_TAG.sub("", plain(composed.text)).split())
        if len(text) > NOTICE_LIMIT:
            text = text[: NOTICE_LIMIT - 1] + "…"
        pages = [b.action.path for b in buttons if b and isinstance(b.action, OpenPage)]
        found = _HREF.search(plain(composed.text))
        url = (
            self._replies.page_url(pages[0])
            if pages
            else found.group(2)
            if found
            else self._replies.page_url("/")
        )
        return WeChatNotice(kind, messages, text, url, composed.photo)

    def text(self, kind: str, text: str, locale: Locale) -> WeChatNotice:
        """Words only (a decision staff made), as a notice of `kind`."""
        return self.notice(kind, Composed(text), locale)

    def __call__(
        self, item: Claimed, payload: dict[str, Any], locale: str, now: datetime
    ) -> WeChatNotice:
        delivered = int(item.payload.get("delivered", 0))
        if item.kind in ANSWER_KINDS:  # made in the person's language when it was queued
            made = WeChatNotice.from_payload(item.kind, payload)
        else:
            speaks = resolve_locale(locale, None)
            with self._i18n.context(), self._i18n.use_locale(speaks.value):
                composed = compose(item.kind, payload, now, essential=item.essential)
                made = self.notice(item.kind, composed, speaks)
        return replace(made, row=item.id, delivered=delivered)

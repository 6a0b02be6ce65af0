"""The outbox's WeChat transport: a row rendered for WeChat (wechat/notices.py) delivered as
WeChat allows at that moment (docs/architecture.md, "Reminders on WeChat"):

- inside the 48-hour window, customer-service messages: the text with its links, choices as a
  menu message (they come back as presses, as in a conversation), pages as OAuth links, a
  broadcast's picture (or a receipt's, made again from its id) uploaded as temporary media and
  sent as an image; a row of several messages notes how many went (`progress`), so a retry
  after WeChat stopped it halfway (its per-message cap) sends only the rest;
- outside it (or when WeChat says the window closed, 45015), a subscription notice when the
  person accepted its template, else a template message: the words and one link.

WeChat's answers are classified for the sender: not following / refusing notices is the
recipient gone (as Telegram's 403), quotas and outages are "later", anything else a rejection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from conversation.replies import Attachment, FileKind
from domain.clock import Clock
from domain.reminders import ANSWER_KINDS
from infra.sender import RecipientGone, Rejected, TryLater
from wechat.api import WeChatApi, WeChatError
from wechat.channel import Outgoing, window_open
from wechat.notices import WeChatNotice

log = logging.getLogger(__name__)

WINDOW_CLOSED = 45015
# The allowance of messages per message from the person is used up: a reminder waits (the row
# is retried), an answer about the person's own case (`ANSWER_KINDS`) goes as a notice now.
CAPPED = 45047
# bizsend: the person has not accepted this subscription template (or used it up).
NOT_SUBSCRIBED = 43101
# bizsend: no such template (WECHAT_SUBSCRIBE_TEMPLATE not set up): the template message goes.
BAD_TEMPLATE = 40037
GONE = frozenset({40003, 43004, 43101, 43019})  # bad openid, unfollowed, refused, blocked
LATER = frozenset({-1, 45009, 45047, 45011})  # busy, daily quota, per-message cap, frequency


@dataclass(frozen=True, slots=True)
class NoticeTemplates:
    """Template ids by outbox kind (settings WECHAT_TEMPLATE_*); `default` for the rest.
    `subscription`: the subscription-notice template (订阅通知, WECHAT_SUBSCRIBE_TEMPLATE) tried
    first outside the window; "" for none."""

    default: str = "jijiao-reminder"
    by_kind: Mapping[str, str] = field(default_factory=dict)
    subscription: str = ""

    def for_kind(self, kind: str) -> str:
        return self.by_kind.get(kind, self.default)


LastInbound = Callable[[int], Awaitable[datetime | None]]
ExternalId = Callable[[int], Awaitable[str | None]]
# A picture by its reference (a broadcast's: a Telegram file id; a receipt's: "receipt:<id>")
# → its file name and bytes.
FetchFile = Callable[[str], Awaitable[tuple[str, bytes]]]
# (outbox row id, how many of its messages went out): kept with the row for a retry.
Progress = Callable[[int, int], Awaitable[None]]
# Temporary media live 3 days on WeChat's side; reused for a little less.
MEDIA_KEPT = timedelta(days=2)


class WeChatTransport:
    """infra.sender.Transport for WeChat accounts (negative ids, their openid as external id)."""

    def __init__(
        self,
        api: WeChatApi,
        clock: Clock,
        *,
        openid_of: ExternalId,
        last_inbound: LastInbound,
        templates: NoticeTemplates | None = None,
        fetch: FetchFile | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._api = api
        self._clock = clock
        self._openid_of = openid_of
        self._last_inbound = last_inbound
        self._templates = templates or NoticeTemplates()
        self._fetch = fetch
        self._progress = progress
        self._media: dict[str, tuple[str, datetime]] = {}
        self._uploading: dict[str, asyncio.Lock] = {}

    async def send(self, chat_id: int, message: WeChatNotice) -> int:
        openid = await self._openid_of(chat_id)
        if not openid:
            raise RecipientGone("no WeChat openid for this account")
        try:
            if window_open(await self._last_inbound(chat_id), self._clock.now()):
                try:
                    await self._service_messages(openid, message)
                    return 0
                except WeChatError as error:
                    answer = error.errcode == CAPPED and message.kind in ANSWER_KINDS
                    if error.errcode != WINDOW_CLOSED and not answer:
                        raise
                    log.info("WeChat refused (%s) for %s: a notice", error.errcode, chat_id)
            await self._notify(openid, message)
            return 0
        except WeChatError as error:
            if error.errcode in GONE:
                raise RecipientGone(f"WeChat {error.errcode}: {error.errmsg}") from error
            if error.errcode in LATER:
                raise TryLater(f"WeChat {error.errcode}: {error.errmsg}") from error
            raise Rejected(f"WeChat {error.errcode}: {error.errmsg}") from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TryLater(f"WeChat unreachable: {error!r}") from error

    async def _service_messages(self, openid: str, message: WeChatNotice) -> None:
        """The notice's messages, its picture first (uploaded once per few days: temporary
        media live 3 days, so a broadcast to thousands uploads it once). Those an earlier try
        delivered (`message.delivered`) are not sent again; each one sent is noted."""
        parts = list(message.messages)
        if message.photo is not None:
            picture = Attachment(FileKind.PHOTO, "picture", file_ref=message.photo)
            parts.insert(0, Outgoing({"msgtype": "image"}, picture))
        for index in range(message.delivered, len(parts)):
            await self._api.send(openid, await self._ready(parts[index]))
            if message.row is not None and self._progress is not None and index + 1 < len(parts):
                try:
                    await self._progress(message.row, index + 1)
                except Exception:  # the rest still goes; only a retry would repeat this part
                    log.warning("WeChat row %s: progress not noted", message.row, exc_info=True)

    async def _ready(self, outgoing: Outgoing) -> dict[str, Any]:
        """The message as WeChat takes it: a picture uploaded first (made by us: its bytes;
        held elsewhere or made again: by its reference)."""
        upload = outgoing.upload
        if upload is None:
            return outgoing.message
        if upload.data is not None:
            media_id = await self._api.upload("image", upload.name, upload.data)
        elif upload.file_ref:
            media_id = await self._media_of(upload.file_ref)
        else:
            raise Rejected("a picture with neither bytes nor a reference")
        return {"msgtype": "image", "image": {"media_id": media_id}}

    async def _media_of(self, file_ref: str) -> str:
        # The sender sends to many at once: one of them uploads, the others wait for it.
        async with self._uploading.setdefault(file_ref, asyncio.Lock()):
            now = self._clock.now()
            cached = self._media.get(file_ref)
            if cached is not None and cached[1] > now:
                return cached[0]
            if self._fetch is None:
                raise Rejected("no way to fetch the picture for WeChat")
            try:
                name, data = await self._fetch(file_ref)
            except Exception as error:  # Telegram away, the file gone: the row waits
                raise TryLater(f"picture not fetched: {error!r}") from error
            media_id = await self._api.upload("image", name, data)
            self._media[file_ref] = (media_id, now + MEDIA_KEPT)
            return media_id

    async def _notify(self, openid: str, message: WeChatNotice) -> None:
        """Outside the window: a subscription notice when the person accepted its template
        (WeChat keeps that consent and counts a one-time one down, so it is asked, not
        remembered here), else the template message."""
        notice = {
            "template_id": self._templates.for_kind(message.kind),
            "url": message.url,
            "data": {"content": {"value": message.summary}},
        }
        if self._templates.subscription:
            subscribed = {
                "template_id": self._templates.subscription,
                "page": notice["url"],
                "data": notice["data"],
            }
            try:
                await self._api.subscribe(openid, subscribed)
                return
            except WeChatError as error:
                if error.errcode == BAD_TEMPLATE:
                    log.warning(
                        "WeChat knows no subscription template %r", subscribed["template_id"]
                    )
                elif error.errcode != NOT_SUBSCRIBED:
                    raise
        await self._api.template(openid, notice)

"""Words for a WeChat account outside its own turn, one path for all of them: staff's decision on
an application and the rest staff tell (the conversation core's `Tell` port), and a core turn on
the product's initiative (the receipt after a pass, the exam's own notices). Made in the
person's language now, they become an outbox row (`TOLD` or `TURN`) that WeChat's transport
delivers as WeChat allows at that moment (a customer-service message inside the 48-hour window,
else a subscription or template notice), with the outbox's retries: a WeChat outage or quota at
the moment staff decide loses nothing (docs/architecture.md, "Decisions on WeChat")."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable

from conversation.replies import Attachment, FileKind, Say, Turn
from domain.accounts import ChatUserId
from domain.clock import Clock
from domain.reminders import TOLD, TURN
from infra.outbox import NewMessage, TortoiseOutbox
from infra.repositories.accounts import locale_of
from texts.i18n import Catalogs
from wechat.channel import _TAG, RECORDS_PATH, Outgoing, WeChatReplies, plain
from wechat.notices import NOTICE_LIMIT, WeChatNotice, WeChatNotices

log = logging.getLogger(__name__)

# The account's WeChat openid; None for an account of another channel.
OpenIdOf = Callable[[int], Awaitable[str | None]]


class WeChatLater:
    """`Tell` (called with an account and lines) and `turn` (BotExamNotifier's `other_channel`)
    for WeChat accounts, both queued in the outbox. Each row's `dedup_key` makes a repeated
    call (a retried request, a job run again) one message."""

    def __init__(
        self,
        outbox: TortoiseOutbox,
        notices: WeChatNotices,
        replies: WeChatReplies,
        i18n: Catalogs,
        clock: Clock,
        *,
        openid_of: OpenIdOf,
    ) -> None:
        self._outbox = outbox
        self._notices = notices
        self._replies = replies
        self._i18n = i18n
        self._clock = clock
        self._openid_of = openid_of

    async def __call__(self, account: ChatUserId, *lines: Say) -> bool:
        """Staff's words, queued; the same words to the same person the same day are one."""
        locale = await locale_of(account)
        with self._i18n.use_locale(locale):
            text = "\n".join(map(str, lines))
        day = self._clock.now().date().isoformat()
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        notice = self._notices.text(TOLD, text, locale)
        await self._queue(account, notice, f"{TOLD}:{account}:{day}:{digest}")
        return True

    async def turn(self, account: int, turn: Turn, key: str, picture: str | None = None) -> bool:
        """A core turn, as the conversation renders it for WeChat; False when the account is not
        a WeChat one (another channel delivers it). `key`: what the turn is about (the receipt,
        the attempt and its event), for the row's dedup key. `picture`: how the turn's picture
        made by us is made again at send time (e.g. "receipt:<id>"), so the row holds a
        reference, not the image (without one, its bytes go in the row, base64)."""
        if await self._openid_of(account) is None:
            return False
        shown = self._replies.render(turn, await locale_of(ChatUserId(account)))
        if picture is not None:
            shown = [_by_reference(outgoing, picture) for outgoing in shown]
        words = next((o.plain_text for o in shown if o.plain_text), "") or ""
        summary = " ".join(_TAG.sub("", plain(words)).split())
        if len(summary) > NOTICE_LIMIT:
            summary = summary[: NOTICE_LIMIT - 1] + "…"
        url = self._replies.page_url(RECORDS_PATH)
        notice = WeChatNotice(TURN, tuple(shown), summary, url)
        await self._queue(ChatUserId(account), notice, f"{TURN}:{key}:{account}")
        return True

    async def _queue(self, account: ChatUserId, notice: WeChatNotice, key: str) -> None:
        row = NewMessage(
            chat_id=account,
            kind=notice.kind,
            dedup_key=key,
            payload=notice.to_payload(),
            # An answer about the person's own case: muting covers reminders, not this.
            essential=True,
            not_before=self._clock.now(),
        )
        if not await self._outbox.enqueue([row]):
            log.info("WeChat row %s was queued already", key)


def _by_reference(outgoing: Outgoing, picture: str) -> Outgoing:
    upload = outgoing.upload
    if upload is None or upload.data is None:
        return outgoing
    return Outgoing(outgoing.message, Attachment(FileKind.PHOTO, upload.name, file_ref=picture))

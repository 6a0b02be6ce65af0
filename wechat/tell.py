"""The conversation core's `Tell` port in WeChat: words for a person outside their own turn
(staff's decision on their application), in their language, as WeChat allows at that moment:
a customer-service message inside the 48-hour window, else a subscription or template notice
(the outbox's transport decides, so both say it the same way)."""

from __future__ import annotations

import logging

from conversation.replies import Say
from domain.accounts import ChatUserId
from infra.repositories.accounts import locale_of
from infra.sender import Undeliverable
from texts.i18n import Catalogs
from wechat.notices import WeChatNotices
from wechat.outbox import WeChatTransport

log = logging.getLogger(__name__)

# The notice's template: a decision is a notice about the person's own case, as a reminder is.
TELL_KIND = "tell"


class WeChatTell:
    def __init__(self, transport: WeChatTransport, notices: WeChatNotices, i18n: Catalogs) -> None:
        self._transport = transport
        self._notices = notices
        self._i18n = i18n

    async def __call__(self, account: ChatUserId, *lines: Say) -> bool:
        locale = await locale_of(account)
        with self._i18n.use_locale(locale):
            text = "\n".join(map(str, lines))
        try:
            await self._transport.send(account, self._notices.text(TELL_KIND, text, locale))
        except Undeliverable as error:
            log.warning("%s not told on WeChat (%s)", account, error)
            return False
        return True

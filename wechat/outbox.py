"""The outbox's WeChat transport: a reminder or broadcast row, rendered once as for every
channel (text, buttons), delivered as WeChat allows at that moment (docs/architecture.md,
"Reminders on WeChat"):

- inside the 48-hour window, customer-service messages: the text with its links, buttons as a
  menu message (choices come back as presses, as in a conversation), pages as OAuth links;
- outside it (or when WeChat says the window closed, 45015), a template message: the text as
  the notice's content and a link to the web view.

WeChat's answers are classified for the sender: not following / refusing notices is the
recipient gone (as Telegram's 403), quotas and outages are "later", anything else a rejection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from domain.clock import Clock
from infra.sender import RecipientGone, Rejected, Rendered, TryLater
from wechat.api import WeChatApi, WeChatError
from wechat.channel import _HREF, _TAG, MAX_CHOICE_ID, WeChatReplies, link, plain, window_open

log = logging.getLogger(__name__)

WINDOW_CLOSED = 45015
# bizsend: the person has not accepted this subscription template (or used it up).
NOT_SUBSCRIBED = 43101
GONE = frozenset({40003, 43004, 43101, 43019})  # bad openid, unfollowed, refused, blocked
LATER = frozenset({-1, 45009, 45047, 45011})  # busy, daily quota, per-message cap, frequency
# A template message's field holds so much; the rest is behind its link.
NOTICE_LIMIT = 180


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


class WeChatTransport:
    """infra.sender.Transport for WeChat accounts (negative ids, their openid as external id)."""

    def __init__(
        self,
        api: WeChatApi,
        replies: WeChatReplies,
        clock: Clock,
        *,
        openid_of: ExternalId,
        last_inbound: LastInbound,
        templates: NoticeTemplates | None = None,
        webapp_url: str = "",
    ) -> None:
        self._api = api
        self._replies = replies
        self._clock = clock
        self._openid_of = openid_of
        self._last_inbound = last_inbound
        self._templates = templates or NoticeTemplates()
        self._webapp_url = webapp_url.rstrip("/")

    async def send(self, chat_id: int, message: Rendered) -> int:
        openid = await self._openid_of(chat_id)
        if not openid:
            raise RecipientGone("no WeChat openid for this account")
        try:
            if window_open(await self._last_inbound(chat_id), self._clock.now()):
                try:
                    for outgoing in self.service_messages(message):
                        await self._api.send(openid, outgoing)
                    return 0
                except WeChatError as error:
                    if error.errcode != WINDOW_CLOSED:
                        raise
                    log.info("WeChat window closed for %s: sending a notice", chat_id)
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

    async def _notify(self, openid: str, message: Rendered) -> None:
        """Outside the window: a subscription notice when the person accepted its template
        (WeChat keeps that consent and counts a one-time one down, so it is asked, not
        remembered here), else the template message."""
        notice = self.notice(message)
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
                if error.errcode != NOT_SUBSCRIBED:
                    raise
        await self._api.template(openid, notice)

    # ---- rendering ---------------------------------------------------------------------

    def _page(self, url: str) -> str:
        """A web view address (a Telegram Mini App's) as the OAuth link that signs in on
        WeChat; any other address as it is."""
        if self._webapp_url and url.startswith(self._webapp_url):
            parts = urlsplit(url)
            path = parts.path.removeprefix("/app") or "/"
            return self._replies.page_url(path + (f"?{parts.query}" if parts.query else ""))
        return url

    def _buttons(self, message: Rendered) -> tuple[list[str], list[dict[str, str]]]:
        links: list[str] = []
        choices: list[dict[str, str]] = []
        rows = message.markup.inline_keyboard if message.markup is not None else []
        for row in rows:
            for button in row:
                label = plain(button.text)
                if button.callback_data and len(button.callback_data) <= MAX_CHOICE_ID:
                    choices.append({"id": button.callback_data, "content": label})
                elif button.web_app is not None:
                    links.append(link(self._page(button.web_app.url), label))
                elif button.url:
                    links.append(link(self._page(button.url), label))
        return links, choices

    def service_messages(self, message: Rendered) -> list[dict[str, Any]]:
        """Customer-service messages: the text and links, then the choices as a menu."""
        links, choices = self._buttons(message)
        content = "\n\n".join(part for part in [plain(message.text), *links] if part)
        if choices:
            menu = {"head_content": content, "list": choices, "tail_content": ""}
            return [{"msgtype": "msgmenu", "msgmenu": menu}]
        return [{"msgtype": "text", "text": {"content": content}}]

    def notice(self, message: Rendered) -> dict[str, Any]:
        """A template message: the text (shortened) and the first link, else the web view."""
        text = " ".join(_without_links(plain(message.text)).split())
        if len(text) > NOTICE_LIMIT:
            text = text[: NOTICE_LIMIT - 1] + "…"
        links, _ = self._buttons(message)
        url = _first_href(" ".join([plain(message.text), *links])) or self._replies.page_url("/")
        return {
            "template_id": self._templates.for_kind(message.kind),
            "url": url,
            "data": {"content": {"value": text}},
        }


def _without_links(text: str) -> str:
    return _TAG.sub("", text)


def _first_href(text: str) -> str | None:
    found = _HREF.search(text)
    return found.group(2) if found else None

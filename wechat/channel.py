"""WeChat's messages and events in as core events, the core's turns out as customer-service
messages: text with links (WeChat shows no HTML but <a href>), buttons as a menu message
(菜单消息, its choices come back as presses), pages of the web view as links through OAuth."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from html import unescape
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from wechatpy.replies import TextReply

from conversation.engine import Talk
from conversation.events import Command, Event, FileSent, Leftover, Pressed, Typed, Unanswered
from conversation.flows.common import menu_buttons
from conversation.replies import (
    Ask,
    Attachment,
    FileKind,
    OpenPage,
    OpenUrl,
    Press,
    Reply,
    Turn,
    say,
)
from domain.accounts import ChatAccount, ChatUserId
from domain.clock import Clock
from domain.locales import Locale
from infra.repositories.registry import one_update
from texts import wechat as texts
from texts.i18n import use_locale
from wechat.api import WeChatApi, WeChatError

log = logging.getLogger(__name__)

CHANNEL = "wechat"
# WeChat gives an Official Account no name or language with a message: the name WeChat itself
# shows for a person without one (said in the reader's language: texts.wechat.called), and
# Chinese until the person chooses (/language).
UNNAMED = texts.UNNAMED
DEFAULT_LANGUAGE = "zh_CN"
# Customer-service messages are accepted within this long of the person's last message.
SERVICE_WINDOW = timedelta(hours=48)
# A menu message choice's id (the packed press) is kept short; WeChat echoes it back.
MAX_CHOICE_ID = 64
# The conversation state's key: WeChat accounts have negative ids, never a Telegram chat's.
STATE_BOT_ID = 0
STATE_DESTINY = "wechat"
RECORDS_PATH = "/records"  # the web view's records page, where receipts are downloaded

Conversations = Callable[[Event, Talk], Awaitable[Turn]]


class Accounts(Protocol):
    """Accounts by their id on a channel (infra's TortoiseAccountRepository)."""

    async def seen_on(
        self,
        channel: str,
        external_id: str,
        first_name: str,
        language_code: str | None,
        *,
        at: datetime | None = None,
    ) -> ChatAccount: ...

    async def left(self, channel: str, external_id: str) -> None: ...


_TAG = re.compile(r"<(/?)([a-zA-Z]+)([^>]*)>")
_HREF = re.compile(r"""\bhref\s*=\s*(["'])(.*?)\1""")


def window_open(last_inbound: datetime | None, now: datetime) -> bool:
    """May the product still write to this WeChat account freely (customer-service messages)?"""
    return last_inbound is not None and now - last_inbound < SERVICE_WINDOW


def plain(html: str) -> str:
    """Telegram's HTML as WeChat shows it: tags gone, links kept as <a href>."""

    def keep_links(match: re.Match[str]) -> str:
        closing, name, rest = match.groups()
        if name.lower() != "a":
            return ""
        if closing:
            return "</a>"
        href = _HREF.search(rest)
        return f'<a href="{href.group(2)}">' if href else ""

    return unescape(_TAG.sub(keep_links, html))


def link(url: str, label: str) -> str:
    return f'<a href="{url}">{label}</a>'


def _message_ref(message: Any) -> str:
    return str(getattr(message, "id", None) or getattr(message, "time", "") or "")


def event_of(message: Any) -> Event | None:
    """A wechatpy message or event as what the person did; None for what asks no answer
    (an unsubscribe, a location report, a menu link opened)."""
    kind = getattr(message, "type", "")
    data = getattr(message, "_data", {})
    if kind == "text":
        chosen = data.get("bizmsgmenuid")
        if chosen:  # a choice of a menu message we sent
            return Pressed(Press.unpack(str(chosen)))
        text = str(message.content or "").strip()
        if text.startswith("/") and len(text) > 1:
            name, _, args = text[1:].partition(" ")
            return Command(name.lower(), args.strip())
        return Typed(text)
    if kind == "image":
        return FileSent(FileKind.PHOTO, str(message.media_id))
    if kind == "event":
        event = str(getattr(message, "event", "")).lower()
        if event in {"subscribe", "subscribe_scan"}:
            return Command("start")
        if event == "click":
            key = str(message.key or "")
            if key.startswith("/") and len(key) > 1:
                return Command(key[1:].lower())
            return Pressed(Press.unpack(key)) if key else None
    return None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One customer-service message; an image's bytes are uploaded as media first."""

    message: dict[str, Any]
    upload: Attachment | None = None

    @property
    def plain_text(self) -> str | None:
        if self.upload is None and self.message.get("msgtype") == "text":
            return str(self.message["text"]["content"])
        return None


@dataclass
class WeChatReplies:
    """Replies as WeChat messages. `base_url` is the product's public address, for links into
    the web view (they go through OAuth: /wechat/oauth?next=/app/…)."""

    base_url: str
    _dropped: list[str] = field(default_factory=list)

    def page_url(self, path: str) -> str:
        return f"{self.base_url}/wechat/oauth?next={quote('/app' + path, safe='/')}"

    def render(self, turn: Turn, locale: Locale) -> list[Outgoing]:
        with use_locale(locale.value):
            shown: list[Outgoing] = []
            if turn.notice is not None and (not turn.replies or turn.notice.alert):
                shown.append(_text(plain(str(turn.notice.text))))
            for reply in turn.replies:
                shown.extend(self._reply(reply))
            return shown

    def _reply(self, reply: Reply) -> list[Outgoing]:
        if reply.ask is Ask.FORM:
            return self._form(reply)
        lines = [plain(str(reply.text))]
        choices: list[dict[str, str]] = []
        for row in reply.buttons:
            for button in row:
                label, action = plain(str(button.label)), button.action
                if isinstance(action, Press):
                    packed = action.pack()
                    if len(packed) > MAX_CHOICE_ID:
                        log.error("a button's press is too long for WeChat: %s", action.prefix)
                        continue
                    choices.append({"id": packed, "content": label})
                elif isinstance(action, OpenPage):
                    lines.append(link(self.page_url(action.path), label))
                elif isinstance(action, OpenUrl):
                    url = self.page_url(action.page) if action.page else action.url
                    lines.append(link(url, label))
        if reply.ask is Ask.PHONE:
            lines.append(texts.type_phone())
        out: list[Outgoing] = []
        attachment = reply.attachment
        if attachment is not None and attachment.kind is FileKind.PHOTO:
            if attachment.data is not None:
                out.append(Outgoing({"msgtype": "image"}, attachment))
            elif attachment.file_ref:  # a WeChat media id the person sent
                out.append(
                    Outgoing({"msgtype": "image", "image": {"media_id": attachment.file_ref}})
                )
        elif attachment is not None:
            # A customer-service message carries no file: a document is on the records page.
            lines.append(texts.file_on_records_page())
            lines.append(link(self.page_url(RECORDS_PATH), texts.open_records_link()))
        content = "\n\n".join(line for line in lines if line)
        if choices:
            out.append(
                Outgoing(
                    {
                        "msgtype": "msgmenu",
                        "msgmenu": {"head_content": content, "list": choices, "tail_content": ""},
                    }
                )
            )
        elif content:
            out.append(_text(content))
        return out

    def _form(self, reply: Reply) -> list[Outgoing]:
        """A form to fill in and send back: WeChat's chat carries no file either way (a
        customer-service message has no file type, a person cannot send one), so the web
        view's page that fills and signs it is the way."""
        pages = [
            link(self.page_url(button.action.path), plain(str(button.label)))
            for row in reply.buttons
            for button in row
            if isinstance(button.action, OpenPage)
        ]
        if not pages:
            return [_text(texts.form_not_in_wechat())]
        return [_text("\n\n".join([texts.fill_in_the_form_on_the_page(), *pages]))]


def _text(content: str) -> Outgoing:
    return Outgoing({"msgtype": "text", "text": {"content": content}})


class WeChatChannel:
    """One verified message or event: the account, the core's turn, the messages sent.
    `conversations` is the core (or a wrapper with its call shape, e.g. the SMS phone proof)."""

    def __init__(
        self,
        *,
        conversations: Conversations,
        accounts: Accounts,
        storage: BaseStorage,
        api: WeChatApi,
        replies: WeChatReplies,
        clock: Clock,
        on_inbound: Callable[[ChatUserId], Awaitable[object]] | None = None,
    ) -> None:
        self._on_inbound = on_inbound
        self._conversations = conversations
        self._accounts = accounts
        self._storage = storage
        self._api = api
        self._replies = replies
        self._clock = clock

    def state(self, account: ChatAccount) -> FSMContext:
        key = StorageKey(
            bot_id=STATE_BOT_ID,
            chat_id=account.id,
            user_id=account.id,
            destiny=STATE_DESTINY,
        )
        return FSMContext(storage=self._storage, key=key)

    async def handle(self, message: Any) -> str | None:
        """Answers `message`; the passive reply's XML when the whole answer is one plain
        text (WeChat shows it at once, no API call), else None (sent as customer-service
        messages). Whom the account is bound to is read with it, once (`one_update`)."""
        with one_update():
            return await self._handle(message)

    async def _handle(self, message: Any) -> str | None:
        openid = str(message.source)
        if str(getattr(message, "event", "")).lower() == "unsubscribe":
            await self._accounts.left(CHANNEL, openid)
            return None
        event = event_of(message)
        if event is None:
            return None
        account = await self._accounts.seen_on(
            CHANNEL, openid, UNNAMED, DEFAULT_LANGUAGE, at=self._clock.now()
        )
        if self._on_inbound is not None:
            # The person's message opens WeChat's 48 hours again: what waited for it goes first
            # (staff's answers kept while the window was closed).
            await self._on_inbound(account.id)
        talk = Talk(account, self.state(account))
        if isinstance(event, FileSent):
            try:  # a media id means nothing to staff's Telegram: the photo itself goes on
                event = replace(event, data=await self._api.download(event.file_ref))
            except (WeChatError, aiohttp.ClientError, TimeoutError) as error:
                log.warning("a photo from WeChat could not be fetched (%s)", error)
                event = None
        turn = (
            await self._conversations(event, talk)
            if event is not None
            else Turn().add(Reply(say(texts.photo_not_received)))
        )
        if not turn and isinstance(event, Typed | FileSent):
            # As in Telegram: what no step took goes to the desk when a conversation with staff
            # is open (the desk keeps the words; a photo is noted, it cannot be copied).
            words = event.text if isinstance(event, Typed) else None
            turn = await self._conversations(Leftover(_message_ref(message), words), talk)
        if not turn and isinstance(event, Typed):
            # Words no step waited for: self-help, as Telegram's fallback does.
            turn = await self._conversations(Unanswered(event.text), talk)
        if not turn:
            turn = Turn().add(Reply(say(texts.not_in_wechat_yet), menu_buttons()))
        locale = turn.speak or account.locale
        shown = self._replies.render(turn, locale)
        if len(shown) == 1 and shown[0].plain_text is not None:
            reply = TextReply(
                source=message.target,
                target=openid,
                content=shown[0].plain_text,
                time=int(self._clock.now().timestamp()),
            )
            return str(reply.render())
        for outgoing in shown:
            await self._send(openid, outgoing)
        return None

    async def _send(self, openid: str, outgoing: Outgoing) -> None:
        """One customer-service message; an image made by us is uploaded as media first."""
        message = outgoing.message
        if outgoing.upload is not None and outgoing.upload.data is not None:
            media_id = await self._api.upload("image", outgoing.upload.name, outgoing.upload.data)
            message = {"msgtype": "image", "image": {"media_id": media_id}}
        await self._api.send(openid, message)

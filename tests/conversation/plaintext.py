"""A second channel, in tests only: what a person sees as plain text, buttons as numbered
choices, their state in a dict. It proves that a channel needs nothing of Telegram's to carry
the product's conversations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from conversation.engine import Conversations, Talk
from conversation.events import (
    Command,
    Event,
    FileSent,
    Leftover,
    PhoneShared,
    Pressed,
    Typed,
    Unanswered,
)
from conversation.phone_proof import PhoneByCode
from conversation.replies import (
    Ask,
    Attachment,
    FileKind,
    OpenPage,
    OpenUrl,
    Press,
    Reply,
    Say,
    Turn,
)
from domain.accounts import AccountRepository, ChatUserId
from domain.clock import Clock
from domain.phone_codes import PhoneCodes
from infra.repositories.registry import one_update
from texts.i18n import use_locale

TAG = re.compile(r"</?[a-z][^>]*>")


@dataclass
class DictState:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    async def get_state(self) -> str | None:
        return self.state

    async def set_state(self, state: str | None = None) -> None:
        self.state = state

    async def get_data(self) -> dict[str, Any]:
        return dict(self.data)

    async def set_data(self, data: dict[str, Any]) -> None:
        self.data = dict(data)

    async def update_data(
        self, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        self.data.update(data or {}, **kwargs)
        return dict(self.data)

    async def clear(self) -> None:
        self.state, self.data = None, {}


@dataclass
class Screen:
    """One reply as the person reads it."""

    text: str
    choices: list[tuple[str, Press | OpenPage | OpenUrl]]
    asks_phone: bool
    file: str | None = None  # the name of a file that came with it
    attachment: Attachment | None = None  # a file shown with the words (a QR code)


class PlainTextChannel:
    """With `phone_codes` (and the clock), a channel with no contact button, as WeChat is: the
    person types their phone and proves it with the SMS code (conversation/phone_proof.py)."""

    def __init__(
        self,
        conversations: Conversations,
        accounts: AccountRepository,
        *,
        phone_codes: PhoneCodes | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._conversations: Conversations | PhoneByCode = conversations
        self.contact_button = phone_codes is None
        if phone_codes is not None:
            assert clock is not None, "a channel proving phones by SMS needs the clock"
            self._conversations = PhoneByCode(conversations, phone_codes, clock)
        self._accounts = accounts
        self._states: dict[int, DictState] = {}
        self._people: dict[int, tuple[str, str]] = {}
        self.screens: dict[int, list[Screen]] = {}
        self._sent = 0  # the channel's own message ids

    def meet(self, user: int, name: str, language: str) -> None:
        self._people[user] = (name, language)

    async def _turn(self, user: int, *events: Event) -> list[Screen]:
        """The first of `events` that something takes (the channel's order of handling)."""
        first_name, language = self._people[user]
        with one_update():  # as Telegram's: whom the account is bound to, read with it
            account = await self._accounts.seen(ChatUserId(user), first_name, language)
            state = self._states.setdefault(user, DictState())
            turn = Turn()
            for event in events:
                turn = await self._conversations(event, Talk(account, state))
                if turn:
                    break
        with use_locale(account.locale.value):
            shown = [self._render(reply) for reply in turn.replies]
            if turn.notice is not None:
                shown.insert(0, Screen(self._plain(str(turn.notice.text)), [], False))
        self.screens.setdefault(user, []).extend(shown)
        return shown

    @staticmethod
    def _plain(text: str) -> str:
        return unescape(TAG.sub("", text))

    def _render(self, reply: Reply) -> Screen:
        choices = [(str(b.label), b.action) for row in reply.buttons for b in row]
        file = reply.attachment.name if reply.attachment is not None else None
        asks_phone = reply.ask is Ask.PHONE
        return Screen(self._plain(str(reply.text)), choices, asks_phone, file, reply.attachment)

    async def send(self, user: int, text: str) -> list[Screen]:
        event: Event = Command(text[1:].split()[0]) if text.startswith("/") else Typed(text)
        return await self._turn(user, event)

    async def choose(self, user: int, label: str) -> list[Screen]:
        """Picks the choice whose words contain `label` on the latest screen that has it."""
        for screen in reversed(self.screens.get(user, [])):
            for words, action in screen.choices:
                if label in words and isinstance(action, Press):
                    return await self._turn(user, Pressed(action))
        raise AssertionError(f"no choice {label!r} on {user}'s screens")

    async def press(self, user: int, press: Press) -> list[Screen]:
        """A press as it arrives, packed and unpacked, whatever screen it came from (an old or
        a forged one)."""
        return await self._turn(user, Pressed(Press.unpack(press.pack())))

    async def prove_phone(self, user: int, phone: str) -> list[Screen]:
        assert self.contact_button, "this channel has no contact button: type the phone"
        return await self._turn(user, PhoneShared(phone, own=True))

    async def write(self, user: int, text: str) -> list[Screen]:
        """Words where no step may be waiting: a step's, else the desk's when a conversation
        with staff is open, else a question for self-help (Telegram's order of routers)."""
        self._sent += 1
        return await self._turn(
            user, Typed(text), Leftover(str(self._sent), text), Unanswered(text)
        )

    async def send_file(
        self, user: int, file_ref: str, kind: FileKind = FileKind.DOCUMENT, caption: str = ""
    ) -> list[Screen]:
        self._sent += 1
        sent = FileSent(kind, file_ref, None, caption or None)
        return await self._turn(user, sent, Leftover(str(self._sent)))

    async def __call__(self, account: ChatUserId, *lines: Say) -> bool:
        """The `Tell` port: words outside the person's own turn (staff's decision)."""
        first_name, language = self._people[account]
        found = await self._accounts.seen(account, first_name, language)
        with use_locale(found.locale.value):
            text = self._plain("\n".join(map(str, lines)))
        self.screens.setdefault(account, []).append(Screen(text, [], False))
        return True

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
from conversation.replies import Ask, FileKind, OpenPage, OpenUrl, Press, Reply, Say, Turn
from domain.accounts import AccountRepository, ChatUserId
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


class PlainTextChannel:
    def __init__(self, conversations: Conversations, accounts: AccountRepository) -> None:
        self._conversations = conversations
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
        return Screen(self._plain(str(reply.text)), choices, reply.ask is Ask.PHONE, file)

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

    async def prove_phone(self, user: int, phone: str) -> list[Screen]:
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

    async def press(self, user: int, press: Press) -> list[Screen]:
        """A press the person's screens need not show (an old or a forged one)."""
        return await self._turn(user, Pressed(press))

    async def __call__(self, account: ChatUserId, *lines: Say) -> bool:
        """The `Tell` port: words outside the person's own turn (staff's decision)."""
        first_name, language = self._people[account]
        found = await self._accounts.seen(account, first_name, language)
        with use_locale(found.locale.value):
            text = self._plain("\n".join(map(str, lines)))
        self.screens.setdefault(account, []).append(Screen(text, [], False))
        return True

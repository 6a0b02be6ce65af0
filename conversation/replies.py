"""What the core says: replies as data, rendered by each channel in the reader's language."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ParamSpec

from domain.locales import Locale

P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Say:
    """A sentence of `texts/` with its values, worded when the channel renders it, in the
    reader's language (a staff card in the staff's, a trainee's reply in the trainee's)."""

    sentence: Callable[..., str]
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        return self.sentence(*self.args, **dict(self.kwargs))


def say(sentence: Callable[P, str], *args: P.args, **kwargs: P.kwargs) -> Say:
    return Say(sentence, args, tuple(kwargs.items()))


Words = Say | str  # a literal for what needs no translating: a name, an emoji, a page number


@dataclass(frozen=True, slots=True)
class Press:
    """A button that comes back to the core as a `Pressed` event: a prefix naming the flow and
    its values (`enr:t:3`). Channels carry it as they can (Telegram's callback data)."""

    prefix: str
    values: tuple[str, ...] = ()

    def pack(self) -> str:
        return ":".join((self.prefix, *self.values))

    @classmethod
    def unpack(cls, data: str) -> Press:
        prefix, *values = data.split(":")
        return cls(prefix, tuple(values))


@dataclass(frozen=True, slots=True)
class OpenPage:
    """A page of the web view, opened signed in as the person (a Mini App in Telegram)."""

    path: str = ""


@dataclass(frozen=True, slots=True)
class OpenUrl:
    url: str
    # The same thing as a page of the web view, for a channel whose links open in its own app's
    # browser (WeChat: the order's pay page, paid there by JSAPI); others open `url`.
    page: str = ""


Action = Press | OpenPage | OpenUrl


@dataclass(frozen=True, slots=True)
class Button:
    label: Words
    action: Action


Buttons = tuple[tuple[Button, ...], ...]


def rows(*lines: Sequence[Button]) -> Buttons:
    return tuple(tuple(line) for line in lines if line)


class Ask(StrEnum):
    """Input a reply asks for that is more than typing."""

    PHONE = "phone"  # proof of the person's own phone: Telegram's contact button, an SMS code
    # A filled form back, as a file or a photo; the reply's page (if any) fills and signs it
    # instead, for a channel whose chat carries no files from the person (WeChat's).
    FORM = "form"


class FileKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: FileKind
    name: str
    data: bytes | None = None  # made by us (a form, a QR code, a receipt)
    file_ref: str | None = None  # a file the channel already holds (a form the person sent)


@dataclass(frozen=True, slots=True)
class Reply:
    text: Words
    buttons: Buttons = ()
    ask: Ask | None = None
    # The question that `ask` opened is answered: channels that showed something for it
    # (Telegram's reply keyboard) take it away.
    asked: bool = False
    # Replaces the message whose button was pressed (a list the person works on) instead of
    # sending a new one, where the channel can.
    edit: bool = False
    attachment: Attachment | None = None
    # A name ("order_qr|<order>") the channel keeps the sent message under, so that a later
    # message about the same thing (the order paid or expired) can take its buttons away.
    track: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """The answer to a pressed button: a short toast, or an alert the person must dismiss.
    Channels without either say it as a message."""

    text: Words
    alert: bool = False


@dataclass(slots=True)
class Turn:
    """What one event produced. `speak` is set when the person chose another language: this
    turn, and everything after it, is in that one."""

    replies: list[Reply] = field(default_factory=list)
    notice: Notice | None = None
    speak: Locale | None = None
    # The event was taken though nothing is said (a message carried to the desk): channels
    # offer it to nothing else.
    taken: bool = False
    # The pressed message's buttons are done with (Telegram takes them off the message; a
    # WeChat menu, once sent, cannot change).
    unbutton: bool = False

    def add(self, *replies: Reply) -> Turn:
        self.replies.extend(replies)
        return self

    def __bool__(self) -> bool:
        return self.taken or bool(self.replies) or self.notice is not None

"""What a person did, as any channel can tell it."""

from __future__ import annotations

from dataclasses import dataclass, field

from conversation.replies import FileKind, Press


@dataclass(frozen=True, slots=True)
class Command:
    """A command (`/pay` in Telegram, a menu item in WeChat), without its slash."""

    name: str
    args: str = ""


@dataclass(frozen=True, slots=True)
class Typed:
    text: str


@dataclass(frozen=True, slots=True)
class Pressed:
    press: Press


@dataclass(frozen=True, slots=True)
class PhoneShared:
    """A phone number and whether the channel proved it is the person's own (Telegram: the
    sender's own contact, not forwarded; WeChat: the SMS code sent to it came back)."""

    phone: str
    own: bool


@dataclass(frozen=True, slots=True)
class FileSent:
    """A file the person sent: `file_ref` is the channel's reference to it; `data` its bytes
    when that reference means nothing outside the channel (a WeChat media id, which staff's
    Telegram cannot show), fetched by the channel."""

    kind: FileKind
    file_ref: str
    name: str | None = None
    caption: str | None = None
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Unanswered:
    """Words nothing else in the conversation took (no step was waiting for them): the
    channel's last resort, answered by self-help."""

    text: str


@dataclass(frozen=True, slots=True)
class Leftover:
    """Anything the person sent that no step took, of any kind (words, a file, a sticker),
    offered to the support desk before self-help. `ref` is the channel's own id of the message,
    so the desk can carry it whole (Telegram copies it); `text` is set for plain words, which
    the desk may join with the person's next ones."""

    ref: str
    text: str | None = None


Event = Command | Typed | Pressed | PhoneShared | FileSent | Unanswered | Leftover

"""What the conversation needs from the rest of the product, besides use cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from conversation.events import Leftover
from conversation.replies import FileKind, Say
from domain.accounts import ChatUserId
from domain.desks import DeskTopic
from domain.exam import ExamEligibility
from domain.registry import CertType, Track
from domain.support import Applicable, ApplicationKind


class Desk(Protocol):
    """The support desk, wherever staff work (a Telegram forum topic per person today)."""

    async def note_for(self, account: ChatUserId, note: Say) -> None:
        """A note for staff in the person's conversation with them (opened, or reopened, for
        it), worded in the staff's language."""
        ...


@dataclass(frozen=True, slots=True)
class DeskRoute:
    """Which of the centre's desks answers a person: their track's, for what their case is
    most likely about (None: the track is not known yet)."""

    track: Track | None
    topic: DeskTopic


class Heard(StrEnum):
    """What became of a message offered to the desk."""

    NOT_OPEN = "not_open"  # the person has no conversation with staff: not the desk's
    RELAYED = "relayed"
    RELAYED_SLOWLY = "slowly"  # relayed, in order, behind a flood of the person's messages
    PAUSED = "paused"  # the account may not write to the desk (abuse): nothing relayed


class SupportDesk(Desk, Protocol):
    """The desk as a person reaches it: a conversation with staff, opened on request, and
    what the person sends afterwards carried to it. Staff's answers come back by the desk's
    own way (in Telegram, copied from the topic into the chat)."""

    async def connect(self, account: ChatUserId) -> DeskRoute | None:
        """Opens (or reopens) the person's conversation with staff; None when the account may
        not write to the desk."""
        ...

    async def hear(self, account: ChatUserId, said: Leftover) -> Heard:
        """Carries what the person sent to staff when they have a conversation open."""
        ...


@dataclass(frozen=True, slots=True)
class BlankForm:
    """The application form to fill in, and whether the web view can fill and sign it
    instead (one enrolment at a time: `/apply/{kind}/{enrolment}`)."""

    name: str
    data: bytes
    signable: bool


@dataclass(frozen=True, slots=True)
class FilledForm:
    """A filled form the person sent: a file the channel holds, and what they wrote with it."""

    kind: FileKind
    file_ref: str
    note: str | None = None
    data: bytes | None = field(default=None, repr=False)  # see FileSent.data


class ApplicationDesk(Protocol):
    """Extension, make-up and re-study applications: what an account may apply for, and
    filing one with staff (a card with the form that staff approve or reject; the decision
    reaches the person through `Tell`)."""

    async def offers(self, account: ChatUserId) -> list[Applicable]:
        """The account's paid enrolments (its employees' too, for an enterprise contact)."""
        ...

    async def blank_form(
        self, account: ChatUserId, kind: ApplicationKind, enrolment_id: int
    ) -> BlankForm | None:
        """The form for this enrolment (0: every eligible one, for an enterprise); None when
        it may not be applied for now (not this account's, or one is waiting already)."""
        ...

    async def file(
        self, account: ChatUserId, kind: ApplicationKind, enrolment_id: int, form: FilledForm
    ) -> list[int]:
        """One application per eligible enrolment, each on a card to staff: their numbers
        (none when nothing may be applied for any more)."""
        ...

    async def still_open(
        self, account: ChatUserId, kind: ApplicationKind, enrolment_id: int
    ) -> bool:
        """Whether a form for it is still awaited (not filed meanwhile in the web view)."""
        ...


class Tell(Protocol):
    """Words for a person outside their own turn (staff's decision on their application), on
    their channel, in their language. False when the channel could not deliver them (the
    person blocked the bot): what was decided stands."""

    async def __call__(self, account: ChatUserId, *lines: Say) -> bool: ...


@dataclass(frozen=True, slots=True)
class ExamStanding:
    """Where one paid enrolment stands towards the exam (S13, S14)."""

    enrolment_id: int
    cert_type: CertType
    certificate_number: str
    eligibility: ExamEligibility
    best: int | None
    lesson_titles: dict[str, dict[str, str]]  # lesson key → title by language
    receipt_id: int | None


@dataclass(frozen=True, slots=True)
class ReceiptFiles:
    """A completion receipt as sent: the image and the PDF, or only its number when staff
    revoked it."""

    number: str
    score: int
    revoked: bool
    png: bytes = b""
    pdf: bytes = b""


class ExamBoard(Protocol):
    """The exam as the chat shows it: standings and receipts (the exam is the web view's)."""

    async def standings(self, account: ChatUserId) -> list[ExamStanding]: ...

    async def receipt_ids(self, account: ChatUserId) -> list[int]:
        """The account's receipts, the latest pass first."""
        ...

    async def receipt(self, receipt_id: int) -> ReceiptFiles: ...

    async def renewal_applied(self, receipt_id: int, account: ChatUserId) -> bool:
        """The holder (or their enterprise's contact) says the renewal was applied for: its
        reminders stop. False for anyone else."""
        ...

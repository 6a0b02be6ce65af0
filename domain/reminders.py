"""Reminders and broadcasts: which reminder is due on which day, for whom, and when it may go
out (R-STUDY-2, R-EXT-1, R-CERT-1, R-CERT-2; ARCHITECTURE.md, key flow 8).

Pure rules: `now`/`today` are arguments. Days count in Asia/Shanghai.

A reminder has steps (7, 3, 1 and 0 days before a study deadline; months around a certificate's
expiry; days before its void date). A step is due on its day, or within `catchup_days` after it
if the scanner did not run that day; when several are due only the latest counts, so a trainee
first seen late gets the one message that matters now, not a backlog. Every (recipient, kind,
deadline, step) has one dedup key, so the scanner may run any number of times and enqueue once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from domain.accounts import ChatUserId
from domain.calendar import add_months
from domain.errors import DomainError
from domain.identifiers import InvalidIdentifier, validate_credit_code
from domain.registry import DUE_HORIZON_MONTHS, TRACKS, CertType, Track, void_date
from domain.timezone import CHINA, local_date

# Telegram's own limits on what one message may carry.
MAX_TEXT = 4096
MAX_CAPTION = 1024


class ReminderKind(StrEnum):
    STUDY_DEADLINE = "study_deadline"
    CERT_EXPIRY = "cert_expiry"
    CERT_VOID = "cert_void"
    # One message per enterprise contact, kind and day, listing the employees concerned.
    STUDY_SUMMARY = "study_summary"
    CERT_SUMMARY = "cert_summary"
    VOID_SUMMARY = "void_summary"
    BROADCAST = "broadcast"
    # After a pass, inside the renewal window, until the holder says they applied (R-CERT-1):
    # to the holder and to the enterprise contacts of an enterprise enrolment.
    RENEWAL = "renewal"
    # After a failed attempt, if no new one was started: attempts left and the window's end.
    EXAM_ATTEMPTS = "exam_attempts"
    # Once, when the study window ended without a pass: what to do next (R-EXT-1).
    STUDY_OVERDUE = "study_overdue"
    # Answers to the trainee's own action minutes ago: sent in quiet hours too.
    ORDER_PAID = "order_paid"
    ORDER_EXPIRING = "order_expiring"
    ORDER_EXPIRED = "order_expired"
    ORDER_FAILED = "order_failed"  # the provider says the payment failed or the order closed
    INVOICE_READY = "invoice_ready"
    # To the staff group once a day: recipients who could not be reached (blocked the bot).
    STAFF_DAILY = "staff_daily"


URGENT_KINDS = frozenset(
    {
        ReminderKind.ORDER_PAID,
        ReminderKind.ORDER_EXPIRING,
        ReminderKind.ORDER_EXPIRED,
        ReminderKind.ORDER_FAILED,
        ReminderKind.INVOICE_READY,
    }
)

# Outbox rows of words already made for one channel's account (WeChat's), in the person's
# language when queued: staff's decision and other words outside a turn (`TOLD`), a core turn on
# the product's initiative such as the receipt after a pass (`TURN`). They answer the person's
# own case, so quiet hours do not hold them, as they do not hold the urgent kinds.
TOLD = "tell"
TURN = "turn"
ANSWER_KINDS = frozenset({TOLD, TURN})


SUMMARY_OF = {
    ReminderKind.STUDY_DEADLINE: ReminderKind.STUDY_SUMMARY,
    ReminderKind.CERT_EXPIRY: ReminderKind.CERT_SUMMARY,
    ReminderKind.CERT_VOID: ReminderKind.VOID_SUMMARY,
}


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Nothing is sent from `start` to `end` (Beijing time); `start == end` switches it off."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, moment: datetime) -> bool:
        clock = moment.astimezone(CHINA).time().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself, or the end of the quiet hours it falls in."""
        if not self.contains(moment):
            return moment
        local = moment.astimezone(CHINA)
        end = datetime.combine(local.date(), self.end, tzinfo=CHINA)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(moment.tzinfo)


@dataclass(frozen=True, slots=True)
class Schedule:
    study_days: tuple[int, ...] = (7, 3, 1, 0)
    # Months from the expiry date: the renewal window opens at -3 (R-CERT-1), then monthly
    # while CE is not done; -1 is "one month before expiry".
    cert_months: tuple[int, ...] = (-3, -2, -1, 0, 1, 2)
    # Days before the void date (R-CERT-2: expiry + 3 months).
    void_days: tuple[int, ...] = (7,)
    catchup_days: int = 3
    # How far back an unmarked void certificate is still voided (and its holder told).
    void_lookback_days: int = 30
    # From how many days before a deadline a study reminder may not be muted.
    study_essential_days: int = 1
    cert_essential_months: int = -1


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    on: date
    essential: bool


def study_steps(deadline_day: date, schedule: Schedule) -> list[Step]:
    return [
        Step(f"d{days}", deadline_day - timedelta(days=days), days <= schedule.study_essential_days)
        for days in sorted(set(schedule.study_days), reverse=True)
        if days >= 0
    ]


def cert_steps(expires_on: date, schedule: Schedule, voids: bool = True) -> list[Step]:
    """`voids`: the type has the manual's void date (domain.certrules); without one no step
    warns of it, and the steps still end 3 months after expiry."""
    void_on = void_date(expires_on)
    essential_from = schedule.cert_essential_months
    steps = [
        Step(f"m{months:+d}", add_months(expires_on, months), months >= essential_from)
        for months in sorted(set(schedule.cert_months))
    ]
    steps += [
        Step(f"v{days}", void_on - timedelta(days=days), True)
        for days in sorted(set(schedule.void_days), reverse=True)
        if days > 0 and voids
    ]
    return [step for step in sorted(steps, key=lambda s: s.on) if step.on < void_on]


def latest_due(steps: Iterable[Step], today: date, catchup_days: int) -> Step | None:
    """The latest step whose day is today or at most `catchup_days - 1` days ago."""
    earliest = today - timedelta(days=max(1, catchup_days) - 1)
    due = [step for step in steps if earliest <= step.on <= today]
    return max(due, key=lambda s: s.on) if due else None


def step_on(steps: Iterable[Step], day: date) -> Step | None:
    return next((step for step in steps if step.on == day), None)


def scan_days(today: date, schedule: Schedule) -> list[date]:
    """The days whose steps a scan today still enqueues (today last)."""
    span = max(1, schedule.catchup_days)
    return [today - timedelta(days=back) for back in range(span - 1, -1, -1)]


def study_reminder_due(deadline: datetime, today: date, schedule: Schedule) -> Step | None:
    """R-STUDY-2: 7, 3 and 1 days before the 30 days end, and on the day they end (with how to
    apply for an extension, R-EXT-1). Nothing after that day."""
    deadline_day = local_date(deadline)
    if today > deadline_day:
        return None
    return latest_due(study_steps(deadline_day, schedule), today, schedule.catchup_days)


def cert_reminder_due(
    expires_on: date, today: date, schedule: Schedule, voids: bool = True
) -> Step | None:
    """R-CERT-1/2 while CE is not done: the renewal window opens, monthly, one month before
    expiry, and before the void date (for the types that have one)."""
    if today >= void_date(expires_on):
        return None
    return latest_due(cert_steps(expires_on, schedule, voids), today, schedule.catchup_days)


def study_deadline_span(today: date, schedule: Schedule) -> tuple[date, date]:
    """Deadline days (inclusive) for which some study step may be due today."""
    longest = max((d for d in schedule.study_days if d >= 0), default=0)
    return today, today + timedelta(days=longest)


def expiry_spans(today: date, schedule: Schedule) -> list[tuple[date, date]]:
    """Expiry dates (inclusive ranges, a little wider than needed) for which a certificate step
    may be due today: the scanner reads only these from the index, then checks each exactly.
    Month arithmetic clamps to month ends, so each bound gets 3 days of slack."""
    first = today - timedelta(days=max(1, schedule.catchup_days) - 1)
    slack = timedelta(days=3)
    spans = [
        (add_months(first, -months) - slack, add_months(today, -months) + slack)
        for months in set(schedule.cert_months)
    ]
    for days in set(schedule.void_days):
        if days > 0:
            shift = timedelta(days=days)
            spans.append(
                (add_months(first + shift, -3) - slack, add_months(today + shift, -3) + slack)
            )
    return merge_spans(spans)


def void_span(today: date, schedule: Schedule) -> tuple[date, date]:
    """Expiry dates of certificates that may have reached their void date by today and are
    recent enough to be voided now."""
    latest = add_months(today, -3) + timedelta(days=3)
    return latest - timedelta(days=schedule.void_lookback_days + 3), latest


def merge_spans(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return merged


def should_void(expires_on: date, today: date, ce_passed: bool, voids: bool = True) -> bool:
    """R-CERT-2: void from 3 months after expiry unless CE was passed, for the types the
    manual says so (`voids`, domain.certrules); the others are never voided by us."""
    return voids and not ce_passed and today >= void_date(expires_on)


def ce_counts_for(expires_on: date, paid_on: date) -> bool:
    """A CE pass counts for this expiry if it was paid for in the year before expiry or up to
    the void date: that is the CE the renewal needs (R-CERT-1)."""
    return add_months(expires_on, -DUE_HORIZON_MONTHS) <= paid_on <= void_date(expires_on)


def reminder_key(
    kind: ReminderKind, recipient: int, subject: str, deadline: date, step: str
) -> str:
    return f"{kind.value}:{recipient}:{subject}:{deadline.isoformat()}:{step}"


def summary_key(kind: ReminderKind, recipient: int, enterprise: int, day: date) -> str:
    return f"{kind.value}:{recipient}:e{enterprise}:{day.isoformat()}"


def broadcast_key(broadcast_id: int, recipient: int) -> str:
    return f"broadcast:{broadcast_id}:{recipient}"


# ---- muting ------------------------------------------------------------------------------


class ReminderPreferences(Protocol):
    async def set_muted(self, account: ChatUserId, muted: bool) -> None: ...


class MuteReminders:
    """A trainee can silence non-essential reminders; deadline-critical ones still go out."""

    def __init__(self, preferences: ReminderPreferences) -> None:
        self._preferences = preferences

    async def __call__(self, account: ChatUserId, muted: bool) -> bool:
        await self._preferences.set_muted(account, muted)
        return muted


# ---- staff broadcasts ----------------------------------------------------------------------


class AudienceKind(StrEnum):
    ALL = "all"  # every trainee with a bound account
    CERT_TYPE = "type"
    TRACK = "track"
    ENTERPRISE = "ent"
    OVERDUE = "overdue"  # study deadline passed without a pass


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    cert_type: CertType | None = None
    track: Track | None = None
    credit_code: str | None = None

    def cert_types(self) -> list[CertType]:
        if self.kind is AudienceKind.CERT_TYPE and self.cert_type is not None:
            return [self.cert_type]
        if self.kind is AudienceKind.TRACK and self.track is not None:
            return [t for t, track in TRACKS.items() if track is self.track]
        return []

    def to_json(self) -> dict[str, str]:
        data = {"kind": self.kind.value}
        if self.cert_type is not None:
            data["cert_type"] = self.cert_type.value
        if self.track is not None:
            data["track"] = self.track.value
        if self.credit_code is not None:
            data["credit_code"] = self.credit_code
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Audience:
        return cls(
            AudienceKind(data["kind"]),
            CertType(data["cert_type"]) if data.get("cert_type") else None,
            Track(data["track"]) if data.get("track") else None,
            data.get("credit_code") or None,
        )


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class BroadcastCommand(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


# Which command is allowed from which status, and where it leads.
TRANSITIONS = {
    (BroadcastStatus.RUNNING, BroadcastCommand.PAUSE): BroadcastStatus.PAUSED,
    (BroadcastStatus.PAUSED, BroadcastCommand.RESUME): BroadcastStatus.RUNNING,
    (BroadcastStatus.RUNNING, BroadcastCommand.CANCEL): BroadcastStatus.CANCELLED,
    (BroadcastStatus.PAUSED, BroadcastCommand.CANCEL): BroadcastStatus.CANCELLED,
}


class BroadcastRefused(DomainError):
    """code: empty_message, message_too_long, caption_too_long, bad_credit_code,
    unknown_enterprise, no_recipients, broadcast_not_found, broadcast_finished."""


@dataclass(frozen=True, slots=True)
class BroadcastContent:
    html: str  # the staff's formatting, as Telegram HTML
    plain_length: int  # what Telegram counts against its limits
    photo_file_id: str | None = None

    def check(self) -> None:
        if self.plain_length == 0 and self.photo_file_id is None:
            raise BroadcastRefused("empty_message")
        if self.photo_file_id is not None and self.plain_length > MAX_CAPTION:
            raise BroadcastRefused("caption_too_long", limit=MAX_CAPTION)
        if self.plain_length > MAX_TEXT:
            raise BroadcastRefused("message_too_long", limit=MAX_TEXT)


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    id: int
    status: BroadcastStatus
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    dropped: int = 0
    remaining: int = 0
    per_second: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.blocked + self.dropped + self.remaining

    @property
    def finished(self) -> bool:
        return self.status in {BroadcastStatus.DONE, BroadcastStatus.CANCELLED}


class Broadcasts(Protocol):
    async def audience_size(self, audience: Audience, now: datetime) -> int:
        """BroadcastRefused('unknown_enterprise') for a credit code nobody has."""
        ...

    async def start(
        self,
        audience: Audience,
        content: BroadcastContent,
        created_by: ChatUserId,
        now: datetime,
        not_before: datetime,
    ) -> BroadcastProgress:
        """Creates the broadcast and its outbox rows, one per recipient, in one go."""
        ...

    async def attach_progress_message(
        self, broadcast_id: int, chat_id: int, message_id: int
    ) -> None: ...

    async def change_status(
        self, broadcast_id: int, expected: BroadcastStatus, status: BroadcastStatus
    ) -> bool:
        """Only from `expected`: two staff pressing buttons at once cannot both win."""
        ...

    async def progress(self, broadcast_id: int, now: datetime) -> BroadcastProgress | None: ...


@dataclass(frozen=True, slots=True)
class BroadcastPreview:
    audience: Audience
    content: BroadcastContent
    recipients: int


def normalise_audience(audience: Audience) -> Audience:
    if audience.kind is not AudienceKind.ENTERPRISE:
        return audience
    try:
        code = validate_credit_code(audience.credit_code or "")
    except InvalidIdentifier:
        raise BroadcastRefused("bad_credit_code") from None
    return Audience(AudienceKind.ENTERPRISE, credit_code=code)


class CountAudience:
    """How many accounts an audience reaches; refuses a credit code nobody has."""

    def __init__(self, broadcasts: Broadcasts) -> None:
        self._broadcasts = broadcasts

    async def __call__(self, audience: Audience, now: datetime) -> tuple[Audience, int]:
        audience = normalise_audience(audience)
        return audience, await self._broadcasts.audience_size(audience, now)


class PreviewBroadcast:
    def __init__(self, broadcasts: Broadcasts) -> None:
        self._broadcasts = broadcasts

    async def __call__(
        self, audience: Audience, content: BroadcastContent, now: datetime
    ) -> BroadcastPreview:
        content.check()
        audience = normalise_audience(audience)
        return BroadcastPreview(
            audience, content, await self._broadcasts.audience_size(audience, now)
        )


class StartBroadcast:
    """Confirmed by staff: every recipient gets one outbox row; the sender does the rest."""

    def __init__(self, broadcasts: Broadcasts, quiet: QuietHours) -> None:
        self._broadcasts = broadcasts
        self._quiet = quiet

    async def __call__(
        self, audience: Audience, content: BroadcastContent, staff: ChatUserId, now: datetime
    ) -> BroadcastProgress:
        content.check()
        audience = normalise_audience(audience)
        if await self._broadcasts.audience_size(audience, now) == 0:
            raise BroadcastRefused("no_recipients")
        return await self._broadcasts.start(
            audience, content, staff, now, self._quiet.next_allowed(now)
        )


class ControlBroadcast:
    """Pause, resume or cancel; what was sent stays sent."""

    def __init__(self, broadcasts: Broadcasts) -> None:
        self._broadcasts = broadcasts

    async def __call__(
        self, broadcast_id: int, command: BroadcastCommand, now: datetime
    ) -> BroadcastProgress:
        progress = await self._broadcasts.progress(broadcast_id, now)
        if progress is None:
            raise BroadcastRefused("broadcast_not_found")
        target = TRANSITIONS.get((progress.status, command))
        if target is None:
            raise BroadcastRefused("broadcast_finished")
        await self._broadcasts.change_status(broadcast_id, progress.status, target)
        return await self._broadcasts.progress(broadcast_id, now) or progress

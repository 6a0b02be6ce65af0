"""The reminder scanner (job `scan_reminders`), the send-time relevance check, and muting.

The scanner reads only what can be due today: enrolments by a range of the `study_deadline`
index, certificates by ranges of the `expires_on` index (`domain.reminders.expiry_spans`),
then the few bindings and contacts of those rows by key. Its cost follows the number of
reminders due, not the number of trainees (bench/bench_reminders.py measures both).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from application.exam import still_useful as exam_reminder_still_useful
from domain.accounts import ChatUserId
from domain.certrules import rules_for, voiding_types
from domain.clock import Clock
from domain.enrolment import EnrolmentState, becomes_overdue
from domain.masking import mask_name
from domain.registry import RegistryStatus, void_date
from domain.reminders import (
    SUMMARY_OF,
    BroadcastStatus,
    QuietHours,
    ReminderKind,
    Schedule,
    Step,
    ce_counts_for,
    cert_reminder_due,
    cert_steps,
    expiry_spans,
    reminder_key,
    scan_days,
    should_void,
    step_on,
    study_deadline_span,
    study_reminder_due,
    study_steps,
    summary_key,
    void_span,
)
from domain.renewal import RENEWAL_TYPES, renewal_expiry_span, renewal_reminder_due
from domain.timezone import CHINA, local_date
from infra.db import models
from infra.db.exam_models import Receipt
from infra.outbox import NewMessage, Status, TortoiseBroadcasts, TortoiseOutbox
from infra.repositories import reach

STUDYING = (EnrolmentState.STUDYING.value, EnrolmentState.EXAM.value)
LOOKUP_CHUNK = 1000


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=CHINA)


def _chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class _Due:
    """One reminder for a holder: sent to them if their account is bound."""

    kind: ReminderKind
    person_id: int
    subject: str
    deadline: date
    step: Step
    params: dict[str, Any]


@dataclass(slots=True)
class _Summary:
    items: list[dict[str, Any]] = field(default_factory=list)
    essential: bool = False


@dataclass(slots=True)
class ScanReport:
    enqueued: int = 0
    personal: int = 0
    summaries: int = 0
    voided: int = 0
    candidates: int = 0


class _Plan:
    def __init__(self) -> None:
        self.personal: list[_Due] = []
        # Reminders also to an enterprise's contacts, each on their own (not in a summary).
        self.for_contacts: list[tuple[int, _Due]] = []
        self.summaries: dict[tuple[ReminderKind, int, date], _Summary] = defaultdict(_Summary)

    def summarise(
        self,
        kind: ReminderKind,
        enterprise_id: int | None,
        day: date,
        step: Step,
        item: dict[str, Any],
    ) -> None:
        if enterprise_id is None:
            return
        summary = self.summaries[(SUMMARY_OF[kind], enterprise_id, day)]
        summary.items.append(item)
        summary.essential = summary.essential or step.essential


async def _ce_passed(certificates: Sequence[dict[str, Any]]) -> set[int]:
    """Certificates whose CE pass counts for their current expiry date (R-CERT-1/2)."""
    expiry = {row["id"]: row["expires_on"] for row in certificates}
    passed: set[int] = set()
    for chunk in _chunks(list(expiry)):
        rows = await models.Enrolment.filter(
            certificate_id__in=list(chunk), state=EnrolmentState.PASSED.value
        ).values("certificate_id", "paid_at")
        for row in rows:
            paid_at = row["paid_at"]
            certificate = row["certificate_id"]
            if paid_at is None or ce_counts_for(expiry[certificate], local_date(paid_at)):
                passed.add(certificate)
    return passed


def _certificate_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "certificate": row["id"],
        "name": row["person__name"],
        "cert_type": row["cert_type"],
        "number": row["number"],
        "expires_on": row["expires_on"].isoformat(),
    }


class ReminderScanner:
    """Enqueues what is due today; running it again enqueues nothing new."""

    def __init__(
        self, outbox: TortoiseOutbox, clock: Clock, schedule: Schedule, quiet: QuietHours
    ) -> None:
        self._outbox = outbox
        self._clock = clock
        self._schedule = schedule
        self._quiet = quiet

    async def __call__(self) -> ScanReport:
        now = self._clock.now()
        today = local_date(now)
        plan = _Plan()
        report = ScanReport()
        report.candidates += await self._study(plan, today)
        report.candidates += await self._certificates(plan, today)
        to_void, candidates = await self._void(plan, today)
        report.candidates += candidates
        report.candidates += await self._renewal(plan, today)
        messages = await self._messages(plan, self._quiet.next_allowed(now))
        report.personal = sum(1 for m in messages if not m.kind.endswith("_summary"))
        report.summaries = len(messages) - report.personal
        # Notices first, then the status: a crash in between voids it on the next run, and
        # the notices are not enqueued twice.
        report.enqueued = await self._outbox.enqueue(messages)
        for chunk in _chunks(to_void):
            report.voided += await models.Certificate.filter(
                id__in=list(chunk), status=RegistryStatus.VALID.value
            ).update(status=RegistryStatus.VOID.value)
        return report

    async def _study(self, plan: _Plan, today: date) -> int:
        first, last = study_deadline_span(today, self._schedule)
        rows = await models.Enrolment.filter(
            study_deadline__gte=_start_of(first),
            study_deadline__lt=_start_of(last + timedelta(days=1)),
            state__in=STUDYING,
        ).values(
            "id",
            "state",
            "study_deadline",
            "enterprise_id",
            "certificate__number",
            "certificate__cert_type",
            "certificate__person_id",
            "certificate__person__name",
        )
        days = scan_days(today, self._schedule)
        for row in rows:
            deadline: datetime = row["study_deadline"]
            deadline_day = local_date(deadline)
            item = {
                "enrolment": row["id"],
                "name": row["certificate__person__name"],
                "cert_type": row["certificate__cert_type"],
                "number": row["certificate__number"],
                "deadline": deadline.isoformat(),
                "state": row["state"],
            }
            step = study_reminder_due(deadline, today, self._schedule)
            if step is not None:
                plan.personal.append(
                    _Due(
                        ReminderKind.STUDY_DEADLINE,
                        row["certificate__person_id"],
                        f"e{row['id']}",
                        deadline_day,
                        step,
                        {**item, "step": step.name},
                    )
                )
            steps = study_steps(deadline_day, self._schedule)
            for day in days:
                on_day = step_on(steps, day)
                if on_day is not None:
                    plan.summarise(
                        ReminderKind.STUDY_DEADLINE, row["enterprise_id"], day, on_day, item
                    )
        return len(rows)

    async def _certificate_rows(
        self, spans: Iterable[tuple[date, date]], voiding_only: bool = False
    ) -> list[dict[str, Any]]:
        rows: dict[int, dict[str, Any]] = {}
        only = {"cert_type__in": [t.value for t in voiding_types()]} if voiding_only else {}
        for low, high in spans:
            for row in await models.Certificate.filter(
                expires_on__gte=low, expires_on__lte=high, status=RegistryStatus.VALID.value, **only
            ).values(
                "id",
                "number",
                "cert_type",
                "expires_on",
                "person_id",
                "person__name",
                "enterprise_id",
            ):
                rows[row["id"]] = row
        return list(rows.values())

    async def _certificates(self, plan: _Plan, today: date) -> int:
        rows = await self._certificate_rows(expiry_spans(today, self._schedule))
        passed = await _ce_passed(rows)
        days = scan_days(today, self._schedule)
        for row in rows:
            if row["id"] in passed:
                continue
            expires_on: date = row["expires_on"]
            item = _certificate_item(row)
            voids = rules_for(row["cert_type"]).voids_after_three_months
            step = cert_reminder_due(expires_on, today, self._schedule, voids)
            if step is not None:
                plan.personal.append(
                    _Due(
                        ReminderKind.CERT_EXPIRY,
                        row["person_id"],
                        f"c{row['id']}",
                        expires_on,
                        step,
                        {**item, "step": step.name},
                    )
                )
            if today >= void_date(expires_on):
                continue
            steps = cert_steps(expires_on, self._schedule, voids)
            for day in days:
                on_day = step_on(steps, day)
                if on_day is not None:
                    plan.summarise(
                        ReminderKind.CERT_EXPIRY, row["enterprise_id"], day, on_day, item
                    )
        return len(rows)

    async def _void(self, plan: _Plan, today: date) -> tuple[list[int], int]:
        """R-CERT-2: certificates past their void date without a CE pass become void; the
        holder and the enterprise are told once. Only the types the manual voids (certrules): the
        others follow the exam centre's notices, and we do not void them on our own."""
        rows = await self._certificate_rows([void_span(today, self._schedule)], voiding_only=True)
        passed = await _ce_passed(rows)
        days = set(scan_days(today, self._schedule))
        to_void = []
        for row in rows:
            expires_on: date = row["expires_on"]
            voids = rules_for(row["cert_type"]).voids_after_three_months
            if not should_void(expires_on, today, row["id"] in passed, voids):
                continue
            to_void.append(row["id"])
            step = Step("void", void_date(expires_on), True)
            item = _certificate_item(row)
            plan.personal.append(
                _Due(
                    ReminderKind.CERT_VOID,
                    row["person_id"],
                    f"c{row['id']}",
                    expires_on,
                    step,
                    item,
                )
            )
            day = step.on if step.on in days else today
            plan.summarise(ReminderKind.CERT_VOID, row["enterprise_id"], day, step, item)
        return to_void, len(rows)

    async def _renewal(self, plan: _Plan, today: date) -> int:
        """R-CERT-1 after the pass: apply for 到期换证 inside the window, until they say so."""
        low, high = renewal_expiry_span(today)
        rows = await Receipt.filter(
            revoked_at__isnull=True,
            renewal_applied_at__isnull=True,
            enrolment__certificate__cert_type__in=sorted(RENEWAL_TYPES),
            enrolment__certificate__expires_on__gte=low,
            enrolment__certificate__expires_on__lte=high,
            enrolment__certificate__status=RegistryStatus.VALID.value,
        ).values(
            "id",
            "passed_at",
            "enrolment_id",
            "enrolment__enterprise_id",
            "enrolment__certificate_id",
            "enrolment__certificate__number",
            "enrolment__certificate__cert_type",
            "enrolment__certificate__expires_on",
            "enrolment__certificate__person_id",
            "enrolment__certificate__person__name",
        )
        for row in rows:
            expires_on: date = row["enrolment__certificate__expires_on"]
            passed_on = local_date(row["passed_at"])
            found = renewal_reminder_due(expires_on, passed_on, today, applied=False)
            if found is None:
                continue
            step = Step(found.name, found.on, essential=found.name.startswith("c"))
            params = {
                "receipt": row["id"],
                "certificate": row["enrolment__certificate_id"],
                "name": row["enrolment__certificate__person__name"],
                "cert_type": row["enrolment__certificate__cert_type"],
                "number": row["enrolment__certificate__number"],
                "expires_on": expires_on.isoformat(),
                "step": step.name,
            }
            due = _Due(
                ReminderKind.RENEWAL,
                row["enrolment__certificate__person_id"],
                f"r{row['id']}",
                expires_on,
                step,
                params,
            )
            plan.personal.append(due)
            if row["enrolment__enterprise_id"] is not None:
                plan.for_contacts.append((row["enrolment__enterprise_id"], due))
        return len(rows)

    async def _messages(self, plan: _Plan, not_before: datetime) -> list[NewMessage]:
        holders = await _bindings({due.person_id for due in plan.personal})
        enterprises = {enterprise for _, enterprise, _ in plan.summaries}
        enterprises |= {enterprise for enterprise, _ in plan.for_contacts}
        contacts = await _contacts(enterprises)
        names = await _enterprise_names(set(contacts))
        messages = []
        for due in plan.personal:
            chat = holders.get(due.person_id)
            if chat is None:
                continue
            messages.append(
                NewMessage(
                    chat_id=chat,
                    kind=due.kind.value,
                    dedup_key=reminder_key(
                        due.kind, chat, due.subject, due.deadline, due.step.name
                    ),
                    payload={"text_key": due.kind.value, "params": due.params},
                    essential=due.step.essential,
                    not_before=not_before,
                )
            )
        for enterprise, due in plan.for_contacts:
            for chat in contacts.get(enterprise, []):
                if chat == holders.get(due.person_id):
                    continue  # a contact enrolled themselves: one message is enough
                messages.append(
                    NewMessage(
                        chat_id=chat,
                        kind=due.kind.value,
                        dedup_key=reminder_key(
                            due.kind, chat, due.subject, due.deadline, due.step.name
                        ),
                        payload={
                            "text_key": due.kind.value,
                            "params": {**due.params, "for_contact": True},
                        },
                        essential=due.step.essential,
                        not_before=not_before,
                    )
                )
        for (kind, enterprise, day), summary in sorted(plan.summaries.items()):
            for chat in contacts.get(enterprise, []):
                items = sorted(summary.items, key=lambda i: i.get("deadline") or i["expires_on"])
                messages.append(
                    NewMessage(
                        chat_id=chat,
                        kind=kind.value,
                        dedup_key=summary_key(kind, chat, enterprise, day),
                        payload={
                            "text_key": kind.value,
                            "params": {"enterprise": names.get(enterprise, ""), "items": items},
                        },
                        essential=summary.essential,
                        not_before=not_before,
                    )
                )
        return messages


async def _bindings(person_ids: set[int]) -> dict[int, int]:
    """Each person's account to remind: the one they used last (infra.repositories.reach)."""
    return await reach.accounts_of(person_ids)


async def _contacts(enterprise_ids: set[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(sorted(enterprise_ids)):
        rows = await models.EnterpriseContact.filter(enterprise_id__in=list(chunk)).values(
            "enterprise_id", "chat_user_id"
        )
        for row in rows:
            found[row["enterprise_id"]].append(row["chat_user_id"])
    return found


async def _enterprise_names(enterprise_ids: set[int]) -> dict[int, str]:
    rows = await models.Enterprise.filter(id__in=sorted(enterprise_ids)).values("id", "name")
    return {row["id"]: row["name"] for row in rows}


class OutboxRefresh:
    """At send time: is the row still worth sending, and with what? A trainee who passed, an
    enrolment cancelled or moved by an extension, a certificate renewed: dropped, not sent."""

    def __init__(self, broadcasts: TortoiseBroadcasts) -> None:
        self._broadcasts = broadcasts

    async def __call__(self, item: Any, now: datetime) -> dict[str, Any] | Status:
        payload: dict[str, Any] = item.payload
        params: dict[str, Any] = payload.get("params", {})
        kind = item.kind
        if "qr_of" in params:  # an order's notice: its QR codes lose their buttons with it
            found = await self._broadcasts.outbox.sent_message_ids(item.chat_id, params["qr_of"])
            params = {**params, "qr_messages": found}
            payload = {**payload, "params": params}
        if kind == ReminderKind.BROADCAST.value:
            return await self._broadcast(item.broadcast_id)
        if kind in (
            ReminderKind.ORDER_EXPIRING.value,
            ReminderKind.ORDER_EXPIRED.value,
            ReminderKind.ORDER_FAILED.value,
        ):
            # Paid or replaced meanwhile: the warning would only confuse.
            wanted = {
                ReminderKind.ORDER_EXPIRING.value: "pending",
                ReminderKind.ORDER_EXPIRED.value: "expired",
                ReminderKind.ORDER_FAILED.value: "closed",
            }[kind]
            live = await models.Order.exists(number=params["order"], status=wanted)
            return payload if live else Status.DROPPED
        if kind == ReminderKind.RENEWAL.value:
            return payload if await _renewal_still_open(params, now) else Status.DROPPED
        if kind == ReminderKind.STUDY_OVERDUE.value:
            # An extension or a pass before it went out: nothing is overdue any more. (The
            # sweep enqueues before it moves the state: a window that ended counts as well.)
            row = await models.Enrolment.get_or_none(id=params["enrolment"])
            still = row is not None and (
                row.state == EnrolmentState.OVERDUE.value
                or becomes_overdue(EnrolmentState(row.state), row.study_deadline, now)
            )
            return payload if still else Status.DROPPED
        if kind == ReminderKind.EXAM_ATTEMPTS.value:
            fresh_exam = await exam_reminder_still_useful(params)
            return Status.DROPPED if fresh_exam is None else {**payload, "params": fresh_exam}
        if kind in {ReminderKind.STUDY_DEADLINE.value, ReminderKind.STUDY_SUMMARY.value}:
            check = _live_enrolments
        elif kind in {ReminderKind.CERT_EXPIRY.value, ReminderKind.CERT_SUMMARY.value}:
            check = _live_certificates
        else:
            return payload
        summary = "items" in params
        items = params["items"] if summary else [params]
        live_items = await check(items, now)
        if not live_items:
            return Status.DROPPED
        fresh = {**params, "items": live_items} if summary else live_items[0]
        return {**payload, "params": fresh}

    async def _broadcast(self, broadcast_id: int | None) -> dict[str, Any] | Status:
        snapshot = await self._broadcasts.content(broadcast_id) if broadcast_id else None
        if snapshot is None or snapshot.status is BroadcastStatus.CANCELLED:
            return Status.CANCELLED
        if snapshot.status is BroadcastStatus.PAUSED:
            return Status.PAUSED
        return {"text": snapshot.html, "photo": snapshot.photo_file_id}


async def _renewal_still_open(params: dict[str, Any], now: datetime) -> bool:
    """Not applied meanwhile, the receipt not revoked, the window still open for the same
    expiry date (a renewed certificate has a new one)."""
    row = await Receipt.get_or_none(id=params["receipt"]).values(
        "revoked_at", "renewal_applied_at", "enrolment__certificate__expires_on"
    )
    if row is None or row["revoked_at"] or row["renewal_applied_at"]:
        return False
    expires_on: date = row["enrolment__certificate__expires_on"]
    if expires_on.isoformat() != params["expires_on"]:
        return False
    return local_date(now) < void_date(expires_on)


async def _live_enrolments(items: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    rows = await models.Enrolment.filter(id__in=[i["enrolment"] for i in items]).values(
        "id", "state", "study_deadline"
    )
    current = {row["id"]: row for row in rows}
    today = local_date(now)
    live = []
    for item in items:
        row = current.get(item["enrolment"])
        if row is None or row["study_deadline"] is None:
            continue
        deadline = datetime.fromisoformat(item["deadline"])
        moved = abs((row["study_deadline"] - deadline).total_seconds()) >= 1
        closed_day = today > local_date(deadline)
        overdue_ok = row["state"] == EnrolmentState.OVERDUE.value and not closed_day
        if moved or closed_day or not (row["state"] in STUDYING or overdue_ok):
            continue
        live.append({**item, "state": row["state"]})
    return live


async def _live_certificates(items: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    rows = await models.Certificate.filter(id__in=[i["certificate"] for i in items]).values(
        "id", "status", "expires_on"
    )
    passed = await _ce_passed(rows)
    current = {row["id"]: row for row in rows}
    # Enrolled meanwhile (paid, studying, at the exam): the reminder names the step they are
    # at, not "enrol now".
    underway = {
        row["certificate_id"]: row["state"]
        for row in await models.Enrolment.filter(
            certificate_id__in=list(current), active_key__isnull=False
        ).values("certificate_id", "state")
    }
    today = local_date(now)
    live = []
    for item in items:
        row = current.get(item["certificate"])
        if row is None or row["id"] in passed or row["status"] != RegistryStatus.VALID.value:
            continue
        if row["expires_on"].isoformat() != item["expires_on"]:
            continue  # renewed or corrected: new reminders follow the new date
        if today >= void_date(row["expires_on"]):
            continue
        fresh = {k: v for k, v in item.items() if k != "state"}
        if row["id"] in underway:
            fresh["state"] = underway[row["id"]]
        live.append(fresh)
    return live


class TortoiseReminderPreferences:
    async def set_muted(self, account: ChatUserId, muted: bool) -> None:
        await models.ChatUser.filter(id=account).update(muted=muted)

    async def set_reachable(self, account: ChatUserId, reachable: bool) -> None:
        await models.ChatUser.filter(id=account).update(unreachable=not reachable)


class StaffDailySummary:
    """Once a day the staff group hears who could not be reached in the last 24 hours (they
    blocked the bot or deleted the chat). It goes through the outbox itself, keyed by the day,
    so several instances or a rerun still send it once."""

    def __init__(self, outbox: TortoiseOutbox, staff_group_id: int | None, clock: Clock) -> None:
        self._enqueue = outbox.enqueue
        self._staff_group_id = staff_group_id
        self._clock = clock

    async def __call__(self) -> int:
        if self._staff_group_id is None:
            return 0
        now: datetime = self._clock.now()
        rows = await models.Outbox.filter(
            status="unreachable", claimed_at__gte=now - timedelta(days=1)
        ).values_list("chat_id", "kind")
        if not rows:
            return 0
        chats = sorted({chat_id for chat_id, _ in rows})
        names = dict(
            await models.ChatUser.filter(id__in=chats[:20]).values_list("id", "first_name")
        )
        day = local_date(now).isoformat()
        return int(
            await self._enqueue(
                [
                    NewMessage(
                        chat_id=self._staff_group_id,
                        kind=ReminderKind.STAFF_DAILY.value,
                        dedup_key=f"{ReminderKind.STAFF_DAILY.value}|{day}",
                        payload={
                            "text_key": ReminderKind.STAFF_DAILY.value,
                            "params": {
                                "day": day,
                                "count": len(chats),
                                "people": [
                                    f"{mask_name(names.get(c, '')) or '—'} ({c})"
                                    for c in chats[:20]
                                ],
                            },
                        },
                        essential=True,
                        not_before=now,
                    )
                ]
            )
        )

"""The overdue sweep (job `mark_overdue`): enrolments whose study window ended without a pass
become overdue, and the trainee is told once, through the outbox, what to do next.

Reads by the `study_deadline` index: only windows that have ended and still run. The notice is
enqueued before the state changes, under one dedup key per (account, enrolment, deadline): a
crash in between repeats the update on the next run, never the message; an extension that moves
the deadline later gives a new key, so a second overdue is told again.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.clock import Clock
from domain.enrolment import WINDOW_STATES, EnrolmentState, becomes_overdue
from domain.reminders import QuietHours, ReminderKind, reminder_key
from domain.timezone import local_date
from infra.db import models
from infra.outbox import NewMessage, TortoiseOutbox
from infra.repositories import reach


@dataclass(slots=True)
class OverdueReport:
    moved: int = 0
    enqueued: int = 0


class OverdueSweep:
    def __init__(self, outbox: TortoiseOutbox, clock: Clock, quiet: QuietHours) -> None:
        self._outbox = outbox
        self._clock = clock
        self._quiet = quiet

    async def __call__(self) -> OverdueReport:
        now = self._clock.now()
        rows = await models.Enrolment.filter(
            study_deadline__lte=now, state__in=[s.value for s in WINDOW_STATES]
        ).values(
            "id",
            "state",
            "study_deadline",
            "certificate__number",
            "certificate__cert_type",
            "certificate__person_id",
        )
        due = [
            row
            for row in rows
            if becomes_overdue(EnrolmentState(row["state"]), row["study_deadline"], now)
        ]
        chats = await reach.accounts_of({row["certificate__person_id"] for row in due})
        not_before = self._quiet.next_allowed(now)
        messages = []
        for row in due:
            chat = chats.get(row["certificate__person_id"])
            if chat is None:
                continue
            deadline = row["study_deadline"]
            messages.append(
                NewMessage(
                    chat_id=chat,
                    kind=ReminderKind.STUDY_OVERDUE.value,
                    dedup_key=reminder_key(
                        ReminderKind.STUDY_OVERDUE,
                        chat,
                        f"e{row['id']}",
                        local_date(deadline),
                        deadline.isoformat(),
                    ),
                    payload={
                        "text_key": ReminderKind.STUDY_OVERDUE.value,
                        "params": {
                            "enrolment": row["id"],
                            "cert_type": row["certificate__cert_type"],
                            "number": row["certificate__number"],
                            "deadline": deadline.isoformat(),
                        },
                    },
                    essential=True,
                    not_before=not_before,
                )
            )
        report = OverdueReport(enqueued=await self._outbox.enqueue(messages))
        for row in due:
            # Only from the state and window read: an extension or a pass meanwhile wins.
            report.moved += await models.Enrolment.filter(
                id=row["id"], state=row["state"], study_deadline=row["study_deadline"]
            ).update(state=EnrolmentState.OVERDUE.value)
        return report

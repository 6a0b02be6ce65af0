"""Trainees, enrolments and a sender for the reminder tests: rows as the product writes them,
and a transport that records what would have reached Telegram."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from application.reminders import OutboxRefresh, ReminderScanner
from bot.reminder_messages import ReminderTexts
from domain.clock import Clock
from domain.reminders import QuietHours, Schedule, broadcast_key
from infra.db import models
from infra.outbox import NewMessage, TortoiseBroadcasts, TortoiseOutbox
from infra.sender import (
    Limits,
    LocalRateLimiter,
    OutboxSender,
    RateLimiter,
    Rendered,
    SenderConfig,
)
from tests.support import registry
from texts.i18n import Catalogs

_numbers = itertools.count(1)


@dataclass
class RecordingTransport:
    """Telegram as far as the sender can tell: accepts everything and remembers it."""

    sent: list[tuple[int, Rendered]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, chat_id: int, message: Rendered) -> int:
        self.sent.append((chat_id, message))
        return next(self._ids)

    def texts_to(self, chat_id: int) -> list[str]:
        return [message.text for chat, message in self.sent if chat == chat_id]


@dataclass
class Trainee:
    person: models.Person
    chat_id: int | None
    certificate: models.Certificate


async def trainee(
    sequence: int,
    expires_on: date,
    *,
    bound: bool = True,
    language: str = "en",
    muted: bool = False,
    employer: models.Enterprise | None = None,
    cert_type: str = "safety_b",
) -> Trainee:
    person = await registry.person(sequence, f"Trainee {sequence}", f"138{sequence:08d}")
    certificate = await registry.certificate(
        person, f"云建安B(2024){next(_numbers):07d}", cert_type, expires_on, employer=employer
    )
    chat_id = None
    if bound:
        chat_id = 500_000 + sequence
        await models.ChatUser.create(
            id=chat_id, first_name=person.name, language_code=language, muted=muted
        )
        await models.Binding.create(chat_user_id=chat_id, person=person)
    return Trainee(person, chat_id, certificate)


async def studying(
    who: Trainee,
    deadline: datetime,
    *,
    state: str = "studying",
    enterprise: models.Enterprise | None = None,
) -> models.Enrolment:
    return await models.Enrolment.create(
        certificate=who.certificate,
        active_key=who.certificate.number,
        channel="enterprise" if enterprise else "individual",
        enterprise=enterprise,
        enrolled_by=who.chat_id or 1,
        state=state,
        paid_at=deadline - timedelta(days=30),
        study_deadline=deadline,
    )


async def contact(enterprise: models.Enterprise, chat_id: int, language: str = "en") -> int:
    await models.ChatUser.create(id=chat_id, first_name="HR", language_code=language)
    await models.EnterpriseContact.create(chat_user_id=chat_id, enterprise=enterprise)
    return chat_id


def scanner(clock: Clock, schedule: Schedule | None = None) -> ReminderScanner:
    return ReminderScanner(TortoiseOutbox(), clock, schedule or Schedule(), QuietHours())


def sender(
    i18n: Catalogs,
    clock: Clock,
    transport: Any,
    *,
    limiter: RateLimiter | None = None,
    outbox: TortoiseOutbox | None = None,
    **config: Any,
) -> OutboxSender:
    outbox = outbox or TortoiseOutbox()
    fast = Limits(global_per_second=10_000, private_per_second=10_000, group_per_minute=10_000)
    return OutboxSender(
        outbox,
        transport,
        limiter or LocalRateLimiter(fast),
        clock,
        render=ReminderTexts(i18n),
        refresh=OutboxRefresh(TortoiseBroadcasts(outbox)),
        config=SenderConfig(**config),
    )


async def statuses() -> dict[str, str]:
    rows = await models.Outbox.all().values("dedup_key", "status")
    return {row["dedup_key"]: row["status"] for row in rows}


async def broadcast_to(chat_ids: Iterable[int], now: datetime, text: str = "Notice") -> int:
    """A running staff broadcast with one pending outbox row per chat; returns its id."""
    broadcast = await models.Broadcast.create(created_by=900001, text=text, status="running")
    await TortoiseOutbox().enqueue(
        [
            NewMessage(
                chat_id=chat,
                kind="broadcast",
                dedup_key=broadcast_key(broadcast.id, chat),
                payload={"text_key": "broadcast", "params": {}},
                essential=True,
                not_before=now,
                broadcast_id=broadcast.id,
            )
            for chat in chat_ids
        ]
    )
    return broadcast.id

"""The SMS sandbox (default; local mode and tests): nothing leaves the machine, every message
is recorded, and in local mode `GET /_local/api/sms/messages?phone=` shows them so a person
walking the app can read the code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.clock import Clock
from domain.locales import Locale

KEPT = 200


@dataclass(frozen=True, slots=True)
class SandboxMessage:
    phone: str
    code: str
    locale: Locale
    sent_at: datetime


class SandboxSms:
    name = "sandbox"

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.messages: list[SandboxMessage] = []

    async def send(self, phone: str, code: str, locale: Locale) -> None:
        self.messages.append(SandboxMessage(phone, code, locale, self._clock.now()))
        del self.messages[:-KEPT]

    def to(self, phone: str) -> list[SandboxMessage]:
        return [m for m in self.messages if m.phone == phone]

    def last_code(self, phone: str) -> str:
        sent = self.to(phone)
        if not sent:
            raise LookupError("no SMS was sent to that phone")
        return sent[-1].code

"""The desk's own record of support conversations (support_message), whichever channel they came
from: what the staff console lists and answers. Texts are sealed at rest; the list pages show
them with ID numbers and phones masked, the conversation itself as typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise import Tortoise

from domain.masking import redact_text
from infra.db import models
from infra.pii import Pii
from infra.repositories.support import audit, trainee_card

PER_PAGE = 25
PREVIEW = 120


@dataclass(frozen=True, slots=True)
class DeskLine:
    id: int
    direction: str  # in | out
    text: str
    at: datetime
    staff_name: str | None
    delivered: bool


@dataclass(frozen=True, slots=True)
class ConversationRow:
    account: int
    channel: str  # telegram | wechat
    name: str | None  # the registry's, as staff tell trainees apart by it
    id_number: str | None  # masked
    phone: str | None  # masked
    last_text: str  # masked
    last_at: datetime
    waiting_since: datetime | None  # the first unanswered message; None: answered


@dataclass(frozen=True, slots=True)
class Conversation:
    head: ConversationRow
    lines: list[DeskLine]


_LIST = """
WITH t AS (
  SELECT chat_user_id, MAX(at) AS last_at,
         MAX(CASE WHEN direction = 'out' THEN at END) AS last_out
  FROM support_message GROUP BY chat_user_id
)
SELECT t.chat_user_id, t.last_at,
  (SELECT MIN(m.at) FROM support_message m
   WHERE m.chat_user_id = t.chat_user_id AND m.direction = 'in'
     AND (t.last_out IS NULL OR m.at > t.last_out)) AS waiting_since
FROM t
ORDER BY waiting_since ASC NULLS LAST, t.last_at DESC, t.chat_user_id
LIMIT $1 OFFSET $2
"""


class TortoiseDeskLog:
    def __init__(self, pii: Pii) -> None:
        self._pii = pii

    async def heard(self, account: int, text: str, at: datetime) -> None:
        """What the person sent to the desk."""
        await models.SupportMessage.create(
            chat_user_id=account, direction="in", text_sealed=self._pii.seal(text), at=at
        )

    async def answered(
        self,
        account: int,
        text: str,
        at: datetime,
        *,
        staff_id: int,
        staff_name: str,
        delivered: bool,
    ) -> int:
        """A staff member's answer, audited with who and when; kept even when not delivered."""
        row = await models.SupportMessage.create(
            chat_user_id=account,
            direction="out",
            text_sealed=self._pii.seal(text),
            at=at,
            staff_id=staff_id,
            staff_name=staff_name,
            delivered=delivered,
        )
        await audit(
            staff_id,
            "support_answered",
            f"chat_user:{account}",
            message=row.id,
            delivered=delivered,
            at=at.isoformat(),
        )
        return row.id

    async def exists(self, account: int) -> bool:
        return await models.SupportMessage.filter(chat_user_id=account).exists()

    async def conversations(self, *, page: int) -> tuple[int, list[ConversationRow]]:
        """Every conversation, the longest waiting first, then the most recent."""
        total = len(
            await models.SupportMessage.all().distinct().values_list("chat_user_id", flat=True)
        )
        connection = Tortoise.get_connection("default")
        _, found = await connection.execute_query(_LIST, [PER_PAGE, (page - 1) * PER_PAGE])
        rows = [
            await self._row(int(r["chat_user_id"]), r["last_at"], r["waiting_since"]) for r in found
        ]
        return total, rows

    async def _row(
        self, account: int, last_at: datetime, waiting_since: datetime | None
    ) -> ConversationRow:
        user = await models.ChatUser.get_or_none(id=account).only("id", "channel")
        card = await trainee_card(account, self._pii)
        last = (
            await models.SupportMessage.filter(chat_user_id=account).order_by("-at", "-id").first()
        )
        text = self._pii.open(last.text_sealed) if last else ""
        preview = redact_text(text)
        return ConversationRow(
            account=account,
            channel=user.channel if user else ("wechat" if account < 0 else "telegram"),
            name=card.name or card.given_name,
            id_number=card.id_number,
            phone=card.phone or card.given_phone,
            last_text=preview if len(preview) <= PREVIEW else preview[:PREVIEW] + "…",
            last_at=last_at,
            waiting_since=waiting_since,
        )

    async def conversation(self, account: int) -> Conversation | None:
        lines = await models.SupportMessage.filter(chat_user_id=account).order_by("at", "id")
        if not lines:
            return None
        out = [row for row in lines if row.direction == "out"]
        last_out = out[-1].at if out else None
        waiting = [
            row.at
            for row in lines
            if row.direction == "in" and (last_out is None or row.at > last_out)
        ]
        head = await self._row(account, lines[-1].at, waiting[0] if waiting else None)
        return Conversation(
            head,
            [
                DeskLine(
                    row.id,
                    row.direction,
                    self._pii.open(row.text_sealed),
                    row.at,
                    row.staff_name,
                    row.delivered,
                )
                for row in lines
            ],
        )

"""The desk's own record of support conversations (support_message), whichever channel they came
from: what the staff console lists and answers. Texts are sealed at rest; the list pages show
them with ID numbers and phones masked, the conversation itself as typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q
from tortoise.functions import Max, Min

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


class TortoiseDeskLog:
    def __init__(self, pii: Pii) -> None:
        self._pii = pii

    async def heard(self, account: int, text: str, at: datetime) -> None:
        """What the person sent to the desk."""
        await models.SupportMessage.create(
            chat_user_id=account,
            direction="in",
            text_sealed=self._pii.seal(text),
            at=at,
            unanswered=True,
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
        audited: bool = True,
    ) -> int:
        """A staff member's answer, kept even when not delivered; a delivered one answers what
        the person sent before it. Audited with who and when (the console's; the staff group's
        own answers are in the group already)."""
        row = await models.SupportMessage.create(
            chat_user_id=account,
            direction="out",
            text_sealed=self._pii.seal(text),
            at=at,
            staff_id=staff_id,
            staff_name=staff_name,
            delivered=delivered,
        )
        if delivered:
            await models.SupportMessage.filter(
                chat_user_id=account, direction="in", unanswered=True, id__lt=row.id
            ).update(unanswered=False)
        if audited:
            await audit(
                staff_id,
                "support_answered",
                f"chat_user:{account}",
                message=row.id,
                delivered=delivered,
                at=at.isoformat(),
            )
        return row.id

    async def kept(self, account: int) -> list[tuple[int, str]]:
        """Answers kept as not delivered (WeChat's 48 hours were over), oldest first."""
        rows = await models.SupportMessage.filter(
            chat_user_id=account, direction="out", delivered=False
        ).order_by("id")
        return [(row.id, self._pii.open(row.text_sealed)) for row in rows]

    async def claim_delivery(self, row_id: int) -> bool:
        """Marks a kept answer delivered before it is sent, so two instances hearing the person
        at once send it once; False: another took it."""
        return (
            await models.SupportMessage.filter(id=row_id, delivered=False).update(delivered=True)
        ) == 1

    async def delivered_late(self, account: int, row_id: int, *, sent: bool) -> None:
        """After sending a claimed answer: it answers what the person sent before it; not sent,
        it is kept again for the next time."""
        if not sent:
            await models.SupportMessage.filter(id=row_id).update(delivered=False)
            return
        await models.SupportMessage.filter(
            chat_user_id=account, direction="in", unanswered=True, id__lt=row_id
        ).update(unanswered=False)

    async def exists(self, account: int) -> bool:
        return await models.SupportMessage.filter(chat_user_id=account).exists()

    async def conversations(self, *, page: int) -> tuple[int, list[ConversationRow]]:
        """Every conversation, the longest waiting first, then the most recent."""
        grouped = (
            await models.SupportMessage.all()
            .group_by("chat_user_id")
            .annotate(
                last_at=Max("at"),
                waiting_since=Min("at", _filter=Q(direction="in", unanswered=True)),
            )
            .values("chat_user_id", "last_at", "waiting_since")
        )
        never = datetime.max.replace(tzinfo=UTC)
        grouped.sort(
            key=lambda r: (
                _aware(r["waiting_since"]) or never,
                -_stamp(r["last_at"]),
                r["chat_user_id"],
            )
        )
        chosen = grouped[(page - 1) * PER_PAGE : page * PER_PAGE]
        rows = [
            await self._row(
                int(r["chat_user_id"]), _aware(r["last_at"]) or never, _aware(r["waiting_since"])
            )
            for r in chosen
        ]
        return len(grouped), rows

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
        waiting = [row.at for row in lines if row.direction == "in" and row.unanswered]
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


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate's moment (SQLite gives it as text), in UTC."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _stamp(value: datetime | str | None) -> float:
    moment = _aware(value)
    return moment.timestamp() if moment else 0.0

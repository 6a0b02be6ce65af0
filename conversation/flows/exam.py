"""✍️ Exam in the chat, on every channel: where each paid enrolment stands (S13, S14) with the
way into the exam page, the completion receipt again at any time (/receipt), and "I have applied
for the renewal" under a renewal reminder."""

from __future__ import annotations

from conversation import actions
from conversation.engine import Talk
from conversation.events import Command, Event, Pressed
from conversation.ports import ExamBoard
from conversation.receipts import receipt_turn
from conversation.replies import Button, Notice, OpenPage, Press, Reply, Turn, say
from domain.accounts import ChatUserId
from texts import exam as texts
from texts import reminders as reminder_texts

RECEIPT = "rcpt"  # the prefixes Telegram's buttons have always carried
RENEWAL = "renew"  # "I have applied for the renewal" under a renewal reminder


def receipt_press(receipt_id: int) -> Press:
    return Press(RECEIPT, (str(receipt_id),))


def renewal_press(receipt_id: int) -> Press:
    return Press(RENEWAL, (str(receipt_id),))


class Exam:
    """The exam's standing and the receipt; the exam itself is the web view's."""

    def __init__(self, *, board: ExamBoard) -> None:
        self._board = board

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        account = talk.account.id
        match event:
            case Command("exam") | Pressed(Press(actions.MENU, ("exam",))):
                return Turn().add(await self._standing(account))
            case Command("receipt"):
                receipts = await self._board.receipt_ids(account)
                if not receipts:
                    return Turn().add(Reply(say(texts.no_receipt)))
                turn = Turn()
                for each in receipts:
                    turn.add(*await self._receipt(each))
                return turn
            case Pressed(Press(prefix, (value,))) if prefix == RENEWAL:
                pressed = actions.row_id(value)
                if pressed is None or not await self._board.renewal_applied(pressed, account):
                    return Turn(taken=True)  # not theirs to say
                applied = Notice(say(reminder_texts.renewal_applied), alert=True)
                return Turn(notice=applied, unbutton=True)
            case Pressed(Press(prefix, (value,))) if prefix == RECEIPT:
                pressed = actions.row_id(value)
                if pressed is None or pressed not in await self._board.receipt_ids(account):
                    return Turn(taken=True)  # another person's receipt, or a forged press
                return Turn().add(*await self._receipt(pressed))
        return None

    async def _standing(self, account: ChatUserId) -> Reply:
        standings = await self._board.standings(account)
        if not standings:
            return Reply(say(texts.no_paid_enrolment))
        buttons: list[tuple[Button, ...]] = []
        for standing in standings:
            if standing.eligibility.allowed:
                page = OpenPage(f"/exam?enrolment={standing.enrolment_id}")
                buttons.append((Button(say(texts.open_exam_button), page),))
            if standing.receipt_id is not None:
                press = receipt_press(standing.receipt_id)
                buttons.append((Button(say(texts.receipt_button), press),))
        return Reply(say(texts.standings, tuple(standings)), tuple(buttons))

    async def _receipt(self, receipt_id: int) -> list[Reply]:
        """The image to look at and the PDF to print, or why not (revoked)."""
        receipt = await self._board.receipt(receipt_id)
        files = None if receipt.revoked else (receipt.png, receipt.pdf)
        return receipt_turn(receipt.number, receipt.score, files).replies

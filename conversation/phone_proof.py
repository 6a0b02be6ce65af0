"""Proof of a phone for channels without "share my contact" (WeChat): an SMS code.

`PhoneByCode` wraps the conversations and has their call shape. The flows go on asking for
the phone as they always do (`Ask.PHONE`) and go on taking `PhoneShared`; in between, this
asks the person to type the number, sends it a code (domain.phone_codes) and, when the right
code comes back, hands the flows `PhoneShared(phone, own=True)`. Nothing in the flows knows
which way the phone was proved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from conversation import actions
from conversation.actions import PhoneProofAction
from conversation.engine import Talk
from conversation.events import Command, Event, FileSent, PhoneShared, Pressed, Typed
from conversation.replies import Ask, Button, Buttons, Press, Reply, Turn, rows, say
from domain.clock import Clock
from domain.phone_codes import PhoneCodeRefused, PhoneCodes, mainland_mobile
from texts import enrolment as enrolment_texts
from texts import phone_proof as texts

# In the talk's data while a phone is wanted: {} until a number is typed, then {"phone": …}.
WANTED = "phone_proof"
CANCEL_WORDS = frozenset({"✖️ Cancel", "✖️ 取消", "取消", "cancel"})

Conversation = Callable[[Event, Talk], Awaitable[Turn]]


def _button(label: Any, action: PhoneProofAction) -> Button:
    return Button(label, actions.phone_proof(action))


def cancel_only() -> Buttons:
    return rows([_button(say(enrolment_texts.cancel_button), PhoneProofAction.CANCEL)])


def code_buttons() -> Buttons:
    return rows(
        [_button(say(texts.resend_button), PhoneProofAction.RESEND)],
        [_button(say(texts.change_number_button), PhoneProofAction.CHANGE_NUMBER)],
        [_button(say(enrolment_texts.cancel_button), PhoneProofAction.CANCEL)],
    )


def ask_number() -> Reply:
    return Reply(say(texts.ask_number), cancel_only())


class PhoneByCode:
    def __init__(self, conversations: Conversation, codes: PhoneCodes, clock: Clock) -> None:
        self._conversations = conversations
        self._codes = codes
        self._clock = clock

    async def __call__(self, event: Event, talk: Talk) -> Turn:
        wanted = (await talk.state.get_data()).get(WANTED)
        if isinstance(wanted, dict):
            turn = await self._proving(event, talk, wanted.get("phone"))
            if turn is not None:
                return turn
            await self._forget(talk)  # the person went elsewhere (a command, another button)
        return await self._relay(event, talk)

    async def _relay(self, event: Event, talk: Talk) -> Turn:
        """The conversations' turn, with their ask for a shared phone made an ask to type it."""
        turn = await self._conversations(event, talk)
        if not any(reply.ask is Ask.PHONE for reply in turn.replies):
            return turn
        await talk.state.update_data({WANTED: {}})
        turn.replies = [ask_number() if r.ask is Ask.PHONE else r for r in turn.replies]
        return turn

    async def _proving(self, event: Event, talk: Talk, phone: str | None) -> Turn | None:
        match event:
            case Command("cancel") | Pressed(Press(actions.PHONE_PROOF, ("x",))):
                return await self._cancel(talk)
            case Typed(text) if text.strip() in CANCEL_WORDS:
                return await self._cancel(talk)
            case Pressed(Press(actions.PHONE_PROOF, ("again",))) if phone:
                return await self._send(talk, phone)
            case Pressed(Press(actions.PHONE_PROOF, _)):  # change the number; a stale press
                await talk.state.update_data({WANTED: {}})
                return Turn().add(ask_number())
            case Typed(text) if phone is None:
                return await self._take_number(talk, text)
            case Typed(text) if phone:
                return await self._take_code(talk, phone, text)
            case FileSent() | PhoneShared() if phone is None:
                return Turn().add(ask_number())
            case FileSent() | PhoneShared() if phone:
                return Turn().add(self._refused(PhoneCodeRefused("not_a_code"), phone))
        return None

    async def _cancel(self, talk: Talk) -> Turn:
        await self._forget(talk)
        return await self._conversations(Command("cancel"), talk)

    async def _forget(self, talk: Talk) -> None:
        data = await talk.state.get_data()
        data.pop(WANTED, None)
        await talk.state.set_data(data)

    async def _take_number(self, talk: Talk, text: str) -> Turn:
        phone = mainland_mobile(text)
        if phone is None:
            return Turn().add(Reply(say(texts.bad_number), cancel_only()))
        return await self._send(talk, phone)

    async def _send(self, talk: Talk, phone: str) -> Turn:
        await talk.state.update_data({WANTED: {"phone": phone}})
        try:
            sent = await self._codes.send(talk.account.id, phone, talk.account.locale)
        except PhoneCodeRefused as refusal:
            return Turn().add(self._refused(refusal, phone))
        minutes = int((sent.valid_until - self._clock.now()).total_seconds() // 60)
        return Turn().add(Reply(say(texts.code_sent, phone, minutes), code_buttons()))

    async def _take_code(self, talk: Talk, phone: str, text: str) -> Turn:
        try:
            await self._codes.check(talk.account.id, phone, text)
        except PhoneCodeRefused as refusal:
            return Turn().add(self._refused(refusal, phone))
        await self._forget(talk)
        return await self._relay(PhoneShared(phone, own=True), talk)

    def _refused(self, refusal: PhoneCodeRefused, phone: str) -> Reply:
        now = self._clock.now()
        text = say(
            texts.refused, refusal.code, phone, refusal.retry_at, now, refusal.tries_left or 0
        )
        return Reply(text, code_buttons())

"""The person's side of the support desk: connecting, and what they send afterwards carried
to staff. Staff's answers come back by the desk's own way."""

from __future__ import annotations

from conversation import actions
from conversation.engine import Talk
from conversation.events import Command, Event, Leftover, Pressed
from conversation.ports import Heard, SupportDesk
from conversation.replies import Press, Reply, Turn, say
from texts import support as texts


class Support:
    def __init__(self, *, desk: SupportDesk) -> None:
        self._desk = desk

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        account = talk.account.id
        match event:
            case Command("support") | Pressed(Press(actions.MENU, ("support",))):
                route = await self._desk.connect(account)
                if route is None:
                    return Turn().add(Reply(say(texts.banned_for_trainee)))
                return Turn().add(Reply(say(texts.connected, route.track, route.topic)))
            case Leftover():
                # With a conversation open, what nothing else took is for staff, not self-help.
                heard = await self._desk.hear(account, event)
                if heard is Heard.NOT_OPEN:
                    return None
                if heard is Heard.PAUSED:
                    return Turn().add(Reply(say(texts.banned_for_trainee)))
                if heard is Heard.RELAYED_SLOWLY:  # every message reaches staff, in order
                    return Turn().add(Reply(say(texts.too_fast)))
                return Turn(taken=True)
        return None

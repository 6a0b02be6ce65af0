"""Start, the main menu, the language, a sign-in link for another browser, and self-help."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from conversation import actions
from conversation.actions import MenuAction, PayAction
from conversation.engine import Talk
from conversation.events import Command, Event, Pressed, Unanswered
from conversation.flows.common import Home, step_button
from conversation.replies import Button, Buttons, Notice, OpenUrl, Press, Reply, Turn, rows, say
from domain.accounts import ChatAccount, ChatUserId, ChooseLanguage
from domain.clock import Clock
from domain.errors import DomainError
from domain.locales import DEFAULT_LOCALE, Locale
from domain.selfhelp import Advice, HelpTopic, Situation, suggestions, topic_for
from texts import common as texts
from texts import payment as payment_texts
from texts import reminders as reminder_texts
from texts import selfhelp

LANGUAGE_NAMES = {Locale.ZH_CN: "简体中文", Locale.EN: "English"}

SituationOf = Callable[[int], Awaitable[Situation]]
TOPIC_STEP = {
    HelpTopic.HOW: MenuAction.ENROL,
    HelpTopic.ORDER: MenuAction.PAY,
    HelpTopic.EXAM: MenuAction.EXAM,
    HelpTopic.DEADLINES: MenuAction.STATUS,
}
ADVICE_STEP = {
    Advice.NOT_ENROLLED: MenuAction.ENROL,
    Advice.PAY_NOW: MenuAction.PAY,
    Advice.ORDER_OPEN: MenuAction.PAY,
    Advice.OVERDUE: MenuAction.APPLICATIONS,
}
# A signed link that signs the person in to the web view from any browser, and its lifetime in
# minutes.
SignInLink = Callable[[ChatAccount], tuple[str, int]]


def language_picker(current: Locale) -> Buttons:
    return rows(
        [
            Button(("✅ " if locale == current else "") + name, actions.language(locale))
            for locale, name in LANGUAGE_NAMES.items()
        ]
    )


def support_row() -> list[Button]:
    return [Button(say(selfhelp.still_stuck), actions.menu(MenuAction.SUPPORT))]


class Start:
    """Welcome, menu, language and the browser link: the way into everything else."""

    def __init__(
        self, *, home: Home, choose_language: ChooseLanguage, sign_in_link: SignInLink
    ) -> None:
        self._home = home
        self._choose_language = choose_language
        self._sign_in_link = sign_in_link

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        account = talk.account
        match event:
            case Command("start"):
                await talk.state.clear()
                # A client in another language than the default gets the chat's commands and
                # menu button in it from the first greeting.
                speak = account.locale if account.locale is not DEFAULT_LOCALE else None
                return Turn(speak=speak).add(self._home.greeting(account.first_name))
            case Command("menu"):
                return Turn().add(self._home.menu())
            case Pressed(Press(actions.MENU, ("home",))):
                return Turn().add(self._home.menu(edit=True))
            case Command("language") | Pressed(Press(actions.MENU, ("language",))):
                picker = language_picker(account.locale)
                return Turn().add(Reply(say(texts.language_prompt), picker))
            case Pressed(Press(actions.LANGUAGE, (code,))):
                return await self._switch_language(account, code)
            case Command("web"):
                url, minutes = self._sign_in_link(account)
                link = Button(say(texts.open_study_page_button), OpenUrl(url))
                return Turn().add(Reply(say(texts.browser_link, minutes), rows([link])))
        return None

    async def _switch_language(self, account: ChatAccount, code: str) -> Turn:
        try:
            locale = await self._choose_language(account.id, code)
        except DomainError:
            return Turn(notice=Notice(say(texts.error_text, "unsupported_locale"), alert=True))
        return Turn(
            replies=[
                Reply(say(texts.language_set), language_picker(locale), edit=True),
                self._home.menu(),
            ],
            notice=Notice(say(texts.language_set)),
            speak=locale,
        )


class SelfHelp:
    """First what fits the person's own situation, then topics; support is one tap away."""

    def __init__(self, *, clock: Clock, situation_of: SituationOf) -> None:
        self._clock = clock
        self._situation_of = situation_of

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        match event:
            case Command("help") | Pressed(Press(actions.MENU, ("help",))):
                return Turn().add(await self._help(talk.account.id))
            case Pressed(Press(actions.HELP, (code,))):
                topic = actions.choice(HelpTopic, code)
                if topic is None:
                    return None
                if topic is HelpTopic.COMMANDS:
                    back = Button(say(texts.main_menu_button), actions.menu(MenuAction.HOME))
                    return Turn().add(Reply(say(texts.help_text), rows([back])))
                track = (await self._situation_of(talk.account.id)).track
                return Turn().add(Reply(say(selfhelp.answer, topic, track), rows(support_row())))
            case Unanswered(text):
                return Turn().add(await self._question(talk.account.id, text))
        return None

    async def _question(self, account: int, text: str) -> Reply:
        """A question typed into the chat: the matching topic's answer with the way to more
        help, or, when its words match none, the person's own situation, the topics and the
        desk."""
        topic = topic_for(text)
        if topic is not None:
            more = Button(say(texts.help_button), actions.menu(MenuAction.HELP))
            step = step_button(TOPIC_STEP.get(topic))
            track = (await self._situation_of(account)).track
            return Reply(
                say(selfhelp.matched, topic, track),
                rows([b for b in [step] if b], [more], support_row()),
            )
        return await self._help(account, lead=True)

    async def _help(self, account: int, lead: bool = False) -> Reply:
        found = suggestions(await self._situation_of(account), self._clock.now())
        lines: list[list[Button]] = []
        if any(s.advice is Advice.ORDER_EXPIRED for s in found):
            lines.append([Button(say(payment_texts.new_qr), actions.pay(PayAction.RENEW))])
        # What the advice names ("tap 📝 Enrol"), one tap away.
        steps = dict.fromkeys(ADVICE_STEP[s.advice] for s in found if s.advice in ADVICE_STEP)
        lines.append([b for b in map(step_button, steps) if b is not None])
        topics = list(HelpTopic)
        for pair in (topics[i : i + 2] for i in range(0, len(topics), 2)):
            lines.append([Button(say(selfhelp.topic_name, t), actions.help_topic(t)) for t in pair])
        if lead:  # the desk first: self-help did not understand the question
            return Reply(say(selfhelp.unmatched, found), rows(support_row(), *lines))
        lines.append(support_row())
        return Reply(say(selfhelp.intro_for, found), rows(*lines))


class Muting:
    """/mute and /unmute: broadcasts and reminders that can wait stop or start again (a
    deadline's last warnings still come; texts/reminders.py says which)."""

    def __init__(self, *, mute: Callable[[ChatUserId, bool], Awaitable[object]]) -> None:
        self._mute = mute

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        match event:
            case Command("mute"):
                await self._mute(talk.account.id, True)
                return Turn().add(Reply(say(reminder_texts.muted)))
            case Command("unmute"):
                await self._mute(talk.account.id, False)
                return Turn().add(Reply(say(reminder_texts.unmuted)))
        return None

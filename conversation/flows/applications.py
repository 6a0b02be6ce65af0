"""Extension, make-up and re-study applications: what may be applied for, the form out, the
filled form back (R-EXT-1..3, S17, S18). Staff decide on the desk's side; the decision reaches
the person through the `Tell` port."""

from __future__ import annotations

from conversation import actions
from conversation.actions import ApplyAction
from conversation.engine import Talk
from conversation.events import Command, Event, FileSent, Leftover, Pressed
from conversation.ports import ApplicationDesk, FilledForm
from conversation.replies import (
    Ask,
    Attachment,
    Button,
    FileKind,
    OpenPage,
    Press,
    Reply,
    Turn,
    rows,
    say,
)
from domain.accounts import ChatUserId
from domain.support import ApplicationKind
from texts import support as texts

FORM = "Applying:form"  # a form was sent out; the filled one is awaited


class Applications:
    def __init__(self, *, desk: ApplicationDesk) -> None:
        self._desk = desk

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        match event:
            case Command("apply") | Pressed(Press(actions.MENU, ("applications",))):
                return Turn().add(await self.overview(talk.account.id))
            case Pressed(Press(actions.APPLY, (code, kind_code, item))):
                # Only starting is the person's: approving and rejecting are staff's, on the
                # desk's side; a press of theirs here, or a tampered one, is an old button.
                action, kind = (
                    actions.choice(ApplyAction, code),
                    actions.choice(ApplicationKind, kind_code),
                )
                enrolment = actions.row_id(item)
                if action is not ApplyAction.START or kind is None or enrolment is None:
                    return None
                return await self._send_form(talk, kind, enrolment)
        if await talk.state.get_state() != FORM:
            return None
        match event:
            case FileSent():
                return await self._take_form(talk, event)
            case Leftover():  # anything else nobody took: the form is what is awaited
                return await self._ask_for_the_form(talk)
        return None

    async def overview(self, account: ChatUserId) -> Reply:
        offers = await self._desk.offers(account)
        if not offers:
            return Reply(say(texts.no_paid_enrolments))
        lines: list[list[Button]] = []
        for kind in ApplicationKind:
            several = sum(
                1 for offer in offers for k, e in offer.eligibility if k is kind and e.allowed
            )
            if several > 1:  # an enterprise applies for all its employees with one form
                start = actions.apply(ApplyAction.START, kind, 0)
                lines.append([Button(say(texts.apply_for_all, kind.value, several), start)])
        for offer in offers:
            for kind, eligibility in offer.eligibility:
                if eligibility.code == "phone_desk":  # one desk for every kind, said once
                    break
                if eligibility.allowed:
                    start = actions.apply(ApplyAction.START, kind, offer.enrolment_id)
                    lines.append([Button(say(texts.apply_for_one, kind.value, offer), start)])
        return Reply(say(texts.applications_overview, offers), rows(*lines))

    async def _send_form(self, talk: Talk, kind: ApplicationKind, enrolment: int) -> Turn:
        # Waiting for the form before it is sent: a quick reply must not arrive too early.
        await talk.state.set_state(FORM)
        await talk.state.update_data(kind=kind.value, enrolment=enrolment)
        form = await self._desk.blank_form(talk.account.id, kind, enrolment)
        if form is None:  # not this account's, or not now: what it may apply for instead
            await talk.state.clear()
            return Turn().add(await self.overview(talk.account.id))
        attachment = Attachment(FileKind.DOCUMENT, form.name, data=form.data)
        if not form.signable:
            return Turn().add(
                Reply(say(texts.send_the_form, kind.value), ask=Ask.FORM, attachment=attachment)
            )
        # One enrolment: filled and signed in the web view in a minute; the .docx stays for
        # whoever prefers it.
        sign = Button(say(texts.sign_in_app_button), OpenPage(f"/apply/{kind.value}/{enrolment}"))
        return Turn().add(
            Reply(
                say(texts.send_the_form_or_sign, kind.value),
                rows([sign]),
                ask=Ask.FORM,
                attachment=attachment,
            )
        )

    async def _take_form(self, talk: Talk, sent: FileSent) -> Turn:
        data = await talk.state.get_data()
        kind = actions.choice(ApplicationKind, str(data.get("kind")))
        enrolment = data.get("enrolment")
        created: list[int] = []
        if kind is not None and isinstance(enrolment, int):
            form = FilledForm(sent.kind, sent.file_ref, sent.caption, sent.data)
            created = await self._desk.file(talk.account.id, kind, enrolment, form)
        await talk.state.clear()
        if not created:
            return Turn().add(await self.overview(talk.account.id))
        return Turn().add(Reply(say(texts.application_received, ", #".join(map(str, created)))))

    async def _ask_for_the_form(self, talk: Talk) -> Turn:
        data = await talk.state.get_data()
        kind = actions.choice(ApplicationKind, str(data.get("kind")))
        enrolment = data.get("enrolment")
        if (
            kind is not None
            and isinstance(enrolment, int)
            and await self._desk.still_open(talk.account.id, kind, enrolment)
        ):
            return Turn().add(Reply(say(texts.send_the_form_again)))
        # Filed meanwhile (signed in the web view): no form is awaited any more.
        await talk.state.clear()
        return Turn().add(await self.overview(talk.account.id))

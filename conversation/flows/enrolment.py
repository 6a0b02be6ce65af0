"""Identity and enrolment: individuals by ID number, enterprises by credit code (R-ENROL-*)."""

from __future__ import annotations

from typing import Any

from conversation import actions
from conversation.actions import EnrolAction, MenuAction
from conversation.engine import ConversationState, Talk
from conversation.events import Command, Event, FileSent, PhoneShared, Pressed, Typed
from conversation.flows import common
from conversation.flows.common import (
    employees_button,
    records_button,
    step_button,
    study_button,
)
from conversation.ports import Desk
from conversation.replies import Ask, Button, Buttons, Notice, Press, Reply, Turn, rows, say
from domain.certrules import categories_for, category_checks
from domain.clock import Clock
from domain.enrolment import (
    CertificateStanding,
    EnrolCertificates,
    EnrolEmployees,
    EnrolmentRefused,
    EnrolmentState,
    EnterpriseEmployees,
    MyCertificates,
    MyStatus,
    RequestCategoryCorrection,
    RequestSupport,
    Status,
)
from domain.errors import DomainError
from domain.identifiers import InvalidIdentifier, validate_credit_code, validate_id_number
from domain.identity import BindEnterprise, BindPerson, IdentityRefused, PhoneProof
from domain.registry import Certificate, Track
from domain.timezone import local_date
from texts import common as common_texts
from texts import enrolment as texts
from texts import support as support_texts

MAX_NAME = 32
PAGE_SIZE = 8
CANCEL_WORDS = frozenset({"✖️ Cancel", "✖️ 取消"})

# Where a person is in the conversation (kept by the channel between events).
ID_NUMBER, NAME, PHONE, CHOOSING = (
    "Individual:id_number",
    "Individual:name",
    "Individual:phone",
    "Individual:choosing",
)
CREDIT_CODE, COMPANY_PHONE, ROSTER, SEARCHING = (
    "Company:credit_code",
    "Company:phone",
    "Company:choosing",
    "Company:searching",
)


def _button(label: Any, action: EnrolAction, item: int = -1) -> Button:
    return Button(label, actions.enrol(action, item))


def who() -> Buttons:
    return rows(
        [_button(say(texts.myself_button), EnrolAction.MYSELF)],
        [_button(say(texts.company_button), EnrolAction.COMPANY)],
    )


def cancel_only() -> Buttons:
    return rows([_button(say(texts.cancel_button), EnrolAction.CANCEL)])


def refusal_actions() -> Buttons:
    return rows(
        [_button(say(common_texts.contact_support_button), EnrolAction.SUPPORT)],
        [_button(say(texts.try_again_button), EnrolAction.RETRY)],
    )


def _mark(index: int, standing: CertificateStanding, selected: set[int]) -> str:
    if not standing.enrollable:
        return "⛔"
    return "☑️" if index in selected else "⬜"


def my_certificates_buttons(standings: list[CertificateStanding], selected: set[int]) -> Buttons:
    lines = [
        [
            _button(
                say(texts.certificate_button, _mark(i, s, selected), i + 1, s.certificate),
                EnrolAction.TOGGLE if s.enrollable else EnrolAction.BLOCKED,
                i,
            )
        ]
        for i, s in enumerate(standings)
    ]
    if any(s.enrollable for s in standings):
        lines.append([_button(say(texts.enrol_selected, len(selected)), EnrolAction.SUBMIT)])
    if any(s.enrolment is not None for s in standings):  # "see 📋 My status": one tap away
        lines.append([b for b in [step_button(MenuAction.STATUS)] if b])
    lines.append([_button(say(common_texts.contact_support_button), EnrolAction.SUPPORT)])
    return rows(*lines)


def not_due_buttons() -> Buttons:
    return rows(
        [_button(say(texts.leave_out_button), EnrolAction.EARLY_SKIP)],
        [_button(say(texts.enrol_anyway_button), EnrolAction.EARLY_OK)],
    )


def confirm_category() -> Buttons:
    return rows(
        [_button(say(texts.category_right_button), EnrolAction.CATEGORY_OK)],
        [_button(say(texts.category_wrong_button), EnrolAction.CATEGORY_WRONG)],
    )


def roster_buttons(
    standings: list[CertificateStanding],
    visible: list[int],
    selected: set[int],
    page: int,
    searching: bool,
) -> Buttons:
    pages = max(1, -(-len(visible) // PAGE_SIZE))
    lines: list[list[Button]] = []
    for index in visible[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        standing = standings[index]
        action = EnrolAction.TOGGLE if standing.enrollable else EnrolAction.BLOCKED
        label = say(texts.employee_button, _mark(index, standing, selected), standing)
        lines.append([_button(label, action, index)])
    if pages > 1:
        lines.append(
            [
                _button("◀️", EnrolAction.PAGE, max(page - 1, 0)),
                _button(f"{page + 1}/{pages}", EnrolAction.PAGE, page),
                _button("▶️", EnrolAction.PAGE, min(page + 1, pages - 1)),
            ]
        )
    if searching:
        lines.append([_button(say(texts.clear_search_button), EnrolAction.CLEAR_SEARCH)])
    else:
        lines.append([_button(say(texts.search_button), EnrolAction.SEARCH)])
    lines.append(
        [
            _button(say(texts.all_due_button), EnrolAction.ALL_DUE),
            _button(say(texts.none_button), EnrolAction.NONE),
        ]
    )
    lines.append([_button(say(texts.enrol_selected, len(selected)), EnrolAction.SUBMIT)])
    return rows(*lines)


def after_enrolment(enrolled: bool) -> Buttons:
    """The next step one tap away: paying, when something was enrolled."""
    pay = [Button(say(common_texts.pay_button), actions.menu(MenuAction.PAY))] if enrolled else []
    return rows(
        pay,
        [
            Button(say(common_texts.status_button), actions.menu(MenuAction.STATUS)),
            Button(say(common_texts.main_menu_button), actions.menu(MenuAction.HOME)),
        ],
    )


NEXT_STEP = {
    EnrolmentState.ENROLLED: MenuAction.PAY,
    EnrolmentState.AWAITING_PAYMENT: MenuAction.PAY,
    EnrolmentState.EXAM: MenuAction.EXAM,
    EnrolmentState.OVERDUE: MenuAction.APPLICATIONS,
}


def status_buttons(status: Status) -> Buttons:
    """Each next step the status names, one tap away (S-any: no dead ends)."""
    if not status.bound or not (status.person_enrolments or status.enterprise_enrolments):
        return rows([b for b in [step_button(MenuAction.ENROL)] if b])
    states = {e.state for e in status.person_enrolments + status.enterprise_enrolments}
    line: list[Button] = []
    if EnrolmentState.STUDYING in states and status.person_enrolments:
        line.append(study_button())
    for step in dict.fromkeys(NEXT_STEP[s] for s in states if s in NEXT_STEP):
        if (button := step_button(step)) is not None:
            line.append(button)
    # The whole record one tap away: per employee for a contact, across years for a trainee.
    pages = [records_button()]
    if status.enterprise_enrolments:
        pages.append(employees_button())
    home = Button(say(common_texts.main_menu_button), actions.menu(MenuAction.HOME))
    return rows(line, pages, [home])


def blocked_case(standings: list[CertificateStanding]) -> dict[str, object] | None:
    """What "contact support" from a certificate list carries: the certificates that cannot be
    enrolled and why, for the desk of their track (one desk when they share it)."""
    blocked = [s for s in standings if s.refusal and s.refusal != "already_enrolled"]
    if not blocked:
        return None
    tracks = {s.certificate.track for s in blocked}
    return {
        "code": blocked[0].refusal,
        "track": tracks.pop().value if len(tracks) == 1 else None,
        "details": {"certificate": ", ".join(s.certificate.number for s in blocked)},
    }


def preselected(standings: list[CertificateStanding]) -> list[int]:
    """S4: what is due and enrollable starts ticked; everything else can be ticked by hand."""
    return [i for i, s in enumerate(standings) if s.due and s.enrollable]


async def _toggle(state: ConversationState, item: int) -> None:
    selected = set((await state.get_data()).get("selected", []))
    selected.symmetric_difference_update({item})
    await state.update_data(selected=sorted(selected))


async def _selected(state: ConversationState, size: int) -> list[int]:
    return [i for i in (await state.get_data()).get("selected", []) if 0 <= i < size]


async def refuse(state: ConversationState, error: DomainError, track: Track | None = None) -> Turn:
    """Explain, and keep the case so that one tap on "contact support" carries it."""
    await state.set_state(None)
    await state.set_data({"case": {"code": error.code, "track": track, "details": error.params}})
    ticket = error.params.get("ticket")
    return Turn().add(
        Reply(say(texts.refusal_heading), asked=True),
        Reply(
            say(texts.refusal, error.code, ticket=ticket if isinstance(ticket, int) else None),
            refusal_actions(),
        ),
    )


class Enrolment:
    def __init__(
        self,
        *,
        clock: Clock,
        bind_person: BindPerson,
        bind_enterprise: BindEnterprise,
        my_certificates: MyCertificates,
        enrol_certificates: EnrolCertificates,
        enterprise_employees: EnterpriseEmployees,
        enrol_employees: EnrolEmployees,
        my_status: MyStatus,
        request_support: RequestSupport,
        request_category_correction: RequestCategoryCorrection,
        desk: Desk,
        home: common.Home,
    ) -> None:
        self._clock = clock
        self._bind_person = bind_person
        self._bind_enterprise = bind_enterprise
        self._my_certificates = my_certificates
        self._enrol_certificates = enrol_certificates
        self._employees = enterprise_employees
        self._enrol_employees = enrol_employees
        self._my_status = my_status
        self._request_support = request_support
        self._request_category_correction = request_category_correction
        self._desk = desk
        self._home = home

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        state = talk.state
        match event:
            case Command("enrol") | Pressed(Press(actions.MENU, ("enrol",))):
                await state.clear()
                return Turn().add(Reply(say(texts.who_enrols), who()))
            case Command("cancel"):
                return await self._cancel(state)
            case Typed(text) if text in CANCEL_WORDS:
                return await self._cancel(state)
            case Command("status") | Pressed(Press(actions.MENU, ("status",))):
                status = await self._my_status(talk.account.id)
                return Turn().add(Reply(say(texts.status, status), status_buttons(status)))
            case Pressed(Press(actions.ENROL, (code, item))):
                action, index = actions.choice(EnrolAction, code), actions.row_id(item)
                if action is None or index is None:
                    return None
                return await self._pressed(action, index, talk)
        current = await state.get_state()
        match event:
            case Typed(text) if current == ID_NUMBER:
                return await self._take_id_number(state, text)
            case Typed(text) if current == NAME:
                return await self._take_name(state, text)
            case PhoneShared() if current == PHONE:
                return await self._take_phone(talk, event)
            case Typed(text) if current == CREDIT_CODE:
                return await self._take_credit_code(state, text)
            case PhoneShared() if current == COMPANY_PHONE:
                return await self._take_company_phone(talk, event)
            case Typed() | FileSent() | PhoneShared() if current in (PHONE, COMPANY_PHONE):
                return Turn().add(Reply(say(texts.use_the_phone_button), ask=Ask.PHONE))
            case Typed(text) if current == SEARCHING:
                await state.update_data(query=text.strip()[:32], page=0)
                return Turn().add(await self._roster(talk))
        return None

    async def _cancel(self, state: ConversationState) -> Turn:
        await state.clear()
        return Turn().add(Reply(say(texts.cancelled), asked=True), self._home.menu())

    async def _pressed(self, action: EnrolAction, item: int, talk: Talk) -> Turn | None:
        state, account = talk.state, talk.account.id
        current = await state.get_state()
        if action is EnrolAction.CANCEL:
            await state.clear()
            return Turn(notice=Notice(say(texts.cancelled)))
        if action in (EnrolAction.MYSELF, EnrolAction.RETRY):
            return await self._start_individual(talk)
        if action is EnrolAction.COMPANY:
            return await self._start_company(talk)
        if action is EnrolAction.BLOCKED:
            return await self._explain_blocked(talk, item)
        if action in (EnrolAction.CATEGORY_OK, EnrolAction.CATEGORY_WRONG):
            return await self._category_checked(talk, action is EnrolAction.CATEGORY_OK)
        if action is EnrolAction.SUPPORT and current != ROSTER:
            return await self._contact_support(talk)
        if current == CHOOSING and action is EnrolAction.TOGGLE:
            await _toggle(state, item)
            standings = await self._my_certificates(account)
            return Turn().add(await self._show_mine(state, standings, edit=True))
        if current in (CHOOSING, ROSTER) and action in (
            EnrolAction.EARLY_OK,
            EnrolAction.EARLY_SKIP,
        ):
            return await self._decide_early(talk, action is EnrolAction.EARLY_OK)
        if current == CHOOSING and action is EnrolAction.SUBMIT:
            return await self._submit_mine(talk)
        if current == ROSTER:
            return await self._roster_action(talk, action, item)
        return None

    # ---- individual: ID number → name → own phone → certificates ----

    async def _start_individual(self, talk: Talk) -> Turn:
        try:
            standings = await self._my_certificates(talk.account.id)
        except EnrolmentRefused:
            await talk.state.set_state(ID_NUMBER)
            return Turn().add(Reply(say(texts.ask_id_number), cancel_only()))
        return Turn().add(await self._show_mine(talk.state, standings))

    async def _take_id_number(self, state: ConversationState, text: str) -> Turn:
        try:
            id_number = validate_id_number(text, today=local_date(self._clock.now()))
        except InvalidIdentifier as exc:
            return Turn().add(_explain(exc))
        await state.update_data(id_number=id_number)
        await state.set_state(NAME)
        return Turn().add(Reply(say(texts.ask_name), cancel_only()))

    async def _take_name(self, state: ConversationState, text: str) -> Turn:
        name = " ".join(text.split())
        if not name or len(name) > MAX_NAME or name.startswith("/"):
            return Turn().add(Reply(say(texts.name_too_long)))
        await state.update_data(name=name)
        await state.set_state(PHONE)
        return Turn().add(Reply(say(texts.ask_phone), ask=Ask.PHONE))

    async def _take_phone(self, talk: Talk, shared: PhoneShared) -> Turn:
        data = await talk.state.get_data()
        account = talk.account.id
        try:
            person = await self._bind_person(
                account, data["id_number"], data["name"], PhoneProof(shared.phone, shared.own)
            )
        except IdentityRefused as exc:
            return await refuse(talk.state, exc)
        await talk.state.set_data({})  # the full ID number is not kept in conversation state
        confirmed = Reply(say(texts.identity_confirmed, person.name, person.id_number), asked=True)
        standings = await self._my_certificates(account)
        return Turn().add(confirmed, await self._show_mine(talk.state, standings))

    async def _show_mine(
        self, state: ConversationState, standings: list[CertificateStanding], edit: bool = False
    ) -> Reply:
        data = await state.get_data()
        numbers = [s.certificate.number for s in standings]
        if data.get("numbers") != numbers:
            selected = set(preselected(standings))
        else:
            selected = set(data.get("selected", []))
        await state.set_state(CHOOSING)
        await state.update_data(
            numbers=numbers, selected=sorted(selected), case=blocked_case(standings)
        )
        return Reply(
            say(texts.my_certificates, standings),
            my_certificates_buttons(standings, selected),
            edit=edit,
        )

    async def _explain_blocked(self, talk: Talk, item: int) -> Turn:
        account = talk.account.id
        try:
            if await talk.state.get_state() == CHOOSING:
                standings = await self._my_certificates(account)
            else:
                standings = (await self._employees(account)).standings
        except EnrolmentRefused:
            standings = []
        refusal = standings[item].refusal if 0 <= item < len(standings) else None
        return Turn(notice=Notice(say(texts.not_enrollable_alert, refusal or "unknown"), True))

    async def _standings(self, talk: Talk) -> list[CertificateStanding]:
        if await talk.state.get_state() == ROSTER:
            return (await self._employees(talk.account.id)).standings
        return await self._my_certificates(talk.account.id)

    async def _too_early(self, talk: Talk, standings: list[CertificateStanding]) -> Turn | None:
        """Certificates ticked before their CE is due: CE done now would not count for their
        renewal (R-CERT-1), so the payer says so knowingly, or leaves them out."""
        data = await talk.state.get_data()
        early = [
            standings[i]
            for i in await _selected(talk.state, len(standings))
            if not standings[i].due and standings[i].enrollable
        ]
        if not early or data.get("early_ok"):
            return None
        return Turn().add(Reply(say(texts.not_due_yet, early), not_due_buttons()))

    async def _decide_early(self, talk: Talk, enrol_anyway: bool) -> Turn:
        standings = await self._standings(talk)
        if enrol_anyway:
            await talk.state.update_data(early_ok=True)
        else:
            selected = await _selected(talk.state, len(standings))
            await talk.state.update_data(selected=[i for i in selected if standings[i].due])
        if await talk.state.get_state() == ROSTER:
            return await self._submit_roster(talk)
        return await self._submit_mine(talk)

    async def _submit_mine(self, talk: Talk) -> Turn:
        standings = await self._my_certificates(talk.account.id)
        chosen = [standings[i].certificate for i in await _selected(talk.state, len(standings))]
        if not chosen:
            return Turn(notice=Notice(say(texts.refusal, "nothing_selected"), alert=True))
        if (asked := await self._too_early(talk, standings)) is not None:
            return asked
        return await self._check_categories(talk, chosen, roster=False)

    async def _check_categories(self, talk: Talk, chosen: list[Certificate], roster: bool) -> Turn:
        """R-ENROL-4, S3: every chosen certificate with a category is shown, one at a time,
        on the holder's path and the enterprise's alike, before anything is enrolled."""
        await talk.state.update_data(
            pending=[c.number for c in chosen],
            checks=[c.number for c in category_checks(chosen)],
            roster=roster,
        )
        return await self._next_check(talk, Turn())

    async def _next_check(self, talk: Talk, turn: Turn) -> Turn:
        data = await talk.state.get_data()
        checks, pending = list(data.get("checks", [])), list(data.get("pending", []))
        roster = bool(data.get("roster"))
        if not checks:
            if not pending:
                await talk.state.clear()
                return turn
            done = await (
                self._enrol_roster(talk, pending) if roster else self._enrol_mine(talk, pending)
            )
            return turn.add(*done.replies)
        certificate = await self._certificate(talk, checks[0], roster)
        if certificate is None:  # gone from the registry meanwhile: enrolment will refuse it
            await talk.state.update_data(checks=checks[1:])
            return await self._next_check(talk, turn)
        await talk.state.update_data(category_of=certificate.number)
        question = say(texts.confirm_category, certificate, roster)
        return turn.add(Reply(question, confirm_category()))

    async def _certificate(self, talk: Talk, number: str, roster: bool) -> Certificate | None:
        if roster:
            standings = (await self._employees(talk.account.id)).standings
        else:
            standings = await self._my_certificates(talk.account.id)
        return next((s.certificate for s in standings if s.certificate.number == number), None)

    async def _category_checked(self, talk: Talk, right: bool) -> Turn:
        data = await talk.state.get_data()
        current = data.get("category_of")
        checks = list(data.get("checks", []))
        if not current or current not in checks:
            return Turn(notice=Notice(say(texts.cancelled)))
        turn = Turn()
        pending = list(data.get("pending", []))
        if not right:
            ticket = await self._request_category_correction(talk.account.id, current)
            turn.add(Reply(say(texts.category_correction_recorded, ticket)))
            certificate = await self._certificate(talk, current, bool(data.get("roster")))
            if certificate is not None:  # how staff correct it, in the trainee's topic
                allowed = "、".join(categories_for(certificate.cert_type, certificate.role))
                note = say(support_texts.category_case_note, current, certificate.category, allowed)
                await self._desk.note_for(talk.account.id, note)
            pending.remove(current)
        checks.remove(current)
        await talk.state.update_data(checks=checks, pending=pending, category_of=None)
        return await self._next_check(talk, turn)

    async def _enrol_mine(self, talk: Talk, numbers: list[str]) -> Turn:
        outcome = await self._enrol_certificates(talk.account.id, numbers)
        await talk.state.clear()
        enrolled = [e.certificate for e in outcome.enrolled]
        result = say(texts.enrolment_result, enrolled, outcome.refused, holder=False)
        return Turn().add(Reply(result, after_enrolment(bool(enrolled))))

    # ---- enterprise: credit code → contact phone → roster ----

    async def _start_company(self, talk: Talk) -> Turn:
        try:
            roster = await self._employees(talk.account.id)
        except EnrolmentRefused:
            await talk.state.set_state(CREDIT_CODE)
            return Turn().add(Reply(say(texts.ask_credit_code), cancel_only()))
        await talk.state.set_data({"selected": preselected(roster.standings)})
        return Turn().add(await self._roster(talk))

    async def _take_credit_code(self, state: ConversationState, text: str) -> Turn:
        try:
            credit_code = validate_credit_code(text)
        except InvalidIdentifier as exc:
            return Turn().add(_explain(exc))
        await state.update_data(credit_code=credit_code)
        await state.set_state(COMPANY_PHONE)
        return Turn().add(Reply(say(texts.ask_company_phone), ask=Ask.PHONE))

    async def _take_company_phone(self, talk: Talk, shared: PhoneShared) -> Turn:
        data = await talk.state.get_data()
        account = talk.account.id
        try:
            enterprise = await self._bind_enterprise(
                account, data["credit_code"], PhoneProof(shared.phone, shared.own)
            )
        except IdentityRefused as exc:
            return await refuse(talk.state, exc)
        confirmed = Reply(say(texts.company_confirmed, enterprise.name), asked=True)
        roster = await self._employees(account)
        await talk.state.set_data({"selected": preselected(roster.standings)})
        return Turn().add(confirmed, await self._roster(talk))

    async def _roster(self, talk: Talk, edit: bool = False) -> Reply:
        roster = await self._employees(talk.account.id)
        data = await talk.state.get_data()
        query = data.get("query")
        visible = [
            i
            for i, s in enumerate(roster.standings)
            if not query or query.casefold() in s.certificate.holder_name.casefold()
        ]
        pages = max(1, -(-len(visible) // PAGE_SIZE))
        page = min(max(int(data.get("page", 0)), 0), pages - 1)
        selected = {i for i in data.get("selected", []) if i < len(roster.standings)}
        await talk.state.set_state(ROSTER)
        await talk.state.update_data(page=page, selected=sorted(selected))
        text = say(
            texts.roster,
            roster.enterprise.name,
            len(visible),
            len(roster.standings),
            len(selected),
            page + 1,
            pages,
            query,
        )
        markup = roster_buttons(roster.standings, visible, selected, page, bool(query))
        return Reply(text, markup, edit=edit)

    async def _roster_action(self, talk: Talk, action: EnrolAction, item: int) -> Turn:
        state = talk.state
        if action is EnrolAction.SUBMIT:
            return await self._submit_roster(talk)
        if action is EnrolAction.TOGGLE:
            await _toggle(state, item)
        elif action is EnrolAction.PAGE:
            await state.update_data(page=item)
        elif action is EnrolAction.ALL_DUE:
            roster = await self._employees(talk.account.id)
            await state.update_data(selected=preselected(roster.standings))
        elif action is EnrolAction.NONE:
            await state.update_data(selected=[])
        elif action is EnrolAction.CLEAR_SEARCH:
            await state.update_data(query=None, page=0)
        elif action is EnrolAction.SEARCH:
            await state.set_state(SEARCHING)
            return Turn().add(Reply(say(texts.ask_search)))
        return Turn().add(await self._roster(talk, edit=True))

    async def _submit_roster(self, talk: Talk) -> Turn:
        roster = await self._employees(talk.account.id)
        indexes = await _selected(talk.state, len(roster.standings))
        if not indexes:
            return Turn(notice=Notice(say(texts.refusal, "nothing_selected"), alert=True))
        if (asked := await self._too_early(talk, roster.standings)) is not None:
            return asked
        chosen = [roster.standings[i].certificate for i in indexes]
        return await self._check_categories(talk, chosen, roster=True)

    async def _enrol_roster(self, talk: Talk, numbers: list[str]) -> Turn:
        outcome = await self._enrol_employees(talk.account.id, numbers)
        await talk.state.clear()
        enrolled = [e.certificate for e in outcome.enrolled]
        result = say(texts.enrolment_result, enrolled, outcome.refused, holder=True)
        return Turn().add(Reply(result, after_enrolment(bool(enrolled))))

    # ---- support for a refusal, and status ----

    async def _contact_support(self, talk: Talk) -> Turn:
        """The failed check goes with the trainee to the desk, so staff need not ask."""
        case = (await talk.state.get_data()).get("case") or {
            "code": "enrolment_help",
            "details": {},
        }
        track = Track(case["track"]) if case.get("track") else None
        account = talk.account.id
        number = await self._request_support(account, case["code"], track, case["details"])
        await self._desk.note_for(
            account, say(support_texts.case_note, case["code"], case["details"])
        )
        return Turn().add(Reply(say(texts.support_recorded, number, track)))


def _explain(error: InvalidIdentifier) -> Reply:
    length = error.params.get("length")
    return Reply(
        say(texts.identifier_problem, error.code, length if isinstance(length, int) else None)
    )

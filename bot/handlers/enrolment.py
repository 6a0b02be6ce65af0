"""Identity and enrolment: individuals by ID number, enterprises by credit code (R-ENROL-*)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardRemove

from bot import enrolment_keyboards as kb
from bot import keyboards
from bot.callbacks import EnrolAction, EnrolCallback, MenuAction, MenuCallback
from bot.desk import Desk
from bot.texts import common
from bot.texts import enrolment as texts
from bot.texts import support as support_texts
from domain.accounts import ChatUserId
from domain.clock import Clock
from domain.enrolment import (
    EnrolCertificates,
    EnrolEmployees,
    EnrolmentRefused,
    EnterpriseEmployees,
    MyCertificates,
    MyStatus,
    RequestCategoryCorrection,
    RequestSupport,
)
from domain.errors import DomainError
from domain.identifiers import (
    InvalidIdentifier,
    normalise_phone,
    validate_credit_code,
    validate_id_number,
)
from domain.identity import BindEnterprise, BindPerson, IdentityRefused, SharedContact
from domain.registry import CertType, Track
from domain.timezone import local_date

MAX_NAME = 32


class Individual(StatesGroup):
    id_number = State()
    name = State()
    phone = State()
    choosing = State()


class Company(StatesGroup):
    credit_code = State()
    phone = State()
    choosing = State()
    searching = State()


def _account(event: Message | CallbackQuery) -> ChatUserId:
    assert event.from_user is not None
    return ChatUserId(event.from_user.id)


def _contact(message: Message) -> SharedContact:
    assert message.contact is not None
    return SharedContact(
        phone=normalise_phone(message.contact.phone_number),
        contact_user_id=message.contact.user_id,
        forwarded=message.forward_origin is not None,
    )


async def _refuse(
    message: Message, state: FSMContext, error: DomainError, track: Track | None = None
) -> None:
    """Explain, and keep the case so that one tap on "contact support" carries it."""
    await state.set_state(None)
    await state.set_data({"case": {"code": error.code, "track": track, "details": error.params}})
    await message.answer(texts.refusal_heading(), reply_markup=ReplyKeyboardRemove())
    await message.answer(
        texts.refusal(error.code, ticket=error.params.get("ticket")),  # type: ignore[arg-type]
        reply_markup=kb.refusal_actions(),
    )


async def _show(message: Message, text: str, markup: InlineKeyboardMarkup, edit: bool) -> None:
    """A list the person works on is edited in place; a new one is sent."""
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def _explain(message: Message, error: InvalidIdentifier) -> None:
    length = error.params.get("length")
    await message.answer(
        texts.identifier_problem(error.code, length if isinstance(length, int) else None)
    )


def make_router() -> Router:
    router = Router(name="enrolment")
    router.message.filter(F.chat.type == "private")

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.ENROL))
    async def ask_who(query: CallbackQuery, state: FSMContext) -> None:
        await state.clear()
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(texts.who_enrols(), reply_markup=kb.who())

    @router.message(Command("enrol"))
    async def ask_who_by_command(message: Message, state: FSMContext) -> None:
        await state.clear()
        await message.answer(texts.who_enrols(), reply_markup=kb.who())

    @router.message(Command("cancel"))
    @router.message(F.text.in_({"✖️ Cancel", "✖️ 取消"}))
    async def cancel(message: Message, state: FSMContext, webapp_url: str) -> None:
        await state.clear()
        await message.answer(texts.cancelled(), reply_markup=ReplyKeyboardRemove())
        await message.answer(common.menu_prompt(), reply_markup=keyboards.main_menu(webapp_url))

    @router.callback_query(EnrolCallback.filter(F.action == EnrolAction.CANCEL))
    async def cancel_by_button(query: CallbackQuery, state: FSMContext) -> None:
        await state.clear()
        await query.answer(texts.cancelled())

    # ---- individual: ID number → name → own phone → certificates ----

    @router.callback_query(
        EnrolCallback.filter(F.action.in_({EnrolAction.MYSELF, EnrolAction.RETRY}))
    )
    async def start_individual(
        query: CallbackQuery, state: FSMContext, my_certificates: MyCertificates
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        try:
            standings = await my_certificates(_account(query))
        except EnrolmentRefused:
            await state.set_state(Individual.id_number)
            await query.message.answer(texts.ask_id_number(), reply_markup=kb.cancel_only())
            return
        await _show_my_certificates(query.message, state, standings)

    @router.message(Individual.id_number, F.text)
    async def take_id_number(message: Message, state: FSMContext, clock: Clock) -> None:
        try:
            id_number = validate_id_number(message.text or "", today=local_date(clock.now()))
        except InvalidIdentifier as exc:
            await _explain(message, exc)
            return
        await state.update_data(id_number=id_number)
        await state.set_state(Individual.name)
        await message.answer(texts.ask_name(), reply_markup=kb.cancel_only())

    @router.message(Individual.name, F.text)
    async def take_name(message: Message, state: FSMContext) -> None:
        name = " ".join((message.text or "").split())
        if not name or len(name) > MAX_NAME or name.startswith("/"):
            await message.answer(texts.name_too_long())
            return
        await state.update_data(name=name)
        await state.set_state(Individual.phone)
        await message.answer(texts.ask_phone(), reply_markup=kb.share_phone())

    @router.message(Individual.phone, F.contact)
    async def take_phone(
        message: Message,
        state: FSMContext,
        bind_person: BindPerson,
        my_certificates: MyCertificates,
    ) -> None:
        data = await state.get_data()
        try:
            person = await bind_person(
                _account(message), data["id_number"], data["name"], _contact(message)
            )
        except IdentityRefused as exc:
            await _refuse(message, state, exc)
            return
        await state.set_data({})  # the full ID number is not kept in conversation state
        await message.answer(
            texts.identity_confirmed(person.name, person.id_number),
            reply_markup=ReplyKeyboardRemove(),
        )
        await _show_my_certificates(message, state, await my_certificates(_account(message)))

    @router.message(Individual.phone, ~F.contact)
    @router.message(Company.phone, ~F.contact)
    async def insist_on_the_phone_button(message: Message) -> None:
        await message.answer(texts.use_the_phone_button(), reply_markup=kb.share_phone())

    async def _show_my_certificates(
        message: Message, state: FSMContext, standings: list[Any], edit: bool = False
    ) -> None:
        data = await state.get_data()
        numbers = [s.certificate.number for s in standings]
        if data.get("numbers") != numbers:
            selected = set(_preselected(standings))
        else:
            selected = set(data.get("selected", []))
        await state.set_state(Individual.choosing)
        await state.update_data(numbers=numbers, selected=sorted(selected))
        await _show(
            message, texts.my_certificates(standings), kb.my_certificates(standings, selected), edit
        )

    @router.callback_query(
        Individual.choosing, EnrolCallback.filter(F.action == EnrolAction.TOGGLE)
    )
    async def toggle_mine(
        query: CallbackQuery,
        callback_data: EnrolCallback,
        state: FSMContext,
        my_certificates: MyCertificates,
    ) -> None:
        await _toggle(state, callback_data.item)
        await query.answer()
        assert isinstance(query.message, Message)
        await _show_my_certificates(
            query.message, state, await my_certificates(_account(query)), edit=True
        )

    @router.callback_query(EnrolCallback.filter(F.action == EnrolAction.BLOCKED))
    async def explain_blocked(
        query: CallbackQuery,
        callback_data: EnrolCallback,
        state: FSMContext,
        my_certificates: MyCertificates,
        enterprise_employees: EnterpriseEmployees,
    ) -> None:
        current = await state.get_state()
        if current == Individual.choosing.state:
            standings = await my_certificates(_account(query))
        else:
            standings = (await enterprise_employees(_account(query))).standings
        refusal = (
            standings[callback_data.item].refusal
            if 0 <= callback_data.item < len(standings)
            else None
        )
        await query.answer(texts.not_enrollable_alert(refusal or "unknown"), show_alert=True)

    @router.callback_query(
        Individual.choosing, EnrolCallback.filter(F.action == EnrolAction.SUBMIT)
    )
    async def submit_mine(
        query: CallbackQuery,
        state: FSMContext,
        my_certificates: MyCertificates,
        enrol_certificates: EnrolCertificates,
    ) -> None:
        assert isinstance(query.message, Message)
        standings = await my_certificates(_account(query))
        chosen = [standings[i].certificate for i in await _selected(state, len(standings))]
        if not chosen:
            await query.answer(texts.refusal("nothing_selected"), show_alert=True)
            return
        await query.answer()
        site_pro = next(
            (c for c in chosen if c.cert_type is CertType.SITE_PRO and c.category), None
        )
        if site_pro is not None:
            await state.update_data(pending=[c.number for c in chosen], category_of=site_pro.number)
            await query.message.answer(
                texts.confirm_category(site_pro), reply_markup=kb.confirm_category()
            )
            return
        await _enrol_mine(query.message, state, enrol_certificates, [c.number for c in chosen])

    @router.callback_query(EnrolCallback.filter(F.action == EnrolAction.CATEGORY_OK))
    async def category_is_right(
        query: CallbackQuery, state: FSMContext, enrol_certificates: EnrolCertificates
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        data = await state.get_data()
        await _enrol_mine(query.message, state, enrol_certificates, data.get("pending", []))

    @router.callback_query(EnrolCallback.filter(F.action == EnrolAction.CATEGORY_WRONG))
    async def category_is_wrong(
        query: CallbackQuery,
        state: FSMContext,
        enrol_certificates: EnrolCertificates,
        request_category_correction: RequestCategoryCorrection,
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        data = await state.get_data()
        wrong = data.get("category_of", "")
        ticket = await request_category_correction(_account(query), wrong)
        await query.message.answer(texts.category_correction_recorded(ticket))
        rest = [n for n in data.get("pending", []) if n != wrong]
        if rest:
            await _enrol_mine(query.message, state, enrol_certificates, rest)
        else:
            await state.clear()

    async def _enrol_mine(
        message: Message, state: FSMContext, enrol: EnrolCertificates, numbers: list[str]
    ) -> None:
        outcome = await enrol(ChatUserId(message.chat.id), numbers)
        await state.clear()
        await message.answer(
            texts.enrolment_result(
                [e.certificate for e in outcome.enrolled], outcome.refused, holder=False
            ),
            reply_markup=kb.after_enrolment(),
        )

    # ---- enterprise: credit code → contact phone → roster ----

    @router.callback_query(EnrolCallback.filter(F.action == EnrolAction.COMPANY))
    async def start_company(
        query: CallbackQuery, state: FSMContext, enterprise_employees: EnterpriseEmployees
    ) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        try:
            roster = await enterprise_employees(_account(query))
        except EnrolmentRefused:
            await state.set_state(Company.credit_code)
            await query.message.answer(texts.ask_credit_code(), reply_markup=kb.cancel_only())
            return
        await state.set_data({"selected": _preselected(roster.standings)})
        await _show_roster(query.message, state, enterprise_employees)

    @router.message(Company.credit_code, F.text)
    async def take_credit_code(message: Message, state: FSMContext) -> None:
        try:
            credit_code = validate_credit_code(message.text or "")
        except InvalidIdentifier as exc:
            await _explain(message, exc)
            return
        await state.update_data(credit_code=credit_code)
        await state.set_state(Company.phone)
        await message.answer(texts.ask_company_phone(), reply_markup=kb.share_phone())

    @router.message(Company.phone, F.contact)
    async def take_company_phone(
        message: Message,
        state: FSMContext,
        bind_enterprise: BindEnterprise,
        enterprise_employees: EnterpriseEmployees,
    ) -> None:
        data = await state.get_data()
        try:
            enterprise = await bind_enterprise(
                _account(message), data["credit_code"], _contact(message)
            )
        except IdentityRefused as exc:
            await _refuse(message, state, exc)
            return
        await message.answer(
            texts.company_confirmed(enterprise.name), reply_markup=ReplyKeyboardRemove()
        )
        roster = await enterprise_employees(_account(message))
        await state.set_data({"selected": _preselected(roster.standings)})
        await _show_roster(message, state, enterprise_employees)

    async def _show_roster(
        message: Message, state: FSMContext, employees: EnterpriseEmployees, edit: bool = False
    ) -> None:
        roster = await employees(ChatUserId(message.chat.id))
        data = await state.get_data()
        query = data.get("query")
        visible = [
            i
            for i, s in enumerate(roster.standings)
            if not query or query.casefold() in s.certificate.holder_name.casefold()
        ]
        pages = max(1, -(-len(visible) // kb.PAGE_SIZE))
        page = min(max(int(data.get("page", 0)), 0), pages - 1)
        selected = {i for i in data.get("selected", []) if i < len(roster.standings)}
        await state.set_state(Company.choosing)
        await state.update_data(page=page, selected=sorted(selected))
        text = texts.roster(
            roster.enterprise.name,
            len(visible),
            len(roster.standings),
            len(selected),
            page + 1,
            pages,
            query,
        )
        await _show(
            message, text, kb.roster(roster.standings, visible, selected, page, bool(query)), edit
        )

    @router.callback_query(Company.choosing, EnrolCallback.filter())
    async def roster_action(
        query: CallbackQuery,
        callback_data: EnrolCallback,
        state: FSMContext,
        enterprise_employees: EnterpriseEmployees,
        enrol_employees: EnrolEmployees,
    ) -> None:
        assert isinstance(query.message, Message)
        action = callback_data.action
        if action is EnrolAction.SUBMIT:
            await _submit_roster(query, state, enterprise_employees, enrol_employees)
            return
        await query.answer()
        if action is EnrolAction.TOGGLE:
            await _toggle(state, callback_data.item)
        elif action is EnrolAction.PAGE:
            await state.update_data(page=callback_data.item)
        elif action is EnrolAction.ALL_DUE:
            roster = await enterprise_employees(_account(query))
            await state.update_data(selected=_preselected(roster.standings))
        elif action is EnrolAction.NONE:
            await state.update_data(selected=[])
        elif action is EnrolAction.CLEAR_SEARCH:
            await state.update_data(query=None, page=0)
        elif action is EnrolAction.SEARCH:
            await state.set_state(Company.searching)
            await query.message.answer(texts.ask_search())
            return
        await _show_roster(query.message, state, enterprise_employees, edit=True)

    @router.message(Company.searching, F.text)
    async def search_roster(
        message: Message, state: FSMContext, enterprise_employees: EnterpriseEmployees
    ) -> None:
        await state.update_data(query=(message.text or "").strip()[:32], page=0)
        await _show_roster(message, state, enterprise_employees)

    async def _submit_roster(
        query: CallbackQuery,
        state: FSMContext,
        employees: EnterpriseEmployees,
        enrol: EnrolEmployees,
    ) -> None:
        assert isinstance(query.message, Message)
        roster = await employees(_account(query))
        indexes = await _selected(state, len(roster.standings))
        if not indexes:
            await query.answer(texts.refusal("nothing_selected"), show_alert=True)
            return
        await query.answer()
        outcome = await enrol(
            _account(query), [roster.standings[i].certificate.number for i in indexes]
        )
        await state.clear()
        await query.message.answer(
            texts.enrolment_result(
                [e.certificate for e in outcome.enrolled], outcome.refused, holder=True
            ),
            reply_markup=kb.after_enrolment(),
        )

    # ---- support for a refusal, and status ----

    @router.callback_query(EnrolCallback.filter(F.action == EnrolAction.SUPPORT))
    async def contact_support(
        query: CallbackQuery, state: FSMContext, request_support: RequestSupport, desk: Desk
    ) -> None:
        """The failed check goes with the trainee to the desk, so staff need not ask."""
        case = (await state.get_data()).get("case") or {"code": "enrolment_help", "details": {}}
        track = Track(case["track"]) if case.get("track") else None
        ticket_number = await request_support(_account(query), case["code"], track, case["details"])
        ticket = await desk.open_ticket(query.from_user.id)
        with desk.i18n.use_locale("zh_CN"):
            note = support_texts.case_note(f"{case['code']} {case['details']}")
        await desk.note(ticket, note)
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(texts.support_recorded(ticket_number, track))

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.STATUS))
    async def show_status(query: CallbackQuery, my_status: MyStatus) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(await _status_text(my_status, _account(query)))

    @router.message(Command("status"))
    async def show_status_by_command(message: Message, my_status: MyStatus) -> None:
        await message.answer(await _status_text(my_status, _account(message)))

    return router


async def _status_text(my_status: MyStatus, account: ChatUserId) -> str:
    status = await my_status(account)
    if not status.bound:
        return texts.status_not_bound()
    parts = []
    if status.person_enrolments:
        parts.append(
            texts.status_lines(
                [texts.status_line(e.certificate, e.state) for e in status.person_enrolments]
            )
        )
    elif status.enterprise is None:
        parts.append(texts.status_no_enrolments())
    if status.enterprise is not None:
        counts = Counter(e.state for e in status.enterprise_enrolments)
        parts.append(texts.enterprise_status(status.enterprise.name, dict(counts)))
    return "\n\n".join(parts)


async def _toggle(state: FSMContext, item: int) -> None:
    selected = set((await state.get_data()).get("selected", []))
    selected.symmetric_difference_update({item})
    await state.update_data(selected=sorted(selected))


async def _selected(state: FSMContext, size: int) -> list[int]:
    return [i for i in (await state.get_data()).get("selected", []) if 0 <= i < size]


def _preselected(standings: list[Any]) -> list[int]:
    """S4: what is due and enrollable starts ticked; everything else can be ticked by hand."""
    return [i for i, s in enumerate(standings) if s.due and s.enrollable]

"""Paying by QR code: whom for (the pick list), invoice details, the order and its QR code,
checking and renewing (R-PAY-*, issue 18)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from conversation import actions
from conversation.actions import MenuAction, PayAction, PickAction
from conversation.engine import ConversationState, Talk
from conversation.events import Command, Event, Pressed, Typed
from conversation.replies import (
    Attachment,
    Button,
    Buttons,
    FileKind,
    Notice,
    OpenUrl,
    Press,
    Reply,
    Turn,
    rows,
    say,
)
from domain.checkout import (
    Bill,
    CheckOrder,
    DueItem,
    Order,
    PlaceOrder,
    RemoveEnrolment,
    SaveInvoiceDetails,
    ShowBill,
    by_type,
    pick_key,
    ticked,
)
from domain.enrolment import Channel
from domain.payment import OrderStatus, PaymentRefused
from texts import common as common_texts
from texts import payment as texts
from texts.i18n import use_locale

# The QR code's image: (pay url, amount line, order number, deadline line) → PNG.
QrRenderer = Callable[[str, str, str, str], bytes]
# The order's QR code message is kept under this name, so the notice that the order is paid or
# over can take its buttons away.
ORDER_QR = "order_qr"
PAGE_SIZE = 8

# Where a payer is in the conversation (kept by the channel between events).
TITLE, TAXPAYER, EMAIL, CREDIT_CODE = (
    "Paying:title",
    "Paying:taxpayer",
    "Paying:email",
    "Paying:credit_code",
)
# The pick lives in the conversation state under these keys: whom the payer unticked
# (everything due starts ticked), the page, whose bill (own or company's) when the account has
# both, and whom the confirmed pick holds.
UNTICKED, PAGE, PAYING_AS, PICKED = "pay_off", "pay_page", "pay_as", "pay_ids"


def listed(bill: Bill) -> list[DueItem]:
    """The pick list's order: grouped per certificate type."""
    return [item for _type, items in by_type(bill.items) for item in items]


def pages(bill: Bill) -> int:
    return max(1, -(-len(bill.items) // PAGE_SIZE))


def page_of(bill: Bill, page: int) -> list[DueItem]:
    return listed(bill)[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]


def _pay(label: Any, action: PayAction, order: str = "") -> Button:
    return Button(label, actions.pay(action, order))


def _pick(label: Any, action: PickAction, item: int = -1) -> Button:
    return Button(label, actions.pick(action, item))


def bill_buttons(bill: Bill, unticked: Collection[int] = (), page: int = 0) -> Buttons:
    """A line per person on this page (tick, remove), paging as the enrolment roster does, and
    a confirm button carrying the pick's fingerprint."""
    holder = bill.enterprise is not None
    lines: list[list[Button]] = []
    for item in page_of(bill, page):
        label = say(texts.tick_button, item, holder, item.enrolment_id not in unticked)
        lines.append(
            [
                _pick(label, PickAction.TOGGLE, item.enrolment_id),
                _pick("🗑", PickAction.REMOVE, item.enrolment_id),
            ]
        )
    count = pages(bill)
    if count > 1:
        lines.append(
            [
                _pick("◀️", PickAction.PAGE, max(page - 1, 0)),
                _pick(f"{page + 1}/{count}", PickAction.PAGE, page),
                _pick("▶️", PickAction.PAGE, min(page + 1, count - 1)),
            ]
        )
    if len(bill.items) > 1:
        lines.append(
            [
                _pick(say(texts.tick_all_button), PickAction.ALL),
                _pick(say(texts.tick_none_button), PickAction.NONE),
            ]
        )
    picked = [item.enrolment_id for item in ticked(bill.items, unticked)]
    if bill.invoice is not None and bill.items:
        lines.append([_pay(say(texts.confirm_and_pay_button), PayAction.CONFIRM, pick_key(picked))])
    lines.append([_pay(say(texts.invoice_details_button), PayAction.INVOICE)])
    for other in bill.others:
        action = PickAction.COMPANY if other is Channel.ENTERPRISE else PickAction.OWN
        lines.append([_pick(say(texts.switch_button, other), action)])
    return rows(*lines)


def who_pays_buttons() -> Buttons:
    return rows(
        [_pick(say(texts.my_own_button), PickAction.OWN)],
        [_pick(say(texts.my_company_button), PickAction.COMPANY)],
    )


def confirm_remove_buttons(item: DueItem) -> Buttons:
    return rows(
        [_pick(say(texts.remove_yes_button), PickAction.REMOVE_YES, item.enrolment_id)],
        [_pick(say(texts.keep_button), PickAction.KEEP)],
    )


def nothing_left_buttons() -> Buttons:
    """Nothing to pay: what to do instead, one tap away."""
    return rows(
        [
            Button(say(common_texts.enrol_button), actions.menu(MenuAction.ENROL)),
            Button(say(common_texts.status_button), actions.menu(MenuAction.STATUS)),
        ],
        [Button(say(common_texts.main_menu_button), actions.menu(MenuAction.HOME))],
    )


def skip_buttons() -> Buttons:
    return rows([_pay(say(texts.skip_button), PayAction.SKIP)])


def order_buttons(order: Order) -> Buttons:
    return rows(
        [
            Button(
                say(texts.open_payment_page_button),
                OpenUrl(order.pay_url, page=f"/pay/{order.number}"),
            )
        ],
        [_pay(say(texts.check_paid_button), PayAction.CHECK, order.number)],
    )


async def _channel(state: ConversationState) -> Channel | None:
    value = (await state.get_data()).get(PAYING_AS)
    return Channel(value) if value else None


async def _unticked(state: ConversationState) -> set[int]:
    return set((await state.get_data()).get(UNTICKED, []))


async def _keep_only_the_pick(state: ConversationState) -> None:
    """Leaves a step (invoice details) without forgetting whom the payer ticked."""
    data = await state.get_data()
    await state.set_state(None)
    await state.set_data({k: v for k, v in data.items() if k in (UNTICKED, PAGE, PAYING_AS)})


def _refusal(error: PaymentRefused) -> Reply:
    return Reply(say(texts.refusal, error.code))


class Payment:
    def __init__(
        self,
        *,
        show_bill: ShowBill,
        place_order: PlaceOrder,
        save_invoice_details: SaveInvoiceDetails,
        check_order: CheckOrder,
        remove_enrolment: RemoveEnrolment,
        qr: QrRenderer,
        pay_apps: tuple[str, ...] = ("wechatpay",),
    ) -> None:
        self._show = show_bill
        self._place = place_order
        self._save_invoice = save_invoice_details
        self._check = check_order
        self._remove = remove_enrolment
        self._qr = qr
        self._pay_apps = pay_apps

    async def __call__(self, event: Event, talk: Talk) -> Turn | None:
        match event:
            case Command("pay") | Pressed(Press(actions.MENU, ("pay",))):
                return await self._start(talk)
            case Pressed(Press(actions.PAY, (code, order))):
                action = actions.choice(PayAction, code)
                return None if action is None else await self._pay_pressed(talk, action, order)
            case Pressed(Press(actions.PICK, (code, item))):
                pick, index = actions.choice(PickAction, code), actions.row_id(item)
                if pick is None or index is None:
                    return None
                return await self._pick_pressed(talk, pick, index)
        current = await talk.state.get_state()
        match event:
            case Typed(text) if current == TITLE:
                return await self._after_title(talk.state, text)
            case Typed(text) if current == TAXPAYER:
                await talk.state.update_data(taxpayer=text)
                return await self._ask_email(talk.state)
            case Typed(text) if current == EMAIL:
                return await self._save_invoice_details(talk, text)
            case Typed(text) if current == CREDIT_CODE:
                await talk.state.set_state(None)
                return await self._place_order(talk, Turn(), text)
        return None

    async def _pay_pressed(self, talk: Talk, action: PayAction, order: str) -> Turn | None:
        current = await talk.state.get_state()
        if action in (PayAction.CONFIRM, PayAction.RENEW):
            return await self._confirm(talk, order)
        if action is PayAction.INVOICE:
            return await self._ask_invoice_title(talk)
        if action is PayAction.CHECK:
            return await self._check_order(talk, order)
        if action is PayAction.USE_SUGGESTION and current == TITLE:
            suggestion = (await talk.state.get_data()).get("suggestion", "")
            return await self._after_title(talk.state, suggestion)
        if action is PayAction.SKIP and current == TAXPAYER:
            return await self._ask_email(talk.state)
        if action is PayAction.SKIP and current == EMAIL:
            return await self._save_invoice_details(talk, None)
        return None  # a step's button after the step: an old button

    # ---- the bill and the pick list ----

    async def _start(self, talk: Talk) -> Turn:
        """A fresh pick, everything ticked; first the question whose, when the account can pay
        both for itself and for its company. An order still open is shown again."""
        await talk.state.clear()
        try:
            bill = await self._show(talk.account.id)
        except PaymentRefused as exc:
            return Turn().add(_refusal(exc))
        if bill.others and bill.enterprise is not None:
            question = say(texts.who_pays, bill.enterprise.name)
            return Turn().add(Reply(question, who_pays_buttons()))
        turn = Turn()
        shown = await self._present(talk, turn, bill=bill)  # the state is fresh: the same bill
        if shown is not None and not shown.items:
            turn.add(self._order(talk, shown.open_orders[0]))
        return turn

    async def _present(
        self, talk: Talk, turn: Turn, edit: bool = False, bill: Bill | None = None
    ) -> Bill | None:
        """The bill as the payer left it: their ticks and page, for whom they chose. `bill`
        when the caller has just read the one for the chosen payer (a bill is five reads)."""
        state = talk.state
        if bill is None:
            try:
                bill = await self._show(talk.account.id, await _channel(state))
            except PaymentRefused as exc:
                turn.add(_refusal(exc))
                return None
        if not bill.items and not bill.open_orders:
            turn.add(Reply(say(texts.nothing_to_pay), nothing_left_buttons()))
            return None
        if bill.items:
            data = await state.get_data()
            due = {item.enrolment_id for item in bill.items}
            unticked = set(data.get(UNTICKED, [])) & due
            page = min(max(int(data.get(PAGE, 0)), 0), pages(bill) - 1)
            await state.update_data(
                {UNTICKED: sorted(unticked), PAGE: page, PAYING_AS: bill.channel.value}
            )
            shown = {item.enrolment_id for item in page_of(bill, page)}
            text = say(texts.bill, bill, unticked, shown)
            turn.add(Reply(text, bill_buttons(bill, unticked, page), edit=edit))
        return bill

    async def _pick_pressed(self, talk: Talk, action: PickAction, item: int) -> Turn:
        state = talk.state
        if action in (PickAction.OWN, PickAction.COMPANY):
            whose = Channel.ENTERPRISE if action is PickAction.COMPANY else Channel.INDIVIDUAL
            await state.clear()
            await state.update_data({PAYING_AS: whose.value})
            turn = Turn()
            await self._present(talk, turn)
            return turn
        if action is PickAction.REMOVE:
            return await self._ask_remove(talk, item)
        if action is PickAction.REMOVE_YES:
            return await self._remove_enrolment(talk, item)
        if action is PickAction.KEEP:
            turn = Turn().add(Reply(say(texts.kept), edit=True))
            await self._present(talk, turn)
            return turn
        unticked = await _unticked(state)
        bill = None
        if action is PickAction.TOGGLE:
            unticked.symmetric_difference_update({item})  # only due ids survive _present
        elif action is PickAction.PAGE:
            await state.update_data({PAGE: item})
        elif action is PickAction.NONE:
            bill = await self._show(talk.account.id, await _channel(state))
            unticked = {i.enrolment_id for i in bill.items}
        else:
            unticked = set()
        await state.update_data({UNTICKED: sorted(unticked)})
        turn = Turn()
        await self._present(talk, turn, edit=True, bill=bill)
        return turn

    async def _ask_remove(self, talk: Talk, item: int) -> Turn:
        bill = await self._show(talk.account.id, await _channel(talk.state))
        due = next((i for i in bill.items if i.enrolment_id == item), None)
        if due is None:
            return Turn(notice=Notice(say(texts.refusal, "cannot_remove"), alert=True))
        question = say(texts.confirm_remove, due, holder=True)
        return Turn().add(Reply(question, confirm_remove_buttons(due)))

    async def _remove_enrolment(self, talk: Talk, item: int) -> Turn:
        """Only the payer's own, unpaid and not in an open order: the use case checks."""
        channel = await _channel(talk.state)
        try:
            removed = await self._remove(talk.account.id, item, channel)
        except PaymentRefused as exc:
            return Turn(notice=Notice(say(texts.refusal, exc.code), alert=True))
        holder = channel is Channel.ENTERPRISE or removed.certificate.holder_name != ""
        named = holder and channel is not Channel.INDIVIDUAL
        turn = Turn().add(Reply(say(texts.removed, removed, named), edit=True))
        await self._present(talk, turn)
        return turn

    # ---- invoice details: title, taxpayer ID, email ----

    async def _ask_invoice_title(self, talk: Talk) -> Turn:
        bill = await self._show(talk.account.id, await _channel(talk.state))
        suggestion = bill.enterprise.name if bill.enterprise else talk.account.first_name
        if bill.items and not bill.enterprise:
            suggestion = bill.items[0].certificate.holder_name
        await talk.state.set_state(TITLE)
        await talk.state.update_data(
            suggestion=suggestion,
            taxpayer=bill.enterprise.credit_code if bill.enterprise else None,
        )
        use = rows([_pay(suggestion, PayAction.USE_SUGGESTION)])
        return Turn().add(Reply(say(texts.ask_title, suggestion), use))

    async def _after_title(self, state: ConversationState, title: str) -> Turn:
        await state.update_data(title=title)
        await state.set_state(TAXPAYER)
        if (await state.get_data()).get("taxpayer"):
            # A company's taxpayer ID is its credit code: known already.
            return await self._ask_email(state)
        return Turn().add(Reply(say(texts.ask_taxpayer), skip_buttons()))

    async def _ask_email(self, state: ConversationState) -> Turn:
        await state.set_state(EMAIL)
        return Turn().add(Reply(say(texts.ask_email), skip_buttons()))

    async def _save_invoice_details(self, talk: Talk, email: str | None) -> Turn:
        state = talk.state
        data = await state.get_data()
        turn = Turn()
        try:
            await self._save_invoice(
                talk.account.id, data.get("title", ""), data.get("taxpayer"), email
            )
        except PaymentRefused as exc:
            turn.add(_refusal(exc))
            if exc.code != "bad_email":
                await state.set_state(TITLE)
                turn.add(Reply(say(texts.ask_title, data.get("suggestion", ""))))
            return turn
        await _keep_only_the_pick(state)
        await self._present(talk, turn)
        return turn

    # ---- the order ----

    async def _confirm(self, talk: Talk, fingerprint: str) -> Turn:
        state = talk.state
        bill = await self._show(talk.account.id, await _channel(state))
        picked = [item.enrolment_id for item in ticked(bill.items, await _unticked(state))]
        turn = Turn()
        # The button carries what the payer saw: a list that changed since (paid, ordered,
        # removed) or a pick the conversation forgot is shown again rather than ordered.
        if fingerprint and fingerprint != pick_key(picked):
            turn.add(Reply(say(texts.pick_changed)))
            await self._present(talk, turn)
            return turn
        await _keep_only_the_pick(state)
        await state.update_data({PICKED: picked} if bill.items else {})
        if bill.enterprise is not None and bill.items:
            await state.set_state(CREDIT_CODE)
            return turn.add(Reply(say(texts.ask_credit_code_again)))
        return await self._place_order(talk, turn)

    async def _place_order(self, talk: Talk, turn: Turn, credit_code: str | None = None) -> Turn:
        state = talk.state
        picked = (await state.get_data()).get(PICKED)
        try:
            order = await self._place(
                talk.account.id,
                credit_code,
                channel=await _channel(state),
                only=set(picked) if picked is not None else None,
            )
        except PaymentRefused as exc:
            turn.add(_refusal(exc))
            if exc.code == "selection_changed":
                await self._present(talk, turn)
            return turn
        await state.clear()
        return turn.add(self._order(talk, order))

    def _order(self, talk: Talk, order: Order) -> Reply:
        """The order's QR code, its words printed in the payer's language, with the payment
        page and "I have paid" one tap away."""
        with use_locale(talk.account.locale.value):
            amount = texts.qr_amount(order.amount_fen)
            deadline = texts.qr_deadline(order.expires_at)
        png = self._qr(order.pay_url, amount, order.number, deadline)
        return Reply(
            say(texts.order_caption, order, self._pay_apps),
            order_buttons(order),
            attachment=Attachment(FileKind.PHOTO, f"{order.number}.png", data=png),
            track=f"{ORDER_QR}|{order.number}",
        )

    async def _check_order(self, talk: Talk, number: str) -> Turn:
        """ "I have paid": the provider is asked at once; someone else's order is not found."""
        try:
            order = await self._check(talk.account.id, number)
        except PaymentRefused as exc:
            return Turn(notice=Notice(say(texts.refusal, exc.code), alert=True))
        if order.status is OrderStatus.PAID:
            return Turn(notice=Notice(say(texts.already_paid), alert=True))
        return Turn().add(Reply(say(texts.not_paid_yet, order)))

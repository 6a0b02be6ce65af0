from __future__ import annotations

from collections.abc import Collection

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.callbacks import MenuAction, MenuCallback, PayAction, PayCallback, PickAction, PickCallback
from domain.checkout import Bill, DueItem, Order, by_type, pick_key, ticked
from domain.enrolment import Channel
from texts import common as common_texts
from texts import payment as texts
from texts.i18n import gettext as _


def _button(text: str, action: PayAction, order: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=PayCallback(action=action, order=order).pack()
    )


PAGE_SIZE = 8


def _pick(text: str, action: PickAction, item: int = -1) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=PickCallback(action=action, item=item).pack()
    )


def _menu(text: str, action: MenuAction) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=MenuCallback(action=action).pack())


def listed(bill: Bill) -> list[DueItem]:
    """The pick list's order: grouped per certificate type."""
    return [item for _type, items in by_type(bill.items) for item in items]


def pages(bill: Bill) -> int:
    return max(1, -(-len(bill.items) // PAGE_SIZE))


def page_of(bill: Bill, page: int) -> list[DueItem]:
    return listed(bill)[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]


def bill(bill: Bill, unticked: Collection[int] = (), page: int = 0) -> InlineKeyboardMarkup:
    """A row per person on this page (tick, remove), paging as the enrolment roster does, and
    a confirm button carrying the pick's fingerprint."""
    holder = bill.enterprise is not None
    rows = []
    for item in page_of(bill, page):
        mark = "⬜" if item.enrolment_id in unticked else "☑️"
        rows.append(
            [
                _pick(
                    f"{mark} {texts.item_label(item, holder)}", PickAction.TOGGLE, item.enrolment_id
                ),
                _pick("🗑", PickAction.REMOVE, item.enrolment_id),
            ]
        )
    count = pages(bill)
    if count > 1:
        rows.append(
            [
                _pick("◀️", PickAction.PAGE, max(page - 1, 0)),
                _pick(f"{page + 1}/{count}", PickAction.PAGE, page),
                _pick("▶️", PickAction.PAGE, min(page + 1, count - 1)),
            ]
        )
    if len(bill.items) > 1:
        rows.append(
            [
                _pick(texts.tick_all_button(), PickAction.ALL),
                _pick(texts.tick_none_button(), PickAction.NONE),
            ]
        )
    picked = [item.enrolment_id for item in ticked(bill.items, unticked)]
    if bill.invoice is not None and bill.items:
        rows.append([_button(_("✅ Confirm and pay"), PayAction.CONFIRM, pick_key(picked))])
    rows.append([_button(_("🧾 Invoice details"), PayAction.INVOICE)])
    for other in bill.others:
        action = PickAction.COMPANY if other is Channel.ENTERPRISE else PickAction.OWN
        rows.append([_pick(texts.switch_button(other), action)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def who_pays() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_pick(texts.my_own_button(), PickAction.OWN)],
            [_pick(texts.my_company_button(), PickAction.COMPANY)],
        ]
    )


def confirm_remove(item: DueItem) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_pick(texts.remove_yes_button(), PickAction.REMOVE_YES, item.enrolment_id)],
            [_pick(texts.keep_button(), PickAction.KEEP)],
        ]
    )


def nothing_left() -> InlineKeyboardMarkup:
    """Nothing to pay: what to do instead, one tap away."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _menu(common_texts.enrol_button(), MenuAction.ENROL),
                _menu(common_texts.status_button(), MenuAction.STATUS),
            ],
            [_menu(common_texts.main_menu_button(), MenuAction.HOME)],
        ]
    )


def suggestion(text: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(text, PayAction.USE_SUGGESTION)]])


def skip() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("Skip"), PayAction.SKIP)]])


def order(order: Order) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("💳 Open the payment page"), url=order.pay_url)],
            [_button(_("🔄 I have paid: check"), PayAction.CHECK, order.number)],
        ]
    )


def renew() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(texts.new_qr(), PayAction.RENEW)]])


def start_studying(webapp_url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("📖 Start studying"), web_app=WebAppInfo(url=webapp_url))]
        ]
    )

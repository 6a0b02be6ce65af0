"""Keyboards of the enrolment conversation, as pure functions of what they show."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from bot.callbacks import EnrolAction, EnrolCallback, MenuAction, MenuCallback
from bot.texts.enrolment import cert_type_name, short_refusal
from domain.enrolment import CertificateStanding

PAGE_SIZE = 8


def _button(text: str, action: EnrolAction, item: int = -1) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=EnrolCallback(action=action, item=item).pack()
    )


def who() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("👤 Myself"), EnrolAction.MYSELF)],
            [_button(_("🏢 My company's employees"), EnrolAction.COMPANY)],
        ]
    )


def share_phone() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)],
            [KeyboardButton(text=_("✖️ Cancel"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def cancel_only() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("✖️ Cancel"), EnrolAction.CANCEL)]])


def refusal_actions() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("💬 Contact support"), EnrolAction.SUPPORT)],
            [_button(_("🔁 Try again"), EnrolAction.RETRY)],
        ]
    )


def _mark(index: int, standing: CertificateStanding, selected: set[int]) -> str:
    if not standing.enrollable:
        return "⛔"
    return "☑️" if index in selected else "⬜"


def my_certificates(
    standings: list[CertificateStanding], selected: set[int]
) -> InlineKeyboardMarkup:
    rows = [
        [
            _button(
                f"{_mark(i, s, selected)} {i + 1}. {cert_type_name(s.certificate.cert_type)}",
                EnrolAction.TOGGLE if s.enrollable else EnrolAction.BLOCKED,
                i,
            )
        ]
        for i, s in enumerate(standings)
    ]
    if any(s.enrollable for s in standings):
        rows.append(
            [
                _button(
                    _("✅ Enrol selected ({count})").format(count=len(selected)), EnrolAction.SUBMIT
                )
            ]
        )
    rows.append([_button(_("💬 Contact support"), EnrolAction.SUPPORT)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def confirm_category() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("✅ Yes, it is right"), EnrolAction.CATEGORY_OK)],
            [_button(_("✏️ No, it is wrong"), EnrolAction.CATEGORY_WRONG)],
        ]
    )


def roster(
    standings: list[CertificateStanding],
    visible: list[int],
    selected: set[int],
    page: int,
    searching: bool,
) -> InlineKeyboardMarkup:
    pages = max(1, -(-len(visible) // PAGE_SIZE))
    rows: list[list[InlineKeyboardButton]] = []
    for index in visible[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        standing = standings[index]
        certificate = standing.certificate
        label = f"{_mark(index, standing, selected)} {certificate.holder_name} · " + cert_type_name(
            certificate.cert_type
        )
        if standing.refusal:
            label += f" · {short_refusal(standing.refusal)}"
        elif not standing.due:
            label += " · " + _("not due")
        action = EnrolAction.TOGGLE if standing.enrollable else EnrolAction.BLOCKED
        rows.append([_button(label, action, index)])
    if pages > 1:
        rows.append(
            [
                _button("◀️", EnrolAction.PAGE, max(page - 1, 0)),
                _button(f"{page + 1}/{pages}", EnrolAction.PAGE, page),
                _button("▶️", EnrolAction.PAGE, min(page + 1, pages - 1)),
            ]
        )
    rows.append(
        [
            _button(
                _("✖️ Clear search") if searching else _("🔍 Search by name"),
                EnrolAction.CLEAR_SEARCH if searching else EnrolAction.SEARCH,
            ),
        ]
    )
    rows.append(
        [
            _button(_("🔔 Select all due"), EnrolAction.ALL_DUE),
            _button(_("⬜ Select none"), EnrolAction.NONE),
        ]
    )
    rows.append(
        [_button(_("✅ Enrol selected ({count})").format(count=len(selected)), EnrolAction.SUBMIT)]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def after_enrolment() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📋 My status"),
                    callback_data=MenuCallback(action=MenuAction.STATUS).pack(),
                ),
                InlineKeyboardButton(
                    text=_("⬅️ Main menu"), callback_data=MenuCallback(action=MenuAction.HOME).pack()
                ),
            ]
        ]
    )

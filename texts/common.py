"""Longer texts shared by several handlers, as functions so they translate at call time."""

from __future__ import annotations

from html import escape

from texts.i18n import gettext as _
from texts.wechat import called


def item(label: str, value: object) -> str:
    """A list line "• label: value", written as the reader's language writes it (Chinese takes
    a full-width colon)."""
    return _("• {label}: {value}").format(label=label, value=value)


def greeting(name: str) -> str:
    return _(
        "Hello, {name}! I am 继教 jijiao, your companion for construction-industry continuing "
        "education in Yunnan: enrolment, payment, study, exam and certificate renewal, all in this "
        "chat and on your phone. No software to install, no passwords.\n\n"
        "Choose what you want to do:"
    ).format(name=escape(called(name)))


def menu_prompt() -> str:
    return _("Main menu: choose what you want to do.")


def help_text() -> str:
    return _(
        "<b>What I can do</b>\n"
        "/start — welcome and main menu\n"
        "/enrol — confirm who you are and enrol certificates (for yourself or your company)\n"
        "/status — your enrolments and the next step\n"
        "/pay — pay for your enrolments by QR code\n"
        "/exam — the exam: what is missing, attempts, best score\n"
        "/receipt — your completion receipt again (image and PDF)\n"
        "/apply — extension and make-up applications\n"
        "/support — talk to the support desk\n"
        "/mute, /unmute — non-essential reminders off or on\n"
        "/cancel — stop what you are doing\n"
        "/web — a sign-in link to the study page for another browser\n"
        "/menu — main menu\n"
        "/language — 切换语言 / switch language\n"
        "/help — this help\n\n"
        "No passwords: you confirm who you are once, by sharing your phone number with "
        "Telegram's button."
    )


def browser_link(minutes: int) -> str:
    return _(
        "Your personal link to the study page in any browser. It signs you in, so do not share "
        "it; it works for {minutes} minutes. Send /web again for a new one."
    ).format(minutes=minutes)


def not_understood() -> str:
    return _(
        "Sorry, I did not understand that. Use the buttons below, "
        "or send /help to see what I can do."
    )


def language_prompt() -> str:
    return _("Choose your language / 请选择语言:")


def language_set() -> str:
    return _("Done: I will talk to you in English from now on.")


def something_went_wrong() -> str:
    return _(
        "Sorry, something went wrong on our side and nothing was changed. Please try again in a "
        "minute; if it happens again, send /help."
    )


def temporarily_unavailable() -> str:
    return _("Sorry, the service is temporarily unavailable. Please try again in a minute.")


def error_text(code: str) -> str:
    texts = {
        "unsupported_locale": _("That language is not available. Please choose one of the list."),
    }
    return texts.get(code, refused())


def refused() -> str:
    """A refusal without words of its own (a button from an earlier step, a state that moved
    on): not "something went wrong", since nothing did."""
    return _(
        "That can't be done from here any more: things have moved on since this button was "
        "shown. Open /menu to see what you can do now."
    )


def old_button() -> str:
    return _("This button belongs to an old message. Use the menu below to carry on.")


# ---- the main menu's buttons ----


def enrol_button() -> str:
    return _("📝 Enrol")


def status_button() -> str:
    return _("📋 My status")


def pay_button() -> str:
    return _("💳 Pay")


def study_button() -> str:
    return _("📖 Study")


def exam_button() -> str:
    return _("✍️ Exam")


def records_button() -> str:
    """Learning record, and for a contact or a payer their employees, orders and invoices."""
    return _("🗂 My records")


def employees_button() -> str:
    return _("👥 My employees")


def applications_button() -> str:
    return _("📨 Applications")


def help_button() -> str:
    return _("❓ Help")


def contact_support_button() -> str:
    return _("💬 Contact support")


def language_button() -> str:
    return _("🌐 Language")


def main_menu_button() -> str:
    return _("⬅️ Main menu")


def open_study_page_button() -> str:
    return _("🔗 Open the study page")

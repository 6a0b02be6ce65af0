"""Sentences only the WeChat channel says (wechat/): what WeChat cannot show as Telegram does."""

from __future__ import annotations

from texts.i18n import current_locale
from texts.i18n import gettext as _

# WeChat gives an Official Account no name with a message: its accounts hold the name WeChat
# itself shows for a person without one, which is Chinese.
UNNAMED = "微信用户"
UNNAMED_SAID_AS_IS = "zh_CN"


def called(name: str) -> str:
    """The name to greet a person by: WeChat's placeholder is said in the reader's language
    (an English reader is not greeted in Chinese), any other name as it is."""
    if name != UNNAMED or current_locale() == UNNAMED_SAID_AS_IS:
        return name
    return _("WeChat user")


def type_phone() -> str:
    return _("Type the mobile number you gave the registry (11 digits).")


def not_in_wechat_yet() -> str:
    return _("This is not available in WeChat yet. Choose from the menu below.")


def photo_not_received() -> str:
    return _("We could not receive that picture from WeChat. Please send it again.")


def file_on_records_page() -> str:
    return _("The file is on your records page:")


def open_records_link() -> str:
    return _("Open my records")


def fill_in_the_form_on_the_page() -> str:
    return _(
        "WeChat cannot carry the form as a file here. Open the link below to fill in and sign "
        "the application in a minute: what we know is filled in already."
    )


def form_not_in_wechat() -> str:
    return _(
        "WeChat cannot carry the form as a file here. Apply for one person at a time: each "
        "application is then filled in and signed on a page."
    )


def menu_group_study() -> str:
    return _("Enrol & study")


def menu_group_exam() -> str:
    return _("Exam & help")


def menu_group_me() -> str:
    return _("Me")


def sign_in_refused() -> str:
    return _(
        "This sign-in link has expired or was already used. Open the page again from the menu "
        "in WeChat."
    )


def sign_in_unavailable() -> str:
    return _("WeChat did not confirm who you are. Please try again in a moment.")

"""Words for proving a phone by an SMS code (channels without "share my contact": WeChat).
The phone is always shown masked; the code never appears in a chat message."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.masking import mask_phone
from domain.timezone import CHINA, local_date
from texts.i18n import gettext as _


def when(retry_at: datetime | None, now: datetime) -> str:
    """When the person can try again, as they would say it: now, in N seconds, after 14:05."""
    if retry_at is None or retry_at <= now:
        return _("now")
    seconds = int((retry_at - now).total_seconds() + 0.999)
    if seconds <= 120:
        return _("in {seconds} seconds").format(seconds=seconds)
    clock = retry_at.astimezone(CHINA).strftime("%H:%M")
    day = local_date(retry_at)
    if day == local_date(now):
        return _("after {time} (Beijing time)").format(time=clock)
    if day == local_date(now) + timedelta(days=1):
        return _("tomorrow after {time} (Beijing time)").format(time=clock)
    return _("after {date} {time} (Beijing time)").format(date=day.isoformat(), time=clock)


def ask_number() -> str:
    return _(
        "Please type the mobile number registered in the provincial registry (11 digits; for a "
        "company, its registered contact phone). We will send it a 6-digit code by SMS: typing "
        "the code here proves the number is yours. No password is needed, now or ever."
    )


def bad_number() -> str:
    return _(
        "That is not a mainland mobile number. Please type the 11 digits, for example "
        "138 0000 0000."
    )


def code_sent(phone: str, minutes: int) -> str:
    return _(
        "We sent a 6-digit code by SMS to <b>{phone}</b>. Please type it here; it is valid for "
        "{minutes} minutes."
    ).format(phone=mask_phone(phone), minutes=minutes)


def refused(code: str, phone: str, retry_at: datetime | None, now: datetime, left: int) -> str:
    """A refusal of domain.phone_codes, with when the person can try again."""
    masked, later = mask_phone(phone), when(retry_at, now)
    if code == "wrong_code":
        return _("That is not the code we sent to {phone}. Tries left: {left}.").format(
            phone=masked, left=left
        )
    sentences = {
        "not_a_code": _("Please type the 6-digit code we sent to {phone}."),
        "too_many_tries": _(
            "Too many wrong codes: the code sent to {phone} no longer works. You can ask for "
            "a new one {when}."
        ),
        "expired": _(
            "The code sent to {phone} has expired (a code is valid for 5 minutes). You can ask "
            "for a new one {when}."
        ),
        "no_code": _("No code is waiting for {phone}. Ask for a new one with 🔁 Send a new code."),
        "resend_too_soon": _(
            "A code was just sent to {phone}: it can take a minute to arrive. You can ask for "
            "a new one {when}."
        ),
        "phone_daily_limit": _(
            "{phone} has had as many codes as one number may get in a day. You can ask again "
            "{when}."
        ),
        "account_daily_limit": _(
            "You have asked for as many codes as one person may in a day. You can ask again {when}."
        ),
        "sms_failed": _(
            "The SMS to {phone} could not be sent just now, and nothing was used up. Please "
            "try again in a minute."
        ),
    }
    sentence = sentences.get(code, sentences["sms_failed"])
    return sentence.format(phone=masked, when=later)


def resend_button() -> str:
    return _("🔁 Send a new code")


def change_number_button() -> str:
    return _("✏️ Change the number")

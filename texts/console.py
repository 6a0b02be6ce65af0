"""Words of the staff console (webview/console.py) and of its sign-in in the staff group."""

from __future__ import annotations

from texts.i18n import gettext as _


def sign_in_link_sent() -> str:
    return _(
        "🖥 I sent you a sign-in link for the staff console in our private chat. It works "
        "once, for 10 minutes, on a desktop browser."
    )


def sign_in_link(url: str, supervisor: bool) -> str:
    role = _("supervisor") if supervisor else _("desk staff")
    return _(
        '🖥 <a href="{url}">Open the staff console</a> (as {role}). The link works once, for '
        "10 minutes; do not forward it."
    ).format(url=url, role=role)


def sign_in_here(url: str, supervisor: bool) -> str:
    """When the bot cannot write to the staff member privately (they never opened it)."""
    return (
        sign_in_link(url, supervisor)
        + "\n"
        + _("Open a private chat with me once, and the next link comes there instead of the group.")
    )


def console_button() -> str:
    return _("🖥 Staff console")


def action_name(action: str) -> str:
    """An audit log entry, for staff: never the stored code."""
    names = {
        "application_approved": _("approved an application"),
        "application_rejected": _("rejected an application"),
        "ban": _("blocked a trainee from the desk"),
        "unban": _("unblocked a trainee"),
        "face_photos_shown_to_staff": _("face photos shown to staff"),
        "face_photo_reset": _("reset a trainee's reference photo"),
        "face_review_cleared": _("cleared a face review"),
        "face_review_rejected": _("rejected a face review"),
        "face_files_missing": _("face files found missing"),
        "receipt_revoked": _("revoked a receipt"),
        "unenrol": _("cancelled an enrolment"),
        "rebind": _("moved an identity to a new account"),
        "registry_phone": _("changed a registry phone"),
        "console_sign_in": _("signed in to the staff console"),
        "attempt_given_back": _("gave back an exam attempt"),
        "invoice_attached": _("attached an invoice"),
        "category_corrected": _("corrected a certificate's category"),
        "support_answered": _("answered a support conversation"),
    }
    if action.startswith("face_data_deleted"):
        return _("face data deleted")
    return names.get(action, _("other action"))


def subject_name(subject: str) -> str:
    kind, _sep, value = subject.partition(":")
    names = {
        "application": _("application #{id}"),
        "person": _("person #{id}"),
        "chat_user": _("account {id}"),
        "staff": _("staff {id}"),
        "receipt": _("receipt {id}"),
        "enrolment": _("enrolment #{id}"),
        "order": _("order {id}"),
        "certificate": _("certificate {id}"),
    }
    pattern = names.get(kind)
    if pattern is None:
        return _("account {id}").format(id=subject) if subject.isdigit() else "—"
    return pattern.format(id=value)


def decided(count: int, approved: bool) -> str:
    if approved:
        return _("{count} application(s) approved; each trainee has been told.").format(count=count)
    return _("{count} application(s) rejected; each trainee has been told why.").format(count=count)


def missed(count: int) -> str:
    return _(
        "{count} application(s) had been decided already by someone else: nothing changed there."
    ).format(count=count)


def reason_needed() -> str:
    return _("A rejection needs a reason: the trainee reads it. Nothing was changed.")


def nothing_chosen() -> str:
    return _("Tick at least one application first. Nothing was changed.")


def rebound(old: int | None, new: int) -> str:
    if old is None:
        return _("The identity is now linked to account {new}; the trainee has been told.").format(
            new=new
        )
    return _("The identity moved from account {old} to account {new}; both have been told.").format(
        old=old, new=new
    )


def rebind_gone() -> str:
    return _("This request was handled already. Nothing was changed.")


def rebind_account_taken() -> str:
    return _(
        "That account is linked to another person meanwhile. Nothing was changed: ask the "
        "trainee in their topic."
    )


def phone_changed(old: str, new: str) -> str:
    return _(
        "Registry phone changed from {old} to {new}. The person can now confirm it from their "
        "account in the chat."
    ).format(old=old or "—", new=new)


def phone_invalid() -> str:
    return _(
        "That is not a mainland mobile number (11 digits starting with 1). Nothing was changed."
    )


def moved_here_for_trainee() -> str:
    return _(
        "✅ Staff linked your ID number to this account. Send /start to go on with your "
        "training here."
    )


def moved_away_for_trainee() -> str:
    return _(
        "ℹ️ At your request, staff moved your ID number to your new account. This account is "
        "no longer linked to it. If you did not ask for this, write to support here at once."
    )


def give_back_reason_needed() -> str:
    return _("Say what failed (the trainee and the audit log read it). Nothing was changed.")


def not_given_back() -> str:
    return _(
        "This attempt cannot be given back (still running, given back already, or the exam "
        "is passed). Nothing was changed."
    )


def given_back(number: int) -> str:
    return _("Attempt {number} no longer counts; the trainee has been told.").format(number=number)


def attempt_back_for_trainee(number: int, left: int) -> str:
    return _(
        "✅ Staff checked what went wrong in your exam attempt {number}: it no longer counts. "
        "You have {left} attempt(s) left. Open the exam from the menu when you are ready."
    ).format(number=number, left=left)


def provider_name(provider: str) -> str:
    return {
        "wechatpay": _("WeChat Pay"),
        "alipay": _("Alipay"),
        "sandbox": _("sandbox (test payments)"),
    }.get(provider, _("other"))


def invoice_state_name(state: str) -> str:
    return {
        "not_due": _("not owed (unpaid)"),
        "to_issue": _("to issue"),
        "overdue": _("overdue"),
        "issued": _("issued"),
    }[state]


def invoice_sent(number: str) -> str:
    return _("Invoice for order {number} attached; the payer has it in the chat.").format(
        number=number
    )


def invoice_problem(code: str) -> str:
    return {
        "not_pdf": _("An invoice is a PDF file of at most 8 MB. Nothing was changed."),
        "order_not_found": _("There is no such order. Nothing was changed."),
        "order_not_pending": _(
            "This order is not paid, so no invoice is owed. Nothing was changed."
        ),
    }.get(code, _("The invoice could not be attached. Nothing was changed."))


def invoice_archived(number: str) -> str:
    return _("🧾 Invoice for order {number}, attached from the staff console.").format(
        number=number
    )


def review_kind_name(kind: str) -> str:
    return {
        "checks": _("face checks failed"),
        "exam": _("a check failed during a passed exam"),
        "photo": _("a new enrolment photo"),
    }.get(kind, _("other"))


def review_status_name(status: str) -> str:
    return {
        "pending": _("waiting for a decision"),
        "cleared": _("cleared"),
        "rejected": _("rejected"),
    }.get(status, _("other"))


def category_set(category: str) -> str:
    return _("Category set to {category}; the holder has been told.").format(category=category)


def channel_name(channel: str) -> str:
    return _("WeChat") if channel == "wechat" else _("Telegram")


def answered() -> str:
    return _("answered")


def waiting_for(minutes: int) -> str:
    """How long a person has waited for an answer."""
    if minutes < 60:
        return _("waiting {minutes} min").format(minutes=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return _("waiting {hours} h {minutes} min").format(hours=hours, minutes=rest)
    return _("waiting {days} days").format(days=hours // 24)


def answer_sent() -> str:
    return _("Your answer was sent to the person.")


def answer_not_delivered(wechat: bool) -> str:
    """The answer is kept in the conversation, marked as not delivered."""
    if wechat:
        return _(
            "Not delivered: WeChat lets us write to a person only within 48 hours of their "
            "last message, and that time is over. Your answer is kept here, marked as not "
            "delivered; they will see an answer once they write again, or phone them."
        )
    return _(
        "Not delivered: the person's chat did not take it (they may have blocked the bot). "
        "Your answer is kept here, marked as not delivered."
    )


def answer_empty() -> str:
    return _("Write an answer first.")
